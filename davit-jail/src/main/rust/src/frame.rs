//! The wire format (docs/reference/AGENT.md): frames of a big-endian u32 length (of the type, id and payload), a
//! type byte, a big-endian u32 id and a payload; and the payloads' fields. Every bound is checked before anything is
//! allocated for what a frame claims.

use std::io::{self, Read, Write};

/// The protocol version HELLO announces.
pub const VERSION: u32 = 1;
/// The largest payload a frame may carry.
pub const MAX_PAYLOAD: usize = 1 << 20;
/// The largest STDIN, STDOUT or STDERR chunk.
pub const MAX_CHUNK: usize = 1 << 16;
/// The most entries of a list.
pub const MAX_LIST: usize = 65_536;
const HEADER: usize = 5;

pub const HELLO: u8 = 0x01;
pub const EXEC: u8 = 0x10;
pub const STDIN: u8 = 0x11;
pub const STDIN_CLOSE: u8 = 0x12;
pub const SIGNAL: u8 = 0x13;
pub const SYNC: u8 = 0x14;
pub const FILE: u8 = 0x15;
pub const SPAWN: u8 = 0x16;
pub const PROC: u8 = 0x17;
pub const RESIZE: u8 = 0x18;
pub const STARTED: u8 = 0x20;
pub const STDOUT: u8 = 0x21;
pub const STDERR: u8 = 0x22;
pub const EXIT: u8 = 0x23;
pub const STDIN_ACK: u8 = 0x24;
pub const DATA: u8 = 0x25;
pub const DONE: u8 = 0x26;
pub const ERROR: u8 = 0x2F;

/// STDIN chunks the host may have sent a process that the agent has not acknowledged (STDIN_ACK) yet.
pub const STDIN_WINDOW: usize = 16;

/// SYNC's payload: this magic, then the host's nonce (a port's transport, docs/reference/AGENT.md).
pub const SYNC_MAGIC: &[u8; 8] = b"davitsyn";
/// The nonce's length, in SYNC and in the HELLO that answers it.
pub const NONCE: usize = 16;

/// The bytes a SYNC frame starts with, up to its nonce.
pub fn sync_prefix() -> Vec<u8> {
    let mut p = encode(SYNC, 0, SYNC_MAGIC);
    let length = (HEADER + SYNC_MAGIC.len() + NONCE) as u32;
    p[..4].copy_from_slice(&length.to_be_bytes());
    p
}

/// A SYNC's nonce, when `payload` is SYNC's.
pub fn sync(payload: &[u8]) -> Result<[u8; NONCE], Malformed> {
    if payload.len() != SYNC_MAGIC.len() + NONCE || &payload[..SYNC_MAGIC.len()] != SYNC_MAGIC {
        return Err(Malformed);
    }
    let mut n = [0u8; NONCE];
    n.copy_from_slice(&payload[SYNC_MAGIC.len()..]);
    Ok(n)
}

/// EXEC's flag: stdin is a pipe fed by STDIN frames.
pub const FLAG_STDIN: u32 = 1;
/// EXEC's flag: the process gets a pseudo-terminal (its size follows the working directory).
pub const FLAG_PTY: u32 = 2;

/// ERROR's codes.
pub const E_ID: u32 = 2;
pub const E_WORKDIR: u32 = 3;
pub const E_NOT_FOUND: u32 = 4;
pub const E_CANNOT_EXECUTE: u32 = 5;
pub const E_TOO_MANY: u32 = 6;
pub const E_AGENT: u32 = 7;
pub const E_MISSING: u32 = 8;
pub const E_PATH: u32 = 9;
pub const E_NOT_FILE: u32 = 10;
pub const E_IS_DIR: u32 = 11;
pub const E_FAILED: u32 = 12;

/// FILE's operations, and how many paths each takes.
pub const OP_READ: u32 = 1;
pub const OP_PUT_TAR: u32 = 2;
pub const OP_GET_TAR: u32 = 3;
pub const OP_REMOVE: u32 = 4;
pub const OP_MOVE: u32 = 5;
pub const OP_SWAP: u32 = 6;
pub const OP_SYNC: u32 = 7;

/// One frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub id: u32,
    pub payload: Vec<u8>,
}

