//! A command the agent runs: started in a session of its own, its output streamed as frames, its end reported once.

use crate::conn::Writer;
use davit_agent::frame::{self, Exec};
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The most processes the agent runs at once, over all connections.
const MAX_RUNNING: usize = 1024;
/// How long a process's end waits for its pipes, which a process it left in the background may hold open.
const PIPE_GRACE: Duration = Duration::from_secs(1);
/// STDIN chunks the host may send a process before their acknowledgements (frame::STDIN_WINDOW).
const STDIN_WINDOW: usize = frame::STDIN_WINDOW;

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A process's life as the agent saw it. A process is reaped only when its EXIT is about to go (after the grace
/// for its pipes): until then its zombie holds its pid and group id, so its group can still be signalled safely (a
/// process it left in the background, holding its pipes, is killed with its connection too).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Life {
    Running,
    /// It ended, and is not reaped yet.
    Ended,
    /// It was reaped: its pid and group id may be another's now.
    Reaped,
}

/// A started process, as its connection holds it.
pub struct Handle {
    pid: i32,
    /// Where it is in its life (see Life).
    life: Arc<Mutex<Life>>,
    /// Whether its EXIT was sent.
    ended: Arc<AtomicBool>,
    stdin: Mutex<Option<SyncSender<Vec<u8>>>>,
    /// Set to stop a file request's work (files.rs), which has no process to kill; None for a process.
    cancel: Option<Arc<AtomicBool>>,
    /// The agent's side of its pseudo-terminal, when it has one (RESIZE sets its size).
    pty: Option<Arc<OwnedFd>>,
}

impl Handle {
    /// Whether its EXIT was sent.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Queues bytes for its stdin; false when the host sent more than its window (the connection is then closed).
    /// Nothing is queued once the host closed stdin.
    pub fn stdin(&self, bytes: Vec<u8>) -> bool {
        let tx = lock(&self.stdin);
        match tx.as_ref() {
            Some(t) => !matches!(
                t.try_send(bytes),
                Err(std::sync::mpsc::TrySendError::Full(_))
            ),
            None => true,
        }
    }

    /// Sets its terminal's size (the kernel tells its foreground group with SIGWINCH); nothing without a terminal.
    pub fn resize(&self, rows: u16, cols: u16) {
        if let Some(m) = &self.pty {
            let ws = libc::winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCSWINSZ reads one winsize from `ws`; the descriptor is the pty's, which `m` keeps open
            unsafe { libc::ioctl(m.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        }
    }

    /// Closes its stdin once what was queued is written.
    pub fn close_stdin(&self) {
        *lock(&self.stdin) = None;
    }

    /// Sends `sig` to its process group while it runs (a SIGNAL for a process that has ended is ignored); SIGKILL
    /// to every process below it too ([kill_tree]).
    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.cancel {
            // a file request's work stops at its next step, and says so in its ERROR
            if sig == libc::SIGKILL || sig == libc::SIGTERM || sig == libc::SIGINT {
                c.store(true, Ordering::SeqCst);
            }
            return;
        }
        let life = lock(&self.life);
        if *life == Life::Running {
            if sig == libc::SIGKILL {
                kill_tree(self.pid);
            } else {
                // SAFETY: kill has no memory effects; the group is this process's own (it leads its session)
                unsafe {
                    libc::kill(-self.pid, sig);
                }
            }
        }
    }

    /// A file request's work (files.rs), as its connection holds it: `ended` once its DONE or ERROR is sent, stdin
    /// its input's queue, `cancel` what its kill (and a KILL, TERM or INT signal) sets; other signals are ignored.
    pub fn work(
        ended: Arc<AtomicBool>,
        stdin: Option<SyncSender<Vec<u8>>>,
        cancel: Arc<AtomicBool>,
    ) -> Handle {
        Handle {
            pid: 0,
            life: Arc::new(Mutex::new(Life::Reaped)),
            ended,
            stdin: Mutex::new(stdin),
            cancel: Some(cancel),
            pty: None,
        }
    }

    /// Kills it and what it started ([kill_tree]) unless it was reaped (its group id may be another's by then): its
    /// connection closed before its end was reported. A file request's work is told to stop.
    pub fn kill(&self) {
        if let Some(c) = &self.cancel {
            c.store(true, Ordering::SeqCst);
            return;
        }
        let life = lock(&self.life);
        match *life {
            Life::Running => kill_tree(self.pid),
            // its children are another's now: its group is what is left to kill
            // SAFETY: kill has no memory effects; the group id is this process's own (its zombie holds it)
            Life::Ended => unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
            },
            Life::Reaped => {}
        }
    }
}

