//! Detached processes: services, background commands and shells (docs/reference/AGENT.md, "Detached processes").
//! SPAWN starts a command below a holder, a copy of the agent (`davit-agent hold`) in a session of its own that
//! outlives the agent and the connection, waits for the command and records how it ended. Each process is recorded
//! in a directory of the sandbox that the host names:
//!
//!   pid     the command's pid (it leads a session and process group of its own)
//!   boot    the kernel's boot id when it started
//!   holder  "HOLDER_PID HOLDER_START PID START": both processes' start times, so a pid used again is not theirs
//!   output  stdout and stderr, without a terminal
//!   tty     the terminal's device, with one
//!   exit    its exit code (128 + N when signal N ended it), once it ended
//!
//! PROC asks whether a recorded process runs, signals it, stops it; says which terminals are taken; kills every
//! process but the agent and what it runs under.

use crate::conn::Writer;
use crate::files::{self, Failure, Out};
use crate::process::{self, Handle};
use davit_agent::frame::{self, FileReq};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// How long the agent waits for a holder to say the command started.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// How long a stop waits, after its KILL, for the holder to record the exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);
/// STATUS's values (DONE): running, gone (not seen, or started before the last boot), else 256 + its exit code.
const RUNNING: u64 = 0;
const GONE: u64 = 1;
const ENDED: u64 = 256;
/// The kernel's flag of its own threads in /proc/PID/stat (field 9).
const PF_KTHREAD: u64 = 0x0020_0000;
/// The most processes a scan of /proc takes.
const MAX_PROCS: usize = 65_536;

/// Starts SPAWN request `payload` as request `id` of the connection writing to `w`: DONE carries the command's pid.
pub fn start(payload: Vec<u8>, id: u32, w: &Writer) -> Result<Handle, Failure> {
    let req = frame::spawn(&payload)
        .map_err(|_| (frame::E_AGENT, "malformed spawn request".to_string()))?;
    let dir = files::checked(Path::new(OsStr::from_bytes(req.dir)), false)?;
    if let Some(t) = req.terminal {
        console(Path::new(OsStr::from_bytes(t)))?;
    }
    let workdir = Path::new(OsStr::from_bytes(req.workdir));
    if !workdir.is_absolute() || !process::enterable(workdir) {
        return Err((
            frame::E_WORKDIR,
            format!(
                "the working directory {} is not a directory this user may enter",
                workdir.display()
            ),
        ));
    }
    files::work(id, w, false, move |_, out| spawn(&dir, &payload, out))
}

/// Whether `t` is a terminal a detached process may have: a microVM's virtio console, /dev/hvc0 to /dev/hvc63.
fn console(t: &Path) -> Result<(), Failure> {
    let n = t
        .to_str()
        .and_then(|s| s.strip_prefix("/dev/hvc"))
        .filter(|n| !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u32>().ok());
    if n.is_none_or(|n| n >= 64) {
        return Err((
            frame::E_PATH,
            format!("{} is not a virtio console", t.display()),
        ));
    }
    match fs::symlink_metadata(t) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_char_device(&m.file_type()) => Ok(()),
        _ => Err((frame::E_MISSING, format!("no console {}", t.display()))),
    }
}

/// Makes the record's directory afresh and starts the holder with the request: its answer is the command's pid, or
/// why it did not start.
fn spawn(dir: &Path, payload: &[u8], out: &mut Out) -> Result<u64, Failure> {
    let never = AtomicBool::new(false);
    files::remove_all(dir, &never).map_err(|e| failed("remove", dir, &e))?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| failed("make", dir, &e))?;
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0("davit-agent")
        .arg("hold")
        .arg(dir)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: between fork and exec only the async-signal-safe calls of process::defaults
    unsafe {
        cmd.pre_exec(|| {
            process::defaults();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| (frame::E_AGENT, format!("cannot start a holder: {e}")))?;
    // the request whole, then its end (the holder reads it all before it forks)
    let mut input = child.stdin.take().expect("piped");
    let sent = input.write_all(payload);
    drop(input);
    let answer = child
        .stdout
        .take()
        .map(|o| read_answer(OwnedFd::from(o), out));
    // the holder's first process exits once it forked the one that goes on
    let _ = child.wait();
    if let Err(e) = sent {
        return Err((
            frame::E_AGENT,
            format!("cannot pass the command to its holder: {e}"),
        ));
    }
    let answer = answer.unwrap_or_default();
    let line = String::from_utf8_lossy(&answer);
    let mut words = line.trim_end().splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("ok"), Some(pid), None) => pid
            .parse::<u64>()
            .map_err(|_| (frame::E_AGENT, "the holder's answer is malformed".into())),
        (Some("err"), Some(code), Some(message)) => {
            Err((code.parse().unwrap_or(frame::E_AGENT), message.to_string()))
        }
        _ if out.cancelled() => Err((frame::E_AGENT, "cancelled (the host gave up on it)".into())),
        _ => Err((
            frame::E_AGENT,
            "the command's holder ended without starting it".into(),
        )),
    }
}

