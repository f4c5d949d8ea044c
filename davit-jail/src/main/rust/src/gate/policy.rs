//! What a sandbox on a policy network may reach, as the gate asks it (docs/reference/sandbox/NETWORK.md, "Egress policy"):
//! deny everything, then allow what is listed; a deny rule wins over an allow rule. The subset of davit-sandbox-api's
//! EgressPolicy (with EgressEntries and SpecialBlocks) the gate uses, and the policy file as davit-network's
//! GatePolicyFile reads it: one rule per line, `allow-host`, `allow-cidr`, `deny-host` or `deny-cidr`, a space, and
//! the entry as a rule shows itself (`pypi.org`, `*.githubusercontent.com:443`, `203.0.113.0/24:8080`). Presets are
//! expanded by davit before the file is written, so there are none here.
//!
//! Entries are written as a user writes them: a name (lower-cased, a trailing dot dropped; labels of 1 to 63 of
//! `a-z 0-9 -`, not starting or ending with `-`; 253 characters at most), or a wildcard `*.example.com` that matches
//! every subdomain at any depth and never the name itself; or an IPv4 address or network `203.0.113.0/24` (an address
//! is a /32; the host bits must be zero). Either may end in `:PORT`; no port is every port (0).

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// What a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A DNS name or a wildcard of names.
    Host,
    /// An IPv4 network.
    Cidr,
}

/// The input an entry was given as, named in its refusal as davit's library names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    AllowHost,
    AllowCidr,
    DenyHost,
    DenyCidr,
}

impl Input {
    fn of(allow: bool, kind: Kind) -> Input {
        match (allow, kind) {
            (true, Kind::Host) => Input::AllowHost,
            (false, Kind::Host) => Input::DenyHost,
            (true, Kind::Cidr) => Input::AllowCidr,
            (false, Kind::Cidr) => Input::DenyCidr,
        }
    }

    fn library(self) -> &'static str {
        match self {
            Input::AllowHost => "allowHosts",
            Input::AllowCidr => "allowCidrs",
            Input::DenyHost => "denyHosts",
            Input::DenyCidr => "denyCidrs",
        }
    }
}

/// One entry of a policy, its value in canonical form: for a name rule a lower-case name without a trailing dot, or
/// a wildcard `*.example.com`; for an address rule a canonical `a.b.c.d/n`. Port 0 is every port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    allow: bool,
    kind: Kind,
    value: String,
    port: u16,
    /// An address rule's network and prefix length, parsed once (0 for a name rule).
    net: u32,
    prefix: u32,
}

impl Rule {
    /// A rule; `value` must be in its canonical form, else the refusal names it and the form to write (as the Java
    /// record's constructor refuses it).
    pub fn new(allow: bool, kind: Kind, value: &str, port: u16) -> Result<Rule, String> {
        let input = Input::of(allow, kind);
        let canonical = match kind {
            Kind::Host => host(value, input)?,
            Kind::Cidr => cidr(value, input)?,
        };
        if canonical != value {
            return Err(format!(
                "invalid {} entry '{value}': write it as {canonical}",
                input.library()
            ));
        }
        Ok(Rule::canonical(allow, kind, canonical, port))
    }

    /// A rule of a value already canonical.
    fn canonical(allow: bool, kind: Kind, value: String, port: u16) -> Rule {
        let (net, prefix) = match kind {
            Kind::Host => (0, 0),
            Kind::Cidr => net_and_prefix(&value),
        };
        Rule {
            allow,
            kind,
            value,
            port,
            net,
            prefix,
        }
    }

    /// Whether it allows (else it denies).
    pub fn allow(&self) -> bool {
        self.allow
    }

    /// Whether its value is a name or a network.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The canonical name, wildcard or network.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// 0 for every port, else 1 to 65535.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the rule holds for `p` (0: a rule of every port only).
    fn on_port(&self, p: u16) -> bool {
        self.port == 0 || self.port == p
    }

