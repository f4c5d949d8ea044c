//! What a running gate knows (the JVM gate's Gate.java's fields, once): its policy (replaced whole by a reload), the answers it gave
//! (Resolutions.java), the host's own addresses (HostAddresses.java), its resolver and its denial record.

use super::denials::{Denial, Writer};
use super::inject::Injections;
use super::policy::{self, Policy};
use super::resolver::Resolver;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// The names kept with their latest answer (the most recently asked).
pub const MAX_NAMES: usize = 4096;
/// How long the host's own addresses are known before they are looked up again.
const HOST_ADDRESSES_TTL: Duration = Duration::from_secs(5);

/// The gate's shared state.
pub struct Gate {
    /// The gate's directory (its working directory): `policy`, `ready`, `control.sock`, the denials.
    pub dir: PathBuf,
    policy: RwLock<Arc<Policy>>,
    resolutions: Mutex<Resolutions>,
    own: Mutex<Option<(Vec<IpAddr>, Instant)>>,
    denials: Option<Writer>,
    /// Names to addresses, as the host's programs resolve them.
    pub resolver: Resolver,
    injections: RwLock<Arc<Injections>>,
    /// The PEM file of CA certificates trusted for the real hosts it adds secrets for, beside webpki's roots.
    pub trust: Option<PathBuf>,
    upstream: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
    /// Whether the secrets it adds are also kept in its directory (a pod's gate: `pod::keep`).
    pub keep_injections: bool,
}

/// A mutex's guard, whatever a thread that held it did (the gate never panics: panic=abort).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Gate {
    /// A gate of `dir` with `policy`, its denials written by `denials` (None: not recorded).
    pub fn new(dir: &Path, policy: Policy, resolver: Resolver, denials: Option<Writer>) -> Gate {
        Gate {
            dir: dir.to_path_buf(),
            policy: RwLock::new(Arc::new(policy)),
            resolutions: Mutex::new(Resolutions::default()),
            own: Mutex::new(None),
            denials,
            resolver,
            injections: RwLock::new(Arc::new(Injections::default())),
            trust: None,
            upstream: OnceLock::new(),
            keep_injections: false,
        }
    }

    /// The secrets it adds to requests, as davit last gave them.
    pub fn injections(&self) -> Arc<Injections> {
        self.injections
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the secrets it adds.
    pub fn inject(&self, i: Injections) {
        *self.injections.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(i);
    }

    /// What it trusts for the real hosts it adds secrets for (made at the first such connection).
    pub fn upstream(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.upstream
            .get_or_init(|| super::inject::upstream(self.trust.as_deref()))
            .clone()
    }

    /// The policy in force: one for a whole answer or connection, whatever a reload does meanwhile.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the policy file again: new names and connections follow it.
    pub fn reload(&self) -> Result<(), String> {
        let bytes = std::fs::read(self.dir.join(super::serve::POLICY))
            .map_err(|e| format!("cannot read the policy: {e}"))?;
        let p = Policy::read(&bytes)?;
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(p);
        Ok(())
    }

    /// Records a refusal.
    pub fn deny(&self, d: &Denial) {
        if let Some(w) = &self.denials {
            w.record(d);
        }
    }

    /// The host's own addresses (of the gate's namespace, the host's), at most 5 s old; a failure to list them keeps
    /// what was known.
    pub fn host_addresses(&self) -> Vec<IpAddr> {
        let mut own = lock(&self.own);
        if let Some((a, at)) = own.as_ref() {
            if at.elapsed() < HOST_ADDRESSES_TTL {
                return a.clone();
            }
        }
        match interface_addresses() {
            Some(a) => {
                *own = Some((a.clone(), Instant::now()));
                a
            }
            None => own.as_ref().map(|(a, _)| a.clone()).unwrap_or_default(),
        }
    }

    /// Whether `a` may be reached on `port` (0: any) although a name resolved to it or a connection goes to it
    /// (Gate.reachable): never a special address or one of the host's own unless an address entry opens it.
    pub fn reachable(&self, p: &Policy, a: Ipv4Addr, port: u16) -> bool {
        p.reachable(IpAddr::V4(a), port, &self.host_addresses())
    }

    /// Why `a` may not be reached, for a refusal.
    pub fn special_words(&self, a: Ipv4Addr) -> String {
        policy::special_words(IpAddr::V4(a), &self.host_addresses()).unwrap_or_default()
    }

    /// Remembers that `name` resolved to `addresses` for this sandbox.
    pub fn resolved(&self, name: &str, addresses: &[Ipv4Addr]) {
        lock(&self.resolutions).record(name, addresses);
    }

    /// Whether `name` resolved to `a` for this sandbox.
    pub fn resolved_to(&self, name: &str, a: Ipv4Addr) -> bool {
        lock(&self.resolutions).resolved_to(name, a)
    }

    /// The names that resolved to `a`, most recent last.
    pub fn names_of(&self, a: Ipv4Addr) -> Vec<String> {
        lock(&self.resolutions).names_of(a)
    }
}

