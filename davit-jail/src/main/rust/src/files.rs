//! The agent's file requests (docs/reference/AGENT.md, "Files"): a guest file read, a tree put as a tar or got as
//! one, removals, renames, a directory swapped for another, the file systems flushed. Each runs on a thread of its
//! own, as a process does, and ends with DONE or ERROR.
//!
//! Every path is absolute, without `.` or `..` components, and no component of it may be a symbolic link (the last
//! one may, for REMOVE and MOVE, which act on the link itself): a link a command left in a workspace cannot lead a
//! file request elsewhere. What the sandbox's own code races against these checks stays in the sandbox: the agent
//! has no more rights than that code.

use crate::conn::{self, Writer};
use crate::process::{self, lock, Handle};
use davit_agent::frame::{self, FileReq};
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// An ERROR's code and message.
pub type Failure = (u32, String);

/// Starts file request `req` as request `id` of the connection writing to `w`; an error is the ERROR to send in
/// its place.
pub fn start(req: &FileReq, id: u32, w: &Writer) -> Result<Handle, Failure> {
    let paths: Vec<PathBuf> = req
        .paths
        .iter()
        .map(|p| PathBuf::from(OsStr::from_bytes(p)))
        .collect();
    let (op, n) = (req.op, req.n);
    work(id, w, op == frame::OP_PUT_TAR, move |rx, out| {
        run(op, n, &paths, rx, out)
    })
}

/// Runs `job` as request `id` of the connection writing to `w`, on a thread of its own, as a process is run: its
/// DATA through the Out it is given, its input (when `input`: the request's STDIN chunks) through the receiver,
/// its value sent as DONE, or its failure as ERROR. A kill (the connection closed, a KILL, TERM or INT) sets the
/// Out's cancel, which the job checks at its steps.
pub fn work<F>(id: u32, w: &Writer, input: bool, job: F) -> Result<Handle, Failure>
where
    F: FnOnce(Option<Receiver<Vec<u8>>>, &mut Out) -> Result<u64, Failure> + Send + 'static,
{
    process::reserve()?;
    let ended = Arc::new(AtomicBool::new(false));
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = if input {
        let (t, r) = sync_channel::<Vec<u8>>(frame::STDIN_WINDOW);
        (Some(t), Some(r))
    } else {
        (None, None)
    };
    let (w2, ended2, cancel2) = (w.clone(), ended.clone(), cancel.clone());
    // a larger stack than a process's threads: a tar's names and the walk of a tree
    let made = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let mut out = Out {
                w: &w2,
                id,
                ended: &ended2,
                cancel: &cancel2,
                buf: Vec::new(),
            };
            let r = job(rx, &mut out).and_then(|v| {
                out.flush()
                    .map(|_| v)
                    .map_err(|e| (frame::E_FAILED, format!("cannot send: {e}")))
            });
            // a cancelled step's error may not say so (the tar crate's own words): the ERROR does
            let r = r.map_err(|(code, message)| match cancel2.load(Ordering::SeqCst) {
                true if !message.contains("cancelled") => (
                    code,
                    format!("{message}: cancelled (the host gave up on it)"),
                ),
                _ => (code, message),
            });
            finish(&w2, id, &ended2, r);
            process::release();
        })
        .is_ok();
    if !made {
        process::release();
        return Err((
            frame::E_AGENT,
            "cannot make a thread for the request (the sandbox's process limit is reached?)".into(),
        ));
    }
    Ok(Handle::work(ended, tx, cancel))
}

/// Sends the request's last frame: DONE with its value, or its ERROR.
fn finish(w: &Writer, id: u32, ended: &AtomicBool, r: Result<u64, Failure>) {
    match r {
        Ok(v) => {
            let mut s = lock(w);
            if !ended.swap(true, Ordering::SeqCst) {
                let _ = frame::write(&mut *s, frame::DONE, id, &v.to_be_bytes());
            }
        }
        Err((code, message)) => {
            if !ended.swap(true, Ordering::SeqCst) {
                let _ = conn::error(w, id, code, &message);
            }
        }
    }
}