/// The most processes [kill_tree] follows below one command.
const MAX_TREE: usize = 65_536;

/// Kills `root` (running: its pid is its own), its process group, and every process below it that /proc's parent
/// links lead to, a process that made a session or group of its own included: each found is stopped at once, so it
/// forks no more while the tree is followed, then all are killed.
pub fn kill_tree(root: i32) {
    // SAFETY: kill has no memory effects; the group is root's own (it leads its session), root is not reaped
    unsafe {
        libc::kill(-root, libc::SIGSTOP);
    }
    // the agent itself is never one: a /proc the sandbox mounted may say anything
    let me = std::process::id() as i32;
    let mut found = std::collections::HashSet::from([root]);
    let mut grew = true;
    while grew && found.len() < MAX_TREE {
        grew = false;
        let Ok(dir) = std::fs::read_dir("/proc") else {
            break;
        };
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            if pid == me || pid <= 1 || found.contains(&pid) {
                continue;
            }
            let Ok(stat) = std::fs::read(e.path().join("stat")) else {
                continue;
            };
            if parent(&stat).is_some_and(|pp| found.contains(&pp)) && found.len() < MAX_TREE {
                // SAFETY: as above; the pid was just seen as a child of one found (a parent reaps it, not us)
                unsafe {
                    libc::kill(pid, libc::SIGSTOP);
                }
                found.insert(pid);
                grew = true;
            }
        }
    }
    // SAFETY: as above
    unsafe {
        libc::kill(-root, libc::SIGKILL);
        for &p in &found {
            libc::kill(p, libc::SIGKILL);
        }
    }
}

/// The parent pid in a /proc/PID/stat line: the field after the state, after the command name's last ')'.
fn parent(stat: &[u8]) -> Option<i32> {
    stat_field(stat, 4)?.parse().ok()
}

/// Field `n` (numbered as proc(5) does: 1 the pid, 3 the state, 4 the parent, 6 the session, 8 the terminal's
/// foreground group, 22 the start time) of a /proc/PID/stat line, counted after the command name's last ')'.
pub fn stat_field(stat: &[u8], n: usize) -> Option<&str> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(n.checked_sub(3)?)
}

