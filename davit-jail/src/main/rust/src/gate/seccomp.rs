//! The gate's own seccomp filter (issue 71): once it serves, the system calls its one thread makes (sockets, epoll,
//! timers, memory, its directory's files) are all it may make; any other (execve, ptrace, mount, bpf, unshare,
//! io_uring, keyctl...) fails with EPERM, so a parser bug an attacker turns into code reaches no more of the kernel
//! than the gate's own work needs. `ioctl` only sets or clears non-blocking and close-on-exec. A system call of
//! another architecture (or x32's) ends the process.

use std::io::Error;

/// `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct Prog {
    len: u16,
    filter: *const Insn,
}

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// The low 32 bits of the second argument (little-endian).
const OFF_ARG1: u32 = 24;
const FIONBIO: u32 = 0x5421;
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;

#[cfg(target_arch = "x86_64")]
const ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64

/// The system calls the gate makes once it serves (ioctl apart).
fn allowed() -> Vec<libc::c_long> {
    #[allow(unused_mut)] // x86_64 has more
    let mut v = vec![
        // its sockets: the sandbox's connections and DNS, its own connections and name servers, the interfaces'
        // addresses (netlink), the control socket
        libc::SYS_socket,
        libc::SYS_connect,
        libc::SYS_accept4,
        libc::SYS_bind,
        libc::SYS_getsockname,
        libc::SYS_getpeername,
        libc::SYS_getsockopt,
        libc::SYS_setsockopt,
        libc::SYS_shutdown,
        libc::SYS_sendto,
        libc::SYS_recvfrom,
        libc::SYS_sendmsg,
        libc::SYS_recvmsg,
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_readv,
        libc::SYS_writev,
        libc::SYS_close,
        libc::SYS_fcntl,
        libc::SYS_ppoll,
        // the runtime
        libc::SYS_epoll_create1,
        libc::SYS_epoll_ctl,
        libc::SYS_epoll_pwait,
        libc::SYS_epoll_pwait2,
        libc::SYS_eventfd2,
        libc::SYS_futex,
        libc::SYS_clock_gettime,
        libc::SYS_clock_nanosleep,
        libc::SYS_nanosleep,
        libc::SYS_sched_yield,
        libc::SYS_getrandom,
        libc::SYS_restart_syscall,
        // memory
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_mprotect,
        libc::SYS_madvise,
        libc::SYS_brk,
        // its directory's files (the policy, the denials and their rotation, hosts, resolv.conf, the CA bundle)
        libc::SYS_openat,
        libc::SYS_newfstatat,
        libc::SYS_fstat,
        libc::SYS_statx,
        libc::SYS_lseek,
        libc::SYS_renameat,
        libc::SYS_renameat2,
        libc::SYS_unlinkat,
        // signals, and its end (an abort included)
        libc::SYS_rt_sigaction,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigreturn,
        libc::SYS_sigaltstack,
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_tgkill,
        libc::SYS_exit,
        libc::SYS_exit_group,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        libc::SYS_accept,
        libc::SYS_epoll_wait,
        libc::SYS_poll,
        libc::SYS_open,
        libc::SYS_stat,
        libc::SYS_lstat,
        libc::SYS_rename,
        libc::SYS_unlink,
        libc::SYS_gettimeofday,
    ]);
    v
}

/// The filter's program.
fn program() -> Vec<Insn> {
    let stmt = |code, k| Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let calls = allowed();
    // [0] arch, [1] its check, [2] kill, [3] nr, [4..4+n) the allowed calls, then ioctl and its arguments, the
    // refusal, and the allowance
    let n = calls.len();
    let mut p = vec![
        stmt(LD_W_ABS, OFF_ARCH),
        Insn {
            code: JEQ_K,
            jt: 1,
            jf: 0,
            k: ARCH,
        },
        stmt(RET_K, RET_KILL_PROCESS),
        stmt(LD_W_ABS, OFF_NR),
    ];
    // after the list: [ioctl?] [ld arg1] [FIONBIO?] [FIOCLEX?] [FIONCLEX?] [errno] [allow]
    let allow_at = 4 + n + 6;
    for (i, nr) in calls.iter().enumerate() {
        let here = 4 + i;
        p.push(Insn {
            code: JEQ_K,
            jt: (allow_at - here - 1) as u8,
            jf: 0,
            k: *nr as u32,
        });
    }
    p.push(Insn {
        code: JEQ_K,
        jt: 0,
        jf: 4,
        k: libc::SYS_ioctl as u32,
    });
    p.push(stmt(LD_W_ABS, OFF_ARG1));
    for (j, req) in [FIONBIO, FIOCLEX, FIONCLEX].iter().enumerate() {
        p.push(Insn {
            code: JEQ_K,
            jt: (3 - j) as u8,
            jf: 0,
            k: *req,
        });
    }
    p.push(stmt(RET_K, RET_ERRNO | libc::EPERM as u32));
    p.push(stmt(RET_K, RET_ALLOW));
    debug_assert_eq!(p.len(), allow_at + 1);
    p
}