fn run(
    op: u32,
    n: u64,
    paths: &[PathBuf],
    input: Option<Receiver<Vec<u8>>>,
    out: &mut Out,
) -> Result<u64, Failure> {
    match op {
        frame::OP_READ => read(&paths[0], n, out),
        frame::OP_PUT_TAR => {
            let rx = input.expect("a put has its input");
            put(
                &paths[0],
                &mut Input {
                    rx,
                    w: out.w,
                    id: out.id,
                    ended: out.ended,
                    cancel: out.cancel,
                    chunk: Vec::new(),
                    at: 0,
                },
            )
        }
        frame::OP_GET_TAR => get(&paths[0], out),
        frame::OP_REMOVE => remove(paths, out.cancel),
        frame::OP_MOVE => rename(&paths[0], &paths[1], out.cancel),
        frame::OP_SWAP => swap(&paths[0], &paths[1], &paths[2], out.cancel),
        _ => {
            // SAFETY: sync has no arguments and no memory effects
            unsafe { libc::sync() };
            Ok(0)
        }
    }
}

/// `p` checked as the module says (the last component may be a link when `last_link`).
pub fn checked(p: &Path, last_link: bool) -> Result<PathBuf, Failure> {
    let bytes = p.as_os_str().as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err((
            frame::E_PATH,
            format!("{} is not an absolute path", p.display()),
        ));
    }
    if bytes.contains(&0) {
        return Err((frame::E_PATH, format!("{} holds a NUL byte", p.display())));
    }
    let parts: Vec<&[u8]> = bytes
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    if parts.iter().any(|c| *c == b"." || *c == b"..") {
        return Err((
            frame::E_PATH,
            format!("{} has a . or .. component", p.display()),
        ));
    }
    let mut at = PathBuf::from("/");
    let mut missing = false;
    for (i, c) in parts.iter().enumerate() {
        at.push(OsStr::from_bytes(c));
        if missing {
            continue; // missing from here on: nothing below it is a link
        }
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() && (i + 1 < parts.len() || !last_link) => {
                return Err((
                    frame::E_PATH,
                    format!("{} is a symbolic link", at.display()),
                ));
            }
            Ok(_) => {}
            Err(_) => missing = true,
        }
    }
    // the path as checked: no empty component, no trailing slash (which would make a call follow a last link)
    Ok(at)
}

fn failed(what: &str, p: &Path, e: &io::Error) -> Failure {
    (
        frame::E_FAILED,
        format!("cannot {what} {}: {e}", p.display()),
    )
}

/// READ: the first `max` bytes (0: all) of regular file `p` as DATA; DONE carries its size (at least what was read).
fn read(p: &Path, max: u64, out: &mut Out) -> Result<u64, Failure> {
    let p = checked(p, false)?;
    // a device or a fifo is not opened at all (an open may have effects of its own); then the file that is opened
    // is checked again: not following a link, not waiting for a fifo's writer, never a controlling terminal
    match fs::symlink_metadata(&p) {
        Ok(m) if !m.is_file() => {
            return Err((
                frame::E_NOT_FILE,
                format!("{} is not a regular file", p.display()),
            ))
        }
        _ => {}
    }
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&p)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => (frame::E_MISSING, format!("no file {}", p.display())),
            _ => failed("read", &p, &e),
        })?;
    let m = f.metadata().map_err(|e| failed("read", &p, &e))?;
    if !m.is_file() {
        return Err((
            frame::E_NOT_FILE,
            format!("{} is not a regular file", p.display()),
        ));
    }
    let limit = if max == 0 { u64::MAX } else { max };
    let copied = io::copy(&mut f.take(limit), out).map_err(|e| failed("read", &p, &e))?;
    // a file of /proc says its size is 0, one that grows (a log) says less than was read: what was read, then
    Ok(m.len().max(copied))
}

/// PUT_TAR: the tar of the request's input extracted into directory `p` (made, with its parents, when missing);
/// owners are not taken from it.
fn put(p: &Path, input: &mut Input) -> Result<u64, Failure> {
    let p = checked(p, false)?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&p)
        .map_err(|e| failed("make", &p, &e))?;
    let mut a = tar::Archive::new(&mut *input);
    a.set_preserve_permissions(true);
    a.set_preserve_mtime(true);
    a.set_preserve_ownerships(false);
    a.set_unpack_xattrs(false);
    a.set_overwrite(true);
    a.unpack(&p).map_err(|e| failed("extract into", &p, &e))?;
    // what follows the archive's end (its padding) is read too: the host's STDIN_CLOSE ends the request
    io::copy(input, &mut io::sink()).map_err(|e| failed("extract into", &p, &e))?;
    Ok(0)
}