/// Locks `m`, also when a thread panicked holding it (the agent aborts on panic, so it never is).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts `req` as process `id` of the connection writing to `w`: STARTED is sent before any of its output. An
/// error is the ERROR code and message to send in its place.
pub fn start(req: &Exec, id: u32, w: &Writer) -> Result<Handle, (u32, String)> {
    let workdir = Path::new(OsStr::from_bytes(req.workdir));
    if !workdir.is_absolute() || !enterable(workdir) {
        return Err((
            frame::E_WORKDIR,
            format!(
                "the working directory {} is not a directory this user may enter",
                workdir.display()
            ),
        ));
    }
    // a pseudo-terminal: the command's three streams its side, its output read from (and its input written to) ours
    let pty = match req.pty {
        Some((rows, cols)) => Some(
            open_pty(rows, cols)
                .map_err(|e| (frame::E_AGENT, format!("cannot open a pty: {e}")))?,
        ),
        None => None,
    };
    // opened here, not by std: a /dev/null that cannot be opened is the agent's failure, not the command not found
    let stdin = if pty.is_some() {
        Stdio::null() // replaced by the terminal below
    } else if req.stdin {
        Stdio::piped()
    } else {
        match std::fs::File::open("/dev/null") {
            Ok(f) => Stdio::from(f),
            Err(e) => return Err((frame::E_AGENT, format!("cannot open /dev/null: {e}"))),
        }
    };
    // the agent's ends of the terminal, made before the command starts: none can be missing once it runs
    let mut pty_ends = None;
    if let Some((master, _)) = &pty {
        let ends = (
            master.try_clone(),
            if req.stdin {
                master.try_clone().map(Some)
            } else {
                Ok(None)
            },
            master.try_clone(),
        );
        let (Ok(reader), Ok(writer), Ok(keep)) = ends else {
            return Err((frame::E_AGENT, "cannot open the pty's ends".into()));
        };
        pty_ends = Some((OwnedFd::from(reader), writer, Arc::new(OwnedFd::from(keep))));
    }
    let mut cmd = command(req, workdir, stdin);
    if let Some((_, peer)) = &pty {
        let streams = (peer.try_clone(), peer.try_clone(), peer.try_clone());
        let (Ok(i), Ok(o), Ok(e)) = streams else {
            return Err((frame::E_AGENT, "cannot open the pty's streams".into()));
        };
        cmd.stdin(i).stdout(o).stderr(e);
        // SAFETY: after command's own (setsid first): ioctl only, async-signal-safe
        unsafe {
            cmd.pre_exec(|| {
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    reserve()?;
    let ooms = oom_kills();
    let spawned = cmd.spawn();
    // its copies of the terminal's side, and ours: the command's end is the end of the terminal's output
    drop(cmd);
    drop(pty);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            return Err(spawn_error(req.argv[0], &e));
        }
    };
    let pid = child.id() as i32;
    let ended = Arc::new(AtomicBool::new(false));
    let life = Arc::new(Mutex::new(Life::Running));
    let open = Arc::new((Mutex::new(2u32), Condvar::new()));
    let (out, err, stdin, master): (
        Option<OwnedFd>,
        Option<OwnedFd>,
        Option<Box<dyn Write + Send>>,
        _,
    ) = match pty_ends {
        Some((reader, writer, master)) => (
            Some(reader),
            None,
            writer.map(|f| Box::new(f) as Box<dyn Write + Send>),
            Some(master),
        ),
        None => (
            child.stdout.take().map(OwnedFd::from),
            child.stderr.take().map(OwnedFd::from),
            child
                .stdin
                .take()
                .map(|i| Box::new(i) as Box<dyn Write + Send>),
            None,
        ),
    };
    // every thread of the process is made while the writer is held, before STARTED: none writes until it is sent,
    // and when one cannot be made (the sandbox's process limit counts threads) the process is killed and an ERROR
    // is sent in its place, never a STARTED without an EXIT to follow
    let guard = lock(w);
    let waiter = {
        let (w, ended, life, open) = (w.clone(), ended.clone(), life.clone(), open.clone());
        spawn(move || wait(child, id, ooms, &w, &ended, &life, &open))
    };
    let mut made = waiter;
    for (pipe, kind) in [(out, frame::STDOUT), (err, frame::STDERR)] {
        if !made {
            break;
        }
        let (w, ended, open) = (w.clone(), ended.clone(), open.clone());
        made &= spawn(move || {
            if let Some(p) = pipe {
                pump(p, kind, id, &w, &ended);
            }
            let (count, cv) = &*open;
            *lock(count) -= 1;
            cv.notify_all();
        });
    }
    let mut tx = None;
    if let (true, Some(p)) = (made, stdin) {
        let (t, rx) = sync_channel::<Vec<u8>>(STDIN_WINDOW);
        let (w, ended) = (w.clone(), ended.clone());
        made &= spawn(move || feed(p, rx, id, &w, &ended));
        tx = Some(t);
    }
    if !made {
        // what the threads that were made would send is dropped
        ended.store(true, Ordering::SeqCst);
        // SAFETY: kill and waitpid have no memory effects; the group is the child's own, and it is not reaped yet:
        // only its waiter reaps it, and without a waiter it is reaped here (its Child went with the closure that
        // could not run, and a dropped Child is not waited for)
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
            if !waiter {
                while libc::waitpid(pid, std::ptr::null_mut(), 0) < 0
                    && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
                {
                }
                RUNNING.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
    if !made {
        drop(guard);
        return Err((
            frame::E_AGENT,
            "cannot make a thread for the process (the sandbox's process limit is reached?)".into(),
        ));
    }
    let mut g = guard;
    let _ = frame::write(&mut *g, frame::STARTED, id, &(pid as u32).to_be_bytes());
    drop(g);
    Ok(Handle {
        pid,
        life,
        ended,
        stdin: Mutex::new(tx),
        cancel: None,
        pty: master,
    })
}

/// Counts one more process or file request against MAX_RUNNING; the error to send when there are that many.
pub fn reserve() -> Result<(), (u32, String)> {
    if RUNNING.fetch_add(1, Ordering::SeqCst) >= MAX_RUNNING {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        return Err((
            frame::E_TOO_MANY,
            format!("{MAX_RUNNING} processes and file requests run already"),
        ));
    }
    Ok(())
}

/// Counts one process or file request less (see reserve).
pub fn release() {
    RUNNING.fetch_sub(1, Ordering::SeqCst);
}

/// Whether `dir` is a directory this process may enter (checked before the fork: the child's chdir failing would
/// look like the command failing).
pub fn enterable(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access reads the NUL-terminated path only
    std::fs::metadata(dir).map(|m| m.is_dir()).unwrap_or(false)
        && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
}

/// Writes the STDIN chunks of a process to its stdin, acknowledging each (STDIN_ACK) once it is written or dropped
/// (its stdin closed or broken): the host sends at most STDIN_WINDOW unacknowledged, so the connection's reader never
/// waits for a process that does not read.
fn feed(
    mut p: Box<dyn Write + Send>,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    id: u32,
    w: &Writer,
    ended: &AtomicBool,
) {
    let mut open = true;
    for chunk in rx {
        if open && p.write_all(&chunk).is_err() {
            open = false;
        }
        let mut s = lock(w);
        if !ended.load(Ordering::SeqCst) {
            let _ = frame::write(&mut *s, frame::STDIN_ACK, id, &[]);
        }
    }
}

/// A pseudo-terminal of `rows` x `cols`: the agent's side (/dev/ptmx) and the command's, taken from it by
/// descriptor (TIOCGPTPEER), never by a path under /dev/pts that the sandbox could have replaced.
pub fn open_pty(rows: u16, cols: u16) -> io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd;
    let master = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open("/dev/ptmx")?;
    let unlock: libc::c_int = 0;
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSPTLCK reads an int, TIOCSWINSZ a winsize, TIOCGPTPEER opens the peer and returns its descriptor,
    // which the File then owns
    unsafe {
        if libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) < 0
            || libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) < 0
        {
            return Err(io::Error::last_os_error());
        }
        let peer = libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if peer < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((master, std::fs::File::from_raw_fd(peer)))
    }
}

/// The command of `req`, with `stdin` (a pipe, or /dev/null), in `workdir`.
fn command(req: &Exec, workdir: &Path, stdin: Stdio) -> Command {
    let mut cmd = Command::new(OsStr::from_bytes(req.argv[0]));
    cmd.args(req.argv[1..].iter().map(|a| OsStr::from_bytes(a)));
    // only the environment given (std looks the command up along its PATH)
    cmd.env_clear();
    for e in &req.env {
        if let Some(eq) = e.iter().position(|&c| c == b'=') {
            if eq > 0 {
                cmd.env(OsStr::from_bytes(&e[..eq]), OsStr::from_bytes(&e[eq + 1..]));
            }
        }
    }
    cmd.current_dir(workdir);
    cmd.stdin(stdin);
    cmd.stdout(Stdio::piped());
    cmd.stderr(Stdio::piped());
    // SAFETY: between fork and exec only async-signal-safe calls: setsid, prctl, sigemptyset, sigprocmask and the
    // rt_sigaction system call (on a zeroed buffer that outlives the call)
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            // killed when the agent's thread that started it ends (its connection closed, or the agent killed):
            // no command runs on unseen after davit was told the agent failed
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            defaults();
            Ok(())
        });
    }
    cmd
}

