//! A detached process's own pseudo-terminal, where the sandbox has no virtio console for it (a pod): SPAWN's
//! terminal `pty` (docs/reference/AGENT.md, "Detached processes"). The holder opens it, keeps its side and pumps:
//! what the terminal shows goes into the record as segments `out.N` (N: the position of its first byte in all the
//! terminal showed; the newest two kept, each up to SEGMENT bytes), and what is written into the record's FIFO
//! `input` is typed into it. PROC's OUTPUT and INPUT read the segments and write the FIFO for the host, so no process
//! of the host holds anything while the shell lives: any later davit reads and types through any agent.

use crate::detached::{nonblocking, write_until, Record};
use crate::files::{Failure, Out};
use davit_agent::frame;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How large a segment of the output grows before the next is begun (two are kept: 8 MiB, the host's log cap).
const SEGMENT: u64 = 4 << 20;
/// The most entries of a record's directory a read looks at (the sandbox's code may have filled it).
const MAX_ENTRIES: usize = 4096;
/// How long the holder waits for more output once its command ended, before it records the exit, and how long
/// at most while output goes on coming (a job the command left writing).
const DRAIN: Duration = Duration::from_millis(50);
const DRAIN_MOST: Duration = Duration::from_secs(1);

/// The pseudo-terminal: (the holder's side, the command's), 24 rows of 80 columns.
pub fn open() -> io::Result<(File, File)> {
    crate::process::open_pty(24, 80)
}

impl Record {
    /// Makes the FIFO `input` (0600) and opens it for reading and writing: the holder is its reader while it lives,
    /// and never sees its end when a writer leaves.
    pub fn input_fifo(&self) -> io::Result<File> {
        let name = CString::new("input").map_err(io::Error::other)?;
        // SAFETY: mkfifoat reads the NUL-terminated name relative to the directory this Record holds open
        if unsafe { libc::mkfifoat(self.0.as_raw_fd(), name.as_ptr(), 0o600) } != 0 {
            return Err(io::Error::last_os_error());
        }
        self.file("input", libc::O_RDWR | libc::O_NONBLOCK)
    }

    /// Removes `name` from the directory, never through a link (an error is not reported: it is a log's old part).
    pub fn remove(&self, name: &str) {
        if let Ok(n) = CString::new(name) {
            // SAFETY: unlinkat reads the NUL-terminated name relative to the directory this Record holds open
            unsafe { libc::unlinkat(self.0.as_raw_fd(), n.as_ptr(), 0) };
        }
    }
}

/// The terminal's output as the holder writes it: the current segment, the one before kept, older ones removed.
struct Log<'a> {
    dir: &'a Record,
    base: u64,
    len: u64,
    file: Option<File>,
    started: bool,
    older: Option<u64>,
}

impl Log<'_> {
    fn write(&mut self, b: &[u8]) {
        // a new segment past SEGMENT, and after a write that failed (a full disk): it begins where the lost bytes
        // end, a gap the reader steps over
        if !self.started || self.len >= SEGMENT || self.file.is_none() && self.len > 0 {
            let next = self.base + self.len;
            if let Some(o) = self.older.take() {
                self.dir.remove(&format!("out.{o}"));
            }
            if self.started {
                self.older = Some(self.base);
            }
            self.started = true;
            self.base = next;
            self.len = 0;
            // whatever the sandbox put in its place goes first (a FIFO there would stop the holder in its open)
            let name = format!("out.{next}");
            self.dir.remove(&name);
            self.file = self
                .dir
                .file(
                    &name,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NONBLOCK,
                )
                .ok()
                .filter(|f| f.metadata().is_ok_and(|m| m.is_file()));
        }
        if b.is_empty() {
            return;
        }
        // a full disk loses output, never the holder
        if let Some(f) = &mut self.file {
            if f.write_all(b).is_err() {
                self.file = None;
            }
        }
        self.len += b.len() as u64;
    }
}