/// Reads one frame; `Ok(None)` when the stream ends where a frame would start. A length out of bounds or a stream
/// that ends inside a frame is an `InvalidData` or `UnexpectedEof` error.
pub fn read<R: Read>(r: &mut R) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 4 + HEADER];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if !(HEADER..=HEADER + MAX_PAYLOAD).contains(&length) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame length out of bounds",
        ));
    }
    let mut payload = vec![0u8; length - HEADER];
    r.read_exact(&mut payload)?;
    Ok(Some(Frame {
        kind: head[4],
        id: u32::from_be_bytes([head[5], head[6], head[7], head[8]]),
        payload,
    }))
}

/// The bytes of one frame.
pub fn encode(kind: u8, id: u32, payload: &[u8]) -> Vec<u8> {
    debug_assert!(payload.len() <= MAX_PAYLOAD);
    let mut b = Vec::with_capacity(4 + HEADER + payload.len());
    b.extend_from_slice(&((HEADER + payload.len()) as u32).to_be_bytes());
    b.push(kind);
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

/// Writes one frame in one write.
pub fn write<W: Write>(w: &mut W, kind: u8, id: u32, payload: &[u8]) -> io::Result<()> {
    w.write_all(&encode(kind, id, payload))
}

/// A payload read field by field.
pub struct Fields<'a> {
    b: &'a [u8],
}

/// A payload that does not parse.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

impl<'a> Fields<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Fields { b }
    }

    pub fn u32(&mut self) -> Result<u32, Malformed> {
        if self.b.len() < 4 {
            return Err(Malformed);
        }
        let (v, rest) = self.b.split_at(4);
        self.b = rest;
        Ok(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        let hi = self.u32()? as u64;
        Ok(hi << 32 | self.u32()? as u64)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let n = self.u32()? as usize;
        if n > MAX_PAYLOAD || n > self.b.len() {
            return Err(Malformed);
        }
        let (v, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(v)
    }

    pub fn list(&mut self, min: usize) -> Result<Vec<&'a [u8]>, Malformed> {
        let n = self.u32()? as usize;
        // each entry takes 4 bytes at least: a count the payload cannot hold is refused before allocating
        if n < min || n > MAX_LIST || n > self.b.len() / 4 {
            return Err(Malformed);
        }
        (0..n).map(|_| self.bytes()).collect()
    }

    pub fn end(&self) -> Result<(), Malformed> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }
}

/// EXEC's request.
#[derive(Debug, PartialEq, Eq)]
pub struct Exec<'a> {
    pub stdin: bool,
    /// A pseudo-terminal of (rows, columns), when asked for.
    pub pty: Option<(u16, u16)>,
    pub argv: Vec<&'a [u8]>,
    pub env: Vec<&'a [u8]>,
    pub workdir: &'a [u8],
}

/// Parses EXEC's payload.
pub fn exec(payload: &[u8]) -> Result<Exec<'_>, Malformed> {
    let mut f = Fields::new(payload);
    let flags = f.u32()?;
    if flags & !(FLAG_STDIN | FLAG_PTY) != 0 {
        return Err(Malformed);
    }
    let argv = f.list(1)?;
    let env = f.list(0)?;
    let workdir = f.bytes()?;
    let pty = if flags & FLAG_PTY != 0 {
        Some(size(&mut f)?)
    } else {
        None
    };
    f.end()?;
    Ok(Exec {
        stdin: flags & FLAG_STDIN != 0,
        pty,
        argv,
        env,
        workdir,
    })
}

/// A terminal's size: `u32` rows, `u32` columns, each 1 to 65,535.
fn size(f: &mut Fields) -> Result<(u16, u16), Malformed> {
    let (rows, cols) = (f.u32()?, f.u32()?);
    match (u16::try_from(rows), u16::try_from(cols)) {
        (Ok(r), Ok(c)) if r > 0 && c > 0 => Ok((r, c)),
        _ => Err(Malformed),
    }
}

/// Parses RESIZE's payload: a process's terminal's new (rows, columns).
pub fn resize(payload: &[u8]) -> Result<(u16, u16), Malformed> {
    let mut f = Fields::new(payload);
    let s = size(&mut f)?;
    f.end()?;
    Ok(s)
}

/// SPAWN's flag: the command gets a terminal (the device that follows the directory).
pub const FLAG_TERMINAL: u32 = 1;

