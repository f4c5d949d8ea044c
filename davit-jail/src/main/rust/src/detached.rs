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
use crate::{sweep, terminal};
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
    if let Some(t) = req.terminal.filter(|&t| t != frame::PTY) {
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
    if status(dir).0 == RUNNING {
        return Err((
            frame::E_FAILED,
            format!(
                "a process recorded in {} still runs; stop it first",
                dir.display()
            ),
        ));
    }
    files::remove_all(dir, out.cancel_flag()).map_err(|e| failed("remove", dir, &e))?;
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
    let deadline = Instant::now() + ANSWER_WAIT;
    // the request whole, then its end (the holder reads it all before it forks); a holder stopped by code in the
    // sandbox costs the wait, not the request's thread
    let sent = child
        .stdin
        .take()
        .map(|i| write_bounded(OwnedFd::from(i), payload, deadline, out));
    let answer = child
        .stdout
        .take()
        .map(|o| read_answer(OwnedFd::from(o), deadline, out));
    // the holder's first process exits once it forked the one that goes on: waited for within the same wait
    loop {
        match child.try_wait() {
            Ok(None) if Instant::now() < deadline && !out.cancelled() => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            _ => break,
        }
    }
    if let Some(Err(e)) = sent {
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

/// Writes `bytes` to the pipe `fd` until the deadline or the request's cancel, then closes it.
fn write_bounded(fd: OwnedFd, bytes: &[u8], deadline: Instant, out: &Out) -> io::Result<()> {
    nonblocking(fd.as_raw_fd());
    if write_until(fd.as_raw_fd(), bytes, deadline, out)? < bytes.len() {
        return Err(io::Error::other("the holder did not take it in time"));
    }
    Ok(())
}

/// Sets descriptor `fd` non-blocking.
pub(crate) fn nonblocking(fd: libc::c_int) {
    // SAFETY: fcntl on a descriptor its caller holds open
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// Writes `bytes` to non-blocking pipe or FIFO `fd` until all are written, the deadline passes or the request is
/// cancelled: how many were. A pipe whose reader left is an error (EPIPE).
pub(crate) fn write_until(
    fd: libc::c_int,
    bytes: &[u8],
    deadline: Instant,
    out: &Out,
) -> io::Result<usize> {
    let mut at = 0;
    while at < bytes.len() && !out.cancelled() && Instant::now() < deadline {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: poll reads and writes the one pollfd given
        if unsafe { libc::poll(&mut p, 1, 100) } <= 0 {
            continue;
        }
        if p.revents & libc::POLLERR != 0 {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        // SAFETY: write reads at most the rest of `bytes`
        let n = unsafe { libc::write(fd, bytes[at..].as_ptr().cast(), bytes.len() - at) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if matches!(
                e.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) {
                continue;
            }
            return Err(e);
        }
        at += n as usize;
    }
    Ok(at)
}

/// The holder's one line of answer, read until its end, the deadline or the request's cancel.
fn read_answer(fd: OwnedFd, deadline: Instant, out: &Out) -> Vec<u8> {
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
    // the record's directory, opened once: a later SPAWN that makes it afresh leaves this holder writing into the
    // one it removed, never into the new record
    let dir = match Record::open(dir) {
        Ok(r) => r,
        Err(e) => answer(&format!(
            "err {} cannot open {}: {e}",
            frame::E_FAILED,
            dir.display()
        )),
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
    let _ = dir.write(
        "boot",
        &fs::read("/proc/sys/kernel/random/boot_id").unwrap_or_default(),
    );
    let pty = req.terminal == Some(frame::PTY);
    let mut pumped = None;
    let opened = match req.terminal {
        // a pseudo-terminal of its own, its output and input through the record (terminal.rs)
        Some(_) if pty => terminal::open().and_then(|(master, peer)| {
            pumped = Some((master, dir.input_fifo()?));
            Ok(peer)
        }),
        Some(t) => OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(OsStr::from_bytes(t)),
        None => dir.file("output", libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT),
    };
    let sink = match opened {
        Ok(f) => f,
        Err(e) => answer(&format!(
            "err {} cannot open the command's output: {e}",
            frame::E_FAILED
        )),
    };
    if let Some(t) = req.terminal {
        // a terminal that is some session's controlling terminal (another shell's) could not become this one's
        let mut sid: libc::pid_t = 0;
        // SAFETY: TIOCGSID writes one pid_t into `sid`
        if unsafe { libc::ioctl(sink.as_raw_fd(), libc::TIOCGSID, &mut sid) } == 0 {
            answer(&format!(
                "err {} the terminal {} is another session's",
                frame::E_FAILED,
                String::from_utf8_lossy(t)
            ));
        }
        let mut line = t.to_vec();
        line.push(b'\n');
        let _ = dir.write("tty", &line);
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
    let spawned = cmd.spawn();
    // the holder's own copies of the command's streams (a terminal held open would look taken)
    drop(cmd);
    let mut child = match spawned {
        Ok(c) => c,
        Err(_) if !process::enterable(Path::new(OsStr::from_bytes(req.workdir))) => {
            answer(&format!(
                "err {} the working directory {} is not a directory this user may enter",
                frame::E_WORKDIR,
                String::from_utf8_lossy(req.workdir)
            ))
        }
        Err(e) => {
            // as a shell would have it: the message in its output, 127 or 126 its exit; the answer's pid 0
            let (code, message) = process::spawn_error(req.argv[0], &e);
            let exit = if code == frame::E_NOT_FOUND { 127 } else { 126 };
            let _ = writeln!(err_sink, "davit-agent: {message}");
            let _ = dir.write("exit", format!("{exit}\n").as_bytes());
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
    let _ = dir.write("holder", holder.as_bytes());
    let _ = dir.write("pid", format!("{pid}\n").as_bytes());
    say(&format!("ok {pid}"));
    let waited = match pumped {
        Some((master, input)) => terminal::pump(master, input, &dir, &mut child),
        None => child.wait(),
    };
    let code = match waited {
        Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(127)),
        Err(_) => 255,
    };
    let _ = dir.write("exit", format!("{code}\n").as_bytes());
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

/// A record's directory, as the holder holds it: opened once, every file in it made relative to it.
pub struct Record(pub(crate) File);

impl Record {
    fn open(dir: &Path) -> io::Result<Record> {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(dir)
            .map(Record)
    }

    /// Opens `name` in the directory with `flags` (never through a link), 0644 when it is made.
    pub(crate) fn file(&self, name: &str, flags: libc::c_int) -> io::Result<File> {
        let c = std::ffi::CString::new(name).map_err(io::Error::other)?;
        // SAFETY: openat reads the NUL-terminated name; the descriptor it returns is owned by the File
        let fd = unsafe {
            libc::openat(
                self.0.as_raw_fd(),
                c.as_ptr(),
                flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o644 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just opened and is owned by nothing else
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Writes `name` whole: a new file renamed over the old, never through a link.
    fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = format!(".{name}.tmp");
        let (t, n) = (
            std::ffi::CString::new(tmp.as_str()).map_err(io::Error::other)?,
            std::ffi::CString::new(name).map_err(io::Error::other)?,
        );
        let d = self.0.as_raw_fd();
        // SAFETY: unlinkat reads the NUL-terminated name
        unsafe { libc::unlinkat(d, t.as_ptr(), 0) };
        let mut f = self.file(&tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)?;
        f.write_all(bytes)?;
        drop(f);
        // SAFETY: renameat reads the NUL-terminated names
        if unsafe { libc::renameat(d, t.as_ptr(), d, n.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Starts PROC request `req` as request `id` of the connection writing to `w`.
pub fn control(req: &FileReq, id: u32, w: &Writer) -> Result<Handle, Failure> {
    let dir = req
        .paths
        .first()
        .map(|p| PathBuf::from(OsStr::from_bytes(p)));
    let (op, n) = (req.op, req.n);
    // INPUT's bytes to type
    let text = req.paths.get(1).map(|b| b.to_vec()).unwrap_or_default();
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
            (frame::PROC_CONSOLES, None) => Ok(sweep::consoles(out)),
            (frame::PROC_KILL_ALL, None) => {
                sweep::kill_all(out);
                Ok(0)
            }
            (frame::PROC_OUTPUT, Some(d)) => terminal::output(&d, n, out),
            (frame::PROC_INPUT, Some(d)) => terminal::input(&d, &text, Duration::from_secs(n), out),
            _ => Err((frame::E_AGENT, "malformed process request".into())),
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

/// Whether `pid` still runs as the process that started at `start`.
fn alive(pid: i32, start: u64) -> bool {
    pid > 1 && start != 0 && start_time(pid) == Some(start)
}

/// What a record says of its command: its pid and start time, its holder's, from this boot.
struct Recorded {
    pid: i32,
    start: u64,
    holder: i32,
    holder_start: u64,
}

/// The record in `dir`, when it is whole and of this boot (the sandbox's code may have written any of it: what it
/// names is checked again before anything is signalled).
fn recorded(dir: &Path) -> Option<Recorded> {
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let pid = small(dir, "pid")?.parse::<i32>().ok()?;
    if small(dir, "boot")? != boot.trim() {
        return None;
    }
    let nums: Vec<u64> = small(dir, "holder")?
        .split_ascii_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match nums.as_slice() {
        [hp, hs, cp, cs] if *cp == pid as u64 && pid > 1 && *hp <= i32::MAX as u64 => {
            Some(Recorded {
                pid,
                start: *cs,
                holder: *hp as i32,
                holder_start: *hs,
            })
        }
        _ => None,
    }
}

/// The processes no PROC request may signal: pid 1, the agent, its group, its session and what it runs under.
pub(crate) fn spared() -> HashSet<i32> {
    let me = std::process::id() as i32;
    // SAFETY: getpgrp and getsid(0) have no memory effects
    let mut set = HashSet::from([1, me, unsafe { libc::getpgrp() }, unsafe {
        libc::getsid(0)
    }]);
    let mut at = me;
    while let Some(pp) = fs::read(format!("/proc/{at}/stat"))
        .ok()
        .and_then(|s| process::stat_field(&s, 4).and_then(|p| p.parse::<i32>().ok()))
    {
        if pp <= 1 || !set.insert(pp) {
            break;
        }
        at = pp;
    }
    set
}

/// Whether the recorded command runs as recorded: its start time, leading a session and group of its own (as its
/// holder made it), none the agent spares.
fn runs(r: &Recorded, spared: &HashSet<i32>) -> bool {
    let Ok(stat) = fs::read(format!("/proc/{}/stat", r.pid)) else {
        return false;
    };
    let own = r.pid.to_string();
    process::stat_field(&stat, 3) != Some("Z")
        && process::stat_field(&stat, 22).and_then(|t| t.parse::<u64>().ok()) == Some(r.start)
        && process::stat_field(&stat, 5) == Some(own.as_str())
        && process::stat_field(&stat, 6) == Some(own.as_str())
        && !spared.contains(&r.pid)
}

/// STATUS of record `dir`, with the command's pid when it runs.
fn status(dir: &Path) -> (u64, Option<i32>) {
    let (st, pid, _) = status_with(dir, &spared());
    (st, pid)
}

/// STATUS of record `dir` as a request that spares `spared` sees it: with the command's pid when it runs, and the
/// record as it was read.
fn status_with(dir: &Path, spared: &HashSet<i32>) -> (u64, Option<i32>, Option<Recorded>) {
    let r = recorded(dir);
    if let Some(rec) = r.as_ref().filter(|rec| runs(rec, spared)) {
        return (RUNNING, Some(rec.pid), r);
    }
    let holder = r
        .as_ref()
        .is_some_and(|rec| alive(rec.holder, rec.holder_start));
    // read after the holder was seen: one seen gone recorded the exit before it went (read first, a holder that
    // recorded it and ended in between would pass for one that never did)
    let st = match small(dir, "exit") {
        Some(exit) => ENDED + exit.parse::<u64>().unwrap_or(255).min(255),
        // it ended: its holder is about to record how
        None if holder => RUNNING,
        None => GONE,
    };
    (st, None, r)
}

/// Every live process of the sandbox as (pid, its stat line): the agent itself, pid 1, the kernel's own and zombies
/// left out.
pub(crate) fn processes() -> Vec<(i32, Vec<u8>)> {
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

/// The pids of the processes in session `sid` (the command's and what it started without leaving it), none the
/// agent spares.
fn session(sid: i32, spared: &HashSet<i32>) -> Vec<i32> {
    let s = sid.to_string();
    processes()
        .into_iter()
        .filter(|(p, stat)| process::stat_field(stat, 6) == Some(s.as_str()) && !spared.contains(p))
        .map(|(p, _)| p)
        .collect()
}

/// `sig` to group `sid` (while its leader runs as recorded) and every process of session `sid`.
fn to_session(sid: i32, leads: bool, sig: i32, spared: &HashSet<i32>) {
    // SAFETY: kill has no memory effects; the group and session were checked to be the command's
    unsafe {
        if leads {
            libc::kill(-sid, sig);
        }
        for p in session(sid, spared) {
            libc::kill(p, sig);
        }
    }
}

/// SIGNAL: `sig` to the recorded command's group and session, or with `foreground` to its terminal's foreground
/// process group; whether it was sent (not: the command does not run as recorded).
fn signal(dir: &Path, sig: i32, foreground: bool) -> bool {
    let spared = spared();
    let Some(pid) = status_with(dir, &spared).1 else {
        return false;
    };
    if foreground {
        let group = fs::read(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| process::stat_field(&s, 8).and_then(|g| g.parse::<i32>().ok()));
        return match group {
            // SAFETY: kill has no memory effects; a group of the command's terminal, which its session owns
            Some(g) if g > 1 && !spared.contains(&g) => unsafe { libc::kill(-g, sig) == 0 },
            _ => false,
        };
    }
    to_session(pid, true, sig, &spared);
    true
}

/// STOP: TERM (and HUP with a terminal, which an interactive shell heeds) to the command's group and session,
/// KILL once `grace` passed to what is left, then up to EXIT_WAIT for its exit to be recorded; its status then. A
/// command that ended is stopped too in what it left in its session, while no other process has taken its number.
fn stop(dir: &Path, grace: Duration, out: &Out) -> u64 {
    // what the agent spares and the record, each found once for the request (the record's exit read again below)
    let spared = spared();
    let (st, pid, r) = status_with(dir, &spared);
    let sid = match (pid, &r) {
        (Some(p), _) => p,
        (None, Some(r)) if start_time(r.pid).is_none() && !spared.contains(&r.pid) => r.pid,
        _ => return st,
    };
    let leads = || r.as_ref().is_some_and(|r| runs(r, &spared));
    // the session's number is the command's while its leader runs as recorded, or no process has its pid
    let ours = || leads() || r.as_ref().is_some_and(|r| start_time(r.pid).is_none());
    if pid.is_none() && session(sid, &spared).is_empty() {
        return st;
    }
    to_session(sid, leads(), libc::SIGTERM, &spared);
    if small(dir, "tty").is_some() {
        to_session(sid, leads(), libc::SIGHUP, &spared);
    }
    let until = Instant::now() + grace;
    while Instant::now() < until
        && !out.cancelled()
        && ours()
        && (leads() || !session(sid, &spared).is_empty())
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    if ours() {
        to_session(sid, leads(), libc::SIGKILL, &spared);
    }
    let until = Instant::now() + EXIT_WAIT;
    while Instant::now() < until && !out.cancelled() && status_with(dir, &spared).0 == RUNNING {
        std::thread::sleep(Duration::from_millis(50));
    }
    status_with(dir, &spared).0
}