/// The holder's pump, until `child` ended and its last output was taken (or the terminal closed and it ended):
/// the terminal's output into the record's segments, `input`'s bytes into the terminal (a command that does not
/// read its input leaves them in the FIFO, whose writer then waits: output still flows).
pub fn pump(
    mut master: File,
    mut input: File,
    dir: &Record,
    child: &mut Child,
) -> io::Result<ExitStatus> {
    nonblocking(master.as_raw_fd());
    nonblocking(input.as_raw_fd());
    let mut log = Log {
        dir,
        base: 0,
        len: 0,
        file: None,
        started: false,
        older: None,
    };
    log.write(&[]);
    let mut buf = vec![0u8; 64 << 10];
    let mut pending: Vec<u8> = Vec::new();
    // once it ended: its status, until when more output is waited for, and the latest that may be
    let mut ended: Option<(ExitStatus, Instant, Instant)> = None;
    loop {
        if ended.is_none() {
            if let Some(s) = child.try_wait()? {
                let now = Instant::now();
                ended = Some((s, now + DRAIN, now + DRAIN_MOST));
            }
        }
        let mut fds = [
            libc::pollfd {
                fd: master.as_raw_fd(),
                events: libc::POLLIN | if pending.is_empty() { 0 } else { libc::POLLOUT },
                revents: 0,
            },
            libc::pollfd {
                fd: input.as_raw_fd(),
                events: if pending.is_empty() { libc::POLLIN } else { 0 },
                revents: 0,
            },
        ];
        let wait = if ended.is_some() { 10 } else { 100 };
        // SAFETY: poll reads and writes the two pollfds given
        unsafe { libc::poll(fds.as_mut_ptr(), 2, wait) };
        let mut closed = false;
        if fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            match master.read(&mut buf) {
                Ok(0) => closed = true,
                Ok(n) => log.write(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                // EIO: no process has the command's side open any more
                Err(_) => closed = true,
            }
        }
        if !pending.is_empty() && fds[0].revents & libc::POLLOUT != 0 {
            match master.write(&pending) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => pending.clear(),
            }
        }
        if fds[1].revents & libc::POLLIN != 0 {
            if let Ok(n) = input.read(&mut buf[..4096]) {
                pending.extend_from_slice(&buf[..n]);
            }
        }
        let now = Instant::now();
        match ended {
            // its output is taken until none came for DRAIN (what it wrote last is in the terminal already), and
            // no longer than DRAIN_MOST: a job it left writing does not keep its exit from being recorded
            Some((s, until, most))
                if closed || now >= most || fds[0].revents & libc::POLLIN == 0 && now >= until =>
            {
                return Ok(s)
            }
            Some((s, _, most)) if fds[0].revents & libc::POLLIN != 0 => {
                ended = Some((s, now + DRAIN, most));
            }
            None if closed => {
                // no process has the terminal any more: what is typed would never be read, so it is refused
                dir.remove("input");
                drop(input);
                return child.wait();
            }
            _ => {}
        }
    }
}

/// The bases of record `dir`'s output segments, ascending.
fn segments(dir: &Path) -> Result<Vec<u64>, Failure> {
    let entries = fs::read_dir(dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => (frame::E_MISSING, format!("no record {}", dir.display())),
        _ => (
            frame::E_FAILED,
            format!("cannot list {}: {e}", dir.display()),
        ),
    })?;
    let mut bases: Vec<u64> = entries
        .take(MAX_ENTRIES)
        .flatten()
        .filter_map(|e| {
            let n = e.file_name();
            let n = n.to_str()?.strip_prefix("out.")?;
            (n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse::<u64>().ok())
                .flatten()
        })
        .collect();
    bases.sort_unstable();
    Ok(bases)
}