/// PROC's operations on a detached process's record (docs/reference/AGENT.md, "Detached processes").
pub const PROC_STATUS: u32 = 1;
pub const PROC_SIGNAL: u32 = 2;
pub const PROC_STOP: u32 = 3;
pub const PROC_CONSOLES: u32 = 4;
pub const PROC_KILL_ALL: u32 = 5;
/// PROC's operations on a detached process's own pseudo-terminal (SPAWN's terminal [`PTY`]): OUTPUT, what it
/// showed from position n (DATA, at most [`MAX_OUTPUT_READ`] bytes; DONE the position of its first byte); INPUT,
/// the second path's bytes typed into it within n seconds (DONE how many it took).
pub const PROC_OUTPUT: u32 = 6;
pub const PROC_INPUT: u32 = 7;
/// SPAWN's terminal that is a pseudo-terminal the holder opens and keeps (a sandbox without virtio consoles).
pub const PTY: &[u8] = b"pty";
/// The most bytes one OUTPUT answers with.
pub const MAX_OUTPUT_READ: u64 = 256 << 10;
/// The most bytes one INPUT types, and the most seconds it waits for the terminal to take them.
pub const MAX_INPUT: usize = 64 << 10;
pub const MAX_INPUT_WAIT: u64 = 60;
/// PROC_SIGNAL's n: the signal number, with this bit for the terminal's foreground process group.
pub const SIGNAL_FOREGROUND: u64 = 1 << 8;
/// PROC_STOP's n: the most seconds of grace.
pub const MAX_GRACE: u64 = 3600;

/// SPAWN's request: a detached process, recorded in `dir`.
#[derive(Debug, PartialEq, Eq)]
pub struct SpawnReq<'a> {
    pub dir: &'a [u8],
    /// Its terminal's device, when it has one.
    pub terminal: Option<&'a [u8]>,
    pub argv: Vec<&'a [u8]>,
    pub env: Vec<&'a [u8]>,
    pub workdir: &'a [u8],
}

/// Parses SPAWN's payload: `u32` flags, `bytes` the record's directory, `bytes` the terminal (empty without
/// FLAG_TERMINAL, not empty with it), then argv, environment and working directory as EXEC's.
pub fn spawn(payload: &[u8]) -> Result<SpawnReq<'_>, Malformed> {
    let mut f = Fields::new(payload);
    let flags = f.u32()?;
    if flags & !FLAG_TERMINAL != 0 {
        return Err(Malformed);
    }
    let dir = f.bytes()?;
    let tty = f.bytes()?;
    if (flags & FLAG_TERMINAL != 0) == tty.is_empty() {
        return Err(Malformed);
    }
    let argv = f.list(1)?;
    let env = f.list(0)?;
    let workdir = f.bytes()?;
    f.end()?;
    Ok(SpawnReq {
        dir,
        terminal: (!tty.is_empty()).then_some(tty),
        argv,
        env,
        workdir,
    })
}

/// Parses PROC's payload (FILE's layout): an operation it knows, its paths (the record's directory, or none for
/// CONSOLES and KILL_ALL; INPUT's second is the bytes to type) and its n (SIGNAL's signal, STOP's grace in seconds,
/// OUTPUT's position, INPUT's wait in seconds; 0 for the others).
pub fn proc(payload: &[u8]) -> Result<FileReq<'_>, Malformed> {
    let mut f = Fields::new(payload);
    let op = f.u32()?;
    let n = f.u64()?;
    let paths = f.list(0)?;
    f.end()?;
    let ok = match op {
        PROC_STATUS => paths.len() == 1 && n == 0,
        PROC_SIGNAL => {
            let sig = n & !SIGNAL_FOREGROUND;
            paths.len() == 1 && (1..=64).contains(&sig)
        }
        PROC_STOP => paths.len() == 1 && n <= MAX_GRACE,
        PROC_CONSOLES | PROC_KILL_ALL => paths.is_empty() && n == 0,
        PROC_OUTPUT => paths.len() == 1,
        PROC_INPUT => {
            paths.len() == 2 && paths[1].len() <= MAX_INPUT && (1..=MAX_INPUT_WAIT).contains(&n)
        }
        _ => false,
    };
    if !ok {
        return Err(Malformed);
    }
    Ok(FileReq { op, n, paths })
}