/// The holder's one line of answer, read until its end, ANSWER_WAIT or the request's cancel.
fn read_answer(fd: OwnedFd, out: &Out) -> Vec<u8> {
    let deadline = Instant::now() + ANSWER_WAIT;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while got.len() < 4096 && !out.cancelled() && Instant::now() < deadline {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll reads and writes the one pollfd given
        if unsafe { libc::poll(&mut p, 1, 200) } <= 0 {
            continue;
        }
        // SAFETY: read writes at most buf.len() bytes into buf
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        got.extend_from_slice(&buf[..n as usize]);
    }
    got
}

fn failed(what: &str, p: &Path, e: &io::Error) -> Failure {
    (
        frame::E_FAILED,
        format!("cannot {what} {}: {e}", p.display()),
    )
}

/// `davit-agent hold DIR`: the holder. Its stdin holds the SPAWN request; it answers on its stdout ("ok PID", or
/// "err CODE MESSAGE" when it could not try) once the command started, then waits for it and records its exit in
/// DIR. A command that cannot be executed is recorded as a shell would have it (its message in the output, exit 127
/// or 126), and answered "ok 0".
pub fn hold(dir: &Path) -> ! {
    let mut payload = Vec::new();
    let read = io::stdin()
        .lock()
        .take(frame::MAX_PAYLOAD as u64 + 1)
        .read_to_end(&mut payload);
    let req = match (read, frame::spawn(&payload)) {
        (Ok(_), Ok(r)) => r,
        _ => answer(&format!("err {} malformed spawn request", frame::E_AGENT)),
    };
    // SAFETY: fork in a process of one thread (a holder has no other); the parent only exits
    match unsafe { libc::fork() } {
        -1 => answer(&format!(
            "err {} cannot fork the holder: {}",
            frame::E_AGENT,
            io::Error::last_os_error()
        )),
        0 => {}
        // the agent waits for this one: the holder goes on as a child of init
        // SAFETY: _exit ends this process at once
        _ => unsafe { libc::_exit(0) },
    }
    // a session of its own: a signal to the command's session or the end of its terminal never reaches the holder
    // SAFETY: setsid has no memory effects
    unsafe { libc::setsid() };
    let _ = record(
        dir,
        "boot",
        &fs::read("/proc/sys/kernel/random/boot_id").unwrap_or_default(),
    );
    let opened = match req.terminal {
        Some(t) => OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(OsStr::from_bytes(t)),
        None => OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(dir.join("output")),
    };
    let sink = match opened {
        Ok(f) => f,
        Err(e) => answer(&format!(
            "err {} cannot open the command's output: {e}",
            frame::E_FAILED
        )),
    };
    if let Some(t) = req.terminal {
        let mut line = t.to_vec();
        line.push(b'\n');
        let _ = record(dir, "tty", &line);
    }
    let terminal = req.terminal.is_some();
    let mut cmd = Command::new(OsStr::from_bytes(req.argv[0]));
    cmd.args(req.argv[1..].iter().map(|a| OsStr::from_bytes(a)))
        .env_clear()
        .current_dir(OsStr::from_bytes(req.workdir));
    for e in &req.env {
        if let Some(eq) = e.iter().position(|&c| c == b'=').filter(|&eq| eq > 0) {
            cmd.env(OsStr::from_bytes(&e[..eq]), OsStr::from_bytes(&e[eq + 1..]));
        }
    }
    let stdin = if terminal {
        sink.try_clone().map(Stdio::from)
    } else {
        File::open("/dev/null").map(Stdio::from)
    };
    match (stdin, sink.try_clone()) {
        (Ok(i), Ok(o)) => {
            cmd.stdin(i).stdout(o);
        }
        (Err(e), _) | (_, Err(e)) => answer(&format!(
            "err {} cannot open the command's streams: {e}",
            frame::E_FAILED
        )),
    }
    let mut err_sink = match sink.try_clone() {
        Ok(f) => f,
        Err(e) => answer(&format!(
            "err {} cannot open the command's streams: {e}",
            frame::E_FAILED
        )),
    };
    cmd.stderr(sink);
    // SAFETY: between fork and exec only async-signal-safe calls: setsid, ioctl and process::defaults
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if terminal && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            process::defaults();
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            // as a shell would have it: the message in its output, 127 or 126 its exit; the answer's pid 0
            let (code, message) = process::spawn_error(req.argv[0], &e);
            let exit = if code == frame::E_NOT_FOUND { 127 } else { 126 };
            let _ = writeln!(err_sink, "davit-agent: {message}");
            let _ = record(dir, "exit", format!("{exit}\n").as_bytes());
            say("ok 0");
            std::process::exit(0)
        }
    };
    drop(err_sink);
    let pid = child.id() as i32;
    let me = std::process::id() as i32;
    let holder = format!(
        "{me} {} {pid} {}\n",
        start_time(me).unwrap_or(0),
        start_time(pid).unwrap_or(0)
    );
    let _ = record(dir, "holder", holder.as_bytes());
    let _ = record(dir, "pid", format!("{pid}\n").as_bytes());
    say(&format!("ok {pid}"));
    let code = match child.wait() {
        Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(127)),
        Err(_) => 255,
    };
    let _ = record(dir, "exit", format!("{code}\n").as_bytes());
    std::process::exit(0)
}