/// OUTPUT: what record `dir`'s terminal showed from position `pos` (from the oldest byte kept when that is later),
/// at most MAX_OUTPUT_READ bytes as DATA, on from one segment into the next that follows it; the position of the
/// first is the answer (`pos` when there is nothing new). Where a segment ends short of the next one's start (output
/// lost to a full disk, or a segment the sandbox cut), a read that found nothing goes on at the next one.
pub fn output(dir: &Path, pos: u64, out: &mut Out) -> Result<u64, Failure> {
    for _ in 0..3 {
        let bases = segments(dir)?;
        let Some(&oldest) = bases.first() else {
            return Ok(pos);
        };
        let (mut i, mut at) = match bases.iter().rposition(|&b| b <= pos) {
            Some(i) => (i, pos),
            None => (0, oldest),
        };
        let mut start = at;
        let mut left = frame::MAX_OUTPUT_READ;
        loop {
            let f = match segment(dir, bases[i]) {
                Ok(f) => f,
                // the holder removed it since the listing: list again (or stop at what was sent)
                Err(None) if left == frame::MAX_OUTPUT_READ => break,
                Err(None) => return Ok(start),
                Err(Some(e)) => return Err(e),
            };
            let sent = copy(&f, at - bases[i], left, out)?;
            at += sent;
            left -= sent;
            match bases.get(i + 1).copied() {
                // the next segment follows on, or nothing was sent yet and it begins after a gap
                Some(n) if left > 0 && (n == at || n > at && left == frame::MAX_OUTPUT_READ) => {
                    if left == frame::MAX_OUTPUT_READ {
                        start = n;
                    }
                    at = n;
                    i += 1;
                }
                _ => return Ok(start),
            }
        }
    }
    Ok(pos)
}

/// Segment `out.BASE` of record `dir`, a regular file never opened through a link; Err(None) when it is gone.
fn segment(dir: &Path, base: u64) -> Result<File, Option<Failure>> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(dir.join(format!("out.{base}")))
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => None,
            _ => Some((frame::E_FAILED, format!("cannot read the output: {e}"))),
        })?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Some((
            frame::E_NOT_FILE,
            "the output is not a regular file".into(),
        )));
    }
    Ok(f)
}

/// At most `most` bytes of `f` from `offset` sent as DATA; how many.
fn copy(f: &File, offset: u64, most: u64, out: &mut Out) -> Result<u64, Failure> {
    let mut buf = vec![0u8; most.min(64 << 10) as usize];
    let mut sent = 0;
    while sent < most {
        let want = (most - sent).min(buf.len() as u64) as usize;
        let n = match f.read_at(&mut buf[..want], offset + sent) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((frame::E_FAILED, format!("cannot read the output: {e}"))),
        };
        out.write_all(&buf[..n])
            .map_err(|e| (frame::E_FAILED, format!("cannot send: {e}")))?;
        sent += n as u64;
    }
    Ok(sent)
}

/// INPUT: `data` written into record `dir`'s FIFO `input` within `wait`; how many bytes it took. A FIFO without a
/// reader (the holder ended) is E_MISSING; anything but a FIFO is never opened.
pub fn input(dir: &Path, data: &[u8], wait: Duration, out: &Out) -> Result<u64, Failure> {
    let p = dir.join("input");
    let gone = || (frame::E_MISSING, "the terminal has ended".to_string());
    match fs::symlink_metadata(&p) {
        Ok(m) if m.file_type().is_fifo() => {}
        Ok(_) => return Err((frame::E_NOT_FILE, format!("{} is not a FIFO", p.display()))),
        Err(_) => return Err(gone()),
    }
    let f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&p)
        // ENXIO: no reader
        .map_err(|_| gone())?;
    if !f.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
        return Err((frame::E_NOT_FILE, format!("{} is not a FIFO", p.display())));
    }
    write_until(f.as_raw_fd(), data, Instant::now() + wait, out)
        .map(|n| n as u64)
        .map_err(|_| gone())
}
