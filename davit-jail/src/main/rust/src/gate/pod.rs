//! The egress gate as a Kubernetes pod's sidecar (`davit-agent gate pod`): the same gate, in the pod's network
//! namespace beside the sandbox's container instead of outside it, in an image that holds davit-agent alone. The
//! pod's init container (with NET_ADMIN, before either starts) loaded the pod's rules: every TCP connection and DNS
//! query of the pod goes to the gate's sockets on 127.0.0.1 (`TCP_PORT`, `DNS_PORT`), every other packet out is
//! rejected, except what the gate's own user sends. The sandbox's container runs as another user with no
//! capability, so it can neither change the rules nor become the gate's user.
//!
//! It runs in its directory (`DAVIT_GATE_DIR`, else `/gate`: an in-memory emptyDir only its container mounts), given
//! at its first start what a gate on one host is given as files, as environment variables (none of them secret:
//! secrets come later, through the control socket): `DAVIT_GATE_POLICY` (the policy file's text), and optionally
//! `DAVIT_GATE_RESOLV_CONF`, `DAVIT_GATE_HOSTS` and `DAVIT_GATE_TRUST` (resolv.conf, hosts, CA certificates; by
//! default the pod's own resolv.conf and hosts, and webpki's roots). It keeps there what it was given since, for a
//! restart of its container. davit reaches it through the pod's exec, with the other modes here: `ask N` (one
//! control request of N bytes on stdin), `policy N` (a new policy of N bytes on stdin), `tail FILE MAX` (the end of
//! a denials file) and `ready` (its startup probe). The image has no shell: each is davit-agent itself.

use super::inject::Injections;
use super::policy::Policy;
use super::serve::{self, fail, CONTROL, MAX_CONTROL, POLICY, READY};
use std::io::{Read, Write};
use std::path::Path;

/// The port of the gate's TCP listener on the pod's 127.0.0.1 (unprivileged: the gate has no capability).
pub const TCP_PORT: u16 = 15001;
/// The port of its DNS socket on the pod's 127.0.0.1.
pub const DNS_PORT: u16 = 15053;
/// The file of the gate's directory where the secrets it adds are kept (mode 0600, in the emptyDir's memory).
pub const INJECTIONS: &str = "injections";
/// The denials files `tail` reads: none other of the directory.
const DENIALS: [&str; 2] = ["denials.jsonl", "denials.jsonl.1"];

/// Whether `args` (after `gate`) are one of the pod's modes.
pub fn is_mode(args: &[String]) -> bool {
    args.first()
        .is_some_and(|m| ["pod", "ask", "policy", "tail", "ready"].contains(&m.as_str()))
}

/// `davit-agent gate pod|ask N|policy N|tail FILE MAX|ready`.
pub fn main(args: &[String]) -> ! {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let dir = std::env::var("DAVIT_GATE_DIR").unwrap_or_else(|_| "/gate".to_string());
    if let Err(e) = std::env::set_current_dir(&dir) {
        fail(&format!("cannot enter the gate's directory {dir}: {e}"))
    }
    match a.as_slice() {
        ["pod"] => serve_pod(),
        ["ask", n] => {
            let request = stdin(n);
            answer(&request)
        }
        ["policy", n] => {
            let text = stdin(n);
            // read first: a policy it refuses never replaces the file a restart reads
            if let Err(e) = Policy::read(&text) {
                println!("error {}", e.replace('\n', " "));
                std::process::exit(1)
            }
            write(POLICY, &text, 0o644)
                .unwrap_or_else(|e| fail(&format!("cannot write the policy: {e}")));
            answer(b"reload\n")
        }
        ["tail", file, max] => tail(file, max),
        ["ready"] => std::process::exit(if Path::new(READY).exists() { 0 } else { 1 }),
        _ => fail("usage: davit-agent gate pod | ask BYTES | policy BYTES | tail FILE MAX | ready"),
    }
}

