//! `davit-agent gate`: the egress gate of one sandbox with an egress policy (once the JVM gate's Gate.java), outside the sandbox,
//! the only way out of its network namespace (docs/reference/sandbox/NETWORK.md, "Egress policy: enforcement").
//!
//! It runs in the HOST's network namespace, inside the user namespace that owns the sandbox's network namespace, with
//! the capabilities davit's `setpriv` left it (entering that namespace, its ports there). One thread of it enters the
//! sandbox's namespace (`setns` moves only the calling thread) to make two sockets there: a TCP listener on
//! 127.0.0.1:1, where the namespace's netfilter rules redirect every TCP connection the sandbox makes, and a UDP
//! socket on 127.0.0.1:53, where they redirect every DNS query; it binds them once the namespace's set-up says it is
//! done (`netns-up`), then ends. The gate then drops every capability, sets no_new_privs, installs its own seccomp
//! filter (`seccomp`) and serves on one thread (tokio's current-thread runtime): every connection it makes after
//! checking the policy is the host's own socket.
//!
//! Its directory (its working directory) holds `policy` (written by davit), `ready` (created once it serves), the
//! denials and `control.sock` (one request per connection: `reload` reads the policy again, `ping`, `inject` gives
//! the secrets it adds to requests: `inject`).

use super::denials::Writer;
use super::inject::Injections;
use super::policy::Policy;
use super::resolver::Resolver;
use super::state::Gate;
use std::ffi::CString;
use std::io::Error;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket, UnixListener, UnixStream};

/// The port of the gate's TCP listener in the sandbox's namespace (on its 127.0.0.1).
pub const TCP_PORT: u16 = 1;
/// The port of the gate's DNS socket in the sandbox's namespace (on its 127.0.0.1).
pub const DNS_PORT: u16 = 53;
/// The policy file in the gate's directory.
pub const POLICY: &str = "policy";
/// Created in the gate's directory once it serves.
pub const READY: &str = "ready";
/// Created in the gate's directory once the namespace is set up: the gate binds its sockets only then (bound
/// earlier, the kernel takes 127.0.0.1 for a broadcast address and the DNS answers leave from eth0's address).
pub const NETNS_UP: &str = "netns-up";
/// The control socket in the gate's directory.
pub const CONTROL: &str = "control.sock";
/// The most a control request may hold.
pub const MAX_CONTROL: usize = 1 << 20;
/// How long the namespace's set-up may take.
const SET_UP: Duration = Duration::from_secs(20);
/// How long a control client has for its request.
const CONTROL_WAIT: Duration = Duration::from_secs(10);

pub(crate) fn fail(why: &str) -> ! {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "davit-gate: {why}"); // never a panic, a full disk included
    std::process::exit(70)
}

/// `davit-agent gate --netns PATH [--resolv-conf PATH] [--hosts PATH] [--trust PEM]`, in the gate's directory: exits
/// 70 when it cannot start (one line on stderr); else serves until it is killed.
pub fn main(args: &[String]) -> ! {
    if super::pod::is_mode(args) {
        super::pod::main(args)
    }
    let (mut netns, mut resolv, mut hosts) = (None, "/etc/resolv.conf", "/etc/hosts");
    let mut trust = "/etc/ssl/certs/ca-certificates.crt";
    let mut i = 0;
    while i + 1 < args.len() {
        match args[i].as_str() {
            "--netns" => netns = Some(args[i + 1].as_str()),
            "--resolv-conf" => resolv = &args[i + 1],
            "--hosts" => hosts = &args[i + 1],
            "--trust" => trust = args[i + 1].as_str(),
            a => fail(&format!("unknown argument {a}")),
        }
        i += 2;
    }
    let Some(netns) = netns.filter(|_| i == args.len()) else {
        fail("usage: davit-agent gate --netns PATH [--resolv-conf PATH] [--hosts PATH] [--trust PEM]")
    };
    let (tcp, udp) = sockets(netns, Path::new(NETNS_UP)).unwrap_or_else(|e| fail(&e));
    // what it held capabilities for (over the sandbox's namespace only) is done: nothing that reads what the
    // sandbox sends runs with any
    confine().unwrap_or_else(|e| fail(&e));
    let mut gate = started(hosts, resolv);
    gate.trust = Some(PathBuf::from(trust));
    serve(gate, tcp, udp)
}

