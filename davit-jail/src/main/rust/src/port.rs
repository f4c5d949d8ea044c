//! The microVM's transport (docs/reference/AGENT.md, "Transports"): a virtio-serial port, one byte stream that
//! one host at a time connects to (QEMU's chardev socket) and leaves. A port has no connection of its own to end, so
//! a host starts its session with a SYNC carrying a nonce and the agent answers with a HELLO carrying it back;
//! whatever either side finds before that (a previous host's bytes) is skipped. When the host leaves (a read
//! returns 0), the session ends as a socket's connection does: what it started is killed, and nothing of it writes
//! to the port again.

use crate::conn::{self, End, Scope};
use crate::process::{self, lock};
use davit_agent::frame;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// fcntl's F_SETOWN_EX and F_OWNER_TID (not in the libc crate for this target).
const F_SETOWN_EX: libc::c_int = 15;
const F_OWNER_TID: libc::c_int = 0;

#[repr(C)]
struct FOwnerEx {
    kind: libc::c_int,
    pid: libc::pid_t,
}

/// Serves every virtio-serial port named `name` or `name.N` (one connection each: commands at once go to ports of
/// their own), session after session; never returns.
pub fn serve(name: &str) -> ! {
    let ports = find(name);
    if ports.is_empty() {
        eprintln!("davit-agent: no virtio-serial port named {name} or {name}.N");
        std::process::exit(1)
    }
    block_sigio();
    let mut rest = ports.into_iter();
    let first = rest.next().expect("one port at least");
    for p in rest {
        let shown = p.display().to_string();
        if !process::spawn(move || serve_port(&p, Scope::All)) {
            eprintln!("davit-agent: no thread for {shown}");
        }
    }
    serve_port(&first, Scope::All)
}

/// Serves the virtio-serial port named `name` for a microVM's init (Scope::Init), session after session; never
/// returns. Without the port it says so and returns false.
pub fn serve_init(name: &str) -> bool {
    let Some(port) = find(name).into_iter().next() else {
        return false;
    };
    block_sigio();
    serve_port(&port, Scope::Init)
}

/// Serves one port, session after session, with what `scope` takes.
fn serve_port(path: &Path, scope: Scope) -> ! {
    let port = open(path);
    let null = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/null")
        .unwrap_or_else(|e| {
            eprintln!("davit-agent: cannot open /dev/null: {e}");
            std::process::exit(1)
        });
    notify_me(&port);
    announce(&port);
    let mut next = None;
    loop {
        let nonce = match next.take() {
            Some(n) => n,
            None => scan(&mut &port, wait_for_host),
        };
        let (Ok(input), Ok(output)) = (port.try_clone(), port.try_clone()) else {
            std::thread::sleep(Duration::from_millis(100)); // no descriptor left: the host's HELLO wait ends it
            continue;
        };
        let out_fd = output.as_raw_fd();
        let (w, end) = conn::session(input, output, Some(&nonce), scope);
        // the session's threads may still hold its writer (a process's last output on the way): its descriptor
        // becomes /dev/null, under the writer's lock, so that nothing of this session reaches the next host
        {
            let _g = lock(&w);
            // SAFETY: dup2 onto the session's own descriptor, which the writer (held here) keeps open
            unsafe {
                libc::dup2(null.as_raw_fd(), out_fd);
            }
        }
        if let End::Sync(n) = end {
            next = Some(n);
        }
    }
}

