//! The agent over a real unix socket, as the host speaks to it (docs/reference/AGENT.md).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::*;

#[test]
fn runs_a_command_with_exactly_its_environment_and_working_directory() {
    let a = agent("env");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(
            false,
            &["sh", "-c", "echo hi; echo oops >&2; env; pwd; exit 3"],
            &[PATH, "A=1"],
            "/tmp",
        ),
    );
    let (out, err, code, sig) = run(&mut s, 1).unwrap();
    assert_eq!((code, sig), (3, 0));
    assert_eq!(err, "oops\n");
    assert!(out.starts_with("hi\n") && out.ends_with("/tmp\n"), "{out}");
    assert!(
        out.contains("A=1\n") && !out.contains("AGENT_SECRET"),
        "{out}"
    );
}

#[test]
fn stdin_is_fed_and_closed() {
    let a = agent("stdin");
    let mut s = connect(&a);
    write(&mut s, EXEC, 7, &exec_payload(true, &["cat"], &[PATH], "/"));
    write(&mut s, STDIN, 7, b"one ");
    write(&mut s, STDIN, 7, b"two");
    write(&mut s, STDIN_CLOSE, 7, b"");
    assert_eq!(run(&mut s, 7).unwrap(), ("one two".into(), "".into(), 0, 0));
}

#[test]
fn a_signal_ends_the_process_group() {
    let a = agent("signal");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        2,
        &exec_payload(false, &["sleep", "100"], &[PATH], "/"),
    );
    let (kind, _, _) = read(&mut s).unwrap();
    assert_eq!(kind, STARTED);
    write(&mut s, SIGNAL, 2, &15u32.to_be_bytes());
    let (kind, _, p) = read(&mut s).unwrap();
    assert_eq!(kind, EXIT);
    assert_eq!(
        p,
        [
            &143i32.to_be_bytes()[..],
            &15u32.to_be_bytes()[..],
            &[0u8; 4][..]
        ]
        .concat()
    );
}

#[test]
fn refusals_have_their_codes() {
    let a = agent("errors");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["no-such-command-here"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 1), Err(4));
    write(
        &mut s,
        EXEC,
        2,
        &exec_payload(false, &["/etc/passwd"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 2), Err(5));
    write(
        &mut s,
        EXEC,
        3,
        &exec_payload(false, &["true"], &[PATH], "/no/such/dir"),
    );
    assert_eq!(run(&mut s, 3), Err(3));
    write(
        &mut s,
        EXEC,
        0,
        &exec_payload(false, &["true"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 0), Err(2));
}

#[test]
fn a_background_process_holding_the_pipes_does_not_hold_the_exit() {
    let a = agent("background");
    let mut s = connect(&a);
    let t0 = Instant::now();
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["sh", "-c", "sleep 5 & echo x"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 1).unwrap(), ("x\n".into(), "".into(), 0, 0));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

#[test]
fn processes_run_at_once_on_one_connection() {
    let a = agent("many");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["sh", "-c", "sleep 0.5; echo one"], &[PATH], "/"),
    );
    write(
        &mut s,
        EXEC,
        2,
        &exec_payload(false, &["echo", "two"], &[PATH], "/"),
    );
    let mut outs = std::collections::HashMap::new();
    let mut exits = 0;
    while exits < 2 {
        let (kind, id, p) = read(&mut s).unwrap();
        if kind == STDOUT {
            outs.entry(id)
                .or_insert_with(Vec::new)
                .extend_from_slice(&p);
        }
        if kind == EXIT {
            exits += 1;
            // the short one ends first though it started second
            if exits == 1 {
                assert_eq!(id, 2);
            }
        }
    }
    assert_eq!(outs[&1], b"one\n");
    assert_eq!(outs[&2], b"two\n");
}

#[test]
fn a_closed_connection_kills_what_it_started() {
    let a = agent("close");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["sleep", "100"], &[PATH], "/"),
    );
    let (kind, _, p) = read(&mut s).unwrap();
    assert_eq!(kind, STARTED);
    let pid = u32::from_be_bytes(p[..4].try_into().unwrap()) as i32;
    drop(s);
    assert_gone(pid, "sleep");
}