    /// Whether this deny rule holds for `p`: that port or every port; for a DNS lookup (0), only a rule of every
    /// port (a deny rule of one port denies only connections to that port).
    fn denies_on(&self, p: u16) -> bool {
        if p == 0 {
            self.port == 0
        } else {
            self.on_port(p)
        }
    }

    /// Whether this name rule matches the (normalised) name `n`.
    fn matches_name(&self, n: &str) -> bool {
        match self.value.strip_prefix('*') {
            Some(dot_suffix) if self.value.starts_with("*.") => {
                n.len() > dot_suffix.len() && n.ends_with(dot_suffix)
            }
            _ => n == self.value,
        }
    }

    /// Whether this address rule's network holds the address `a`.
    fn holds(&self, a: u32) -> bool {
        a & mask(self.prefix) == self.net
    }

    /// The words of a verdict this rule decides.
    fn reason(&self) -> String {
        if self.allow {
            format!("allowed by {self}")
        } else if self.kind == Kind::Host {
            format!("denied by deny-host {self}")
        } else {
            format!("denied by deny-cidr {self}")
        }
    }
}

/// The entry as a user writes it: `pypi.org`, `*.githubusercontent.com:443`, `203.0.113.0/24:8080`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port == 0 {
            f.write_str(&self.value)
        } else {
            write!(f, "{}:{}", self.value, self.port)
        }
    }
}

/// The answer to a question about a name or an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the policy allows it.
    pub allowed: bool,
    /// The rule that decided, or None when none matched (then it is denied).
    pub rule: Option<Rule>,
    /// A short text for a log or a caller: `allowed by pypi.org:443`, `denied by deny-host *.evil.test`, `not in the
    /// allow-list`.
    pub reason: String,
}

impl Verdict {
    fn denied(reason: &str) -> Verdict {
        Verdict {
            allowed: false,
            rule: None,
            reason: reason.to_string(),
        }
    }

    fn by(r: &Rule) -> Verdict {
        Verdict {
            allowed: r.allow,
            rule: Some(r.clone()),
            reason: r.reason(),
        }
    }
}

/// A policy: its rules, allow rules first, then deny rules, each in the order given, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    rules: Vec<Rule>,
}

impl Policy {
    /// A policy of entries as a user writes them (see the module's comment): allow rules (names, then addresses),
    /// then deny rules (names, then addresses); an entry given twice counts once.
    ///
    /// The error names the first invalid entry, why, and the fix: `invalid allowHosts entry '1.2.3.4': an address;
    /// use an address entry (allowCidrs)`.
    pub fn parse<S: AsRef<str>>(
        allow_hosts: &[S],
        allow_cidrs: &[S],
        deny_hosts: &[S],
        deny_cidrs: &[S],
    ) -> Result<Policy, String> {
        let mut rules = Vec::new();
        let mut seen = HashSet::new();
        for (allow, kind, list) in [
            (true, Kind::Host, allow_hosts),
            (true, Kind::Cidr, allow_cidrs),
            (false, Kind::Host, deny_hosts),
            (false, Kind::Cidr, deny_cidrs),
        ] {
            for e in list {
                let r = entry(allow, kind, e.as_ref())?;
                if seen.insert(r.clone()) {
                    rules.push(r);
                }
            }
        }
        Ok(Policy { rules })
    }

    /// The policy of a policy file's bytes (GatePolicyFile.read): a line of white space only is skipped; any other
    /// is a kind, a space and an entry; an unknown kind is the error `bad policy line: LINE`.
    pub fn read(file: &[u8]) -> Result<Policy, String> {
        let text = std::str::from_utf8(file)
            .map_err(|e| format!("the policy file is not UTF-8 text: {e}"))?;
        let mut lists: [Vec<&str>; 4] = Default::default();
        // lines end in \n, \r or \r\n (Files.readAllLines); the empty lines between \r and \n are blank
        for line in text.split(['\n', '\r']) {
            if line.chars().all(java_whitespace) {
                continue;
            }
            let (kind, v) = match line.find(' ') {
                Some(sp) => (&line[..sp], java_strip(&line[sp + 1..])),
                None => (line, ""),
            };
            let i = match kind {
                "allow-host" => 0,
                "allow-cidr" => 1,
                "deny-host" => 2,
                "deny-cidr" => 3,
                _ => return Err(format!("bad policy line: {line}")),
            };
            lists[i].push(v);
        }
        Policy::parse(&lists[0], &lists[1], &lists[2], &lists[3])
    }

