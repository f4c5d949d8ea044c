//! davit-agent: davit's resident program in a sandbox (docs/reference/AGENT.md). It starts commands where it already
//! is (the sandbox's namespaces, cgroup, user, capabilities and seccomp filter, all set before it ran) and streams
//! them to the host over the connections of one listening unix socket, or over its stdin and stdout.
//!
//!   davit-agent serve --listen-fd N    (N: an inherited listening socket, davit-exec's --listen)
//!   davit-agent serve --socket PATH    (binds PATH itself: tests)
//!   davit-agent serve --stdio          (one connection on stdin and stdout: a pod's exec stream), then exits
//!   davit-agent serve --port NAME      (the virtio-serial port NAME: a microVM's, one host at a time)
//!   davit-agent hold DIR               (a detached process's holder, which the agent starts: detached.rs,
//!                                       terminal.rs for the pty it keeps)
//!   davit-agent pod                    (a Kubernetes sandbox container's main process: pod.rs)
//!   davit-agent init                   (a microVM's PID 1: init.rs)
//!   davit-agent gate --netns PATH ...  (a sandbox's egress gate, outside it: gate/serve.rs in the library)
//!   davit-agent gate pod|ask|policy|tail|ready  (a pod's egress gate, its sidecar, and davit's words with it:
//!                                       gate/pod.rs)

mod conn;
mod detached;
mod files;
mod init;
mod pod;
mod port;
mod process;
mod sweep;
mod terminal;

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::io::FromRawFd;
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Condvar, Mutex};

/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 64;

fn usage() -> ! {
    eprintln!(
        "davit-agent: usage: davit-agent serve --listen-fd N | serve --socket PATH | serve --stdio | serve --port NAME | pod | init"
    );
    std::process::exit(2)
}

/// Where the agent serves: connections to a listening socket, or the one on its stdin and stdout.
enum Serve {
    Listen(UnixListener),
    Stdio,
    Port(String),
}

fn serving() -> Serve {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let [mode, dir] = raw.as_slice() {
        // a holder's record is a path of the sandbox's, which need not be UTF-8
        let dir = std::path::Path::new(dir);
        if mode == "hold" && dir.is_absolute() {
            detached::hold(dir)
        }
    }
    // other arguments that are not UTF-8 are a usage error (std::env::args would panic, and a panic aborts)
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().unwrap_or_else(|_| usage()))
        .collect();
    if args.first().map(String::as_str) == Some("gate") {
        davit_agent::gate::serve::main(&args[1..])
    }
    Serve::Listen(
        match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["serve", "--listen-fd", n] => {
                let fd: i32 = n.parse().unwrap_or_else(|_| usage());
                // SAFETY: fcntl on a number: it fails with EBADF when no descriptor has it
                if fd < 3 || unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
                    eprintln!("davit-agent: descriptor {n} is not open");
                    std::process::exit(2)
                }
                // SAFETY: the descriptor is open and ours alone (davit-exec handed it over)
                unsafe { UnixListener::from_raw_fd(fd) }
            }
            ["serve", "--socket", path] => UnixListener::bind(path).unwrap_or_else(|e| {
                eprintln!("davit-agent: cannot listen on {path}: {e}");
                std::process::exit(2)
            }),
            ["serve", "--stdio"] => return Serve::Stdio,
            ["serve", "--port", name] => return Serve::Port(name.to_string()),
            ["pod"] => pod::pod(),
            ["init"] => init::init(),
            _ => usage(),
        },
    )
}

/// The two ends of a connection: `stream` as its own input and output.
fn ends(stream: std::os::unix::net::UnixStream) -> Option<(File, File)> {
    let out = stream.try_clone().ok()?;
    Some((
        File::from(OwnedFd::from(stream)),
        File::from(OwnedFd::from(out)),
    ))
}

/// Marks every descriptor the agent inherited above 2 close-on-exec: a command gets no descriptor of the agent's but
/// 0, 1 and 2 (and its own pipes or /dev/null in their place). The agent makes its own descriptors close-on-exec.
fn cloexec_inherited() {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC, getrlimit and fcntl(F_SETFD) change descriptor flags only (or
    // write into `lim`)
    unsafe {
        let all = libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_long,
            libc::c_long::from(u32::MAX),
            libc::CLOSE_RANGE_CLOEXEC as libc::c_long,
        );
        if all == 0 {
            return;
        }
        // a kernel before 5.11: each descriptor number below the limit (at most 65,536 of them)
        let mut lim: libc::rlimit = std::mem::zeroed();
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur.min(1 << 16) as i32
        } else {
            1024
        };
        for fd in 3..max {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

fn main() {
    cloexec_inherited();
    // SAFETY: prctl, signal and mallopt change this process's own attributes only
    unsafe {
        // one malloc arena for all threads: glibc's arena per thread costs memory (a thread's 64 KiB read buffer,
        // which calloc clears in a thread's arena but finds cleared in fresh memory of the main one), and the
        // agent's threads hardly allocate at once
        libc::mallopt(libc::M_ARENA_MAX, 1);
        // not dumpable: code in the sandbox, running as this user, can neither ptrace the agent nor take its
        // listening socket from /proc/PID/fd
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        // a host that went away is a write error, not the end of the agent
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let listener = match serving() {
        Serve::Listen(l) => l,
        Serve::Stdio => {
            // SAFETY: descriptors 0 and 1 are the agent's own, and nothing else of it uses them (its commands get
            // pipes or /dev/null, its messages go to stderr)
            let (input, output) = unsafe { (OwnedFd::from_raw_fd(0), OwnedFd::from_raw_fd(1)) };
            conn::serve(File::from(input), File::from(output));
            std::process::exit(0)
        }
        Serve::Port(name) => port::serve(&name),
    };
    let active = Arc::new((Mutex::new(0usize), Condvar::new()));
    loop {
        {
            let (n, cv) = &*active;
            let mut n = process::lock(n);
            while *n >= MAX_CONNECTIONS {
                n = cv.wait(n).unwrap_or_else(|e| e.into_inner());
            }
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP)
                ) =>
            {
                // not a listening socket (any more): waiting would not make it one
                eprintln!("davit-agent: the listening socket is gone: {e}");
                std::process::exit(1)
            }
            Err(_) => {
                // a connection that went away before it was accepted, a signal, or no descriptor or memory left
                // (a background process holding pipes open): not a busy loop meanwhile
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
        };
        *process::lock(&active.0) += 1;
        let done = active.clone();
        let served = process::spawn(move || {
            if let Some((input, output)) = ends(stream) {
                conn::serve(input, output);
            }
            let (n, cv) = &*done;
            *process::lock(n) -= 1;
            cv.notify_all();
        });
        if !served {
            *process::lock(&active.0) -= 1; // the stream was dropped with the closure: the host sees it closed
        }
    }
}
