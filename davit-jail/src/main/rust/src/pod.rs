//! `davit-agent pod`: the main process of a Kubernetes sandbox's container (its PID 1). It prepares the pod's
//! `/.davit/run` (busybox's tools as links in `bin`, for the commands davit runs there; the start mark), then only
//! reaps: what a command left behind is reparented to it. TERM or INT end it (the kubelet's stop). Commands and
//! files reach the pod through `davit-agent serve --stdio`, one exec stream per sandbox and davit process.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Where the pod's agent keeps its run-time files (an emptyDir the init container filled).
const RUN: &str = "/.davit/run";
/// The busybox the init container copied.
const BUSYBOX: &str = "/.davit/busybox";

pub fn pod() -> ! {
    // SAFETY: umask, sigemptyset, sigaddset and sigprocmask change this process's own attributes only (and write
    // into `set`); before any thread is made
    let set = unsafe {
        libc::umask(0o022);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGCHLD] {
            libc::sigaddset(&mut set, s);
        }
        // taken by sigwait below, never delivered: PID 1 has no default action for them anyway
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let bin = Path::new(RUN).join("bin");
    if let Err(e) = fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&bin)
    {
        eprintln!("davit-agent: cannot make {}: {e}", bin.display());
    }
    if !bin.join("sh").exists() {
        let installed = Command::new(BUSYBOX)
            .args(["--install", "-s"])
            .arg(&bin)
            .stdin(Stdio::null())
            .status();
        if !installed.is_ok_and(|s| s.success()) {
            eprintln!(
                "davit-agent: {BUSYBOX} --install did not install its tools in {}",
                bin.display()
            );
        }
    }
    // the start mark: what has a ctime from here on was written in this pod (the k8s backend saves it on a stop)
    if let Err(e) = fs::File::create(Path::new(RUN).join("started")) {
        eprintln!("davit-agent: cannot write the start mark: {e}");
    }
    loop {
        reap();
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait reads `set` and writes `sig`
        if unsafe { libc::sigwait(&set, &mut sig) } == 0
            && (sig == libc::SIGTERM || sig == libc::SIGINT)
        {
            std::process::exit(0);
        }
    }
}

/// Reaps every child that ended.
fn reap() {
    // SAFETY: waitpid with WNOHANG and no status buffer has no memory effects
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}