#[test]
fn a_frame_out_of_bounds_closes_the_connection_and_the_agent_serves_on() {
    let a = agent("bounds");
    let mut s = connect(&a);
    s.write_all(&[0x7f, 0xff, 0xff, 0xff, EXEC, 0, 0, 0, 1])
        .unwrap();
    assert!(read(&mut s).is_none());
    let mut s = connect(&a);
    write(&mut s, 0x99, 1, b"");
    assert!(read(&mut s).is_none());
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["echo", "ok"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 1).unwrap().0, "ok\n");
}

#[test]
fn stdin_a_process_does_not_read_never_stops_the_connection() {
    let a = agent("unread");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(true, &["sleep", "100"], &[PATH], "/"),
    );
    let (kind, _, _) = read(&mut s).unwrap();
    assert_eq!(kind, STARTED);
    // the whole window, far more than the pipe holds: the agent still reads the signal behind it
    let chunk = vec![b'x'; 65536];
    for _ in 0..16 {
        write(&mut s, STDIN, 1, &chunk);
    }
    write(&mut s, SIGNAL, 1, &9u32.to_be_bytes());
    let mut acks = 0;
    loop {
        let (kind, _, p) = read(&mut s).expect("the agent closed the connection");
        if kind == STDIN_ACK {
            acks += 1;
            continue;
        }
        assert_eq!(kind, EXIT);
        assert_eq!(
            p,
            [
                &137i32.to_be_bytes()[..],
                &9u32.to_be_bytes()[..],
                &[0u8; 4][..]
            ]
            .concat()
        );
        break;
    }
    assert!(acks <= 16, "{acks} acknowledgements of 16 chunks");
}

#[test]
fn a_host_past_its_stdin_window_is_cut_off() {
    let a = agent("window");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(true, &["sleep", "100"], &[PATH], "/"),
    );
    let (kind, _, p) = read(&mut s).unwrap();
    assert_eq!(kind, STARTED);
    let pid = u32::from_be_bytes(p[..4].try_into().unwrap()) as i32;
    let chunk = vec![b'x'; 65536];
    for _ in 0..40 {
        if s.write_all(
            &[
                &((5 + chunk.len()) as u32).to_be_bytes()[..],
                &[STDIN],
                &1u32.to_be_bytes(),
                &chunk,
            ]
            .concat(),
        )
        .is_err()
        {
            break;
        }
    }
    while let Some((kind, _, _)) = read(&mut s) {
        assert!(kind == STDIN_ACK || kind == EXIT, "frame {kind}");
    }
    // the connection is gone, and what it started with it
    assert_gone(pid, "cat");
}

#[test]
fn a_working_directory_that_is_a_file_is_the_working_directorys_error() {
    let a = agent("file-dir");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["true"], &[PATH], "/etc/passwd"),
    );
    assert_eq!(run(&mut s, 1), Err(3));
}

/// Reads frames of `id` until `kind` comes: its payload (every frame before it of `id` must be one of `allowed`).
fn until(s: &mut impl Read, id: u32, kind: u8, allowed: &[u8]) -> Vec<u8> {
    loop {
        let (k, fid, p) = read(s).expect("the agent closed the connection");
        assert_eq!(fid, id);
        if k == kind {
            return p;
        }
        assert!(allowed.contains(&k), "frame {k} while waiting for {kind}");
    }
}

#[test]
fn echo_gives_started_its_output_and_exit_in_that_order() {
    let a = agent("echo");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        9,
        &exec_payload(false, &["echo", "hi"], &[PATH], "/"),
    );
    let (kind, id, p) = read(&mut s).unwrap();
    assert_eq!((kind, id, p.len()), (STARTED, 9, 4));
    let (kind, id, p) = read(&mut s).unwrap();
    assert_eq!((kind, id, &p[..]), (STDOUT, 9, &b"hi\n"[..]));
    let (kind, id, p) = read(&mut s).unwrap();
    assert_eq!(
        (kind, id, p),
        (EXIT, 9, [0u8; 12].to_vec()),
        "exit code 0, no signal, no flag"
    );
}