/// Unblocks every signal and sets every disposition to its default (exec resets caught signals, not ignored ones):
/// what a command starts with. Async-signal-safe: for a child between fork and exec.
///
/// # Safety
/// Changes the calling process's signal state: call it only in a child about to exec.
pub unsafe fn defaults() {
    let mut none: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut none);
    libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    // the system call, not glibc's signal or sigaction: they refuse signals 32 and 33, which glibc keeps for
    // itself, and an agent started with one of those ignored would pass it on. The kernel's struct sigaction all
    // zero: SIG_DFL, no flags, an empty mask.
    let dfl = [0u64; 4];
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig as libc::c_long,
                dfl.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8 as libc::c_long, // the kernel's sigset_t: 64 signals
            );
        }
    }
}

/// The command's error as an ERROR's code and message: not found, cannot be executed, or the agent's failure.
pub fn spawn_error(argv0: &[u8], e: &io::Error) -> (u32, String) {
    let name = String::from_utf8_lossy(argv0);
    match e.raw_os_error() {
        Some(libc::ENOENT) => (frame::E_NOT_FOUND, format!("{name}: command not found")),
        Some(
            libc::EACCES
            | libc::ENOEXEC
            | libc::EISDIR
            | libc::ENOTDIR
            | libc::ELOOP
            | libc::ETXTBSY
            | libc::EPERM,
        )
        | None => (
            frame::E_CANNOT_EXECUTE,
            format!("{name}: cannot execute: {e}"),
        ),
        Some(_) => (frame::E_AGENT, format!("cannot start {name}: {e}")),
    }
}