    /// The policy file's text for this policy (GatePolicyFile.text): one line per rule.
    pub fn text(&self) -> String {
        let mut b = String::new();
        for r in &self.rules {
            b.push_str(if r.allow { "allow-" } else { "deny-" });
            let kind = if r.kind == Kind::Host {
                "host "
            } else {
                "cidr "
            };
            b.push_str(kind);
            b.push_str(&r.to_string());
            b.push('\n');
        }
        b
    }

    /// The rules: allow rules first, then deny rules, each in the order given.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether the policy has no rules (it allows nothing).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The verdict on a name, by the name rules only. With a port: a deny rule of the name on that port (or every
    /// port) denies it; else an allow rule of the name on that port allows it. With port 0, for a DNS lookup: the
    /// name resolves when some allow rule matches it, on any port, unless a deny rule of every port matches it.
    /// `host` is lower-cased and loses a trailing dot here; one that is not a valid DNS name is denied.
    pub fn name(&self, host: &str, port: u16) -> Verdict {
        let lower = host.to_lowercase();
        let n = lower.strip_suffix('.').unwrap_or(&lower);
        if !valid_query_name(n) {
            return Verdict::denied("not a valid name");
        }
        for r in &self.rules {
            if !r.allow && r.kind == Kind::Host && r.matches_name(n) && r.denies_on(port) {
                return Verdict::by(r);
            }
        }
        self.allowed(|r| r.kind == Kind::Host && r.matches_name(n), port)
    }

    /// The verdict on an address, by the address rules only, as `name` decides for a port (0: any port); anything
    /// but IPv4 (an IPv4-mapped IPv6 address is IPv4, as Java reads it) is denied.
    pub fn address(&self, a: IpAddr, port: u16) -> Verdict {
        let Some(x) = ipv4(a) else {
            return Verdict::denied("not an IPv4 address");
        };
        for r in &self.rules {
            if !r.allow && r.kind == Kind::Cidr && r.holds(x) && r.denies_on(port) {
                return Verdict::by(r);
            }
        }
        self.allowed(|r| r.kind == Kind::Cidr && r.holds(x), port)
    }

    /// The allow rule of the matching kind that allows `port` (0: any), or the denial.
    fn allowed(&self, matches: impl Fn(&Rule) -> bool, port: u16) -> Verdict {
        let mut other = None;
        for r in &self.rules {
            if r.allow && matches(r) {
                if port == 0 || r.on_port(port) {
                    return Verdict::by(r);
                }
                other = other.or(Some(r));
            }
        }
        match other {
            None => Verdict::denied("not in the allow-list"),
            Some(o) => Verdict::denied(&format!("port {port} not in the allow-list ({o} is)")),
        }
    }

    /// Whether an address rule explicitly allows `a` on `port` (0: any), for the gate to open an address it
    /// otherwise refuses: the address is allowed (`address`, deny rules win), and when it is special (`special`), by a
    /// rule no wider than the special block it lies in. One of the host's own addresses (`host_own`) is a block of
    /// its own, a /32. `0.0.0.0/8` is never opened: a connection to `0.0.0.0` reaches the connecting host itself.
    pub fn explicitly_allows(&self, a: IpAddr, port: u16, host_own: &[IpAddr]) -> bool {
        if !self.address(a, port).allowed {
            return false;
        }
        let Some(x) = ipv4(a) else {
            return false;
        };
        if x >> 24 == 0 {
            return false; // 0.0.0.0/8, "this network": a connection there reaches the connecting host itself
        }
        let block = special_index(x).map_or(0, |i| SPECIAL[i].prefix); // the blocks do not overlap
        let widest = block.max(if own(x, host_own) { 32 } else { 0 });
        self.rules.iter().any(|r| {
            r.allow
                && r.kind == Kind::Cidr
                && r.holds(x)
                && (port == 0 || r.on_port(port))
                && r.prefix >= widest
        })
    }

