//! One host connection: HELLO, then requests read and answered until it closes; what it started and did not see
//! end is killed then.

use crate::detached;
use crate::files;
use crate::process::{self, lock, Handle};
use davit_agent::frame::{self, Fields};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

/// What every thread of a connection writes through (a socket, or the agent's stdout): each frame goes out whole.
pub type Writer = Arc<Mutex<File>>;

/// Sends one frame.
pub fn send(w: &Writer, kind: u8, id: u32, payload: &[u8]) -> io::Result<()> {
    frame::write(&mut *lock(w), kind, id, payload)
}

/// Serves one connection, read from `input` and written to `output` (the two ends of a socket, or the agent's
/// stdin and stdout), until it ends or breaks the wire format.
pub fn serve(input: File, output: File) {
    session(input, output, None, Scope::All);
}

/// What a session serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every request.
    All,
    /// A microVM's init on its own port (init.rs): SYNC, and FILE's SYNC (the file systems flushed) only; anything
    /// else breaks the format. Nothing it serves forks, so the init's reaping takes no one's exit.
    Init,
}

/// How a session ended.
pub enum End {
    /// The host went away or broke the format.
    Closed,
    /// A new host's SYNC, with its nonce: a port's next session (port.rs).
    Sync([u8; frame::NONCE]),
}

/// Serves one session: HELLO (with `nonce`, the SYNC's it answers, on a port), then requests until the stream ends,
/// breaks the format or (on a port, where `nonce` is given) a new host's SYNC comes. What the session started and
/// did not see end is killed. Returns the session's writer, which its processes' threads may still hold.
pub fn session(
    input: File,
    output: File,
    nonce: Option<&[u8; frame::NONCE]>,
    scope: Scope,
) -> (Writer, End) {
    let out_fd = output.as_raw_fd();
    let w: Writer = Arc::new(Mutex::new(output));
    let mut hello = frame::VERSION.to_be_bytes().to_vec();
    hello.extend_from_slice(&std::process::id().to_be_bytes());
    if let Some(n) = nonce {
        hello.extend_from_slice(n);
    }
    if send(&w, frame::HELLO, 0, &hello).is_err() {
        return (w, End::Closed);
    }
    let mut procs: HashMap<u32, Handle> = HashMap::new();
    let mut r = &input;
    let mut end = End::Closed;
    while let Ok(Some(f)) = frame::read(&mut r) {
        if scope == Scope::Init && !init_request(&f) {
            break;
        }
        match request(f, &w, &mut procs, nonce.is_some()) {
            Step::Go => {}
            Step::Stop => break,
            Step::Sync(n) => {
                end = End::Sync(n);
                break;
            }
        }
    }
    // the host is gone (or broke the format, or another took its place): nothing it started goes on running
    for p in procs.values() {
        if !p.ended() {
            p.kill();
        }
    }
    // a socket's other end sees its end now, though threads of processes still hold the writer (a pipe: when they
    // are gone)
    // SAFETY: shutdown has no memory effects; the descriptor is open (w holds it); on a pipe or a port it fails
    // with ENOTSOCK
    unsafe {
        libc::shutdown(out_fd, libc::SHUT_RDWR);
    }
    (w, end)
}

/// Whether an init's session takes `f`: a SYNC, or a FILE whose operation is SYNC.
fn init_request(f: &frame::Frame) -> bool {
    match f.kind {
        frame::SYNC => true,
        frame::FILE => frame::file(&f.payload).is_ok_and(|r| r.op == frame::OP_SYNC),
        _ => false,
    }
}

/// What a request leaves the session to do.
enum Step {
    Go,
    Stop,
    Sync([u8; frame::NONCE]),
}