/// FILE's request: an operation on guest paths (docs/reference/AGENT.md, "Files").
#[derive(Debug, PartialEq, Eq)]
pub struct FileReq<'a> {
    pub op: u32,
    /// A read's most bytes (0: all); 0 for the others.
    pub n: u64,
    pub paths: Vec<&'a [u8]>,
}

/// Parses FILE's payload: an operation it knows, with the number of paths it takes (REMOVE: one or more).
pub fn file(payload: &[u8]) -> Result<FileReq<'_>, Malformed> {
    let mut f = Fields::new(payload);
    let op = f.u32()?;
    let n = f.u64()?;
    let paths = f.list(0)?;
    f.end()?;
    let count = match op {
        OP_READ | OP_PUT_TAR | OP_GET_TAR => paths.len() == 1,
        OP_REMOVE => !paths.is_empty(),
        OP_MOVE => paths.len() == 2,
        OP_SWAP => paths.len() == 3,
        OP_SYNC => paths.is_empty(),
        _ => false,
    };
    if !count || (op != OP_READ && n != 0) {
        return Err(Malformed);
    }
    Ok(FileReq { op, n, paths })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec_payload(flags: u32, argv: &[&[u8]], env: &[&[u8]], wd: &[u8]) -> Vec<u8> {
        let mut b = flags.to_be_bytes().to_vec();
        for list in [argv, env] {
            b.extend_from_slice(&(list.len() as u32).to_be_bytes());
            for a in list {
                b.extend_from_slice(&(a.len() as u32).to_be_bytes());
                b.extend_from_slice(a);
            }
        }
        b.extend_from_slice(&(wd.len() as u32).to_be_bytes());
        b.extend_from_slice(wd);
        b
    }

    #[test]
    fn frames_round_trip() {
        let b = encode(STDOUT, 0xfeed_beef, b"hi");
        let f = read(&mut &b[..]).unwrap().unwrap();
        assert_eq!(
            f,
            Frame {
                kind: STDOUT,
                id: 0xfeed_beef,
                payload: b"hi".to_vec()
            }
        );
        assert_eq!(read(&mut &b""[..]).unwrap(), None);
    }

    #[test]
    fn lengths_out_of_bounds_and_short_streams_are_refused() {
        for len in [0u32, 4, (HEADER + MAX_PAYLOAD + 1) as u32, u32::MAX] {
            let mut b = len.to_be_bytes().to_vec();
            b.extend_from_slice(&[0; 5]);
            assert_eq!(
                read(&mut &b[..]).unwrap_err().kind(),
                io::ErrorKind::InvalidData
            );
        }
        let b = encode(STDIN, 1, b"abc");
        for cut in 1..b.len() {
            assert!(read(&mut &b[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn lengths_at_their_bounds_are_taken() {
        // the least: type and id, no payload
        let b = encode(STDIN_CLOSE, 3, b"");
        assert_eq!(b, [0, 0, 0, 5, STDIN_CLOSE, 0, 0, 0, 3]);
        assert_eq!(read(&mut &b[..]).unwrap().unwrap().payload, b"");
        // the most: a payload of MAX_PAYLOAD bytes
        let big = vec![7u8; MAX_PAYLOAD];
        let b = encode(EXEC, 1, &big);
        assert_eq!(&b[..4], &((HEADER + MAX_PAYLOAD) as u32).to_be_bytes());
        let f = read(&mut &b[..]).unwrap().unwrap();
        assert_eq!((f.kind, f.id, f.payload.len()), (EXEC, 1, MAX_PAYLOAD));
        // two frames back to back, then the end of the stream
        let two = [encode(HELLO, 0, b"ab"), encode(EXIT, 9, b"")].concat();
        let mut r = &two[..];
        assert_eq!(read(&mut r).unwrap().unwrap().payload, b"ab");
        assert_eq!(read(&mut r).unwrap().unwrap().id, 9);
        assert_eq!(read(&mut r).unwrap(), None);
    }

    #[test]
    fn fields_hold_their_bounds() {
        // bytes: a count up to what is left, never past it or MAX_PAYLOAD
        let mut b = 3u32.to_be_bytes().to_vec();
        b.extend_from_slice(b"abc");
        assert_eq!(Fields::new(&b).bytes(), Ok(&b"abc"[..]));
        assert_eq!(Fields::new(&b[..6]).bytes(), Err(Malformed));
        let mut huge = ((MAX_PAYLOAD + 1) as u32).to_be_bytes().to_vec();
        huge.resize(4 + MAX_PAYLOAD + 1, 0);
        assert_eq!(Fields::new(&huge).bytes(), Err(Malformed));
        let mut most = (MAX_PAYLOAD as u32).to_be_bytes().to_vec();
        most.resize(4 + MAX_PAYLOAD, 0);
        assert_eq!(Fields::new(&most).bytes().map(<[u8]>::len), Ok(MAX_PAYLOAD));
        // list: at most MAX_LIST entries
        let list = |n: usize| {
            let mut b = (n as u32).to_be_bytes().to_vec();
            b.resize(4 + 4 * n, 0); // n empty entries
            b
        };
        let full = list(MAX_LIST);
        let mut f = Fields::new(&full);
        assert_eq!(f.list(0).map(|l| l.len()), Ok(MAX_LIST));
        assert_eq!(f.end(), Ok(()));
        assert_eq!(Fields::new(&list(MAX_LIST + 1)).list(0), Err(Malformed));
        assert_eq!(Fields::new(&list(0)).list(1), Err(Malformed));
        // u32 and the end
        assert_eq!(Fields::new(&[1, 2, 3]).u32(), Err(Malformed));
        assert_eq!(Fields::new(&[0, 0, 1, 0]).u32(), Ok(256));
        assert_eq!(Fields::new(&[0]).end(), Err(Malformed));
    }

    #[test]
    fn exec_payloads_parse_and_their_bounds_hold() {
        let p = exec_payload(1, &[b"sh", b"-c"], &[b"A=1"], b"/w");
        let e = exec(&p).unwrap();
        assert!(e.stdin);
        assert_eq!(e.argv, vec![&b"sh"[..], &b"-c"[..]]);
        assert_eq!(e.env, vec![&b"A=1"[..]]);
        assert_eq!(e.workdir, b"/w");
        assert_eq!(exec(&exec_payload(0, &[], &[], b"/")), Err(Malformed)); // no argv
        assert_eq!(exec(&exec_payload(4, &[b"x"], &[], b"/")), Err(Malformed)); // unknown flag
                                                                                // a pty: its size after the working directory, each side 1 to 65,535
        let mut pty = exec_payload(FLAG_PTY, &[b"sh"], &[], b"/");
        assert_eq!(exec(&pty), Err(Malformed), "no size");
        pty.extend_from_slice(&24u32.to_be_bytes());
        pty.extend_from_slice(&80u32.to_be_bytes());
        assert_eq!(exec(&pty).unwrap().pty, Some((24, 80)));
        for (r, c) in [(0u32, 80u32), (24, 0), (65_536, 80)] {
            let mut bad = exec_payload(FLAG_PTY, &[b"sh"], &[], b"/");
            bad.extend_from_slice(&r.to_be_bytes());
            bad.extend_from_slice(&c.to_be_bytes());
            assert_eq!(exec(&bad), Err(Malformed), "{r}x{c}");
        }
        assert_eq!(resize(&[0, 0, 0, 5, 0, 0, 0, 7]), Ok((5, 7)));
        assert_eq!(resize(&[0, 0, 0, 5, 0, 0, 0]), Err(Malformed));
        let mut long = exec_payload(0, &[b"x"], &[], b"/");
        long.push(0);
        assert_eq!(exec(&long), Err(Malformed)); // bytes left over
        let huge_count = [0u8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(exec(&huge_count), Err(Malformed));
        let p = exec_payload(0, &[b"x"], &[], b"/");
        for cut in 0..p.len() {
            assert_eq!(exec(&p[..cut]), Err(Malformed), "cut at {cut}");
        }
    }

    #[test]
    fn random_bytes_never_panic_the_decoders() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let n = (next() % 64) as usize;
            let mut b: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            if n >= 4 && next() % 2 == 0 {
                // a plausible length, so the payload's fields are reached too
                let len = (n - 4) as u32;
                b[..4].copy_from_slice(&len.to_be_bytes());
            }
            if let Ok(Some(f)) = read(&mut &b[..]) {
                let _ = exec(&f.payload);
            }
            let _ = exec(&b);
        }
    }

    fn file_payload(op: u32, n: u64, paths: &[&[u8]]) -> Vec<u8> {
        let mut b = op.to_be_bytes().to_vec();
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(&(paths.len() as u32).to_be_bytes());
        for p in paths {
            b.extend_from_slice(&(p.len() as u32).to_be_bytes());
            b.extend_from_slice(p);
        }
        b
    }

    #[test]
    fn spawn_and_proc_payloads_parse_and_their_bounds_hold() {
        let payload = |flags: u32, dir: &[u8], tty: &[u8]| {
            let mut b = flags.to_be_bytes().to_vec();
            for x in [dir, tty] {
                b.extend_from_slice(&(x.len() as u32).to_be_bytes());
                b.extend_from_slice(x);
            }
            b.extend_from_slice(&exec_payload(0, &[b"sh"], &[b"A=1"], b"/w")[4..]);
            b
        };
        let s = payload(FLAG_TERMINAL, b"/d", b"/dev/hvc1");
        let r = spawn(&s).unwrap();
        assert_eq!(
            (r.dir, r.terminal, r.workdir),
            (&b"/d"[..], Some(&b"/dev/hvc1"[..]), &b"/w"[..])
        );
        assert_eq!((r.argv, r.env), (vec![&b"sh"[..]], vec![&b"A=1"[..]]));
        assert_eq!(spawn(&payload(0, b"/d", b"")).unwrap().terminal, None);
        assert_eq!(spawn(&payload(0, b"/d", b"/dev/hvc1")), Err(Malformed)); // a terminal without its flag
        assert_eq!(spawn(&payload(FLAG_TERMINAL, b"/d", b"")), Err(Malformed));
        assert_eq!(spawn(&payload(2, b"/d", b"")), Err(Malformed));
        for cut in 0..s.len() {
            assert_eq!(spawn(&s[..cut]), Err(Malformed), "cut at {cut}");
        }
        assert!(proc(&file_payload(PROC_STATUS, 0, &[b"/d"])).is_ok());
        assert!(proc(&file_payload(PROC_SIGNAL, 15 | SIGNAL_FOREGROUND, &[b"/d"])).is_ok());
        assert!(proc(&file_payload(PROC_STOP, MAX_GRACE, &[b"/d"])).is_ok());
        assert!(proc(&file_payload(PROC_KILL_ALL, 0, &[])).is_ok());
        for bad in [
            file_payload(PROC_STATUS, 1, &[b"/d"]),
            file_payload(PROC_SIGNAL, 0, &[b"/d"]),
            file_payload(PROC_SIGNAL, 65, &[b"/d"]),
            file_payload(PROC_SIGNAL, 9 | 1 << 9, &[b"/d"]),
            file_payload(PROC_STOP, MAX_GRACE + 1, &[b"/d"]),
            file_payload(PROC_CONSOLES, 0, &[b"/d"]),
            file_payload(PROC_STATUS, 0, &[]),
            file_payload(9, 0, &[]),
        ] {
            assert_eq!(proc(&bad), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn a_file_request_has_a_known_operation_with_its_count_of_paths() {
        let read = file_payload(OP_READ, 5, &[b"/f"]);
        let r = file(&read).unwrap();
        assert_eq!((r.op, r.n, r.paths), (OP_READ, 5, vec![&b"/f"[..]]));
        assert!(file(&file_payload(OP_MOVE, 0, &[b"/a", b"/b"])).is_ok());
        assert!(file(&file_payload(OP_REMOVE, 0, &[b"/a", b"/b", b"/c"])).is_ok());
        assert!(file(&file_payload(OP_SYNC, 0, &[])).is_ok());
        for bad in [
            file_payload(OP_READ, 0, &[]),
            file_payload(OP_MOVE, 0, &[b"/a"]),
            file_payload(OP_REMOVE, 0, &[]),
            file_payload(OP_SWAP, 0, &[b"/a", b"/b"]),
            file_payload(OP_GET_TAR, 1, &[b"/a"]),
            file_payload(99, 0, &[b"/a"]),
            file_payload(OP_SYNC, 0, &[])[..11].to_vec(),
        ] {
            assert_eq!(file(&bad), Err(Malformed), "{bad:?}");
        }
    }
}