#[test]
fn the_command_is_looked_up_along_the_path_given_not_the_agents() {
    let dir = std::env::temp_dir().join(format!("davit-agent-test-{}-path", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("davit-only-here");
    std::fs::write(&script, "#!/bin/sh\necho found\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let a = agent("path");
    let mut s = connect(&a);
    let given = format!("PATH=/bin:{}", dir.display());
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["davit-only-here"], &[&given], "/"),
    );
    assert_eq!(run(&mut s, 1).unwrap().0, "found\n");
    // echo is in /bin, not along this PATH: not found, though the agent's own PATH has it
    write(
        &mut s,
        EXEC,
        2,
        &exec_payload(false, &["echo", "x"], &["PATH=/nonexistent"], "/"),
    );
    assert_eq!(run(&mut s, 2), Err(4));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn commands_start_with_no_signal_blocked_or_ignored() {
    let socket = std::env::temp_dir().join(format!(
        "davit-agent-test-{}-signals.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&socket);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_davit-agent"));
    cmd.args(["serve", "--socket"]).arg(&socket);
    // SAFETY: between fork and exec only async-signal-safe calls (sigemptyset, sigaddset, sigprocmask, signal)
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            // an agent started with a signal ignored and one blocked: its commands must have neither
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let a = Agent { child, socket };
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(
            false,
            &["sh", "-c", "exec grep -E '^Sig(Blk|Ign)' /proc/self/status"],
            &[PATH],
            "/",
        ),
    );
    let (out, _, code, _) = run(&mut s, 1).unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
        "{out}"
    );
}

#[test]
fn a_closed_connection_kills_a_background_process_holding_the_pipes_before_the_exit() {
    let a = agent("grace-close");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["sh", "-c", "sleep 100 & echo $!"], &[PATH], "/"),
    );
    until(&mut s, 1, STARTED, &[]);
    let out = until(&mut s, 1, STDOUT, &[]);
    let pid: i32 = String::from_utf8(out).unwrap().trim().parse().unwrap();
    // its EXIT is a second away (the background sleep holds the pipes): the process is not reported ended yet
    drop(s);
    assert_gone(pid, "background sleep");
}

#[test]
fn two_processes_with_interleaved_stdin_keep_their_streams_apart() {
    let a = agent("interleaved");
    let mut s = connect(&a);
    write(&mut s, EXEC, 1, &exec_payload(true, &["cat"], &[PATH], "/"));
    write(&mut s, EXEC, 2, &exec_payload(true, &["cat"], &[PATH], "/"));
    for i in 0..10 {
        write(&mut s, STDIN, 1, format!("a{i} ").as_bytes());
        write(&mut s, STDIN, 2, format!("b{i} ").as_bytes());
        // within the window of 16: the acknowledgements are read below, with the rest
    }
    write(&mut s, STDIN_CLOSE, 2, b"");
    write(&mut s, STDIN_CLOSE, 1, b"");
    let mut out: std::collections::HashMap<u32, Vec<u8>> = Default::default();
    let mut acks = [0, 0];
    let mut exits = 0;
    while exits < 2 {
        let (kind, id, p) = read(&mut s).expect("the agent closed the connection");
        assert!(id == 1 || id == 2, "id {id}");
        match kind {
            STARTED => {}
            STDOUT => out.entry(id).or_default().extend_from_slice(&p),
            STDIN_ACK => acks[id as usize - 1] += 1,
            EXIT => {
                assert_eq!(p, [0u8; 12]);
                exits += 1;
            }
            k => panic!("frame {k}"),
        }
    }
    let want = |c: char| (0..10).map(|i| format!("{c}{i} ")).collect::<String>();
    assert_eq!(String::from_utf8_lossy(&out[&1]), want('a'));
    assert_eq!(String::from_utf8_lossy(&out[&2]), want('b'));
    assert_eq!(acks, [10, 10]);
}

