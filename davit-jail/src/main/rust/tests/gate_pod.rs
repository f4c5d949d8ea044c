//! `davit-agent gate pod` and the modes davit speaks to it with over a pod's exec (gate/pod.rs), run as a pod runs
//! them: the gate in a network namespace of its own (made here with unshare, loopback up), the other modes beside it
//! in its directory.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const AGENT: &str = env!("CARGO_BIN_EXE_davit-agent");

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("davit-gate-pod-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A gate that is killed when the test ends, passed or not.
struct Gate(Child);

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The pod's gate in a new user and network namespace, `env` its environment, once it says it is ready.
fn gate(d: &std::path::Path, env: &[(&str, &str)]) -> Gate {
    // a ready file of a gate before (a restarted container's) is not this one's
    let _ = std::fs::remove_file(d.join("ready"));
    let mut c = Command::new("unshare");
    c.args(["--user", "--map-root-user", "--net", "sh", "-c"])
        .arg(format!("ip link set lo up && exec {AGENT} gate pod"))
        .env("DAVIT_GATE_DIR", d)
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let child = Gate(c.spawn().unwrap());
    let end = Instant::now() + Duration::from_secs(20);
    while !mode(d, &["ready"], b"").status.success() {
        assert!(Instant::now() < end, "the gate did not say it is ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// `davit-agent gate ARGS` in directory `d` with `input` on stdin.
fn mode(d: &std::path::Path, args: &[&str], input: &[u8]) -> Output {
    let mut c = Command::new(AGENT)
        .arg("gate")
        .args(args)
        .env("DAVIT_GATE_DIR", d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input).unwrap();
    c.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

fn unshare_works() -> bool {
    Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_pods_gate_takes_policies_and_secrets_over_exec_and_keeps_them_for_a_restart() {
    if !unshare_works() {
        eprintln!("skipped: no user namespaces here");
        return;
    }
    let d = dir("serve");
    let env = [
        ("DAVIT_GATE_POLICY", "allow-host a.test\n"),
        ("DAVIT_GATE_HOSTS", "192.0.2.9 a.test\n"),
        ("DAVIT_GATE_RESOLV_CONF", "nameserver 127.0.0.1\n"),
    ];
    let g = gate(&d, &env);
    // the first start's files, from its environment
    assert_eq!(
        std::fs::read_to_string(d.join("hosts")).unwrap(),
        "192.0.2.9 a.test\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("policy")).unwrap(),
        "allow-host a.test\n"
    );
    assert!(!d.join("trust.pem").exists());
    let ping = mode(&d, &["ask", "5"], b"ping\nand more that is not read");
    assert_eq!(
        (ping.status.code(), text(&ping.stdout)),
        (Some(0), "ok".into())
    );
    // a policy it refuses keeps the one before, and says why
    let bad = mode(&d, &["policy", "9"], b"bad line\n");
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(text(&bad.stdout), "error bad policy line: bad line");
    // and never written: a restart of the gate reads the one it serves
    assert_eq!(
        std::fs::read_to_string(d.join("policy")).unwrap(),
        "allow-host a.test\n"
    );
    let good = mode(&d, &["policy", "18"], b"allow-host b.test\n");
    assert_eq!(
        (good.status.code(), text(&good.stdout)),
        (Some(0), "ok".into())
    );
    // secrets: refused whole when wrong, kept (0600) when taken
    let wrong = b"inject\nrule a.test X-Key dmFs\nend\n";
    let r = mode(&d, &["ask", &wrong.len().to_string()], wrong);
    assert_eq!(
        text(&r.stdout),
        "error no certificate and key for the hosts"
    );
    assert!(!d.join("injections").exists());
    let none = b"inject\n\nend\n";
    let r = mode(&d, &["ask", &none.len().to_string()], none);
    assert_eq!((r.status.code(), text(&r.stdout)), (Some(0), "ok".into()));
    use std::os::unix::fs::PermissionsExt;
    let kept = std::fs::metadata(d.join("injections")).unwrap();
    assert_eq!(kept.permissions().mode() & 0o777, 0o600);
    // secrets it cannot keep for a restart: refused, and those kept before removed (a restart adds none)
    std::fs::create_dir(d.join("injections.tmp")).unwrap();
    let r = mode(&d, &["ask", &none.len().to_string()], none);
    assert_eq!(
        (r.status.code(), text(&r.stdout)),
        (
            Some(1),
            "error cannot keep the secrets for a restart of the gate".into()
        )
    );
    assert!(!d.join("injections").exists());
    std::fs::remove_dir(d.join("injections.tmp")).unwrap();
    let r = mode(&d, &["ask", &none.len().to_string()], none);
    assert_eq!(text(&r.stdout), "ok");
    // a request shorter than it says, a length too long, a file not the denials'
    let short = mode(&d, &["ask", "10"], b"ping\n");
    assert_eq!(short.status.code(), Some(70));
    assert!(
        text(&short.stderr).contains("ended before its 10 bytes"),
        "{}",
        text(&short.stderr)
    );
    assert_eq!(mode(&d, &["ask", "2000000"], b"").status.code(), Some(70));
    for f in ["../hosts", "policy", "injections", "/etc/passwd"] {
        let t = mode(&d, &["tail", f, "100"], b"");
        assert_eq!((t.status.code(), t.stdout.len()), (Some(70), 0), "{f}");
    }
    let t = mode(&d, &["tail", "denials.jsonl", "100"], b"");
    assert_eq!((t.status.code(), t.stdout.len()), (Some(0), 0));
    std::fs::write(d.join("denials.jsonl"), b"{\"a\":1}\n{\"b\":2}\n").unwrap();
    let t = mode(&d, &["tail", "denials.jsonl", "8"], b"");
    assert_eq!(text(&t.stdout), "{\"b\":2}");
    // a restart of its container keeps what davit gave it since, not what the pod's spec said
    drop(g);
    let g = gate(&d, &env);
    assert_eq!(
        std::fs::read_to_string(d.join("policy")).unwrap(),
        "allow-host b.test\n"
    );
    let ping = mode(&d, &["ask", "5"], b"ping\n");
    assert_eq!(text(&ping.stdout), "ok");
    drop(g);
    // without a policy it does not start, and says why
    std::fs::remove_dir_all(&d).unwrap();
    std::fs::create_dir_all(&d).unwrap();
    let out = Command::new(AGENT)
        .args(["gate", "pod"])
        .env("DAVIT_GATE_DIR", &d)
        .env_remove("DAVIT_GATE_POLICY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(70));
    assert!(text(&out.stderr).contains("DAVIT_GATE_POLICY"));
    // a gate that is not there is said so
    let r = mode(&d, &["ask", "5"], b"ping\n");
    assert_eq!(r.status.code(), Some(70));
    assert!(text(&r.stderr).starts_with("davit-gate: cannot reach the gate"));
    std::fs::remove_dir_all(&d).unwrap();
}