    /// Whether `a` may be reached although a name resolved to it or a connection goes to it (Gate.reachable): never
    /// anything but IPv4, never a special address or one of the host's own unless `explicitly_allows` opens it.
    pub fn reachable(&self, a: IpAddr, port: u16, host_own: &[IpAddr]) -> bool {
        let Some(x) = ipv4(a) else {
            return false;
        };
        if special_index(x).is_some() || own(x, host_own) {
            return self.explicitly_allows(a, port, host_own);
        }
        true
    }
}

/// A special IPv4 block: one a name of the outside should never resolve to and a wide address entry never opens.
#[derive(Debug, PartialEq, Eq)]
pub struct SpecialBlock {
    cidr: &'static str,
    name: &'static str,
    net: u32,
    prefix: u32,
}

impl SpecialBlock {
    /// Its network: `127.0.0.0/8`.
    pub fn cidr(&self) -> &'static str {
        self.cidr
    }

    /// What it is, for a refusal: `loopback`.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

const fn block(a: [u8; 4], prefix: u32, cidr: &'static str, name: &'static str) -> SpecialBlock {
    SpecialBlock {
        cidr,
        name,
        net: u32::from_be_bytes(a),
        prefix,
    }
}

/// The special blocks, the one list every enforcement point and doc uses (docs/reference/sandbox/NETWORK.md, "Special
/// addresses"): IANA's IPv4 special-purpose registry's blocks that are not globally reachable, with multicast and the
/// reserved block; not the documentation blocks nor benchmarking (198.18.0.0/15), which real hosts use.
static SPECIAL: [SpecialBlock; 11] = [
    block([0, 0, 0, 0], 8, "0.0.0.0/8", "this network"),
    block([10, 0, 0, 0], 8, "10.0.0.0/8", "private"),
    block(
        [100, 64, 0, 0],
        10,
        "100.64.0.0/10",
        "shared (carrier-grade NAT)",
    ),
    block([127, 0, 0, 0], 8, "127.0.0.0/8", "loopback"),
    block(
        [169, 254, 0, 0],
        16,
        "169.254.0.0/16",
        "link-local (cloud metadata)",
    ),
    block([172, 16, 0, 0], 12, "172.16.0.0/12", "private"),
    block(
        [192, 0, 0, 0],
        24,
        "192.0.0.0/24",
        "IETF protocol assignments",
    ),
    block(
        [192, 88, 99, 0],
        24,
        "192.88.99.0/24",
        "6to4 relay anycast (deprecated)",
    ),
    block([192, 168, 0, 0], 16, "192.168.0.0/16", "private"),
    block([224, 0, 0, 0], 4, "224.0.0.0/4", "multicast"),
    block(
        [240, 0, 0, 0],
        4,
        "240.0.0.0/4",
        "reserved and limited broadcast",
    ),
];

/// The special blocks, in address order.
pub fn special_blocks() -> &'static [SpecialBlock] {
    &SPECIAL
}

/// The index in `SPECIAL` of the block holding `x`.
fn special_index(x: u32) -> Option<usize> {
    SPECIAL.iter().position(|b| x & mask(b.prefix) == b.net)
}

/// The special block `a` lies in, or None (an address that is not IPv4 is special too, with no block: `is_special`).
pub fn special(a: IpAddr) -> Option<&'static SpecialBlock> {
    ipv4(a).and_then(special_index).map(|i| &SPECIAL[i])
}

/// Whether `a` is an address a name of the outside should never resolve to (anti-rebinding): one in a special block,
/// or anything that is not IPv4. The host's own addresses are the gate's to add.
pub fn is_special(a: IpAddr) -> bool {
    ipv4(a).is_none() || special(a).is_some()
}

