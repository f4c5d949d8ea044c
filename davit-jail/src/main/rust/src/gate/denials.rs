//! The gate's record of what it refused (Denials.java): one JSON object per line in `denials.jsonl` of its
//! directory, past 1 MiB renamed to `denials.jsonl.1` (replacing the one before) and started again, so at most twice
//! that is kept. Each line: `time` (ISO-8601 UTC, milliseconds), `kind` (`dns` for a name refused an answer,
//! `connect` for a connection refused), `name` (absent when none), `address` and `port` (absent for a name), `rule`
//! (absent when nothing matched) and `reason`. davit reads it (Egress.denials) for `network_denied`, progress
//! notifications and `davit workspace network`.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The file, in the gate's directory.
pub const FILE: &str = "denials.jsonl";
/// Its size past which it is rotated.
pub const MAX_BYTES: u64 = 1 << 20;

/// One refusal.
pub struct Denial<'a> {
    /// `dns` or `connect`.
    pub kind: &'static str,
    /// The name asked for, or the TLS SNI or HTTP Host a connection carried.
    pub name: Option<&'a str>,
    /// The address and port of a connection (or the address a name resolved to).
    pub address: Option<(Ipv4Addr, u16)>,
    /// The policy entry that decided.
    pub rule: Option<String>,
    /// Why.
    pub reason: &'a str,
}

/// The record: its file kept open, its size tracked (no look at the file per line).
pub struct Denials {
    file: PathBuf,
    open: Option<(std::fs::File, u64)>,
}

impl Denials {
    /// The record in `dir`.
    pub fn new(dir: &Path) -> Denials {
        Denials {
            file: dir.join(FILE),
            open: None,
        }
    }

    /// Appends `d` now (a failure to write is said in the gate's log, at most every 10 s, and is not the
    /// connection's).
    pub fn record(&mut self, d: &Denial) {
        self.append(&line(d, now_millis()));
    }

    /// Appends a line, rotating the file first when it is past its bound.
    pub fn append(&mut self, line: &str) {
        if self
            .open
            .as_ref()
            .is_some_and(|(_, size)| *size > MAX_BYTES)
        {
            self.open = None;
            let _ = std::fs::rename(&self.file, self.file.with_file_name(format!("{FILE}.1")));
        }
        if self.open.is_none() {
            use std::os::unix::fs::OpenOptionsExt;
            self.open = OpenOptions::new()
                .create(true)
                .append(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&self.file)
                .and_then(|f| Ok((f.metadata()?.len(), f)))
                .map(|(size, f)| (f, size))
                .map_err(|e| log(format_args!("davit-gate: cannot record a denial: {e}\n")))
                .ok();
        }
        if let Some((f, size)) = self.open.as_mut() {
            match f.write_all(line.as_bytes()) {
                Ok(()) => *size += line.len() as u64,
                Err(e) => {
                    log(format_args!("davit-gate: cannot record a denial: {e}\n"));
                    self.open = None;
                }
            }
        }
    }
}

/// Says something in the gate's log (its stderr, davit's gate.log) at most every 10 s, never failing: a full disk
/// must not end the gate (Rust's eprintln panics when it cannot write).
pub fn log(args: std::fmt::Arguments) {
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(10)) {
        return;
    }
    *last = Some(std::time::Instant::now());
    let _ = std::io::stderr().write_fmt(args);
}