/// The gate of its working directory with the policy there and the resolver of `hosts` and `resolv`, its denials'
/// writer started; exits 70 when either fails.
pub(crate) fn started(hosts: &str, resolv: &str) -> Gate {
    let policy = std::fs::read(POLICY)
        .map_err(|e| format!("cannot read the policy: {e}"))
        .and_then(|b| Policy::read(&b))
        .unwrap_or_else(|e| fail(&e));
    let dir = PathBuf::from(".");
    let denials =
        Writer::start(&dir).unwrap_or_else(|e| fail(&format!("cannot start a thread: {e}")));
    Gate::new(
        &dir,
        policy,
        Resolver::new(PathBuf::from(hosts), PathBuf::from(resolv)),
        Some(denials),
    )
}

/// Serves the sandbox's connections on `tcp` and its DNS on `udp` (bound, the listener listening), and the control
/// socket, under the gate's seccomp filter, saying `ready` once it does; exits 70 when it cannot.
pub(crate) fn serve(gate: Gate, tcp: OwnedFd, udp: OwnedFd) -> ! {
    let gate = Arc::new(gate);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start: {e}")));
    let served: Result<(), String> = rt.block_on(async move {
        let listener =
            TcpListener::from_std(nonblocking(tcp)?.into()).map_err(|e| e.to_string())?;
        let udp = UdpSocket::from_std(nonblocking(udp)?.into()).map_err(|e| e.to_string())?;
        gate.host_addresses();
        let _ = std::fs::remove_file(CONTROL);
        let control =
            UnixListener::bind(CONTROL).map_err(|e| format!("cannot listen on {CONTROL}: {e}"))?;
        tokio::spawn(super::dns::serve_udp(gate.clone(), udp));
        tokio::spawn(super::relay::accept_loop(gate.clone(), listener));
        // from here on its one thread makes only the system calls its work needs
        super::seccomp::install()?;
        let tmp = format!("{READY}.tmp");
        std::fs::write(&tmp, b"")
            .and_then(|_| std::fs::rename(&tmp, READY))
            .map_err(|e| format!("cannot say it is ready: {e}"))?;
        loop {
            match control.accept().await {
                Ok((c, _)) => {
                    let gate = gate.clone();
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(CONTROL_WAIT, controlled(&gate, c)).await;
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    });
    if let Err(e) = served {
        fail(&e)
    }
    std::process::exit(0)
}

/// One control request: `reload` (answered `ok` or `error ...`), `ping`, or `inject` (its lines, then `end`).
async fn controlled(gate: &Gate, mut c: UnixStream) -> std::io::Result<()> {
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    while req.len() < MAX_CONTROL && !complete(&req) {
        let n = c.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let first = req.split(|&b| b == b'\n').next().unwrap_or_default();
    let reply = match String::from_utf8_lossy(first).trim() {
        "reload" => match gate.reload() {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("error {e}"),
        },
        "ping" => "ok".to_string(),
        "inject" if req.starts_with(b"inject\n") && complete(&req) => {
            let text = String::from_utf8_lossy(&req);
            let lines: Vec<&str> = text.lines().collect();
            let body = lines.get(1..lines.len().saturating_sub(1)).unwrap_or(&[]);
            match Injections::parse(body) {
                // a pod's gate keeps them first, so a restart of its container adds them still; when it cannot,
                // neither these nor those kept before are added (a restart adds none) and davit is told
                Ok(_) if gate.keep_injections && !super::pod::keep(body) => {
                    gate.inject(Injections::default());
                    "error cannot keep the secrets for a restart of the gate".to_string()
                }
                Ok(i) => {
                    gate.inject(i);
                    "ok".to_string()
                }
                Err(e) => format!("error {e}"),
            }
        }
        _ => "error unknown or incomplete request".to_string(),
    };
    c.write_all(format!("{}\n", reply.replace('\n', " ")).as_bytes())
        .await
}

/// Whether the request read so far is whole: a one-line request's line, or `inject`'s last line.
fn complete(r: &[u8]) -> bool {
    if r.last() != Some(&b'\n') {
        return false;
    }
    !r.starts_with(b"inject\n") || r.len() >= 12 && r.ends_with(b"\nend\n")
}

pub(crate) fn nonblocking(fd: OwnedFd) -> Result<OwnedFd, String> {
    // SAFETY: fcntl on a descriptor this process owns
    let ok = unsafe {
        let fl = libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::F_GETFL);
        fl >= 0
            && libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                libc::F_SETFL,
                fl | libc::O_NONBLOCK,
            ) == 0
    };
    if ok {
        Ok(fd)
    } else {
        Err(format!(
            "cannot make a socket non-blocking: {}",
            Error::last_os_error()
        ))
    }
}

fn os(what: &str, r: libc::c_int) -> Result<libc::c_int, String> {
    if r < 0 {
        Err(format!("{what}: {}", Error::last_os_error()))
    } else {
        Ok(r)
    }
}

/// The gate's two sockets in the network namespace `netns` (a path), made by a thread of their own that enters it
/// and binds them once `up` exists (20 s at most); the thread ends then: no thread of the gate stays in the
/// namespace.
fn sockets(netns: &str, up: &Path) -> Result<(OwnedFd, OwnedFd), String> {
    let path = CString::new(netns).map_err(|_| format!("bad namespace path {netns}"))?;
    // SAFETY: open of a NUL-terminated path; the descriptor is owned from here on
    let ns = unsafe {
        OwnedFd::from_raw_fd(os(
            &format!("cannot open {netns}"),
            libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC),
        )?)
    };
    let up = up.to_path_buf();
    let inside = std::thread::Builder::new()
        .name("gate-namespace".into())
        .spawn(move || -> Result<(OwnedFd, OwnedFd), String> {
            // SAFETY: setns, socket, setsockopt, bind and listen on descriptors this thread owns, with addresses
            // that live on its stack
            unsafe {
                os(
                    "cannot enter the sandbox's network namespace",
                    libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET),
                )?;
                drop(ns);
                let (tcp, udp) = unbound()?;
                let deadline = Instant::now() + SET_UP;
                while !up.exists() {
                    if Instant::now() > deadline {
                        return Err(format!(
                            "the sandbox's network namespace was not set up within {} s",
                            SET_UP.as_secs()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                bind(&tcp, &udp, TCP_PORT, DNS_PORT)?;
                Ok((tcp, udp))
            }
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    inside
        .join()
        .map_err(|_| "the namespace's thread failed".to_string())?
}

/// The gate's two sockets, not yet bound: TCP (with SO_REUSEADDR) and UDP, IPv4.
pub(crate) fn unbound() -> Result<(OwnedFd, OwnedFd), String> {
    // SAFETY: socket and setsockopt; the descriptors are owned from here on
    unsafe {
        let tcp = OwnedFd::from_raw_fd(os(
            "socket",
            libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0),
        )?);
        let udp = OwnedFd::from_raw_fd(os(
            "socket",
            libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0),
        )?);
        let one: libc::c_int = 1;
        os(
            "setsockopt SO_REUSEADDR",
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&tcp),
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&one as *const libc::c_int).cast(),
                4,
            ),
        )?;
        Ok((tcp, udp))
    }
}

/// Binds the gate's sockets to 127.0.0.1:`tcp_port` and 127.0.0.1:`dns_port`, the TCP one listening.
pub(crate) fn bind(
    tcp: &OwnedFd,
    udp: &OwnedFd,
    tcp_port: u16,
    dns_port: u16,
) -> Result<(), String> {
    for (fd, port, what) in [(tcp, tcp_port, "TCP"), (udp, dns_port, "DNS")] {
        // SAFETY: bind of a descriptor this process owns to an address on the stack
        unsafe {
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = port.to_be();
            sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            os(
                &format!("cannot bind the gate's {what} socket to 127.0.0.1:{port}"),
                libc::bind(
                    std::os::fd::AsRawFd::as_raw_fd(fd),
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                ),
            )?;
        }
    }
    // SAFETY: listen on a descriptor this process owns
    os("listen", unsafe {
        libc::listen(std::os::fd::AsRawFd::as_raw_fd(tcp), 1024)
    })?;
    Ok(())
}

/// Gives up what the gate no longer needs, for good: every capability (effective, permitted, inheritable, ambient),
/// with no_new_privs so that none comes back; more descriptors for connections (its soft limit raised to its hard
/// one). Checked: a capability left is an error.
pub(crate) fn confine() -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut h = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let d = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: prctl and capset with structures of the kernel's layout; getrlimit/setrlimit on a local
    unsafe {
        os(
            "cannot clear the ambient capabilities",
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            ),
        )?;
        os(
            "cannot drop the capabilities",
            libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) as libc::c_int,
        )?;
        os(
            "cannot set no_new_privs",
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
        )?;
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max.min(1 << 16);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    if let Some(left) = capabilities_left() {
        return Err(format!("capabilities left: {left}"));
    }
    Ok(())
}