/// The answers the gate gave this sandbox: the `MAX_NAMES` names asked most recently, each with its latest answer
/// (a program may keep an address longer than its TTL, so they do not expire).
#[derive(Default)]
pub struct Resolutions {
    by_name: HashMap<String, (Vec<Ipv4Addr>, u64)>,
    clock: u64,
}

impl Resolutions {
    /// Records an answer (an empty one is not recorded).
    pub fn record(&mut self, name: &str, addresses: &[Ipv4Addr]) {
        if addresses.is_empty() {
            return;
        }
        self.clock += 1;
        self.by_name
            .insert(name.to_string(), (addresses.to_vec(), self.clock));
        if self.by_name.len() > MAX_NAMES {
            if let Some(oldest) = self
                .by_name
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(n, _)| n.clone())
            {
                self.by_name.remove(&oldest);
            }
        }
    }

    /// Whether `name`'s latest answer holds `a` (asking counts as use).
    pub fn resolved_to(&mut self, name: &str, a: Ipv4Addr) -> bool {
        self.clock += 1;
        let now = self.clock;
        match self.by_name.get_mut(name) {
            Some((s, at)) => {
                *at = now;
                s.contains(&a)
            }
            None => false,
        }
    }

    /// The names whose latest answer holds `a`, least recently used first.
    pub fn names_of(&self, a: Ipv4Addr) -> Vec<String> {
        let mut out: Vec<(&String, u64)> = self
            .by_name
            .iter()
            .filter(|(_, (s, _))| s.contains(&a))
            .map(|(n, (_, at))| (n, *at))
            .collect();
        out.sort_by_key(|(_, at)| *at);
        out.into_iter().map(|(n, _)| n.clone()).collect()
    }
}

/// The addresses of this namespace's interfaces (getifaddrs), or None when they cannot be listed.
fn interface_addresses() -> Option<Vec<IpAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list freed below; each entry's address is read per its family
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return None;
        }
        let mut out = Vec::new();
        let mut p = head;
        while !p.is_null() {
            let a = (*p).ifa_addr;
            if !a.is_null() {
                match i32::from((*a).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(a as *const libc::sockaddr_in);
                        out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            sin.sin_addr.s_addr,
                        ))));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(a as *const libc::sockaddr_in6);
                        out.push(IpAddr::V6(sin6.sin6_addr.s6_addr.into()));
                    }
                    _ => {}
                }
            }
            p = (*p).ifa_next;
        }
        libc::freeifaddrs(head);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_keep_the_most_recent_names() {
        let mut r = Resolutions::default();
        let a = Ipv4Addr::new(192, 0, 2, 1);
        r.record("first.test", &[a]);
        r.record("none.test", &[]);
        for i in 0..MAX_NAMES {
            r.record(&format!("n{i}.test"), &[Ipv4Addr::new(10, 0, 0, 1)]);
        }
        assert!(!r.resolved_to("first.test", a));
        assert!(!r.resolved_to("none.test", a));
        assert!(r.resolved_to("n1.test", Ipv4Addr::new(10, 0, 0, 1)));
        r.record("b.test", &[a]);
        r.record("c.test", &[a]);
        r.resolved_to("b.test", a);
        assert_eq!(r.names_of(a), ["c.test", "b.test"]);
    }

    #[test]
    fn the_host_has_loopback() {
        let own = interface_addresses().expect("interfaces");
        assert!(own.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)), "{own:?}");
    }
}
