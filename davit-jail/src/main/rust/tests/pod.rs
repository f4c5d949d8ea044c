//! `davit-agent pod`, a pod's main process, as PID 1 of a pid namespace of its own (bubblewrap's, with a /.davit
//! of the test's): it prepares /.davit/run, reaps what is left to it and ends on TERM.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The host pids whose parent is `pid`, with their states.
fn children(pid: u32) -> Vec<(u32, String)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter_map(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .map(|s| (p, s))
        })
        .filter_map(|(p, s)| {
            let f: Vec<String> = s[s.rfind(')')? + 2..]
                .split(' ')
                .map(String::from)
                .collect();
            (f[1] == pid.to_string()).then(|| (p, f[0].clone()))
        })
        .collect()
}

#[test]
fn a_pods_main_process_prepares_its_run_directory_reaps_and_ends_on_term() {
    let (busybox, nsenter) = (Path::new("/usr/bin/busybox"), Path::new("/usr/bin/nsenter"));
    if Command::new("bwrap").arg("--version").output().is_err()
        || !busybox.exists()
        || !nsenter.exists()
    {
        eprintln!("no bwrap, busybox or nsenter: the pod's main process is not tried");
        return;
    }
    let d = std::env::temp_dir().join(format!("davit-agent-pod-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(busybox, d.join("busybox")).unwrap();
    let mut bwrap = Command::new("bwrap")
        .args([
            "--unshare-pid",
            "--as-pid-1",
            "--die-with-parent",
            "--dev-bind",
            "/",
            "/",
            "--bind",
        ])
        .arg(&d)
        .args(["/.davit", "--proc", "/proc"])
        .arg(env!("CARGO_BIN_EXE_davit-agent"))
        .arg("pod")
        .spawn()
        .unwrap();
    until("the start mark", || d.join("run/started").exists());
    assert!(d.join("run/bin/sh").is_symlink() && d.join("run/bin/find").is_symlink());
    // the agent: bwrap's child, PID 1 of the namespace
    let mut agent = 0;
    until("the agent", || {
        agent = children(bwrap.id()).first().map(|c| c.0).unwrap_or(0);
        agent != 0
    });
    // an orphan of the namespace is the agent's to reap
    let st = Command::new(nsenter)
        .args([
            "-t",
            &agent.to_string(),
            "-p",
            "--",
            "sh",
            "-c",
            "sleep 0.2 & exit 0",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    // (a zombie the agent did not reap would stay its child for good)
    until("the orphan reaped", || children(agent).is_empty());
    // SAFETY: kill has no memory effects; the agent is this test's own process
    unsafe { libc::kill(agent as i32, libc::SIGTERM) };
    let status = bwrap.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the agent ends with 0 on TERM");
    std::fs::remove_dir_all(&d).unwrap();
}
