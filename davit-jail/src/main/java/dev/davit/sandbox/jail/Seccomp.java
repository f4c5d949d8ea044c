package dev.davit.sandbox.jail;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Fs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * davit's seccomp filter: at least as strict as Docker's default profile, written by davit as a classic BPF program
 * (for bubblewrap's {@code --seccomp FD}) and as the {@code linux.seccomp} section of an OCI {@code config.json}
 * (for crun and runc), from one list.
 *
 * <ul>
 *   <li>Allowed: the system calls of Docker's default profile that need no capability beyond the sandbox's
 *       ({@link Capabilities#DEFAULT}), except the {@code io_uring_*} calls (a large kernel attack surface that
 *       Docker also removed later); {@code chroot} (CAP_SYS_CHROOT is in the set), {@code ptrace} and
 *       {@code process_vm_readv/writev} (inside the sandbox's pid namespace only).</li>
 *   <li>With arguments checked: {@code clone} without any namespace flag; {@code socket} of any family but
 *       AF_VSOCK; {@code personality} with the values Docker allows; {@code ioctl} except TIOCSTI and TIOCLINUX
 *       (typing into a terminal the sandbox shares, as Flatpak refuses them).</li>
 *   <li>Refused with EPERM: everything else known (mount, unshare, setns, keyctl, add_key, request_key, bpf,
 *       perf_event_open, open_by_handle_at, kexec_load, init_module, ...). {@code clone3} returns ENOSYS (as
 *       Docker: libc then falls back to {@code clone}, whose flags can be checked), and so do system calls newer
 *       than this table (a libc probing for them falls back too).</li>
 *   <li>The architecture is checked first: a call made with another ABI (i386's {@code int 0x80}) kills the
 *       process; x32 calls (numbers with bit 30 set) are refused.</li>
 * </ul>
 *
 * The BPF program is built once per davit build and cached in {@code $DAVIT_HOME/cache/seccomp/} under its
 * content hash ({@link #programFile}).
 */
public final class Seccomp {
    /** Docker's default profile's unconditionally allowed system calls, minus io_uring (names of all ABIs). */
    static final List<String> ALLOWED = List.of(("""
            accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 clock_adjtime
            clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
            clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create
            epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
            execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark
            fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork
            fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
            futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
            geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid
            getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage
            getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
            inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents
            io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
            landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr
            llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create
            memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr
            mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink
            mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
            newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
            pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease
            pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
            recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2
            restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
            rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr
            sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
            sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
            sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64
            sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
            setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
            setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32
            setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
            socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range
            syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
            timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
            timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
            utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
            process_vm_readv process_vm_writev ptrace arch_prctl modify_ldt chroot
            """).strip().split("\\s+"));

    /** System calls allowed only with some arguments (see the class comment). */
    static final Set<String> CONDITIONAL = Set.of("clone", "socket", "personality", "ioctl");
    /** Refused with ENOSYS instead of EPERM. */
    static final Set<String> NOSYS = Set.of("clone3");

    /** clone flags that make a namespace: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (0x7E020000). */
    static final long CLONE_NAMESPACES = 0x7E020000L;
    static final int AF_VSOCK = 40;
    static final long[] PERSONALITIES = {0x0, 0x8, 0x20000, 0x20008, 0xffffffffL};
    static final long TIOCSTI = 0x5412;
    static final long TIOCLINUX = 0x541C;

    static final int EPERM = 1;
    static final int ENOSYS = 38;
    static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    static final int X32_BIT = 0x40000000;

    static final int RET_ALLOW = 0x7fff0000;
    static final int RET_ERRNO = 0x00050000;
    static final int RET_KILL_PROCESS = 0x80000000;

    // classic BPF opcodes
    private static final int LD_W_ABS = 0x20;
    private static final int JEQ_K = 0x15;
    private static final int JGE_K = 0x35;
    private static final int JSET_K = 0x45;
    private static final int JA = 0x05;
    private static final int RET_K = 0x06;

    /** seccomp_data offsets: nr, arch, args[i] (low 32 bits on a little-endian machine). */
    private static final int OFF_NR = 0;
    private static final int OFF_ARCH = 4;
    private static final int OFF_ARGS = 16;

    private Seccomp() {
    }

    /** One BPF instruction. */
    record Insn(int code, int jt, int jf, int k) {
    }

    private static volatile Map<String, Integer> table;

    /** The machine's system call table (name to number), read once; a usage error off x86-64. */
    static Map<String, Integer> table() {
        Map<String, Integer> t = table;
        if (t == null) {
            table = t = readTable();
        }
        return t;
    }

    private static Map<String, Integer> readTable() {
        String arch = System.getProperty("os.arch");
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            throw new DavitException(Kind.USAGE, "davit's seccomp filter is built for x86-64 only, not " + arch
                    + "; sandboxes cannot run on this machine yet");
        }
        Map<String, Integer> t = new LinkedHashMap<>();
        try (InputStream in = Seccomp.class.getResourceAsStream("syscalls-x86_64.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.strip().split(" ");
                t.put(f[0], Integer.parseInt(f[1]));
            }
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("davit's system call table is missing from its jar", e);
        }
        return java.util.Collections.unmodifiableMap(t);
    }

    /** What the filter does with each system call number in [0, max]; absent numbers are refused (EPERM). */
    static TreeMap<Integer, String> decisions(Map<String, Integer> table) {
        TreeMap<Integer, String> d = new TreeMap<>();
        for (String n : ALLOWED) {
            Integer nr = table.get(n);
            if (nr != null) {
                d.put(nr, "allow");
            }
        }
        for (String n : CONDITIONAL) {
            d.put(table.get(n), n);
        }
        for (String n : NOSYS) {
            d.put(table.get(n), "enosys");
        }
        return d;
    }

    /** The filter as a classic BPF program (little-endian {@code struct sock_filter}s), for bwrap --seccomp. */
    public static byte[] program() {
        List<Insn> code = compile(table());
        ByteBuffer b = ByteBuffer.allocate(code.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (Insn i : code) {
            b.putShort((short) i.code()).put((byte) i.jt()).put((byte) i.jf()).putInt(i.k());
        }
        return b.array();
    }

    static List<Insn> compile(Map<String, Integer> table) {
        TreeMap<Integer, String> d = decisions(table);
        int max = table.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
        // segments of equal decision over [0, X32_BIT): each is [start, next start)
        List<int[]> starts = new ArrayList<>();
        List<String> actions = new ArrayList<>();
        String prev = null;
        for (int nr = 0; nr <= max + 1; nr++) {
            String a = nr > max ? "enosys" : d.getOrDefault(nr, "eperm");
            boolean special = CONDITIONAL.contains(a);
            if (!a.equals(prev) || special) {
                starts.add(new int[] {nr});
                actions.add(a);
            }
            prev = special ? null : a;
        }
        List<Insn> code = new ArrayList<>();
        code.add(new Insn(LD_W_ABS, 0, 0, OFF_ARCH));
        code.add(new Insn(JEQ_K, 1, 0, AUDIT_ARCH_X86_64));
        code.add(new Insn(RET_K, 0, 0, RET_KILL_PROCESS));
        code.add(new Insn(LD_W_ABS, 0, 0, OFF_NR));
        code.add(new Insn(JGE_K, 0, 1, X32_BIT));
        code.add(new Insn(RET_K, 0, 0, RET_ERRNO | EPERM));
        tree(code, starts, actions, 0, starts.size());
        return code;
    }

    /**
     * Emits a binary search over segments [from, to) of the accumulator's system call number: each inner node is
     * {@code jge START_OF_MIDDLE, 0, 1; ja RIGHT} (so no conditional jump ever needs more than one instruction),
     * each leaf its segment's action.
     */
    private static void tree(List<Insn> code, List<int[]> starts, List<String> actions, int from, int to) {
        if (to - from == 1) {
            leaf(code, actions.get(from));
            return;
        }
        int mid = (from + to) / 2;
        code.add(new Insn(JGE_K, 0, 1, starts.get(mid)[0]));
        int ja = code.size();
        code.add(null);
        tree(code, starts, actions, from, mid);
        code.set(ja, new Insn(JA, 0, 0, code.size() - ja - 1));
        tree(code, starts, actions, mid, to);
    }

    private static void leaf(List<Insn> code, String action) {
        switch (action) {
            case "allow" -> code.add(new Insn(RET_K, 0, 0, RET_ALLOW));
            case "eperm" -> code.add(new Insn(RET_K, 0, 0, RET_ERRNO | EPERM));
            case "enosys" -> code.add(new Insn(RET_K, 0, 0, RET_ERRNO | ENOSYS));
            case "clone" -> {
                code.add(new Insn(LD_W_ABS, 0, 0, OFF_ARGS));
                code.add(new Insn(JSET_K, 0, 1, (int) CLONE_NAMESPACES));
                code.add(new Insn(RET_K, 0, 0, RET_ERRNO | EPERM));
                code.add(new Insn(RET_K, 0, 0, RET_ALLOW));
            }
            case "socket" -> {
                code.add(new Insn(LD_W_ABS, 0, 0, OFF_ARGS));
                code.add(new Insn(JEQ_K, 0, 1, AF_VSOCK));
                code.add(new Insn(RET_K, 0, 0, RET_ERRNO | EPERM));
                code.add(new Insn(RET_K, 0, 0, RET_ALLOW));
            }
            case "personality" -> {
                code.add(new Insn(LD_W_ABS, 0, 0, OFF_ARGS));
                int n = PERSONALITIES.length;
                for (int i = 0; i < n; i++) {
                    // equal: jump to the allow after the eperm
                    code.add(new Insn(JEQ_K, n - i, 0, (int) PERSONALITIES[i]));
                }
                code.add(new Insn(RET_K, 0, 0, RET_ERRNO | EPERM));
                code.add(new Insn(RET_K, 0, 0, RET_ALLOW));
            }
            case "ioctl" -> {
                code.add(new Insn(LD_W_ABS, 0, 0, OFF_ARGS + 8));
                code.add(new Insn(JEQ_K, 1, 0, (int) TIOCSTI));
                code.add(new Insn(JEQ_K, 0, 1, (int) TIOCLINUX));
                code.add(new Insn(RET_K, 0, 0, RET_ERRNO | EPERM));
                code.add(new Insn(RET_K, 0, 0, RET_ALLOW));
            }
            default -> throw new IllegalStateException(action);
        }
    }

    /**
     * The program in a file of {@code cacheDir} named after its content's hash, written (atomically) when missing:
     * what bwrap reads through {@code --seccomp FD}.
     */
    public static Path programFile(Path cacheDir) {
        // named after the first 16 hex digits of the program's SHA-256 (PROGRAM_ID, which SeccompTest checks), so
        // that a run finds it without building the program again
        Path f = cacheDir.resolve("bwrap-" + PROGRAM_ID + ".bpf");
        if (!Files.isRegularFile(f)) {
            try {
                Files.createDirectories(cacheDir);
                Fs.writeAtomically(f, program(), cacheDir);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot write the seccomp filter " + f + ": " + e.getMessage());
            }
        }
        return f;
    }

    /**
     * The first 16 hex digits of the SHA-256 of {@link #program()}: the cached program's name. Change it with the
     * lists or the table (SeccompTest fails until it matches).
     */
    static final String PROGRAM_ID = "2e25c3b54a2b596f";

    /** {@link #PROGRAM_ID} as it should be. */
    static String programId() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(program()), 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The same filter as an OCI runtime-spec {@code linux.seccomp} object (for crun and runc). */
    public static ObjectNode oci() {
        Map<String, Integer> table = table();
        ObjectNode s = Json.object();
        s.put("defaultAction", "SCMP_ACT_ERRNO");
        s.put("defaultErrnoRet", EPERM);
        s.putArray("architectures").add("SCMP_ARCH_X86_64");
        ArrayNode calls = s.putArray("syscalls");
        ArrayNode names = calls.addObject().put("action", "SCMP_ACT_ALLOW").putArray("names");
        new TreeSet<>(ALLOWED).stream().filter(table::containsKey).forEach(names::add);
        ObjectNode clone = calls.addObject();
        clone.putArray("names").add("clone");
        clone.put("action", "SCMP_ACT_ALLOW");
        arg(clone.putArray("args"), 0, CLONE_NAMESPACES, 0L, "SCMP_CMP_MASKED_EQ");
        ObjectNode socket = calls.addObject();
        socket.putArray("names").add("socket");
        socket.put("action", "SCMP_ACT_ALLOW");
        arg(socket.putArray("args"), 0, AF_VSOCK, null, "SCMP_CMP_NE");
        for (long p : PERSONALITIES) {
            ObjectNode r = calls.addObject();
            r.putArray("names").add("personality");
            r.put("action", "SCMP_ACT_ALLOW");
            arg(r.putArray("args"), 0, p, null, "SCMP_CMP_EQ");
        }
        // no terminal is shared with an OCI runtime's sandbox (process.terminal is false): ioctl as Docker has it
        calls.addObject().put("action", "SCMP_ACT_ALLOW").putArray("names").add("ioctl");
        ObjectNode clone3 = calls.addObject();
        clone3.putArray("names").add("clone3");
        clone3.put("action", "SCMP_ACT_ERRNO");
        clone3.put("errnoRet", ENOSYS);
        return s;
    }

    private static void arg(ArrayNode args, int index, long value, Long valueTwo, String op) {
        ObjectNode a = args.addObject();
        a.put("index", index);
        a.put("value", value);
        if (valueTwo != null) {
            a.put("valueTwo", valueTwo);
        }
        a.put("op", op);
    }
}
