//! PROC's requests about every process of the sandbox, not one record's (docs/reference/AGENT.md, "Detached
//! processes"): CONSOLES, the virtio consoles in use, and KILL_ALL.

use crate::detached::{processes, spared};
use crate::files::Out;
use crate::process;
use std::collections::HashSet;
use std::fs;

/// The most processes a kill of all stops.
const MAX_PROCS: usize = 65_536;

/// The major number of the virtio consoles' terminals (hvc).
const HVC_MAJOR: u64 = 229;

/// CONSOLES: the virtio consoles some process has as its controlling terminal or holds open, as a mask (bit N:
/// /dev/hvcN).
pub fn consoles(out: &Out) -> u64 {
    let mut mask = 0u64;
    let me = std::process::id() as i32;
    let all: Vec<(i32, Vec<u8>)> = processes();
    for (p, stat) in all
        .iter()
        .map(|(p, s)| (*p, Some(s)))
        .chain([(1, None), (me, None)])
    {
        if out.cancelled() {
            break;
        }
        // the controlling terminal (field 7): major in bits 8-19, minor in 0-7 and 20-31
        if let Some(t) = stat
            .and_then(|s| process::stat_field(s, 7))
            .and_then(|t| t.parse::<u64>().ok())
        {
            let (major, minor) = ((t >> 8) & 0xfff, (t & 0xff) | ((t >> 12) & 0xfff00));
            if major == HVC_MAJOR && minor < 64 {
                mask |= 1 << minor;
            }
        }
        let Ok(fds) = fs::read_dir(format!("/proc/{p}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(t) = fs::read_link(fd.path()) else {
                continue;
            };
            let n = t
                .to_str()
                .and_then(|s| s.strip_prefix("/dev/hvc"))
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(n) = n.filter(|&n| n < 64) {
                mask |= 1 << n;
            }
        }
    }
    mask
}

/// KILL_ALL: every process but pid 1, the agent and what it runs under (the restart loop of a microVM's init):
/// each found is stopped at once, so none forks while the rest are looked for, then all are killed.
pub fn kill_all(out: &Out) {
    // pid 1, the agent and its ancestors (its group and session too: a command never shares them)
    let spared = spared();
    let mut found = HashSet::new();
    for _ in 0..100 {
        let mut grew = false;
        for (p, _) in processes() {
            if !spared.contains(&p) && found.len() < MAX_PROCS && found.insert(p) {
                // SAFETY: kill has no memory effects
                unsafe { libc::kill(p, libc::SIGSTOP) };
                grew = true;
            }
        }
        if !grew || out.cancelled() {
            break;
        }
    }
    for p in found {
        // SAFETY: as above
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
}
