//! Detached processes over a real unix socket (docs/reference/AGENT.md, "Detached processes"): SPAWN and PROC.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::*;

const SPAWN: u8 = 0x16;
const PROC: u8 = 0x17;
const STATUS: u32 = 1;
const SIGNAL: u32 = 2;
const STOP: u32 = 3;
const CONSOLES: u32 = 4;
const RUNNING: u64 = 0;
const GONE: u64 = 1;
const ENDED: u64 = 256;

fn spawn_payload(dir: &Path, tty: &str, argv: &[&str], wd: &str) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut b = u32::from(!tty.is_empty()).to_be_bytes().to_vec();
    for x in [dir.as_os_str().as_bytes(), tty.as_bytes()] {
        b.extend_from_slice(&(x.len() as u32).to_be_bytes());
        b.extend_from_slice(x);
    }
    b.extend_from_slice(&exec_payload(false, argv, &[PATH, "WHO=detached"], wd)[4..]);
    b
}

/// PROC `op` on record `dir` (None: no path) with `n`: DONE's value, or the ERROR's code.
fn proc(
    s: &mut std::os::unix::net::UnixStream,
    id: u32,
    op: u32,
    n: u64,
    dir: Option<&Path>,
) -> Result<u64, u32> {
    let paths: Vec<&Path> = dir.into_iter().collect();
    write(s, PROC, id, &file_payload(op, n, &paths));
    answer(s, id, &mut 0)
        .map(|(data, v)| {
            assert!(data.is_empty());
            v
        })
        .map_err(|e| e.0)
}

fn spawn(
    s: &mut std::os::unix::net::UnixStream,
    id: u32,
    dir: &Path,
    argv: &[&str],
    wd: &str,
) -> Result<u64, u32> {
    write(s, SPAWN, id, &spawn_payload(dir, "", argv, wd));
    answer(s, id, &mut 0).map(|(_, v)| v).map_err(|e| e.0)
}

fn until_ended(s: &mut std::os::unix::net::UnixStream, id: u32, dir: &Path) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = proc(s, id, STATUS, 0, Some(dir)).unwrap();
        if st != RUNNING || Instant::now() > deadline {
            return st;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn holder(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("holder"))
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect()
}