/// Installs the filter on every thread of the process (the gate's and its denials' writer; no_new_privs must be
/// set), for good.
pub fn install() -> Result<(), String> {
    let p = program();
    if p.len() > 255 + 4 {
        return Err("the seccomp filter is too long".into());
    }
    let prog = Prog {
        len: p.len() as u16,
        filter: p.as_ptr(),
    };
    // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads the program, which lives until it returns
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            &prog as *const Prog,
        )
    };
    if r != 0 {
        return Err(format!(
            "cannot install the gate's seccomp filter: {}",
            Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` in a child process after the filter is installed there; its exit code.
    fn filtered(f: fn() -> i32) -> i32 {
        child(f, true)
    }

    /// Runs `f` in a child process, the filter installed there first or not; its exit code.
    fn child(f: fn() -> i32, filter: bool) -> i32 {
        // SAFETY: the child only makes system calls and exits; the parent waits for it
        unsafe {
            let pid = libc::fork();
            if pid == 0 {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if filter && install().is_err() {
                    libc::_exit(90);
                }
                libc::_exit(f());
            }
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
            if libc::WIFEXITED(st) {
                libc::WEXITSTATUS(st)
            } else {
                128 + libc::WTERMSIG(st)
            }
        }
    }

    #[test]
    fn what_the_gate_does_is_allowed_and_the_rest_fails_with_eperm() {
        assert_eq!(
            filtered(|| {
                // SAFETY: system calls on the child's own descriptors
                unsafe {
                    let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
                    let on: libc::c_int = 1;
                    let nb = libc::ioctl(s, libc::FIONBIO, &on);
                    let fd = libc::open(c"/proc/self/status".as_ptr(), libc::O_RDONLY);
                    i32::from(s < 0 || nb != 0 || fd < 0)
                }
            }),
            0
        );
        // an execve that must fail (/bin/false, run, would exit 1), an ioctl that must be refused, a namespace
        // that must not be made, a trace: 0 when all four fail
        fn refused() -> i32 {
            // SAFETY: system calls of the child's own, which exits after them
            unsafe {
                let u = libc::unshare(libc::CLONE_NEWUTS);
                let ptrace = libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                let t = libc::ioctl(0, libc::TIOCGWINSZ, [0u16; 4].as_mut_ptr());
                let argv = [c"/bin/false".as_ptr(), std::ptr::null()];
                let e = libc::execve(c"/bin/false".as_ptr(), argv.as_ptr(), std::ptr::null());
                let exec = *libc::__errno_location();
                i32::from(!(e == -1 && exec == libc::EPERM && t == -1 && u == -1 && ptrace == -1))
            }
        }
        assert_eq!(filtered(refused), 0);
        assert_ne!(
            child(refused, false),
            0,
            "the probe passes without the filter"
        );
    }

    #[test]
    fn the_denials_writer_started_before_the_filter_writes_under_it() {
        // a thread started just before the filter (TSYNC: every thread gets it) must have finished its own start
        // (rseq, its name): else the C library ends the process
        fn writes() -> i32 {
            // the test's (its parent's), which removes it
            let dir = std::env::temp_dir().join(format!(
                "davit-seccomp-w-{}",
                std::os::unix::process::parent_id()
            ));
            let _ = std::fs::create_dir_all(&dir);
            let w = match crate::gate::denials::Writer::start(&dir) {
                Ok(w) => w,
                Err(_) => return 3,
            };
            // SAFETY: no_new_privs on the child's own threads
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
            if install().is_err() {
                return 4;
            }
            w.record(&crate::gate::denials::Denial {
                kind: "dns",
                name: Some("a.test"),
                address: None,
                rule: None,
                reason: "not in the allow-list",
            });
            for _ in 0..200 {
                let text = std::fs::read_to_string(dir.join(crate::gate::denials::FILE))
                    .unwrap_or_default();
                if text.contains("a.test") {
                    return 0;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            5
        }
        for _ in 0..20 {
            assert_eq!(child(writes, false), 0);
            let _ = std::fs::remove_dir_all(
                std::env::temp_dir().join(format!("davit-seccomp-w-{}", std::process::id())),
            );
        }
    }
}