/// GET_TAR: a tar of directory `p`'s content (`./` and the entries below it, links as links, devices and fifos as
/// such, sockets left out) as DATA.
fn get(p: &Path, out: &mut Out) -> Result<u64, Failure> {
    let p = checked(p, false)?;
    match fs::symlink_metadata(&p) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err((frame::E_MISSING, format!("no directory {}", p.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err((frame::E_MISSING, format!("no directory {}", p.display())))
        }
        Err(e) => return Err(failed("archive", &p, &e)),
    }
    let mut b = tar::Builder::new(&mut *out);
    b.mode(tar::HeaderMode::Complete);
    b.follow_symlinks(false);
    // a stack, not recursion: a deep tree must not take the thread's small stack
    let mut dirs: Vec<(PathBuf, PathBuf)> = vec![(p.clone(), PathBuf::from("."))];
    let archive = |e: io::Error| failed("archive", &p, &e);
    let root = fs::symlink_metadata(&p).map_err(archive)?;
    b.append_data(&mut header(&root), "./", io::empty())
        .map_err(archive)?;
    // each directory's entries by name, the directories among them then taken in turn: a directory's entry comes
    // before its content, which is all an extraction needs
    while let Some((dir, name)) = dirs.pop() {
        let mut entries: Vec<_> = match fs::read_dir(&dir) {
            Ok(d) => d.flatten().map(|e| e.file_name()).collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // gone meanwhile
            Err(e) => return Err(failed("archive", &dir, &e)),
        };
        entries.sort();
        let mut below = Vec::new();
        for file_name in entries {
            let path = dir.join(&file_name);
            let entry = name.join(&file_name);
            let m = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(x) if x.kind() == io::ErrorKind::NotFound => continue,
                Err(x) => return Err(failed("archive", &path, &x)),
            };
            let ft = m.file_type();
            let mut h = header(&m);
            if ft.is_dir() {
                b.append_data(&mut h, &entry, io::empty())
                    .map_err(archive)?;
                below.push((path, entry));
            } else if ft.is_file() {
                let f = match OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
                    .open(&path)
                {
                    Ok(f) => f,
                    Err(x) if x.kind() == io::ErrorKind::NotFound => continue,
                    Err(x) => return Err(failed("archive", &path, &x)),
                };
                // exactly the size its header says, whatever the file does meanwhile
                let size = m.len();
                let data = f.take(size).chain(io::repeat(0)).take(size);
                b.append_data(&mut h, &entry, data).map_err(archive)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&path).map_err(|x| failed("archive", &path, &x))?;
                b.append_link(&mut h, &entry, &target).map_err(archive)?;
            } else if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
                b.append_data(&mut h, &entry, io::empty())
                    .map_err(archive)?;
            }
        }
        dirs.extend(below.into_iter().rev());
    }
    b.finish().map_err(archive)?;
    Ok(0)
}

/// A tar header for `m`: its type, mode, owner and time; no size but a regular file's; a device's numbers.
fn header(m: &fs::Metadata) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(m, tar::HeaderMode::Complete);
    let ft = m.file_type();
    if !ft.is_file() {
        h.set_size(0);
    }
    if ft.is_char_device() || ft.is_block_device() {
        let rdev = m.rdev();
        let _ = h.set_device_major(libc::major(rdev));
        let _ = h.set_device_minor(libc::minor(rdev));
    }
    h
}

/// Removes `p` (a directory with all it holds, a link itself); missing is no error. A loop, not recursion: a tree
/// as deep as the sandbox likes must not take the thread's stack (past PATH_MAX its paths fail instead).
pub fn remove_all(p: &Path, cancel: &AtomicBool) -> io::Result<()> {
    let gone = |r: io::Result<()>| match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    };
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return gone(fs::remove_file(p)),
        Err(e) => return gone(Err(e)),
    }
    let mut dirs = vec![p.to_path_buf()];
    while let Some(d) = dirs.last().cloned() {
        stopped(cancel)?;
        let mut deeper = None;
        for e in fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                deeper = Some(e.path());
                break;
            }
            gone(fs::remove_file(e.path()))?;
        }
        match deeper {
            Some(sub) => dirs.push(sub),
            None => {
                gone(fs::remove_dir(&d))?;
                dirs.pop();
            }
        }
    }
    Ok(())
}

/// An error once the request was cancelled (its connection closed, or the host's timeout killed it).
fn stopped(cancel: &AtomicBool) -> io::Result<()> {
    if cancel.load(Ordering::SeqCst) {
        return Err(io::Error::other("cancelled (the host gave up on it)"));
    }
    Ok(())
}

fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

