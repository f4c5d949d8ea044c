//! davit-agent: davit's resident program in a sandbox (docs/reference/AGENT.md). It starts commands where it already
//! is (the sandbox's namespaces, cgroup, user, capabilities and seccomp filter, all set before it ran) and streams
//! them to the host over the connections of one listening unix socket.
//!
//!   davit-agent serve --listen-fd N    (N: an inherited listening socket, davit-exec's --listen)
//!   davit-agent serve --socket PATH    (binds PATH itself: tests)

mod conn;
mod process;

use std::os::unix::io::FromRawFd;
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Condvar, Mutex};

/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 64;

fn usage() -> ! {
    eprintln!(
        "davit-agent: usage: davit-agent serve --listen-fd N | davit-agent serve --socket PATH"
    );
    std::process::exit(2)
}

fn listener() -> UnixListener {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
        _ => usage(),
    }
}

fn main() {
    let listener = listener();
    // SAFETY: prctl and signal change this process's own attributes only
    unsafe {
        // not dumpable: code in the sandbox, running as this user, can neither ptrace the agent nor take its
        // listening socket from /proc/PID/fd
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        // a host that went away is a write error, not the end of the agent
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
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
                if e.raw_os_error() == Some(libc::EBADF)
                    || e.raw_os_error() == Some(libc::EINVAL) =>
            {
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
            conn::serve(stream);
            let (n, cv) = &*done;
            *process::lock(n) -= 1;
            cv.notify_all();
        });
        if !served {
            *process::lock(&active.0) -= 1; // the stream was dropped with the closure: the host sees it closed
        }
    }
}