/// Writes the holder's answer line to its stdout, then puts /dev/null in place of its stdin and stdout (the agent
/// reads the answer until its end).
fn say(line: &str) {
    // SAFETY: descriptor 1 is the holder's stdout, the agent's pipe; ManuallyDrop keeps it open for the dup2s below
    let mut o = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
    let _ = o.write_all(format!("{line}\n").as_bytes());
    if let Ok(null) = OpenOptions::new().read(true).write(true).open("/dev/null") {
        // SAFETY: dup2 replaces descriptors 0 and 1, which nothing of the holder holds as a File
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
}

/// Answers `line` and exits: the command did not start.
fn answer(line: &str) -> ! {
    say(line);
    std::process::exit(1)
}

/// Writes `name` in `dir` whole: a new file renamed over the old, never through a link.
fn record(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    f.write_all(bytes)?;
    drop(f);
    fs::rename(&tmp, dir.join(name))
}

/// Starts PROC request `req` as request `id` of the connection writing to `w`.
pub fn control(req: &FileReq, id: u32, w: &Writer) -> Result<Handle, Failure> {
    let dir = req
        .paths
        .first()
        .map(|p| PathBuf::from(OsStr::from_bytes(p)));
    let (op, n) = (req.op, req.n);
    files::work(id, w, false, move |_, out| {
        let dir = match dir {
            Some(d) => Some(files::checked(&d, false)?),
            None => None,
        };
        match (op, dir) {
            (frame::PROC_STATUS, Some(d)) => Ok(status(&d).0),
            (frame::PROC_SIGNAL, Some(d)) => Ok(u64::from(signal(
                &d,
                (n & !frame::SIGNAL_FOREGROUND) as i32,
                n & frame::SIGNAL_FOREGROUND != 0,
            ))),
            (frame::PROC_STOP, Some(d)) => Ok(stop(&d, Duration::from_secs(n), out)),
            (frame::PROC_CONSOLES, None) => Ok(consoles()),
            _ => {
                kill_all(out);
                Ok(0)
            }
        }
    })
}

/// A record's small file (at most 256 bytes), as text: a regular file, never through a link.
fn small(dir: &Path, name: &str) -> Option<String> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(dir.join(name))
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut s = String::new();
    f.take(256).read_to_string(&mut s).ok()?;
    Some(s.trim().to_string())
}

/// The start time (/proc/PID/stat's field 22) of process `pid`, while it runs and is not a zombie.
fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    if process::stat_field(&stat, 3) == Some("Z") {
        return None;
    }
    process::stat_field(&stat, 22)?.parse().ok()
}

/// Whether `pid` still runs as the process that started at `start` (0: at any time, a record the guest's shell agent
/// made).
fn alive(pid: i32, start: u64) -> bool {
    pid > 1 && start_time(pid).is_some_and(|s| start == 0 || s == start)
}

/// STATUS of record `dir`, with the command's pid when it runs.
fn status(dir: &Path) -> (u64, Option<i32>) {
    if let Some(exit) = small(dir, "exit") {
        return (ENDED + exit.parse::<u64>().unwrap_or(255).min(255), None);
    }
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let Some(pid) = small(dir, "pid").and_then(|p| p.parse::<i32>().ok()) else {
        return (GONE, None);
    };
    if small(dir, "boot").is_none_or(|b| b != boot.trim()) {
        return (GONE, None);
    }
    let nums: Vec<u64> = small(dir, "holder")
        .unwrap_or_default()
        .split_ascii_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match nums.as_slice() {
        [hp, hs, cp, cs] if *cp == pid as u64 => {
            if alive(pid, *cs) {
                (RUNNING, Some(pid))
            } else if alive(*hp as i32, *hs) {
                (RUNNING, None) // it ended: its holder is about to record how
            } else {
                (GONE, None)
            }
        }
        // a record the guest's shell agent made (no holder file): its pid alone
        [] if alive(pid, 0) => (RUNNING, Some(pid)),
        _ => (GONE, None),
    }
}