/// Which thread still has a capability (its /proc status line), or None when none has one.
pub fn capabilities_left() -> Option<String> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    for t in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(t.path().join("status")) else {
            continue; // ended meanwhile
        };
        for l in status.lines() {
            let caps = ["CapEff:", "CapPrm:", "CapAmb:", "CapInh:"];
            if caps.iter().any(|c| l.starts_with(c)) && l[7..].trim().bytes().any(|b| b != b'0') {
                return Some(format!("{} {l}", t.file_name().to_string_lossy()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn ask(gate: &Gate, request: &[u8]) -> String {
        let (mut client, server) = UnixStream::pair().unwrap();
        client.write_all(request).await.unwrap();
        client.shutdown().await.unwrap();
        controlled(gate, server).await.unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).await.unwrap();
        reply
    }

    #[tokio::test(flavor = "current_thread")]
    async fn control_requests_are_answered_and_a_malformed_one_is_refused_never_a_crash() {
        let dir = std::env::temp_dir().join(format!("davit-gate-control-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(POLICY), "allow-host a.test\n").unwrap();
        let resolver = Resolver::new(dir.join("hosts"), dir.join("resolv.conf"));
        let gate = Gate::new(&dir, Policy::default(), resolver, None);
        assert_eq!(ask(&gate, b"ping\n").await, "ok\n");
        assert_eq!(ask(&gate, b"reload\n").await, "ok\n");
        assert!(gate.policy().name("a.test", 443).allowed);
        for bad in [
            &b"inject\r\n"[..],
            b"inject \n",
            b"inject\t\n",
            b"inject\nend\n",
            b"nonsense\n",
            b"",
        ] {
            assert_eq!(
                ask(&gate, bad).await,
                "error unknown or incomplete request\n",
                "{bad:?}"
            );
        }
        assert_eq!(
            ask(&gate, b"inject\nrule a.test X-Key dmFs\nend\n").await,
            "error no certificate and key for the hosts\n"
        );
        assert_eq!(ask(&gate, b"inject\n\nend\n").await, "ok\n");
        std::fs::write(dir.join(POLICY), "bad line\n").unwrap();
        assert_eq!(
            ask(&gate, b"reload\n").await,
            "error bad policy line: bad line\n"
        );
        assert!(
            gate.policy().name("a.test", 443).allowed,
            "the policy before stays"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