/// Passes a pipe's bytes on as frames until it ends; after the process's EXIT, reads and drops them.
fn pump(p: OwnedFd, kind: u8, id: u32, w: &Writer, ended: &AtomicBool) {
    // not cleared beforehand (as `vec![0; n]` would, in every page): a process that writes little leaves most of it
    // untouched, so it costs no memory
    let mut buf: Vec<u8> = Vec::with_capacity(frame::MAX_CHUNK);
    loop {
        // SAFETY: read writes at most MAX_CHUNK bytes into the buffer's capacity, which is that large
        let n = unsafe { libc::read(p.as_raw_fd(), buf.as_mut_ptr().cast(), frame::MAX_CHUNK) };
        match n {
            0 => return,
            n if n > 0 => {
                // SAFETY: the first n bytes (n ≤ MAX_CHUNK, the capacity) were just written by read
                let chunk = unsafe { std::slice::from_raw_parts(buf.as_ptr(), n as usize) };
                let mut s = lock(w);
                if !ended.load(Ordering::SeqCst) {
                    let _ = frame::write(&mut *s, kind, id, chunk);
                }
            }
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return,
        }
    }
}

/// EXIT's flag: the OOM killer killed in the agent's memory cgroup while the process ran.
pub const EXIT_OOM: u32 = 1;

/// The files where the kernel counts the OOM kills of the agent's own memory cgroup: cgroup v2's (a container's
/// namespace shows its own at the root), v1's (a container's memory hierarchy mounted at its own group).
const OOM_COUNTS: [&str; 2] = [
    "/sys/fs/cgroup/memory.events",
    "/sys/fs/cgroup/memory/memory.oom_control",
];

/// The kernel's count of OOM kills in the agent's memory cgroup, or None where none is readable (a microVM's guest
/// without cgroups mounted: its own kernel's kills end the guest's processes and show as their signal alone).
pub fn oom_kills() -> Option<u64> {
    OOM_COUNTS.iter().find_map(|f| {
        std::fs::read_to_string(f).ok().and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("oom_kill "))
                .and_then(|v| v.trim().parse().ok())
        })
    })
}

/// Waits for the process, then for its pipes (within the grace), reaps it and sends its EXIT: the last frame of it.
fn wait(
    mut child: Child,
    id: u32,
    ooms: Option<u64>,
    w: &Writer,
    ended: &AtomicBool,
    life: &Mutex<Life>,
    open: &(Mutex<u32>, Condvar),
) {
    // SAFETY: waitid writes only into `info`; WNOWAIT leaves the zombie (and so its pid and group id) until the reap
    // below
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        while libc::waitid(
            libc::P_PID,
            child.id(),
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        ) < 0
            && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {}
    }
    *lock(life) = Life::Ended;
    let (count, cv) = open;
    let mut n = lock(count);
    let deadline = std::time::Instant::now() + PIPE_GRACE;
    while *n > 0 {
        let now = std::time::Instant::now();
        if now >= deadline {
            break;
        }
        n = cv
            .wait_timeout(n, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    drop(n);
    let status = {
        let mut l = lock(life);
        *l = Life::Reaped;
        child.wait()
    };
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    let (code, signal) = match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => (c, 0),
            (None, Some(sig)) => (128 + sig, sig),
            (None, None) => (255, 0),
        },
        Err(_) => (255, 0),
    };
    let mut payload = (code as u32).to_be_bytes().to_vec();
    payload.extend_from_slice(&(signal as u32).to_be_bytes());
    // whether the kernel's OOM killer killed in the sandbox's memory cgroup while it ran (a process of it, or
    // another's at the same time: the count is the cgroup's)
    let oom = matches!((ooms, oom_kills()), (Some(a), Some(b)) if b > a);
    payload.extend_from_slice(&(if oom { EXIT_OOM } else { 0 }).to_be_bytes());
    let mut s = lock(w);
    if !ended.swap(true, Ordering::SeqCst) {
        // (ended already: its start failed after the fork, and an ERROR was sent in place of it all)
        let _ = frame::write(&mut *s, frame::EXIT, id, &payload);
    }
}

/// Starts a thread with a small stack (the agent's memory is one per sandbox); false when none could be made (the
/// work is then not done: a pipe not read, an end not reported; the host's waits are bounded).
pub fn spawn<F: FnOnce() + Send + 'static>(f: F) -> bool {
    std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(f)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::parent;

    #[test]
    fn a_stat_lines_parent_is_found_after_the_last_parenthesis() {
        assert_eq!(parent(b"12 (sh) S 7 12 12 0 -1"), Some(7));
        // a command name may hold spaces and parentheses of its own
        assert_eq!(parent(b"13 (a) b (c) R 1 13 13 0"), Some(1));
        assert_eq!(parent(b"14 (x"), None);
        assert_eq!(parent(b"15 (x) S"), None);
        assert_eq!(parent(b"16 (x) S y"), None);
    }
}