/// What makes `a` special, and what opens it, for a refusal: `loopback (127.0.0.0/8), which only an address entry
/// within 127.0.0.0/8 opens`, `the host's own, which only the address entry 192.0.2.2/32 opens`; None when it is not.
pub fn special_words(a: IpAddr, host_own: &[IpAddr]) -> Option<String> {
    let Some(x) = ipv4(a) else {
        return Some("not IPv4, which sandboxes never reach".to_string());
    };
    let b = special(a);
    if own(x, host_own) {
        let within = b.map_or(String::new(), |b| format!("{} ({}) and ", b.name, b.cidr));
        return Some(format!(
            "{within}the host's own, which only the address entry {}/32 opens",
            Ipv4Addr::from(x)
        ));
    }
    let b = b?;
    if b.cidr == "0.0.0.0/8" {
        return Some(format!(
            "{} ({}), which no entry opens: a connection there reaches the host itself",
            b.name, b.cidr
        ));
    }
    Some(format!(
        "{} ({}), which only an address entry within {} opens",
        b.name, b.cidr, b.cidr
    ))
}

/// `a` as a 32-bit IPv4 address; an IPv4-mapped IPv6 address is the IPv4 one (as Java's InetAddress makes it), any
/// other IPv6 address None.
fn ipv4(a: IpAddr) -> Option<u32> {
    match a.to_canonical() {
        IpAddr::V4(v) => Some(u32::from(v)),
        IpAddr::V6(_) => None,
    }
}

/// Whether `x` is one of the host's own addresses.
fn own(x: u32, host_own: &[IpAddr]) -> bool {
    host_own.iter().any(|&h| ipv4(h) == Some(x))
}

fn mask(prefix: u32) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

/// The network and prefix of a canonical `a.b.c.d/n`.
fn net_and_prefix(cidr: &str) -> (u32, u32) {
    let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let net = addr.parse::<Ipv4Addr>().map_or(0, u32::from);
    (net, prefix.parse().unwrap_or(32))
}

/// Whether `n` is a name a query may ask about: labels of 1 to 63 letters, digits, '-' and '_', 253 characters at
/// most (EgressEntries.validQueryName).
fn valid_query_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
        })
}

fn bad(input: Input, entry: &str, why: &str) -> String {
    format!("invalid {} entry '{entry}': {why}", input.library())
}

/// An entry `VALUE[:PORT]` (EgressEntries.entry).
fn entry(allow: bool, kind: Kind, given: &str) -> Result<Rule, String> {
    let input = Input::of(allow, kind);
    let e = java_trim(given);
    if e.starts_with('[') || e.find(':') != e.rfind(':') {
        return Err(bad(
            input,
            e,
            "IPv6 is not available: sandboxes have IPv4 only",
        ));
    }
    let (value, port) = match e.split_once(':') {
        None => (e, 0),
        Some((v, p)) => (v, port(p, e, input)?),
    };
    let canonical = match kind {
        Kind::Host => host(value, input)?,
        Kind::Cidr => cidr(value, input)?,
    };
    Ok(Rule::canonical(allow, kind, canonical, port))
}

fn port(s: &str, entry: &str, input: Input) -> Result<u16, String> {
    let digits = (1..=5).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit());
    match s.parse::<u16>() {
        Ok(p) if digits && p >= 1 => Ok(p),
        _ => Err(bad(
            input,
            entry,
            &format!("a port must be between 1 and 65535, not '{s}' (no port: every port)"),
        )),
    }
}

/// Whether `s` is one or more of `[0-9.]`.
fn digits_and_dots(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit() || c == b'.')
}

