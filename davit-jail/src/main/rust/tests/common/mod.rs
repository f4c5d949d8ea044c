//! What the agent's socket tests share: an agent on a socket of its own, frames written and read, requests' payloads.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const HELLO: u8 = 0x01;
pub const EXEC: u8 = 0x10;
pub const STDIN: u8 = 0x11;
pub const STDIN_CLOSE: u8 = 0x12;
pub const SIGNAL: u8 = 0x13;
pub const STARTED: u8 = 0x20;
pub const STDOUT: u8 = 0x21;
pub const STDERR: u8 = 0x22;
pub const EXIT: u8 = 0x23;
pub const ERROR: u8 = 0x2F;
pub const STDIN_ACK: u8 = 0x24;

pub struct Agent {
    pub child: Child,
    pub socket: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

pub fn agent(name: &str) -> Agent {
    let socket = std::env::temp_dir().join(format!(
        "davit-agent-test-{}-{name}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&socket);
    let child = Command::new(env!("CARGO_BIN_EXE_davit-agent"))
        .args(["serve", "--socket"])
        .arg(&socket)
        .env("AGENT_SECRET", "must not reach a command")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    Agent { child, socket }
}

pub fn connect(a: &Agent) -> UnixStream {
    // the socket's file exists from its bind, a moment before the agent listens: refused until then
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match UnixStream::connect(&a.socket) {
            Err(e)
                if e.kind() == std::io::ErrorKind::ConnectionRefused
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5))
            }
            r => break r.unwrap(),
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let (kind, id, p) = read(&mut s).unwrap();
    assert_eq!((kind, id, &p[..4]), (HELLO, 0, &1u32.to_be_bytes()[..]));
    s
}

pub fn write(s: &mut impl Write, kind: u8, id: u32, payload: &[u8]) {
    let mut b = ((5 + payload.len()) as u32).to_be_bytes().to_vec();
    b.push(kind);
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(payload);
    s.write_all(&b).unwrap();
}

pub fn read(s: &mut impl Read) -> Option<(u8, u32, Vec<u8>)> {
    let mut head = [0u8; 9];
    s.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes(head[..4].try_into().unwrap()) as usize;
    let mut p = vec![0u8; len - 5];
    s.read_exact(&mut p).ok()?;
    Some((
        head[4],
        u32::from_be_bytes(head[5..9].try_into().unwrap()),
        p,
    ))
}

pub fn exec_payload(stdin: bool, argv: &[&str], env: &[&str], wd: &str) -> Vec<u8> {
    let mut b = (stdin as u32).to_be_bytes().to_vec();
    for list in [argv, env] {
        b.extend_from_slice(&(list.len() as u32).to_be_bytes());
        for a in list {
            b.extend_from_slice(&(a.len() as u32).to_be_bytes());
            b.extend_from_slice(a.as_bytes());
        }
    }
    b.extend_from_slice(&(wd.len() as u32).to_be_bytes());
    b.extend_from_slice(wd.as_bytes());
    b
}

pub const PATH: &str = "PATH=/usr/local/bin:/usr/bin:/bin";

/// Runs one process to its end on `s`: (stdout, stderr, exit code, signal) or the ERROR code.
pub fn run(s: &mut impl Read, id: u32) -> Result<(String, String, i32, u32), u32> {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut started = false;
    loop {
        let (kind, fid, p) = read(s).expect("the agent closed the connection");
        assert_eq!(fid, id);
        match kind {
            STARTED => {
                assert!(!started);
                started = true;
            }
            STDIN_ACK => assert!(started && p.is_empty()),
            STDOUT => out.extend_from_slice(&p),
            STDERR => err.extend_from_slice(&p),
            EXIT => {
                assert!(started);
                let code = i32::from_be_bytes(p[..4].try_into().unwrap());
                let sig = u32::from_be_bytes(p[4..8].try_into().unwrap());
                return Ok((
                    String::from_utf8(out).unwrap(),
                    String::from_utf8(err).unwrap(),
                    code,
                    sig,
                ));
            }
            ERROR => {
                assert!(!started);
                return Err(u32::from_be_bytes(p[..4].try_into().unwrap()));
            }
            k => panic!("frame type {k}"),
        }
    }
}

pub const FILE: u8 = 0x15;
pub const DATA: u8 = 0x25;
pub const DONE: u8 = 0x26;

pub fn file_payload(op: u32, n: u64, paths: &[&std::path::Path]) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut b = op.to_be_bytes().to_vec();
    b.extend_from_slice(&n.to_be_bytes());
    b.extend_from_slice(&(paths.len() as u32).to_be_bytes());
    for p in paths {
        let p = p.as_os_str().as_bytes();
        b.extend_from_slice(&(p.len() as u32).to_be_bytes());
        b.extend_from_slice(p);
    }
    b
}

/// One file request's answer on `s`: its DATA and DONE's value, or its ERROR's code and message; `acks` counts its
/// STDIN_ACKs.
pub fn answer(
    s: &mut impl Read,
    id: u32,
    acks: &mut usize,
) -> Result<(Vec<u8>, u64), (u32, String)> {
    let mut data = Vec::new();
    loop {
        let (kind, fid, p) = read(s).expect("the agent closed the connection");
        assert_eq!(fid, id);
        match kind {
            DATA => {
                assert!(!p.is_empty() && p.len() <= 65536);
                data.extend_from_slice(&p);
            }
            STDIN_ACK => *acks += 1,
            DONE => return Ok((data, u64::from_be_bytes(p[..8].try_into().unwrap()))),
            ERROR => {
                let code = u32::from_be_bytes(p[..4].try_into().unwrap());
                return Err((code, String::from_utf8(p[8..].to_vec()).unwrap()));
            }
            k => panic!("frame type {k}"),
        }
    }
}

pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("davit-agent-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