/// Opens a port, trying again each second while it cannot (a previous agent's descriptor on its way out: a port
/// opens once at a time): one port that will not open leaves the others served.
fn open(path: &Path) -> File {
    let mut told = false;
    loop {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
        {
            Ok(f) => return f,
            Err(e) => {
                if !told {
                    eprintln!(
                        "davit-agent: cannot open {} (trying again): {e}",
                        path.display()
                    );
                    told = true;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Tells the host that holds the port now, if one does, that this agent started: a HELLO without a nonce, which no
/// SYNC asked for. The host of a session of the agent before this one (killed with its processes) stops waiting
/// for them; a host that is about to SYNC skips it as a leftover. Only when a host holds the port (its poll says
/// POLLOUT, without waiting): a write to a port no host holds waits for one.
fn announce(port: &File) {
    let mut p = libc::pollfd {
        fd: port.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: poll of one valid pollfd, without waiting
    let ready = unsafe { libc::poll(&mut p, 1, 0) };
    if ready == 1 && p.revents & libc::POLLOUT != 0 && p.revents & libc::POLLHUP == 0 {
        let mut hello = frame::VERSION.to_be_bytes().to_vec();
        hello.extend_from_slice(&std::process::id().to_be_bytes());
        let _ = frame::write(&mut &*port, frame::HELLO, 0, &hello);
    }
}

/// The devices of the virtio-serial ports named `name` or `name.N` (/sys/class/virtio-ports/*/name), waiting up to
/// 10 s for the first; the others are probed with it (a moment later at most).
fn find(name: &str) -> Vec<PathBuf> {
    let look = || -> Vec<PathBuf> {
        let mut found = Vec::new();
        if let Ok(ports) = std::fs::read_dir("/sys/class/virtio-ports") {
            for p in ports.flatten() {
                let named = std::fs::read_to_string(p.path().join("name")).unwrap_or_default();
                let named = named.trim_end();
                let ours = named == name
                    || named
                        .strip_prefix(name)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                let dev = Path::new("/dev").join(p.file_name());
                if ours && dev.exists() {
                    found.push(dev);
                }
            }
        }
        found
    };
    for _ in 0..200 {
        if !look().is_empty() {
            std::thread::sleep(Duration::from_millis(50));
            return look();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Vec::new()
}

/// Blocks SIGIO in this thread, before any other exists: every thread inherits it blocked (it is waited for with
/// sigtimedwait, never delivered), and no command does (a child's mask is emptied before its exec).
fn block_sigio() {
    // SAFETY: sigset calls on a local set and this thread's own mask
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGIO);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Asks for SIGIO on this thread (blocked: see block_sigio) when the port's host connects or sends: a read of a port
/// no host holds returns 0 at once, so the agent needs a way to sleep until one comes.
fn notify_me(port: &File) {
    // SAFETY: fcntl calls on this process's own descriptor, with a valid f_owner_ex
    unsafe {
        let owner = FOwnerEx {
            kind: F_OWNER_TID,
            pid: libc::gettid(),
        };
        let fd = port.as_raw_fd();
        libc::fcntl(fd, F_SETOWN_EX, &owner as *const FOwnerEx);
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_ASYNC);
    }
}

/// Sleeps until the port's host connects or sends (a SIGIO), or 1 s: a lost signal costs a second, not the port.
fn wait_for_host() {
    // SAFETY: sigtimedwait on a set of this process's, with a valid timespec
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGIO);
        let t = libc::timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        libc::sigtimedwait(&set, std::ptr::null_mut(), &t);
    }
}

/// Reads until a SYNC frame has come whole and returns its nonce; what comes before it is skipped. A read of 0 (no
/// host) calls `idle` and reads on. Bytes are read one at a time until the SYNC's nonce: nothing after it is taken.
pub fn scan<R: Read>(r: &mut R, idle: fn()) -> [u8; frame::NONCE] {
    let prefix = frame::sync_prefix();
    let mut seen: Vec<u8> = Vec::with_capacity(prefix.len());
    let mut b = [0u8; 1];
    loop {
        match r.read(&mut b) {
            Ok(1) => {
                if seen.len() == prefix.len() {
                    seen.remove(0);
                }
                seen.push(b[0]);
                if seen == prefix {
                    let mut nonce = [0u8; frame::NONCE];
                    if read_fully(r, &mut nonce).is_ok() {
                        return nonce;
                    }
                    seen.clear();
                }
            }
            Ok(_) => idle(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Fills `b`; a host that leaves inside it (a read of 0) is an error: its SYNC was never whole.
fn read_fully<R: Read>(r: &mut R, b: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < b.len() {
        match r.read(&mut b[got..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(nonce: u8) -> Vec<u8> {
        let mut b = frame::sync_prefix();
        b.extend_from_slice(&[nonce; frame::NONCE]);
        b
    }

    fn never() {
        panic!("no host wait expected");
    }

    #[test]
    fn a_sync_is_found_after_what_a_previous_host_left() {
        // a partial frame, zeros that look like a length's start, a SYNC's first bytes cut short
        let mut bytes = vec![0, 0, 0, 29, 0x14, 0, 0, 0, 0, b'd', b'a', 0, 0, 0];
        bytes.extend_from_slice(&sync(7));
        bytes.extend_from_slice(&frame::encode(frame::EXEC, 1, b"after"));
        let mut r = &bytes[..];
        assert_eq!(scan(&mut r, never), [7; frame::NONCE]);
        // nothing after the nonce was taken
        assert_eq!(frame::read(&mut r).unwrap().unwrap().payload, b"after");
    }

    #[test]
    fn a_sync_cut_short_by_its_host_is_not_taken() {
        let mut bytes = frame::sync_prefix();
        bytes.extend_from_slice(&[1; 5]);
        let full = sync(9);
        // the cut SYNC's read of 0, then the next host's whole one
        struct Two<'a>(&'a [u8], &'a [u8], bool);
        impl Read for Two<'_> {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                if !self.0.is_empty() {
                    return self.0.read(b);
                }
                if !self.2 {
                    self.2 = true;
                    return Ok(0);
                }
                self.1.read(b)
            }
        }
        let mut r = Two(&bytes, &full, false);
        assert_eq!(scan(&mut r, || {}), [9; frame::NONCE]);
    }
}
