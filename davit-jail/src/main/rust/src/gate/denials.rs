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

/// The record: the caller serializes its calls (the gate holds it in a mutex).
pub struct Denials {
    file: PathBuf,
}

impl Denials {
    /// The record in `dir`.
    pub fn new(dir: &Path) -> Denials {
        Denials {
            file: dir.join(FILE),
        }
    }

    /// Appends `d` (a failure to write is said on stderr, the gate's log, and is not the connection's).
    pub fn record(&self, d: &Denial) {
        let line = line(d, now_millis());
        let rotated = self.file.with_file_name(format!("{FILE}.1"));
        if std::fs::symlink_metadata(&self.file).is_ok_and(|m| m.len() > MAX_BYTES) {
            let _ = std::fs::rename(&self.file, rotated);
        }
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!("davit-gate: cannot record a denial: {e}");
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
        let r = Denials::new(&dir);
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
}
