//! One host connection: HELLO, then requests read and answered until it closes; what it started and did not see
//! end is killed then.

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
    let out_fd = output.as_raw_fd();
    let w: Writer = Arc::new(Mutex::new(output));
    let mut hello = frame::VERSION.to_be_bytes().to_vec();
    hello.extend_from_slice(&std::process::id().to_be_bytes());
    if send(&w, frame::HELLO, 0, &hello).is_err() {
        return;
    }
    let mut procs: HashMap<u32, Handle> = HashMap::new();
    let mut r = &input;
    while let Ok(Some(f)) = frame::read(&mut r) {
        if !request(f, &w, &mut procs) {
            break;
        }
    }
    // the host is gone (or broke the format): nothing it started goes on running
    for p in procs.values() {
        if !p.ended() {
            p.kill();
        }
    }
    // a socket's other end sees its end now, though threads of processes still hold the writer (a pipe: when they
    // are gone)
    // SAFETY: shutdown has no memory effects; the descriptor is open (w holds it); on a pipe it fails with ENOTSOCK
    unsafe {
        libc::shutdown(out_fd, libc::SHUT_RDWR);
    }
}

/// Takes one request; false when it breaks the wire format (the connection is closed).
fn request(f: frame::Frame, w: &Writer, procs: &mut HashMap<u32, Handle>) -> bool {
    match f.kind {
        frame::EXEC => {
            procs.retain(|_, p| !p.ended());
            let req = match frame::exec(&f.payload) {
                Ok(r) => r,
                Err(_) => return false,
            };
            if f.id == 0 || procs.contains_key(&f.id) {
                let _ = error(
                    w,
                    f.id,
                    frame::E_ID,
                    "the id is 0 or names a running process",
                );
                return true;
            }
            match process::start(&req, f.id, w) {
                Ok(h) => {
                    procs.insert(f.id, h);
                }
                Err((code, message)) => {
                    let _ = error(w, f.id, code, &message);
                }
            }
            true
        }
        frame::STDIN => {
            if f.payload.is_empty() || f.payload.len() > frame::MAX_CHUNK {
                return false;
            }
            match procs.get(&f.id) {
                Some(p) => p.stdin(f.payload), // past its window: the host broke the format
                None => true,
            }
        }
        frame::STDIN_CLOSE => {
            if !f.payload.is_empty() {
                return false;
            }
            if let Some(p) = procs.get(&f.id) {
                p.close_stdin();
            }
            true
        }
        frame::SIGNAL => {
            let mut fields = Fields::new(&f.payload);
            let sig = match (fields.u32(), fields.end()) {
                (Ok(s), Ok(())) if (1..=64).contains(&s) => s as i32,
                _ => return false,
            };
            if let Some(p) = procs.get(&f.id) {
                if !p.ended() {
                    p.signal(sig);
                }
            }
            true
        }
        _ => false,
    }
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
fn error(w: &Writer, id: u32, code: u32, message: &str) -> io::Result<()> {
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