fn is_dir(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

/// REMOVE: each path (all checked first).
fn remove(paths: &[PathBuf], cancel: &AtomicBool) -> Result<u64, Failure> {
    let checked: Vec<PathBuf> = paths
        .iter()
        .map(|p| checked(p, true))
        .collect::<Result<_, _>>()?;
    for p in &checked {
        remove_all(p, cancel).map_err(|e| failed("remove", p, &e))?;
    }
    Ok(0)
}

/// MOVE: `from` renamed to `to`, `to`'s missing parents made (0755); an existing `to` is replaced: a file or link
/// atomically, a directory (removed first) only by a directory.
fn rename(from: &Path, to: &Path, cancel: &AtomicBool) -> Result<u64, Failure> {
    let from = checked(from, true)?;
    let to = checked(to, true)?;
    let fm = match fs::symlink_metadata(&from) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err((frame::E_MISSING, format!("no {}", from.display())))
        }
        Err(e) => return Err(failed("rename", &from, &e)),
    };
    if from.starts_with(&to) {
        // a rename onto itself or over a directory that holds it would remove it first
        return Err((
            frame::E_PATH,
            format!("{} is {} itself or holds it", to.display(), from.display()),
        ));
    }
    if is_dir(&to) {
        if !fm.is_dir() {
            return Err((frame::E_IS_DIR, format!("{} is a directory", to.display())));
        }
        remove_all(&to, cancel).map_err(|e| failed("replace", &to, &e))?;
    }
    if let Some(parent) = to.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(|e| failed("make", parent, &e))?;
    }
    moved(&from, &to, cancel).map_err(|e| {
        (
            frame::E_FAILED,
            format!("cannot rename {} to {}: {e}", from.display(), to.display()),
        )
    })?;
    Ok(0)
}

/// `from` renamed to `to`; across file systems (a pod's staging volume and its workspace) copied beside `to` first,
/// then renamed over it (a file still replaced atomically), then removed, as mv does.
fn moved(from: &Path, to: &Path, cancel: &AtomicBool) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let name = to.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            let mut side = std::ffi::OsString::from(".");
            side.push(&name);
            side.push(".davit-move");
            let side = to.with_file_name(side);
            remove_all(&side, cancel)?;
            if let Err(e) = copy_all(from, &side, cancel).and_then(|_| fs::rename(&side, to)) {
                let _ = remove_all(&side, &AtomicBool::new(false));
                return Err(e);
            }
            // moved: a source that will not go is the move's leftover, not its failure
            let _ = remove_all(from, cancel);
            Ok(())
        }
        r => r,
    }
}

/// Copies `from` (a file, a link as a link, a directory with what it holds) to `to`, which is not there, keeping
/// modes, times and (where this user may) owners. A loop, not recursion (see remove_all); a directory's own mode
/// and times are set last, once what it holds is in it.
fn copy_all(from: &Path, to: &Path, cancel: &AtomicBool) -> io::Result<()> {
    let mut todo = vec![(from.to_path_buf(), to.to_path_buf())];
    let mut dirs = Vec::new();
    while let Some((from, to)) = todo.pop() {
        stopped(cancel)?;
        let m = fs::symlink_metadata(&from)?;
        let ft = m.file_type();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
            keep_owner_and_times(&to, &m);
        } else if ft.is_dir() {
            fs::DirBuilder::new().mode(0o700).create(&to)?;
            for e in fs::read_dir(&from)? {
                let e = e?;
                todo.push((e.path(), to.join(e.file_name())));
            }
            dirs.push((to, m));
        } else if ft.is_file() {
            let mut src = OpenOptions::new()
                .read(true)
                .custom_flags(
                    libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
                )
                .open(&from)?;
            let mut dst = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&to)?;
            io::copy(&mut src, &mut dst)?;
            dst.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))?;
            keep_owner_and_times(&to, &m);
        } else {
            return Err(io::Error::other(format!(
                "{} is not a file, a link or a directory",
                from.display()
            )));
        }
    }
    for (dir, m) in dirs.iter().rev() {
        fs::set_permissions(dir, fs::Permissions::from_mode(m.mode() & 0o7777))?;
        keep_owner_and_times(dir, m);
    }
    Ok(())
}

/// Gives `p` the owner (where this user may) and the times of `m`, without following a link.
fn keep_owner_and_times(p: &Path, m: &fs::Metadata) {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return;
    };
    let times = [
        libc::timespec {
            tv_sec: m.atime(),
            tv_nsec: m.atime_nsec(),
        },
        libc::timespec {
            tv_sec: m.mtime(),
            tv_nsec: m.mtime_nsec(),
        },
    ];
    // SAFETY: lchown and utimensat read the NUL-terminated path and the two timespecs only
    unsafe {
        libc::lchown(c.as_ptr(), m.uid(), m.gid());
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        );
    }
}