/// The canonical form of a name or wildcard (EgressEntries.host); lengths count UTF-16 units, as Java's do.
fn host(given: &str, input: Input) -> Result<String, String> {
    let lower = given.to_lowercase();
    let n = lower.strip_suffix('.').unwrap_or(&lower);
    let address = if input == Input::DenyHost {
        Input::DenyCidr
    } else {
        Input::AllowCidr
    };
    let refuse = |why: &str| Err(bad(input, given, why));
    if n.is_empty() {
        return refuse("give a name such as pypi.org");
    }
    let wild = n.starts_with("*.");
    let name = if wild { &n[2..] } else { n };
    if n == "*" {
        return refuse("'*' alone would allow every name; name the domain, e.g. *.example.com");
    }
    if name.contains('*') {
        return refuse("'*' is allowed only as a whole first label, e.g. *.example.com");
    }
    if digits_and_dots(name) || name.contains('/') {
        return refuse(&format!(
            "an address; use an address entry ({})",
            address.library()
        ));
    }
    if name.encode_utf16().count() > 253 {
        return refuse("a name has at most 253 characters");
    }
    let labels: Vec<&str> = name.split('.').collect();
    for l in &labels {
        let ok = !l.is_empty()
            && l.encode_utf16().count() <= 63
            && l.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-');
        if !ok {
            return refuse(
                "each label of a name is 1 to 63 letters, digits or '-', not starting or ending with '-'",
            );
        }
    }
    if labels[labels.len() - 1].bytes().all(|c| c.is_ascii_digit()) {
        return refuse(&format!(
            "a name's last label is never all digits (an address? use an address entry, {})",
            address.library()
        ));
    }
    if wild && labels.len() < 2 {
        return refuse(&format!(
            "a wildcard needs at least two labels after '*.' (*.{name} would match a whole top-level domain); name \
             the domain, e.g. *.example.com"
        ));
    }
    Ok(n.to_string())
}

/// The canonical form `a.b.c.d/n` of an address or network (EgressEntries.cidr).
fn cidr(given: &str, input: Input) -> Result<String, String> {
    let name = if input == Input::DenyCidr {
        Input::DenyHost
    } else {
        Input::AllowHost
    };
    let refuse = |why: &str| Err(bad(input, given, why));
    let (addr, prefix_text) = match given.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (given, None),
    };
    if !digits_and_dots(addr) {
        return refuse(&format!(
            "not an IPv4 address (a.b.c.d or a.b.c.d/n); for a name use a name entry ({})",
            name.library()
        ));
    }
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.len() != 4 {
        return refuse("an IPv4 address has four numbers, a.b.c.d");
    }
    let mut a: u32 = 0;
    for p in parts {
        let v = p.parse::<u32>().unwrap_or(u32::MAX);
        if p.is_empty() || p.len() > 3 || p.len() > 1 && p.starts_with('0') || v > 255 {
            return refuse(
                "each number of an address is 0 to 255, in decimal without leading zeros",
            );
        }
        a = a << 8 | v;
    }
    let mut prefix = 32;
    if let Some(s) = prefix_text {
        let two_digits = (1..=2).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit());
        match s.parse::<u32>() {
            Ok(p) if two_digits && p <= 32 => prefix = p,
            _ => return refuse(&format!("a prefix length is 0 to 32, not '{s}'")),
        }
    }
    let canonical = format!("{}/{prefix}", Ipv4Addr::from(a & mask(prefix)));
    if a & mask(prefix) != a {
        return refuse(&format!(
            "its host bits are set; the network is {canonical}"
        ));
    }
    Ok(canonical)
}

/// Java's `String.trim()`: without the characters up to U+0020 at either end.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `Character.isWhitespace`: Unicode's space separators but the non-breaking ones, line and paragraph
/// separators, and the controls `\t \n \u{b} \u{c} \r \u{1c}..\u{1f}`.
fn java_whitespace(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\u{1c}'..='\u{1f}')
        || c.is_whitespace() && !matches!(c, '\u{85}' | '\u{a0}' | '\u{2007}' | '\u{202f}')
}

/// Java's `String.strip()`.
fn java_strip(s: &str) -> &str {
    s.trim_matches(java_whitespace)
}

#[cfg(test)]
mod tests;