/// Every live process of the sandbox as (pid, its stat line): the agent itself, pid 1, the kernel's own and zombies
/// left out.
fn processes() -> Vec<(i32, Vec<u8>)> {
    let me = std::process::id() as i32;
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|&p| p > 1 && p != me)
        .filter_map(|p| fs::read(format!("/proc/{p}/stat")).ok().map(|s| (p, s)))
        .filter(|(_, s)| {
            // a zombie is gone but for its parent's wait
            process::stat_field(s, 3) != Some("Z")
                && process::stat_field(s, 9)
                    .and_then(|f| f.parse::<u64>().ok())
                    .is_some_and(|f| f & PF_KTHREAD == 0)
        })
        .take(MAX_PROCS)
        .collect()
}

/// The pids of the processes in session `sid` (the command's and what it started without leaving it).
fn session(sid: i32) -> Vec<i32> {
    let s = sid.to_string();
    processes()
        .into_iter()
        .filter(|(_, stat)| process::stat_field(stat, 6) == Some(s.as_str()))
        .map(|(p, _)| p)
        .collect()
}

/// SIGNAL: `sig` to the recorded command's group and session, or with `foreground` to its terminal's foreground
/// process group; whether it was sent (not: the command does not run).
fn signal(dir: &Path, sig: i32, foreground: bool) -> bool {
    let Some(pid) = status(dir).1 else {
        return false;
    };
    if foreground {
        let group = fs::read(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| process::stat_field(&s, 8).and_then(|g| g.parse::<i32>().ok()));
        return match group {
            // SAFETY: kill has no memory effects
            Some(g) if g > 1 => unsafe { libc::kill(-g, sig) == 0 },
            _ => false,
        };
    }
    // SAFETY: kill has no memory effects; the group and session are the command's (it leads both)
    unsafe {
        libc::kill(-pid, sig);
        for p in session(pid) {
            libc::kill(p, sig);
        }
    }
    true
}

/// STOP: TERM (and HUP with a terminal, which an interactive shell heeds) to the command's group and session,
/// KILL once `grace` passed and some are left, then up to EXIT_WAIT for its exit to be recorded; its status then.
fn stop(dir: &Path, grace: Duration, out: &Out) -> u64 {
    let (st, pid) = status(dir);
    let Some(pid) = pid else {
        return st;
    };
    signal(dir, libc::SIGTERM, false);
    if small(dir, "tty").is_some() {
        signal(dir, libc::SIGHUP, false);
    }
    let until = Instant::now() + grace;
    while Instant::now() < until && !out.cancelled() && (alive(pid, 0) || !session(pid).is_empty())
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill has no memory effects; what is left of the command's group and session
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        for p in session(pid) {
            libc::kill(p, libc::SIGKILL);
        }
    }
    let until = Instant::now() + EXIT_WAIT;
    while Instant::now() < until && !out.cancelled() && status(dir).0 == RUNNING {
        std::thread::sleep(Duration::from_millis(50));
    }
    status(dir).0
}

/// CONSOLES: the virtio consoles some process holds open, as a mask (bit N: /dev/hvcN).
fn consoles() -> u64 {
    let mut mask = 0u64;
    let me = std::process::id() as i32;
    for p in processes().into_iter().map(|(p, _)| p).chain([1, me]) {
        let Ok(fds) = fs::read_dir(format!("/proc/{p}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(t) = fs::read_link(fd.path()) else {
                continue;
            };
            let n = t
                .to_str()
                .and_then(|s| s.strip_prefix("/dev/hvc"))
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(n) = n.filter(|&n| n < 64) {
                mask |= 1 << n;
            }
        }
    }
    mask
}

/// KILL_ALL: every process but pid 1, the agent and what it runs under (the restart loop of a microVM's init):
/// each found is stopped at once, so none forks while the rest are looked for, then all are killed.
fn kill_all(out: &Out) {
    let mut spared = HashSet::from([1, std::process::id() as i32]);
    let mut at = std::process::id() as i32;
    while let Some(pp) = fs::read(format!("/proc/{at}/stat"))
        .ok()
        .and_then(|s| process::stat_field(&s, 4).and_then(|p| p.parse::<i32>().ok()))
    {
        if pp <= 1 || !spared.insert(pp) {
            break;
        }
        at = pp;
    }
    let mut found = HashSet::new();
    for _ in 0..100 {
        let mut grew = false;
        for (p, _) in processes() {
            if !spared.contains(&p) && found.len() < MAX_PROCS && found.insert(p) {
                // SAFETY: kill has no memory effects
                unsafe { libc::kill(p, libc::SIGSTOP) };
                grew = true;
            }
        }
        if !grew || out.cancelled() {
            break;
        }
    }
    for p in found {
        // SAFETY: as above
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
}