/// Takes one request: Stop when it breaks the wire format (the connection is closed); Sync for a SYNC when
/// `port` (the session is over: a new host took the port).
fn request(f: frame::Frame, w: &Writer, procs: &mut HashMap<u32, Handle>, port: bool) -> Step {
    let go = |ok: bool| if ok { Step::Go } else { Step::Stop };
    match f.kind {
        frame::EXEC => match frame::exec(&f.payload) {
            Ok(req) => begin(f.id, w, procs, || process::start(&req, f.id, w)),
            Err(_) => Step::Stop,
        },
        frame::FILE => match frame::file(&f.payload) {
            Ok(req) => begin(f.id, w, procs, || files::start(&req, f.id, w)),
            Err(_) => Step::Stop,
        },
        frame::SPAWN => match frame::spawn(&f.payload) {
            Ok(_) => {
                let (id, payload) = (f.id, f.payload);
                begin(id, w, procs, || detached::start(payload, id, w))
            }
            Err(_) => Step::Stop,
        },
        frame::PROC => match frame::proc(&f.payload) {
            Ok(req) => begin(f.id, w, procs, || detached::control(&req, f.id, w)),
            Err(_) => Step::Stop,
        },
        frame::STDIN => {
            if f.payload.is_empty() || f.payload.len() > frame::MAX_CHUNK {
                return Step::Stop;
            }
            match procs.get(&f.id) {
                Some(p) => go(p.stdin(f.payload)), // past its window: the host broke the format
                None => Step::Go,
            }
        }
        frame::RESIZE => match frame::resize(&f.payload) {
            Ok((rows, cols)) => {
                if let Some(p) = procs.get(&f.id) {
                    if !p.ended() {
                        p.resize(rows, cols);
                    }
                }
                Step::Go
            }
            Err(_) => Step::Stop,
        },
        frame::STDIN_CLOSE => {
            if !f.payload.is_empty() {
                return Step::Stop;
            }
            if let Some(p) = procs.get(&f.id) {
                p.close_stdin();
            }
            Step::Go
        }
        frame::SIGNAL => {
            let mut fields = Fields::new(&f.payload);
            let sig = match (fields.u32(), fields.end()) {
                (Ok(s), Ok(())) if (1..=64).contains(&s) => s as i32,
                _ => return Step::Stop,
            };
            if let Some(p) = procs.get(&f.id) {
                if !p.ended() {
                    p.signal(sig);
                }
            }
            Step::Go
        }
        frame::SYNC if port && f.id == 0 => match frame::sync(&f.payload) {
            Ok(n) => Step::Sync(n),
            Err(_) => Step::Stop,
        },
        _ => Step::Stop,
    }
}

/// Starts request `id` (a process or a file request) with `start` unless its id is 0 or one of the connection's
/// running requests; a start that fails is answered with its ERROR.
fn begin(
    id: u32,
    w: &Writer,
    procs: &mut HashMap<u32, Handle>,
    start: impl FnOnce() -> Result<Handle, (u32, String)>,
) -> Step {
    procs.retain(|_, p| !p.ended());
    if id == 0 || procs.contains_key(&id) {
        let _ = error(w, id, frame::E_ID, "the id is 0 or names a running request");
        return Step::Go;
    }
    match start() {
        Ok(h) => {
            procs.insert(id, h);
        }
        Err((code, message)) => {
            let _ = error(w, id, code, &message);
        }
    }
    Step::Go
}

/// The longest ERROR message sent, in bytes (it names what the host sent: an argv[0] or a working directory of up
/// to a frame's size, which must not make the ERROR frame longer than a frame may be).
const MAX_MESSAGE: usize = 1024;

/// `message` as one line of at most MAX_MESSAGE bytes: control characters (a newline in a file name) are `?`.
fn one_line(message: &str) -> String {
    let mut line = String::new();
    for c in message.chars() {
        let c = if c.is_control() { '?' } else { c };
        if line.len() + c.len_utf8() > MAX_MESSAGE {
            break;
        }
        line.push(c);
    }
    line
}

/// Sends an ERROR: the process `id` did not start, for the reason `code`.
pub fn error(w: &Writer, id: u32, code: u32, message: &str) -> io::Result<()> {
    let line = one_line(message);
    let m = line.as_bytes();
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&(m.len() as u32).to_be_bytes());
    payload.extend_from_slice(m);
    send(w, frame::ERROR, id, &payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_one_bounded_line() {
        assert_eq!(one_line("a\nb\r\u{1b}c"), "a?b??c");
        let long = "é".repeat(MAX_MESSAGE);
        let line = one_line(&long);
        assert!(line.len() <= MAX_MESSAGE && line.len() > MAX_MESSAGE - 2);
        assert!(line.chars().all(|c| c == 'é'));
    }
}