/// SWAP: directory `fresh` becomes `dir` by two renames (`dir` to `old`, `fresh` to `dir`), the file systems
/// flushed on each side of them, then `old` is removed: a crash leaves `dir` old or new (or, between the renames,
/// only `old`, which the next swap moves back first).
fn swap(dir: &Path, fresh: &Path, old: &Path, cancel: &AtomicBool) -> Result<u64, Failure> {
    let dir = checked(dir, false)?;
    let fresh = checked(fresh, false)?;
    let old = checked(old, false)?;
    if !is_dir(&fresh) {
        return Err((
            frame::E_MISSING,
            format!("no directory {}", fresh.display()),
        ));
    }
    if !exists(&dir) && is_dir(&old) {
        let _ = fs::rename(&old, &dir);
    }
    remove_all(&old, cancel).map_err(|e| failed("remove", &old, &e))?;
    // SAFETY (each sync below): sync has no arguments and no memory effects
    unsafe { libc::sync() };
    let cannot = |e: io::Error| {
        (
            frame::E_FAILED,
            format!(
                "cannot swap {} into {}: {e}",
                fresh.display(),
                dir.display()
            ),
        )
    };
    if exists(&dir) {
        fs::rename(&dir, &old).map_err(cannot)?;
    }
    if let Err(e) = fs::rename(&fresh, &dir) {
        let _ = fs::rename(&old, &dir);
        return Err(cannot(e));
    }
    unsafe { libc::sync() };
    remove_all(&old, cancel).map_err(|e| failed("remove", &old, &e))?;
    Ok(0)
}

/// A request's output: DATA frames of up to MAX_CHUNK bytes. A kill of the request (its connection closed) makes
/// the next write fail, which ends the work.
pub struct Out<'a> {
    w: &'a Writer,
    id: u32,
    ended: &'a AtomicBool,
    cancel: &'a AtomicBool,
    buf: Vec<u8>,
}

impl Out<'_> {
    /// Whether the request was cancelled: the work stops at its next step.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The request's cancel, for work that checks it itself (remove_all).
    pub fn cancel_flag(&self) -> &AtomicBool {
        self.cancel
    }
}

impl Write for Out<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::SeqCst) {
            return Err(io::Error::other("the host left"));
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(frame::MAX_CHUNK);
        }
        let n = b.len().min(frame::MAX_CHUNK - self.buf.len());
        self.buf.extend_from_slice(&b[..n]);
        if self.buf.len() == frame::MAX_CHUNK {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut s = lock(self.w);
        if !self.ended.load(Ordering::SeqCst) {
            frame::write(&mut *s, frame::DATA, self.id, &self.buf)?;
        }
        self.buf.clear();
        Ok(())
    }
}

/// A request's input: the STDIN chunks its connection queued, each acknowledged (STDIN_ACK) as it is taken; it ends
/// at STDIN_CLOSE (or with the connection).
struct Input<'a> {
    rx: Receiver<Vec<u8>>,
    w: &'a Writer,
    id: u32,
    ended: &'a AtomicBool,
    cancel: &'a AtomicBool,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Input<'_> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            stopped(self.cancel)?;
            match self.rx.recv_timeout(std::time::Duration::from_millis(200)) {
                Ok(c) => {
                    self.chunk = c;
                    self.at = 0;
                    let mut s = lock(self.w);
                    if !self.ended.load(Ordering::SeqCst) {
                        let _ = frame::write(&mut *s, frame::STDIN_ACK, self.id, &[]);
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = b.len().min(self.chunk.len() - self.at);
        b[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_absolute_without_dot_components_or_links_on_the_way() {
        let d = std::env::temp_dir().join(format!("davit-agent-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("real")).unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
        let code = |p: PathBuf, last: bool| checked(&p, last).err().map(|e| e.0);
        assert_eq!(code(PathBuf::from("rel/x"), false), Some(frame::E_PATH));
        assert_eq!(code(d.join("a/../b"), false), Some(frame::E_PATH));
        assert_eq!(code(d.join("./b"), false), Some(frame::E_PATH));
        assert_eq!(code(d.join("link/x"), true), Some(frame::E_PATH));
        assert_eq!(code(d.join("link"), false), Some(frame::E_PATH));
        assert_eq!(
            code(d.join("link"), true),
            None,
            "the last may be a link where asked"
        );
        assert_eq!(code(d.join("real/missing/deeper"), false), None);
        fs::remove_dir_all(&d).unwrap();
    }
}