/// Serves as the pod's gate (see the module's words).
fn serve_pod() -> ! {
    let env = |k: &str| std::env::var(k).ok();
    let Some(policy) = env("DAVIT_GATE_POLICY") else {
        fail("davit-agent gate pod needs the policy in DAVIT_GATE_POLICY")
    };
    // a restart (its container's: the pod and its sandbox go on) serves only once it serves again
    let _ = std::fs::remove_file(READY);
    // what the pod's spec says is the first start's; a restart keeps what davit gave it since. The gate's own copies
    // of resolv.conf and hosts, made before the sandbox's container starts: the pod's are the same files in every
    // container of the pod, and the sandbox's root may write them (an allowed name would then resolve where it says)
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
    let firsts = [
        (POLICY, Some(policy)),
        (
            "resolv.conf",
            Some(env("DAVIT_GATE_RESOLV_CONF").unwrap_or_else(|| read("/etc/resolv.conf"))),
        ),
        (
            "hosts",
            Some(env("DAVIT_GATE_HOSTS").unwrap_or_else(|| read("/etc/hosts"))),
        ),
        ("trust.pem", env("DAVIT_GATE_TRUST")),
    ];
    for (file, text) in firsts {
        if let Some(text) = text {
            if !Path::new(file).exists() {
                write(file, text.as_bytes(), 0o644)
                    .unwrap_or_else(|e| fail(&format!("cannot write {file}: {e}")));
            }
        }
    }
    let (tcp, udp) = serve::unbound().unwrap_or_else(|e| fail(&e));
    serve::bind(&tcp, &udp, TCP_PORT, DNS_PORT).unwrap_or_else(|e| fail(&e));
    // it runs as its own user with no capability already: this sets no_new_privs and checks that none is left
    serve::confine().unwrap_or_else(|e| fail(&e));
    let mut gate = serve::started("hosts", "resolv.conf");
    if Path::new("trust.pem").exists() {
        gate.trust = Some("trust.pem".into());
    }
    gate.keep_injections = true;
    if let Ok(kept) = std::fs::read_to_string(INJECTIONS) {
        let lines: Vec<&str> = kept.lines().collect();
        match Injections::parse(&lines) {
            Ok(i) => gate.inject(i),
            Err(e) => fail(&format!("cannot read the secrets it kept: {e}")),
        }
    }
    serve::serve(gate, tcp, udp)
}

/// Keeps the injections' lines `body` for a restart of the gate's container (mode 0600, the gate's own); false when
/// it cannot, with those kept before removed (a restart then adds none, never secrets davit replaced).
pub(crate) fn keep(body: &[&str]) -> bool {
    let mut text = body.join("\n");
    text.push('\n');
    if write(INJECTIONS, text.as_bytes(), 0o600).is_ok() {
        return true;
    }
    let _ = std::fs::remove_file(INJECTIONS);
    let _ = writeln!(
        std::io::stderr(),
        "davit-gate: cannot keep the secrets for a restart"
    );
    false
}

/// Writes `file` of the working directory whole (a temporary file renamed over it) with `mode`.
fn write(file: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = format!("{file}.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(bytes)?;
    drop(f);
    std::fs::rename(&tmp, file)
}

/// Exactly `n` bytes of stdin (the pod's exec stream cannot close a command's input), at most `MAX_CONTROL`.
fn stdin(n: &str) -> Vec<u8> {
    let n: usize = match n.parse() {
        Ok(n) if n <= MAX_CONTROL => n,
        _ => fail(&format!("the request's length is 0 to {MAX_CONTROL} bytes")),
    };
    let mut b = vec![0u8; n];
    if let Err(e) = std::io::stdin().lock().read_exact(&mut b) {
        fail(&format!("the request ended before its {n} bytes: {e}"))
    }
    b
}

/// Sends `request` to the gate's control socket and prints its one-line answer; exits 0 when it is `ok`, 1
/// otherwise, 70 when the gate cannot be reached.
fn answer(request: &[u8]) -> ! {
    let mut reply = Vec::new();
    let asked = std::os::unix::net::UnixStream::connect(CONTROL).and_then(|mut c| {
        c.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
        c.set_write_timeout(Some(std::time::Duration::from_secs(30)))?;
        c.write_all(request)?;
        c.shutdown(std::net::Shutdown::Write)?;
        c.take(4096).read_to_end(&mut reply)
    });
    if let Err(e) = asked {
        fail(&format!("cannot reach the gate: {e}"))
    }
    let reply = String::from_utf8_lossy(&reply);
    let reply = reply.trim();
    println!("{reply}");
    std::process::exit(if reply == "ok" { 0 } else { 1 })
}

/// Prints the last `max` bytes of denials file `file` (nothing when it is not there).
fn tail(file: &str, max: &str) -> ! {
    let (true, Ok(max)) = (DENIALS.contains(&file), max.parse::<u64>()) else {
        fail("usage: davit-agent gate tail denials.jsonl|denials.jsonl.1 MAX")
    };
    let Ok(mut f) = std::fs::File::open(file) else {
        std::process::exit(0)
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    use std::io::Seek;
    let copied = f
        .seek(std::io::SeekFrom::Start(len.saturating_sub(max)))
        .and_then(|_| std::io::copy(&mut f.take(max), &mut std::io::stdout().lock()));
    if let Err(e) = copied {
        fail(&format!("cannot read {file}: {e}"))
    }
    std::process::exit(0)
}