#[test]
fn an_id_in_use_is_refused_and_free_again_after_its_exit() {
    let a = agent("ids");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        5,
        &exec_payload(false, &["sleep", "100"], &[PATH], "/"),
    );
    until(&mut s, 5, STARTED, &[]);
    write(
        &mut s,
        EXEC,
        5,
        &exec_payload(false, &["echo", "again"], &[PATH], "/"),
    );
    let p = until(&mut s, 5, ERROR, &[]);
    assert_eq!(&p[..4], &2u32.to_be_bytes());
    write(&mut s, SIGNAL, 5, &9u32.to_be_bytes());
    until(&mut s, 5, EXIT, &[]);
    // STDIN and SIGNAL for an ended or unknown process: ignored, the connection serves on
    write(&mut s, SIGNAL, 5, &9u32.to_be_bytes());
    write(&mut s, STDIN, 77, b"x");
    write(&mut s, STDIN_CLOSE, 77, b"");
    write(
        &mut s,
        EXEC,
        5,
        &exec_payload(false, &["echo", "again"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 5).unwrap().0, "again\n");
}

#[test]
fn an_error_message_is_one_line() {
    let a = agent("one-line");
    let mut s = connect(&a);
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["no\nsuch\ncommand"], &[PATH], "/"),
    );
    let p = until(&mut s, 1, ERROR, &[]);
    assert_eq!(&p[..4], &4u32.to_be_bytes());
    let n = u32::from_be_bytes(p[4..8].try_into().unwrap()) as usize;
    assert_eq!(p.len(), 8 + n);
    let m = String::from_utf8(p[8..].to_vec()).unwrap();
    assert!(!m.is_empty() && !m.contains('\n'), "{m:?}");
}

#[test]
fn an_inherited_listening_socket_is_served_and_reaches_no_command() {
    let socket = std::env::temp_dir().join(format!(
        "davit-agent-test-{}-listen-fd.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(&listener);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_davit-agent"));
    cmd.args(["serve", "--listen-fd", "3"]);
    // SAFETY: between fork and exec only async-signal-safe calls (dup2, fcntl)
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    drop(listener);
    let a = Agent {
        child,
        socket: socket.clone(),
    };
    let mut s = connect(&a);
    // the listening socket (descriptor 3) has FD_CLOEXEC: a command has 0, 1, 2 and ls's own directory only
    write(
        &mut s,
        EXEC,
        1,
        &exec_payload(false, &["sh", "-c", "exec ls /proc/self/fd"], &[PATH], "/"),
    );
    assert_eq!(run(&mut s, 1).unwrap().0, "0\n1\n2\n3\n");
}

#[test]
fn other_arguments_are_a_usage_error() {
    for args in [
        &[][..],
        &["serve"][..],
        &["serve", "--listen-fd"][..],
        &["serve", "--listen-fd", "x"][..],
        &["serve", "--socket", "/tmp/x", "more"][..],
        &["--help"][..],
        &["hold"][..],
        &["hold", "relative"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_davit-agent"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("davit-agent: usage: ") && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_davit-agent"))
        .arg("serve")
        .arg(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"--socket\xff"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an argument that is not UTF-8");
}

/// Asserts that the process `pid` (`what`) is gone within 10 s of its connection's close.
fn assert_gone(pid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: kill with signal 0 only checks that the process is there
    let alive = || unsafe { libc::kill(pid, 0) } == 0;
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(), "{what} {pid} outlived its connection");
}

