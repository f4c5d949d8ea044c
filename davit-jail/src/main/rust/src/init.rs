//! `davit-agent init`: PID 1 of a davit microVM, which the initrd's init starts after it switched to the root disk
//! (from the tmpfs `/.davit/run` it copied the agent into). It mounts what a guest needs, names the host and brings
//! up its network, starts the agent that serves commands (`davit-agent serve --port davit.exec`) and starts it again
//! when it ends, answers the host on its own port `davit.agent` (a SYNC, so the host sees the guest booted and
//! alive, and a flush of the file systems before a stop: nothing that forks), and reaps every other process.

use crate::port;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The static busybox davit installs in every microVM environment, for the network's set-up.
const BUSYBOX: &str = "/.davit/busybox";
/// How long after the command agent ended it is started again.
const RESTART_GAP: Duration = Duration::from_secs(1);

pub fn init() -> ! {
    // SAFETY: sigset calls on a local set and this process's own mask, before any thread is made: every thread
    // inherits SIGCHLD blocked, and the main thread takes it with sigwait
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::umask(0o022);
        set
    };
    mounts();
    let cmdline = fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let words: Vec<&str> = cmdline.split_ascii_whitespace().collect();
    if let Some(name) = words.iter().find_map(|w| w.strip_prefix("davit.hostname=")) {
        // SAFETY: sethostname reads `name`'s bytes only
        unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
    }
    busybox(&["ip", "link", "set", "lo", "up"]);
    // the command agent first: the network's set-up takes a moment the first command need not wait for
    let mut server = serve();
    let mut started = Instant::now();
    if words.contains(&"davit.net=1") {
        network();
    }
    let made = std::thread::Builder::new().stack_size(256 << 10).spawn(|| {
        if !port::serve_init("davit.agent") {
            eprintln!("davit-agent: no virtio-serial port named davit.agent; start QEMU with -device virtserialport,name=davit.agent");
            // SAFETY: sync and reboot end the VM, which cannot be used without its port
            unsafe {
                libc::sync();
                libc::reboot(libc::RB_POWER_OFF);
            }
        }
    });
    if made.is_err() {
        eprintln!("davit-agent: no thread for the port davit.agent");
    }
    loop {
        let second = libc::timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        // SAFETY: sigtimedwait reads `set` and the timespec; no siginfo is asked for
        unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &second) };
        if server.is_none() && started.elapsed() >= RESTART_GAP {
            server = serve(); // it could not be started: tried again each second
            started = Instant::now();
        }
        loop {
            // SAFETY: waitpid with WNOHANG and no status buffer has no memory effects
            let pid = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if server.as_ref().is_some_and(|s| s.id() as i32 == pid) {
                // ended (killed by code in the guest, or failed): started again a second later
                std::thread::sleep(RESTART_GAP);
                server = serve();
                started = Instant::now();
            }
        }
    }
}

/// Mounts /proc, /sys, /dev, /dev/pts, /dev/shm and the agent's /.davit/run, each unless it is mounted.
fn mounts() {
    for d in ["/proc", "/sys", "/dev"] {
        let _ = fs::DirBuilder::new().recursive(true).mode(0o755).create(d);
    }
    if !Path::new("/tmp").exists() && fs::create_dir("/tmp").is_ok() {
        let _ = fs::set_permissions("/tmp", std::os::unix::fs::PermissionsExt::from_mode(0o1777));
    }
    if !Path::new("/proc/self").exists() {
        mount("proc", "/proc", "proc", "");
    }
    let mounted = |at: &str| {
        fs::read_to_string("/proc/mounts")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(' ').nth(1) == Some(at))
    };
    for (src, at, kind, opts) in [
        ("sysfs", "/sys", "sysfs", ""),
        ("devtmpfs", "/dev", "devtmpfs", ""),
        ("devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666"),
        ("tmpfs", "/dev/shm", "tmpfs", "mode=1777"),
        ("tmpfs", "/.davit/run", "tmpfs", "mode=0700"),
    ] {
        let _ = fs::DirBuilder::new().recursive(true).mode(0o755).create(at);
        if !mounted(at) {
            mount(src, at, kind, opts);
        }
    }
}

fn mount(src: &str, at: &str, kind: &str, opts: &str) {
    let c = |s: &str| std::ffi::CString::new(s).expect("no NUL");
    let (src_c, at_c, kind_c, opts_c) = (c(src), c(at), c(kind), c(opts));
    // SAFETY: mount reads the NUL-terminated strings only
    let r = unsafe {
        libc::mount(
            src_c.as_ptr(),
            at_c.as_ptr(),
            kind_c.as_ptr(),
            0,
            opts_c.as_ptr().cast(),
        )
    };
    if r != 0 {
        eprintln!(
            "davit-agent: cannot mount {kind} on {at}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Runs busybox with `args` to its end; its failure is said.
fn busybox(args: &[&str]) -> bool {
    let ok = Command::new(BUSYBOX)
        .args(args)
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("davit-agent: {BUSYBOX} {} failed", args.join(" "));
    }
    ok
}

/// QEMU's user-mode network: fixed addresses, the DNS forwarder at 10.0.2.3.
fn network() {
    let _ = busybox(&["ip", "link", "set", "eth0", "up"])
        && busybox(&["ip", "addr", "add", "10.0.2.15/24", "dev", "eth0"])
        && busybox(&["ip", "route", "add", "default", "via", "10.0.2.2"]);
    if Path::new("/etc").is_dir() {
        let _ = fs::remove_file("/etc/resolv.conf");
        if let Err(e) = fs::write("/etc/resolv.conf", "nameserver 10.0.2.3\n") {
            eprintln!("davit-agent: cannot write /etc/resolv.conf: {e}");
        }
    }
}

/// Starts the command agent on the ports davit.exec.N, its messages to the console.
fn serve() -> Option<Child> {
    let console = fs::OpenOptions::new().write(true).open("/dev/console");
    let mut cmd = Command::new("/proc/self/exe");
    // named as the init is (its path in the guest), so that the guest's ps shows what it is
    if let Some(me) = std::env::args_os().next() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, me);
    }
    cmd.args(["serve", "--port", "davit.exec"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Ok(c) = console {
        cmd.stderr(c);
    }
    // SAFETY: between fork and exec only the async-signal-safe calls of process::defaults (SIGCHLD unblocked)
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            crate::process::defaults();
            Ok(())
        });
    }
    match cmd.spawn() {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("davit-agent: cannot start the command agent: {e}");
            None
        }
    }
}