/// The denials a busy gate could not keep up with: handed to a thread of their own (the gate's one serving thread never
/// waits for the disk), at most `QUEUE` waiting; more are counted and said in one line once there is room.
pub struct Writer {
    tx: std::sync::mpsc::SyncSender<String>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// How many denial lines may wait for the writer.
pub const QUEUE: usize = 4096;

impl Writer {
    /// Starts the writer of `dir`'s record (before the gate's seccomp filter, which allows no new thread).
    pub fn start(dir: &Path) -> std::io::Result<Writer> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<String>(QUEUE);
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (mut rec, lost) = (Denials::new(dir), dropped.clone());
        let (up, started) = std::sync::mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("gate-denials".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                // its start (the C library's and Rust's: rseq, its name, its signal stack) done before the caller's
                // seccomp filter, which allows none of that, reaches it
                let _ = up.send(());
                while let Ok(l) = rx.recv() {
                    rec.append(&l);
                    let n = lost.swap(0, std::sync::atomic::Ordering::Relaxed);
                    if n > 0 {
                        let d = Denial {
                            kind: "connect",
                            name: None,
                            address: None,
                            rule: None,
                            reason: &format!("{n} more denials not recorded: too many at once"),
                        };
                        rec.append(&line(&d, now_millis()));
                    }
                }
            })?;
        started
            .recv()
            .map_err(|_| std::io::Error::other("the denials' writer did not start"))?;
        Ok(Writer { tx, dropped })
    }

    /// Hands `d` to the writer, or counts it when the writer is that far behind.
    pub fn record(&self, d: &Denial) {
        if self.tx.try_send(line(d, now_millis())).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The JSON line of `d` at `millis` since the epoch.
pub fn line(d: &Denial, millis: u64) -> String {
    let mut b = String::with_capacity(160);
    b.push_str("{\"time\":\"");
    b.push_str(&iso_time(millis));
    b.push_str("\",\"kind\":\"");
    b.push_str(d.kind);
    b.push('"');
    if let Some(n) = d.name {
        b.push_str(",\"name\":");
        quote(&mut b, n);
    }
    if let Some((a, p)) = d.address {
        b.push_str(&format!(",\"address\":\"{a}\",\"port\":{p}"));
    }
    if let Some(r) = &d.rule {
        b.push_str(",\"rule\":");
        quote(&mut b, r);
    }
    b.push_str(",\"reason\":");
    quote(&mut b, d.reason);
    b.push_str("}\n");
    b
}

/// `s` as a JSON string, every control character and every non-ASCII code unit (UTF-16, as Java escapes) escaped.
pub fn quote(b: &mut String, s: &str) {
    b.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            b.push('\\');
            b.push(c);
        } else if (' '..='~').contains(&c) {
            b.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                b.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    b.push('"');
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2026-11-29T15:04:05.120Z` for `millis` since the epoch (the proleptic Gregorian calendar, UTC).
pub fn iso_time(millis: u64) -> String {
    let secs = millis / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // days since 1970-01-01 to a civil date (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_with_milliseconds() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(1_796_224_245_120), "2026-12-02T15:10:45.120Z");
        assert_eq!(iso_time(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn a_line_has_the_fields_it_has_and_escapes_what_it_quotes() {
        let d = Denial {
            kind: "connect",
            name: Some("a\"b\\c\u{7}é😀"),
            address: Some((Ipv4Addr::new(198, 18, 0, 7), 443)),
            rule: Some("deny-cidr 198.18.0.0/15".into()),
            reason: "denied",
        };
        assert_eq!(
            line(&d, 0),
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"kind\":\"connect\",\"name\":\"a\\\"b\\\\c\\u0007\\u00e9\\ud83d\\ude00\",\
             \"address\":\"198.18.0.7\",\"port\":443,\"rule\":\"deny-cidr 198.18.0.0/15\",\"reason\":\"denied\"}\n"
        );
        let d = Denial {
            kind: "dns",
            name: None,
            address: None,
            rule: None,
            reason: "not in the allow-list",
        };
        assert_eq!(
            line(&d, 1),
            "{\"time\":\"1970-01-01T00:00:00.001Z\",\"kind\":\"dns\",\"reason\":\"not in the allow-list\"}\n"
        );
    }

    #[test]
    fn the_record_rotates_past_its_bound() {
        let dir = std::env::temp_dir().join(format!("davit-denials-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = Denials::new(&dir);
        let reason = "x".repeat(1000);
        let d = Denial {
            kind: "dns",
            name: Some("a.test"),
            address: None,
            rule: None,
            reason: &reason,
        };
        for _ in 0..1100 {
            r.record(&d);
        }
        let now = std::fs::metadata(dir.join(FILE)).unwrap().len();
        let old = std::fs::metadata(dir.join(format!("{FILE}.1")))
            .unwrap()
            .len();
        assert!(old > MAX_BYTES && old < MAX_BYTES + 2000, "{old}");
        assert!(now > 0 && now < 200_000, "{now}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_flood_of_denials_is_written_by_its_thread_and_what_it_could_not_take_is_counted() {
        let dir = std::env::temp_dir().join(format!("davit-denials-w-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let w = Writer::start(&dir).unwrap();
        let d = Denial {
            kind: "dns",
            name: Some("a.test"),
            address: None,
            rule: None,
            reason: "not in the allow-list",
        };
        for _ in 0..20_000 {
            w.record(&d);
        }
        drop(w); // the writer ends once it wrote what waits
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let count = |t: &str| t.lines().filter(|l| l.contains("\"a.test\"")).count() as u64;
        let lost = |t: &str| -> u64 {
            t.lines()
                .filter_map(|l| {
                    l.split("\"reason\":\"")
                        .nth(1)?
                        .split(' ')
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .sum()
        };
        let (mut written, mut dropped) = (0, 0);
        while std::time::Instant::now() < deadline && written + dropped < 20_000 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            // the record and the one it rotated to (20,000 lines are about 2 MiB)
            let text = std::fs::read_to_string(dir.join(format!("{FILE}.1"))).unwrap_or_default()
                + &std::fs::read_to_string(dir.join(FILE)).unwrap_or_default();
            (written, dropped) = (count(&text), lost(&text));
        }
        assert!(written >= QUEUE as u64, "{written}");
        assert_eq!(written + dropped, 20_000, "every denial written or counted");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