#[test]
fn over_stdio_one_connection_is_served_and_its_end_ends_the_agent_and_its_processes() {
    // pipes, as a pod's exec stream gives them
    let mut child = Command::new(env!("CARGO_BIN_EXE_davit-agent"))
        .args(["serve", "--stdio"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut to = child.stdin.take().unwrap();
    let mut from = child.stdout.take().unwrap();
    let (kind, id, p) = read(&mut from).unwrap();
    assert_eq!((kind, id, &p[..4]), (HELLO, 0, &1u32.to_be_bytes()[..]));
    write(
        &mut to,
        EXEC,
        1,
        &exec_payload(
            false,
            &["sh", "-c", "echo $X; echo e >&2"],
            &["X=x", PATH],
            "/",
        ),
    );
    assert_eq!(
        run(&mut from, 1),
        Ok(("x\n".to_string(), "e\n".to_string(), 0, 0))
    );
    let pid = started(&mut to, &mut from, 2, "echo $$; exec sleep 100");
    // the host's end: the agent kills what it started and exits
    drop(to);
    assert_gone(pid, "sleep");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(child.try_wait().unwrap().map(|s| s.code()), Some(Some(0)));
}

#[test]
fn a_kill_takes_what_the_process_started_in_sessions_of_their_own() {
    let a = agent("tree");
    let mut s = connect(&a);
    let pid = started(
        &mut s.try_clone().unwrap(),
        &mut s,
        1,
        "setsid sleep 100 & echo $!; wait",
    );
    write(&mut s, SIGNAL, 1, &9u32.to_be_bytes());
    until(&mut s, 1, EXIT, &[STDOUT, STDERR]);
    assert_gone(pid, "setsid sleep");
}

/// Starts `sh -c script` as process `id` and returns the pid it prints first.
fn started(to: &mut impl Write, from: &mut impl Read, id: u32, script: &str) -> i32 {
    write(
        to,
        EXEC,
        id,
        &exec_payload(false, &["sh", "-c", script], &[PATH], "/"),
    );
    until(from, id, STARTED, &[]);
    String::from_utf8(until(from, id, STDOUT, &[]))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_read_gives_the_first_bytes_and_the_size_and_refuses_what_is_not_a_file() {
    let a = agent("read");
    let mut s = connect(&a);
    let d = scratch("read");
    std::fs::write(d.join("f"), vec![7u8; 200_000]).unwrap();
    std::os::unix::fs::symlink(d.join("f"), d.join("link")).unwrap();
    let fifo = std::ffi::CString::new(d.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path only
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let mut acks = 0;
    write(&mut s, FILE, 1, &file_payload(1, 10, &[&d.join("f")]));
    assert_eq!(answer(&mut s, 1, &mut acks), Ok((vec![7u8; 10], 200_000)));
    write(&mut s, FILE, 2, &file_payload(1, 0, &[&d.join("f")]));
    assert_eq!(
        answer(&mut s, 2, &mut acks),
        Ok((vec![7u8; 200_000], 200_000))
    );
    for (id, p, code) in [
        (3, "missing", 8),
        (4, "link", 9),
        (5, "fifo", 10),
        (6, "", 10),
    ] {
        write(&mut s, FILE, id, &file_payload(1, 0, &[&d.join(p)]));
        assert_eq!(answer(&mut s, id, &mut acks).unwrap_err().0, code, "{p}");
    }
    write(
        &mut s,
        FILE,
        7,
        &file_payload(1, 0, &[std::path::Path::new("relative")]),
    );
    assert_eq!(answer(&mut s, 7, &mut acks).unwrap_err().0, 9);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_tree_put_as_a_tar_comes_back_as_one() {
    let a = agent("tar");
    let mut s = connect(&a);
    let d = scratch("tar");
    let long = "n".repeat(150);
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o750);
    h.set_size(0);
    b.append_data(&mut h.clone(), "dir", std::io::empty())
        .unwrap();
    let mut f = tar::Header::new_gnu();
    f.set_mode(0o640);
    let big = vec![5u8; 300_000];
    f.set_size(big.len() as u64);
    b.append_data(&mut f.clone(), format!("dir/{long}"), &big[..])
        .unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    b.append_link(&mut l, "dir/link", "../elsewhere").unwrap();
    let tar = b.into_inner().unwrap();
    let into = d.join("made/below");
    write(&mut s, FILE, 1, &file_payload(2, 0, &[&into]));
    let mut sent = 0;
    for chunk in tar.chunks(65536) {
        write(&mut s, STDIN, 1, chunk);
        sent += 1;
    }
    write(&mut s, STDIN_CLOSE, 1, b"");
    let mut acks = 0;
    assert_eq!(answer(&mut s, 1, &mut acks), Ok((Vec::new(), 0)));
    assert_eq!(acks, sent, "each chunk acknowledged");
    assert_eq!(std::fs::read(into.join("dir").join(&long)).unwrap(), big);
    assert_eq!(
        std::fs::read_link(into.join("dir/link")).unwrap(),
        PathBuf::from("../elsewhere")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(into.join("dir"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o750
    );

    write(&mut s, FILE, 2, &file_payload(3, 0, &[&into]));
    let (got, _) = answer(&mut s, 2, &mut acks).unwrap();
    let mut names = Vec::new();
    for e in tar::Archive::new(&got[..]).entries().unwrap() {
        let mut e = e.unwrap();
        let name = e
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        match name.as_str() {
            "dir/link" => assert_eq!(
                e.link_name().unwrap().unwrap().to_str(),
                Some("../elsewhere")
            ),
            n if n.ends_with(&long) => assert_eq!(body, big),
            _ => {}
        }
        names.push(name);
    }
    // a directory's entry first, then its content by name
    assert_eq!(names, ["", "dir", "dir/link", &format!("dir/{long}")]);

    // garbage is refused and the connection serves on
    write(&mut s, FILE, 3, &file_payload(2, 0, &[&d.join("garbage")]));
    write(&mut s, STDIN, 3, &[1u8; 1024]);
    write(&mut s, STDIN_CLOSE, 3, b"");
    assert_eq!(answer(&mut s, 3, &mut acks).unwrap_err().0, 12);
    write(&mut s, FILE, 4, &file_payload(3, 0, &[&d.join("missing")]));
    assert_eq!(answer(&mut s, 4, &mut acks).unwrap_err().0, 8);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn removals_renames_and_swaps_keep_their_rules() {
    let a = agent("mv");
    let mut s = connect(&a);
    let d = scratch("mv");
    let mut acks = 0;
    let mut ask = |s: &mut UnixStream, id: u32, op: u32, paths: &[&std::path::Path]| {
        write(s, FILE, id, &file_payload(op, 0, paths));
        answer(s, id, &mut acks).map(|_| ()).map_err(|e| e.0)
    };
    std::fs::write(d.join("f"), b"f").unwrap();
    std::fs::create_dir(d.join("dir")).unwrap();
    std::fs::write(d.join("dir/in"), b"in").unwrap();
    // a file does not replace a directory; a rename makes the parents it needs
    assert_eq!(ask(&mut s, 1, 5, &[&d.join("f"), &d.join("dir")]), Err(11));
    assert_eq!(
        ask(&mut s, 2, 5, &[&d.join("f"), &d.join("new/deep/g")]),
        Ok(())
    );
    assert_eq!(std::fs::read(d.join("new/deep/g")).unwrap(), b"f");
    assert_eq!(ask(&mut s, 3, 5, &[&d.join("f"), &d.join("h")]), Err(8));
    // a link is removed itself, not what it leads to; a missing path is no error
    std::os::unix::fs::symlink(d.join("dir"), d.join("link")).unwrap();
    assert_eq!(
        ask(&mut s, 4, 4, &[&d.join("link"), &d.join("none")]),
        Ok(())
    );
    assert!(d.join("dir/in").exists() && !d.join("link").exists());
    // a swap: the fresh directory takes the old one's place, which is gone
    std::fs::create_dir(d.join("fresh")).unwrap();
    std::fs::write(d.join("fresh/x"), b"x").unwrap();
    assert_eq!(
        ask(
            &mut s,
            5,
            6,
            &[&d.join("dir"), &d.join("fresh"), &d.join("old")]
        ),
        Ok(())
    );
    assert!(d.join("dir/x").exists() && !d.join("dir/in").exists() && !d.join("old").exists());
    assert_eq!(ask(&mut s, 6, 7, &[]), Ok(()));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_rename_across_file_systems_is_a_copy_then_a_removal() {
    use std::os::unix::fs::MetadataExt;
    let shm = std::path::Path::new("/dev/shm");
    let d = scratch("xdev");
    if !shm.is_dir()
        || std::fs::metadata(shm).unwrap().dev() == std::fs::metadata(&d).unwrap().dev()
    {
        eprintln!("no second file system beside {}: not tested", d.display());
        return;
    }
    let a = agent("xdev");
    let mut s = connect(&a);
    let src = shm.join(format!("davit-agent-xdev-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(src.join("tree/deep")).unwrap();
    std::fs::write(src.join("f"), b"file").unwrap();
    std::fs::write(src.join("tree/deep/g"), b"g").unwrap();
    std::os::unix::fs::symlink("deep/g", src.join("tree/link")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(src.join("f"), std::fs::Permissions::from_mode(0o751)).unwrap();
    std::fs::write(d.join("f"), b"old").unwrap();
    let mut acks = 0;
    write(
        &mut s,
        FILE,
        1,
        &file_payload(5, 0, &[&src.join("f"), &d.join("f")]),
    );
    assert_eq!(answer(&mut s, 1, &mut acks), Ok((Vec::new(), 0)));
    assert_eq!(std::fs::read(d.join("f")).unwrap(), b"file");
    assert_eq!(
        std::fs::metadata(d.join("f")).unwrap().permissions().mode() & 0o777,
        0o751
    );
    write(
        &mut s,
        FILE,
        2,
        &file_payload(5, 0, &[&src.join("tree"), &d.join("tree")]),
    );
    assert_eq!(answer(&mut s, 2, &mut acks), Ok((Vec::new(), 0)));
    assert_eq!(std::fs::read(d.join("tree/deep/g")).unwrap(), b"g");
    assert_eq!(
        std::fs::read_link(d.join("tree/link")).unwrap(),
        PathBuf::from("deep/g")
    );
    assert!(
        !src.join("f").exists() && !src.join("tree").exists(),
        "the sources are gone"
    );
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 2, "nothing beside them: {left:?}");
    std::fs::remove_dir_all(&src).unwrap();
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_trailing_slash_or_a_move_over_its_own_parent_follows_nothing_and_removes_nothing() {
    let a = agent("slash");
    let mut s = connect(&a);
    let d = scratch("slash");
    std::fs::create_dir_all(d.join("victim")).unwrap();
    std::fs::write(d.join("victim/keep"), b"k").unwrap();
    std::os::unix::fs::symlink(d.join("victim"), d.join("link")).unwrap();
    let mut acks = 0;
    let mut slashed = d.join("link").into_os_string();
    slashed.push("/");
    write(
        &mut s,
        FILE,
        1,
        &file_payload(4, 0, &[std::path::Path::new(&slashed)]),
    );
    assert_eq!(answer(&mut s, 1, &mut acks), Ok((Vec::new(), 0)));
    assert!(
        d.join("victim/keep").exists(),
        "the link itself went, not what it leads to"
    );
    assert!(std::fs::symlink_metadata(d.join("link")).is_err());
    std::fs::create_dir_all(d.join("up/down")).unwrap();
    write(
        &mut s,
        FILE,
        2,
        &file_payload(5, 0, &[&d.join("up/down"), &d.join("up")]),
    );
    assert_eq!(answer(&mut s, 2, &mut acks).unwrap_err().0, 9);
    assert!(d.join("up/down").is_dir());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_tree_deeper_than_a_threads_stack_is_removed() {
    let a = agent("deep");
    let mut s = connect(&a);
    let d = scratch("deep");
    let mut p = d.join("t");
    for _ in 0..1800 {
        p.push("a");
    }
    std::fs::create_dir_all(&p).unwrap();
    let mut acks = 0;
    write(&mut s, FILE, 1, &file_payload(4, 0, &[&d.join("t")]));
    assert_eq!(answer(&mut s, 1, &mut acks), Ok((Vec::new(), 0)));
    assert!(!d.join("t").exists());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_kill_ends_a_put_that_waits_for_its_input() {
    let a = agent("putkill");
    let mut s = connect(&a);
    let d = scratch("putkill");
    write(&mut s, FILE, 1, &file_payload(2, 0, &[&d.join("into")]));
    std::thread::sleep(Duration::from_millis(300));
    write(&mut s, SIGNAL, 1, &9u32.to_be_bytes());
    let mut acks = 0;
    let (code, message) = answer(&mut s, 1, &mut acks).unwrap_err();
    assert_eq!(code, 12);
    assert!(message.contains("cancelled"), "{message}");
    std::fs::remove_dir_all(&d).unwrap();
}

const RESIZE: u8 = 0x18;

/// An EXEC payload with a pty of `rows` x `cols` (flag 2), stdin fed when `stdin`.
fn pty_payload(stdin: bool, argv: &[&str], rows: u32, cols: u32) -> Vec<u8> {
    let mut p = exec_payload(stdin, argv, &[PATH, "TERM=dumb"], "/");
    p[..4].copy_from_slice(&(u32::from(stdin) | 2).to_be_bytes());
    p.extend_from_slice(&rows.to_be_bytes());
    p.extend_from_slice(&cols.to_be_bytes());
    p
}

/// Output of process `id` on `s` until `text` is in it (STDOUT frames only: a pty has no stderr of its own).
fn output_until(s: &mut impl Read, id: u32, text: &str) -> String {
    let mut out = String::new();
    while !out.contains(text) {
        let (kind, fid, p) = read(s).expect("the agent closed the connection");
        assert_eq!(fid, id);
        match kind {
            STARTED | STDIN_ACK => {}
            STDOUT => out.push_str(&String::from_utf8_lossy(&p)),
            k => panic!("frame type {k} before {text:?} in {out:?}"),
        }
    }
    out
}

#[test]
fn a_pty_is_the_commands_controlling_terminal_and_follows_its_resizes() {
    let a = agent("pty");
    let mut s = connect(&a);
    // its three streams one terminal, which is its controlling one, of the size asked for
    write(&mut s, EXEC, 1, &pty_payload(false, &["sh", "-c", "stty size; tty; echo err >&2; test -t 0 && echo tty0; ps -o tty= -p $$ | grep -q pts && echo ctty"], 24, 80));
    let (out, err, code, _) = run(&mut s, 1).unwrap();
    assert_eq!(code, 0);
    assert!(err.is_empty(), "stderr goes to the terminal: {err:?}");
    for want in ["24 80", "/dev/pts/", "err", "tty0", "ctty"] {
        assert!(out.contains(want), "{want} in {out:?}");
    }
    // a resize reaches it (stty reads the new size) while it waits for input
    write(
        &mut s,
        EXEC,
        2,
        &pty_payload(true, &["sh", "-c", "stty size; read x; stty size"], 10, 20),
    );
    output_until(&mut s, 2, "10 20");
    write(&mut s, RESIZE, 2, &[0, 0, 0, 30, 0, 0, 0, 100]);
    write(&mut s, STDIN, 2, b"go\n");
    let out = output_until(&mut s, 2, "30 100");
    assert!(
        out.contains("go"),
        "the terminal echoes what was typed: {out:?}"
    );
    let (kind, _, p) = loop {
        let f = read(&mut s).unwrap();
        if f.0 != STDOUT && f.0 != STDIN_ACK {
            break f;
        }
    };
    assert_eq!(
        (kind, i32::from_be_bytes(p[..4].try_into().unwrap())),
        (EXIT, 0)
    );
    // a resize of a process without a terminal, or of none, is no error; a malformed one breaks the format
    write(
        &mut s,
        EXEC,
        3,
        &exec_payload(false, &["true"], &[PATH], "/"),
    );
    write(&mut s, RESIZE, 3, &[0, 0, 0, 1, 0, 0, 0, 1]);
    write(&mut s, RESIZE, 99, &[0, 0, 0, 1, 0, 0, 0, 1]);
    assert_eq!(run(&mut s, 3).unwrap().2, 0);
    write(&mut s, RESIZE, 3, &[0, 0, 0, 0, 0, 0, 0, 1]);
    assert!(read(&mut s).is_none());
}