#[test]
fn a_detached_process_outlives_its_connection_and_records_its_output_and_exit() {
    let a = agent("spawn");
    let d = scratch("spawn");
    let rec = d.join("procs/one");
    let mut s = connect(&a);
    let script = "echo \"out $WHO $PWD\"; echo err >&2; exec sleep 30";
    let pid = spawn(&mut s, 1, &rec, &["sh", "-c", script], d.to_str().unwrap()).unwrap();
    assert!(pid > 1);
    assert_eq!(
        std::fs::read_to_string(rec.join("pid")).unwrap().trim(),
        pid.to_string()
    );
    let h = holder(&rec);
    assert_eq!(h[2] as u64, pid);
    assert_ne!(h[0] as u64, pid);
    // its own session and group, apart from the holder's
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    assert_eq!(
        (after[2], after[3]),
        (pid.to_string().as_str(), pid.to_string().as_str())
    );
    drop(s); // a connection's end kills what it ran, never a detached process
    std::thread::sleep(Duration::from_millis(300));
    let mut s = connect(&a);
    assert_eq!(proc(&mut s, 2, STATUS, 0, Some(&rec)), Ok(RUNNING));
    assert_eq!(proc(&mut s, 3, SIGNAL, 15, Some(&rec)), Ok(1));
    assert_eq!(until_ended(&mut s, 4, &rec), ENDED + 128 + 15);
    let output = std::fs::read_to_string(rec.join("output")).unwrap();
    assert!(
        output.contains(&format!("out detached {}", d.display())) && output.contains("err"),
        "{output}"
    );
    assert_eq!(
        proc(&mut s, 5, SIGNAL, 15, Some(&rec)),
        Ok(0),
        "nothing left to signal"
    );
    // started again in the same directory: a fresh record
    spawn(&mut s, 6, &rec, &["true"], "/").unwrap();
    assert_eq!(until_ended(&mut s, 7, &rec), ENDED);
    assert_eq!(std::fs::read_to_string(rec.join("output")).unwrap(), "");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_command_that_is_not_there_ends_as_a_shells_would() {
    let a = agent("spawn-missing");
    let d = scratch("spawn-missing");
    let mut s = connect(&a);
    assert_eq!(
        spawn(&mut s, 1, &d.join("r"), &["no-such-command-here"], "/"),
        Ok(0)
    );
    assert_eq!(
        proc(&mut s, 2, STATUS, 0, Some(&d.join("r"))),
        Ok(ENDED + 127)
    );
    let output = std::fs::read_to_string(d.join("r/output")).unwrap();
    assert!(
        output.contains("no-such-command-here: command not found"),
        "{output}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_stop_kills_what_ignores_its_term_once_the_grace_is_over() {
    let a = agent("spawn-stop");
    let d = scratch("spawn-stop");
    let rec = d.join("r");
    let mut s = connect(&a);
    // a child in a session of its own is out of the stop's reach; one that stayed in the session is not
    let pid = spawn(
        &mut s,
        1,
        &rec,
        &["sh", "-c", "trap '' TERM; sleep 60 & sleep 60"],
        "/",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    assert_eq!(proc(&mut s, 2, STOP, 1, Some(&rec)), Ok(ENDED + 128 + 9));
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "the grace was given"
    );
    let sid = pid.to_string();
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|st| {
            let f: Vec<&str> = st[st.rfind(')').unwrap() + 2..].split(' ').collect();
            f[3] == sid && f[0] != "Z" // a zombie waits for its parent (here, the host's init) only
        })
        .collect();
    assert!(left.is_empty(), "left in the session: {left:?}");
    // a stop of what has ended answers its status at once
    assert_eq!(proc(&mut s, 3, STOP, 60, Some(&rec)), Ok(ENDED + 137));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_killed_holder_leaves_the_command_running_and_then_gone_not_ended() {
    let a = agent("spawn-holder");
    let d = scratch("spawn-holder");
    let rec = d.join("r");
    let mut s = connect(&a);
    let pid = spawn(&mut s, 1, &rec, &["sleep", "60"], "/").unwrap() as i32;
    let h = holder(&rec);
    // SAFETY: kill has no memory effects; both are this test's own processes
    unsafe { libc::kill(h[0], libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(proc(&mut s, 2, STATUS, 0, Some(&rec)), Ok(RUNNING));
    // SAFETY: as above
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut st = RUNNING;
    while st == RUNNING && Instant::now() < deadline {
        // the command is init's to reap now: until it is, it is a zombie, which counts as gone too
        std::thread::sleep(Duration::from_millis(50));
        st = proc(&mut s, 3, STATUS, 0, Some(&rec)).unwrap();
    }
    assert_eq!(st, GONE);
    // a record whose pid file a later process's pid was written into is not that process's
    std::fs::write(rec.join("pid"), format!("{}\n", std::process::id())).unwrap();
    assert_eq!(proc(&mut s, 4, STATUS, 0, Some(&rec)), Ok(GONE));
    assert_eq!(proc(&mut s, 5, SIGNAL, 15, Some(&rec)), Ok(0));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_requests_are_refused_with_their_codes() {
    let a = agent("spawn-bad");
    let d = scratch("spawn-bad");
    let mut s = connect(&a);
    std::os::unix::fs::symlink("/tmp", d.join("link")).unwrap();
    assert_eq!(
        spawn(&mut s, 1, Path::new("relative"), &["true"], "/"),
        Err(9)
    );
    assert_eq!(spawn(&mut s, 2, &d.join("link/r"), &["true"], "/"), Err(9));
    assert_eq!(
        spawn(&mut s, 3, &d.join("r"), &["true"], "/no/such/dir"),
        Err(3)
    );
    for (id, tty, code) in [
        (4, "/dev/tty", 9),
        (5, "/dev/hvc", 9),
        (6, "/dev/hvc64", 9),
        (7, "/dev/hvc63", 8),
    ] {
        write(
            &mut s,
            SPAWN,
            id,
            &spawn_payload(&d.join("r"), tty, &["true"], "/"),
        );
        assert_eq!(answer(&mut s, id, &mut 0).unwrap_err().0, code, "{tty}");
    }
    assert!(
        !d.join("r").exists(),
        "nothing recorded for a refused request"
    );
    assert_eq!(proc(&mut s, 8, STATUS, 0, Some(&d.join("never"))), Ok(GONE));
    assert_eq!(proc(&mut s, 9, STATUS, 0, Some(&d.join("link"))), Err(9));
    assert!(proc(&mut s, 10, CONSOLES, 0, None).is_ok());
    // a malformed PROC (a signal out of range) breaks the format: the connection is closed
    write(&mut s, PROC, 11, &file_payload(SIGNAL, 65, &[&d.join("r")]));
    assert!(read(&mut s).is_none());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_kill_of_all_spares_the_agent_and_what_it_runs_under_only() {
    // in a pid namespace of its own (bubblewrap's, whose init is spared too): never on the host's processes
    if Command::new("bwrap").arg("--version").output().is_err() {
        eprintln!("no bwrap: the kill of all is not tried");
        return;
    }
    let socket = std::env::temp_dir().join(format!(
        "davit-agent-test-{}-killall.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&socket);
    let child = Command::new("bwrap")
        .args([
            "--unshare-pid",
            "--die-with-parent",
            "--dev-bind",
            "/",
            "/",
            "--proc",
            "/proc",
        ])
        .arg(env!("CARGO_BIN_EXE_davit-agent"))
        .args(["serve", "--socket"])
        .arg(&socket)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let a = Agent { child, socket };
    let d = scratch("killall");
    let mut s = connect(&a);
    spawn(&mut s, 1, &d.join("r"), &["sleep", "60"], "/").unwrap();
    write(
        &mut s,
        EXEC,
        2,
        &exec_payload(false, &["sleep", "60"], &[PATH], "/"),
    );
    assert_eq!(read(&mut s).unwrap().0, STARTED);
    write(&mut s, PROC, 3, &file_payload(5, 0, &[]));
    // the connection's process ends by the kill, and the kill of all is done; in either order
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (kind, id, p) = read(&mut s).unwrap();
        seen.push((kind, id));
        if kind == EXIT {
            assert_eq!(u32::from_be_bytes(p[4..8].try_into().unwrap()), 9);
        }
    }
    seen.sort();
    assert_eq!(seen, vec![(EXIT, 2), (DONE, 3)]);
    assert_eq!(until_ended(&mut s, 4, &d.join("r")), GONE);
    write(
        &mut s,
        EXEC,
        5,
        &exec_payload(false, &["echo", "still here"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 5).unwrap().0, "still here\n");
    std::fs::remove_dir_all(&d).unwrap();
}

/// `pid`'s field `n` of /proc/PID/stat (as proc(5) numbers them).
fn stat_field(pid: u32, n: usize) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    s[s.rfind(')').unwrap() + 2..]
        .split(' ')
        .nth(n - 3)
        .unwrap()
        .to_string()
}

#[test]
fn a_forged_record_never_gets_the_agent_or_a_process_not_its_own_signalled() {
    let a = agent("spawn-forged");
    let d = scratch("spawn-forged");
    let rec = d.join("r");
    let mut s = connect(&a);
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    // a sleeper in the agent's own session, and the agent itself, each named by a record the sandbox wrote
    let mut same_session = Command::new("sleep").arg("60").spawn().unwrap();
    for victim in [a.child.id(), same_session.id()] {
        std::fs::create_dir_all(&rec).unwrap();
        std::fs::write(rec.join("boot"), &boot).unwrap();
        std::fs::write(rec.join("pid"), format!("{victim}\n")).unwrap();
        let start = stat_field(victim, 22);
        std::fs::write(rec.join("holder"), format!("1 0 {victim} {start}\n")).unwrap();
        assert_eq!(proc(&mut s, 1, STATUS, 0, Some(&rec)), Ok(GONE), "{victim}");
        assert_eq!(proc(&mut s, 2, SIGNAL, 15, Some(&rec)), Ok(0), "{victim}");
        assert_eq!(proc(&mut s, 3, STOP, 1, Some(&rec)), Ok(GONE), "{victim}");
        // without the holder line: nothing is taken on the pid's word alone
        std::fs::remove_file(rec.join("holder")).unwrap();
        assert_eq!(proc(&mut s, 4, SIGNAL, 9, Some(&rec)), Ok(0), "{victim}");
    }
    assert!(
        same_session.try_wait().unwrap().is_none(),
        "the sleeper was not signalled"
    );
    let _ = same_session.kill();
    let _ = same_session.wait();
    write(
        &mut s,
        EXEC,
        5,
        &exec_payload(false, &["true"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 5).unwrap().2, 0, "the agent still serves");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_record_whose_process_runs_is_not_made_afresh_and_a_stop_takes_what_an_ended_one_left() {
    let a = agent("spawn-again");
    let d = scratch("spawn-again");
    let rec = d.join("r");
    let mut s = connect(&a);
    spawn(&mut s, 1, &rec, &["sh", "-c", "sleep 1; exit 7"], "/").unwrap();
    assert_eq!(
        spawn(&mut s, 2, &rec, &["sleep", "30"], "/"),
        Err(12),
        "its process still runs"
    );
    assert_eq!(until_ended(&mut s, 3, &rec), ENDED + 7);
    let pid = spawn(&mut s, 4, &rec, &["sh", "-c", "sleep 60 & exit 0"], "/").unwrap();
    assert_eq!(until_ended(&mut s, 5, &rec), ENDED);
    let sid = pid.to_string();
    let in_session = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .filter(|st| {
                let f: Vec<&str> = st[st.rfind(')').unwrap() + 2..].split(' ').collect();
                f[3] == sid && f[0] != "Z"
            })
            .count()
    };
    assert_eq!(in_session(), 1, "the sleep it left");
    assert_eq!(proc(&mut s, 6, STOP, 1, Some(&rec)), Ok(ENDED));
    assert_eq!(in_session(), 0, "the stop took what it left in its session");
    std::fs::remove_dir_all(&d).unwrap();
}

const OUTPUT: u32 = 6;
const INPUT: u32 = 7;

/// OUTPUT of record `dir` from `pos`: (the position of its first byte, the bytes).
fn output(s: &mut std::os::unix::net::UnixStream, id: u32, dir: &Path, pos: u64) -> (u64, Vec<u8>) {
    write(s, PROC, id, &file_payload(OUTPUT, pos, &[dir]));
    let (data, start) = answer(s, id, &mut 0).unwrap();
    (start, data)
}

/// INPUT of `text` into record `dir`'s terminal: how many bytes it took, or the ERROR's code.
fn input(
    s: &mut std::os::unix::net::UnixStream,
    id: u32,
    dir: &Path,
    text: &[u8],
) -> Result<u64, u32> {
    let mut b = file_payload(INPUT, 10, &[dir, Path::new("x")]);
    b.truncate(b.len() - 5);
    b.extend_from_slice(&(text.len() as u32).to_be_bytes());
    b.extend_from_slice(text);
    write(s, PROC, id, &b);
    answer(s, id, &mut 0).map(|(_, v)| v).map_err(|e| e.0)
}

/// Everything the terminal of `dir` showed after `pos` until `want` is in it (or 20 s): (the text, the next pos).
fn read_until(
    s: &mut std::os::unix::net::UnixStream,
    dir: &Path,
    mut pos: u64,
    want: &str,
) -> (String, u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut all = Vec::new();
    while !String::from_utf8_lossy(&all).contains(want) && Instant::now() < deadline {
        let (start, b) = output(s, 90, dir, pos);
        assert_eq!(start, pos, "no output was lost");
        pos += b.len() as u64;
        all.extend_from_slice(&b);
        if b.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    (String::from_utf8_lossy(&all).into_owned(), pos)
}

#[test]
fn a_pty_of_its_own_takes_input_shows_output_and_hears_ctrl_c_through_the_agent() {
    let a = agent("pty");
    let d = scratch("pty");
    let rec = d.join("procs/sh");
    let mut s = connect(&a);
    write(
        &mut s,
        SPAWN,
        1,
        &spawn_payload(&rec, "pty", &["sh", "-i"], "/"),
    );
    let pid = answer(&mut s, 1, &mut 0).unwrap().1;
    assert!(pid > 1);
    assert_eq!(std::fs::read_to_string(rec.join("tty")).unwrap(), "pty\n");
    let typed = b"echo \"is-$((6*7)) $(tty)\"\n";
    assert_eq!(input(&mut s, 2, &rec, typed), Ok(typed.len() as u64));
    let (text, pos) = read_until(&mut s, &rec, 0, "is-42 /dev/pts/");
    assert!(text.contains("is-42 /dev/pts/"), "{text:?}");
    // Ctrl-C by the terminal's foreground group: the cat ends, the shell goes on. The cat says it runs first (what
    // it prints is not what was typed, which the terminal echoes), so the signal never comes before it
    input(
        &mut s,
        3,
        &rec,
        b"sh -c 'echo cat-$((1+1))-runs; exec cat'\n",
    )
    .unwrap();
    let (_, pos) = read_until(&mut s, &rec, pos, "cat-2-runs");
    assert_eq!(proc(&mut s, 4, SIGNAL, 2 | 256, Some(&rec)), Ok(1));
    // the shell's prompt again once the cat is gone: typed before that, the line could be the cat's to read
    let (_, pos) = read_until(&mut s, &rec, pos, "# ");
    input(&mut s, 41, &rec, b"echo after-$?\n").unwrap();
    let (text, pos) = read_until(&mut s, &rec, pos, "after-130");
    assert!(text.contains("after-130"), "{text:?}");
    assert_eq!(proc(&mut s, 5, STATUS, 0, Some(&rec)), Ok(RUNNING));
    input(&mut s, 6, &rec, b"echo bye; exit 7\n").unwrap();
    assert_eq!(until_ended(&mut s, 7, &rec), ENDED + 7);
    // its last output is kept once it ended; its input is refused
    let (text, _) = read_until(&mut s, &rec, pos, "bye");
    assert!(text.contains("bye"), "{text:?}");
    assert_eq!(input(&mut s, 8, &rec, b"x"), Err(8));
}

#[test]
fn a_ptys_output_is_kept_as_its_newest_two_segments_and_a_late_read_starts_at_the_oldest_kept() {
    let a = agent("ptylog");
    let d = scratch("ptylog");
    let rec = d.join("procs/big");
    let mut s = connect(&a);
    // 9 MB without a newline (a terminal's output processing leaves it as it is)
    let script = "head -c 9000000 /dev/zero | tr '\\0' a; exit 3";
    write(
        &mut s,
        SPAWN,
        1,
        &spawn_payload(&rec, "pty", &["sh", "-c", script], "/"),
    );
    answer(&mut s, 1, &mut 0).unwrap();
    assert_eq!(until_ended(&mut s, 2, &rec), ENDED + 3);
    let mut names: Vec<String> = std::fs::read_dir(&rec)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n.starts_with("out."))
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    // from 0, which is gone: the oldest byte kept, past the first 4 MiB
    let (start, first) = output(&mut s, 3, &rec, 0);
    assert!(start >= 4 << 20, "{start}");
    assert_eq!(first.len(), 256 << 10, "one answer's most");
    let (mut pos, mut total) = (start + first.len() as u64, first.len() as u64);
    loop {
        let (at, b) = output(&mut s, 4, &rec, pos);
        assert_eq!(at, pos);
        if b.is_empty() {
            break;
        }
        assert!(b.iter().all(|&c| c == b'a'));
        pos += b.len() as u64;
        total += b.len() as u64;
    }
    assert_eq!(pos, 9_000_000);
    assert_eq!(total, 9_000_000 - start);
    // a read a few bytes before a segment's end goes on into the next (a value cut there is never held back)
    let next = names
        .iter()
        .map(|n| n[4..].parse::<u64>().unwrap())
        .max()
        .unwrap();
    let (at, b) = output(&mut s, 5, &rec, next - 3);
    assert_eq!((at, b.len()), (next - 3, 256 << 10));
    // a segment cut short (a full disk, or the sandbox): a read in what is missing goes on at the next one
    let older = next - (4 << 20) - (next % 65536);
    let older = names
        .iter()
        .map(|n| n[4..].parse::<u64>().unwrap())
        .min()
        .unwrap_or(older);
    std::fs::OpenOptions::new()
        .write(true)
        .open(rec.join(format!("out.{older}")))
        .unwrap()
        .set_len(1000)
        .unwrap();
    assert_eq!(output(&mut s, 6, &rec, older + 5000).0, next);
}

#[test]
fn a_job_left_writing_on_the_terminal_does_not_keep_the_exit_from_being_recorded() {
    let a = agent("ptyjob");
    let d = scratch("ptyjob");
    let rec = d.join("procs/job");
    let mut s = connect(&a);
    let script = "set -m; (while :; do echo x; sleep 0.02; done) & sleep 0.2; exit 5";
    write(
        &mut s,
        SPAWN,
        1,
        &spawn_payload(&rec, "pty", &["sh", "-c", script], "/"),
    );
    answer(&mut s, 1, &mut 0).unwrap();
    assert_eq!(until_ended(&mut s, 2, &rec), ENDED + 5);
    // the job it left is stopped with what the command left in its session
    assert_eq!(proc(&mut s, 3, STOP, 1, Some(&rec)), Ok(ENDED + 5));
    // no one reads the terminal now: typing is refused
    assert_eq!(input(&mut s, 4, &rec, b"x"), Err(8));
}

#[test]
fn a_forged_terminal_record_never_gets_a_link_followed_or_a_file_written() {
    let a = agent("ptyforged");
    let d = scratch("ptyforged");
    let mut s = connect(&a);
    let rec = d.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    std::fs::write(d.join("secret"), "host file").unwrap();
    std::os::unix::fs::symlink(d.join("secret"), rec.join("out.0")).unwrap();
    std::os::unix::fs::symlink(d.join("secret"), rec.join("input")).unwrap();
    write(&mut s, PROC, 1, &file_payload(OUTPUT, 0, &[&rec]));
    assert_eq!(
        answer(&mut s, 1, &mut 0).unwrap_err().0,
        12,
        "a link is not opened"
    );
    assert_eq!(input(&mut s, 2, &rec, b"typed"), Err(10));
    std::fs::remove_file(rec.join("out.0")).unwrap();
    std::fs::create_dir(rec.join("out.0")).unwrap();
    std::fs::remove_file(rec.join("input")).unwrap();
    std::fs::write(rec.join("input"), "").unwrap();
    write(&mut s, PROC, 3, &file_payload(OUTPUT, 0, &[&rec]));
    assert!(
        answer(&mut s, 3, &mut 0).is_err(),
        "a directory is no output"
    );
    assert_eq!(input(&mut s, 4, &rec, b"typed"), Err(10));
    assert_eq!(std::fs::read_to_string(rec.join("input")).unwrap(), "");
    assert_eq!(
        std::fs::read_to_string(d.join("secret")).unwrap(),
        "host file"
    );
    // a FIFO nobody reads: the terminal has ended
    std::fs::remove_file(rec.join("input")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(rec.join("input"))
        .status()
        .unwrap()
        .success());
    assert_eq!(input(&mut s, 5, &rec, b"typed"), Err(8));
    // a record without segments: nothing new, where it was asked
    assert_eq!(output(&mut s, 6, &d, 77), (77, Vec::new()));
    // INPUT without a wait, or with too much, breaks the format
    let mut b = file_payload(INPUT, 0, &[&rec, Path::new("x")]);
    write(&mut s, PROC, 7, &b);
    assert!(read(&mut s).is_none());
    let mut s = connect(&a);
    b = file_payload(INPUT, 10, &[&rec, Path::new(&"x".repeat(65537))]);
    write(&mut s, PROC, 8, &b);
    assert!(read(&mut s).is_none());
    std::fs::remove_dir_all(&d).unwrap();
}
