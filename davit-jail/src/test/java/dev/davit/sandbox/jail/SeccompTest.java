package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seccomp filter's program, run by a classic-BPF interpreter written here (the kernel's semantics for the
 * instructions davit emits: ld abs, jeq/jge/jset k, ja, ret k) against {@code seccomp_data} records.
 */
class SeccompTest {
    static final Map<String, Integer> TABLE = Seccomp.table();
    static final int ALLOW = Seccomp.RET_ALLOW;
    static final int EPERM = Seccomp.RET_ERRNO | 1;
    static final int ENOSYS = Seccomp.RET_ERRNO | 38;

    @TempDir
    Path tmp;

    /** Runs the program on {nr, arch, args} and returns its verdict. */
    static int verdict(byte[] program, int nr, int arch, long... args) {
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(0, nr).putInt(4, arch);
        for (int i = 0; i < args.length; i++) {
            data.putLong(16 + 8 * i, args[i]);
        }
        ByteBuffer p = ByteBuffer.wrap(program).order(ByteOrder.LITTLE_ENDIAN);
        int n = program.length / 8;
        int a = 0;
        int pc = 0;
        for (int steps = 0; steps < 10_000; steps++) {
            assertThat(pc).as("pc in program").isBetween(0, n - 1);
            int code = p.getShort(pc * 8) & 0xffff;
            int jt = p.get(pc * 8 + 2) & 0xff;
            int jf = p.get(pc * 8 + 3) & 0xff;
            int k = p.getInt(pc * 8 + 4);
            switch (code) {
                case 0x20 -> { a = data.getInt(k); pc++; }
                case 0x15 -> pc += 1 + (a == k ? jt : jf);
                case 0x35 -> pc += 1 + (Integer.compareUnsigned(a, k) >= 0 ? jt : jf);
                case 0x45 -> pc += 1 + ((a & k) != 0 ? jt : jf);
                case 0x05 -> pc += 1 + k;
                case 0x06 -> {
                    return k;
                }
                default -> throw new AssertionError("unexpected opcode " + Integer.toHexString(code));
            }
        }
        throw new AssertionError("the program does not end");
    }

    static int x86(byte[] p, String call, long... args) {
        return verdict(p, TABLE.get(call), Seccomp.AUDIT_ARCH_X86_64, args);
    }

    @Test
    void everyKnownCallGetsTheProfilesVerdict() {
        byte[] p = Seccomp.program();
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, Integer> e : TABLE.entrySet()) {
            String name = e.getKey();
            if (Seccomp.CONDITIONAL.contains(name)) {
                continue;
            }
            int expected = Seccomp.ALLOWED.contains(name) ? ALLOW : Seccomp.NOSYS.contains(name) ? ENOSYS : EPERM;
            if (verdict(p, e.getValue(), Seccomp.AUDIT_ARCH_X86_64) != expected) {
                wrong.add(name);
            }
        }
        assertThat(wrong).isEmpty();
        // spot checks of the list itself
        for (String allowed : List.of("read", "write", "openat", "execve", "futex", "rt_sigreturn", "chroot",
                "ptrace", "wait4", "exit_group")) {
            assertThat(x86(p, allowed)).as(allowed).isEqualTo(ALLOW);
        }
        for (String refused : List.of("mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key",
                "bpf", "perf_event_open", "io_uring_setup", "io_uring_enter", "open_by_handle_at", "kexec_load",
                "kexec_file_load", "init_module", "finit_module", "delete_module", "pivot_root", "swapon", "reboot",
                "userfaultfd", "fsopen", "open_tree", "move_mount", "mount_setattr", "sethostname", "syslog")) {
            assertThat(x86(p, refused)).as(refused).isEqualTo(EPERM);
        }
        assertThat(x86(p, "clone3")).isEqualTo(ENOSYS);
    }

    @Test
    void argumentsAreChecked() {
        byte[] p = Seccomp.program();
        long sigchld = 17;
        assertThat(x86(p, "clone", sigchld)).isEqualTo(ALLOW);
        assertThat(x86(p, "clone", 0x3d0f00L /* a thread's flags */)).isEqualTo(ALLOW);
        for (long ns : new long[] {0x10000000L, 0x20000L, 0x40000000L, 0x20000000L, 0x8000000L, 0x4000000L,
                0x2000000L}) {
            assertThat(x86(p, "clone", sigchld | ns)).as("clone with %x", ns).isEqualTo(EPERM);
        }
        assertThat(x86(p, "socket", 2, 1, 0)).isEqualTo(ALLOW);        // AF_INET
        assertThat(x86(p, "socket", 1, 1, 0)).isEqualTo(ALLOW);        // AF_UNIX
        assertThat(x86(p, "socket", 40, 1, 0)).isEqualTo(EPERM);       // AF_VSOCK
        assertThat(x86(p, "personality", 0)).isEqualTo(ALLOW);
        assertThat(x86(p, "personality", 0xffffffffL)).isEqualTo(ALLOW);
        assertThat(x86(p, "personality", 0x0040000L)).isEqualTo(EPERM); // ADDR_NO_RANDOMIZE
        assertThat(x86(p, "ioctl", 0, 0x5401)).isEqualTo(ALLOW);         // TCGETS
        assertThat(x86(p, "ioctl", 0, 0x5412)).isEqualTo(EPERM);         // TIOCSTI
        assertThat(x86(p, "ioctl", 0, 0x541C)).isEqualTo(EPERM);         // TIOCLINUX
    }

    @Test
    void otherAbisAndNewerCallsAreRefused() {
        byte[] p = Seccomp.program();
        int max = TABLE.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertThat(verdict(p, max + 1, Seccomp.AUDIT_ARCH_X86_64)).isEqualTo(ENOSYS);
        assertThat(verdict(p, 1000, Seccomp.AUDIT_ARCH_X86_64)).isEqualTo(ENOSYS);
        // x32: bit 30 set on an x86-64 call
        assertThat(verdict(p, 0x40000000 | TABLE.get("read"), Seccomp.AUDIT_ARCH_X86_64)).isEqualTo(EPERM);
        // i386 (int 0x80): another architecture, killed
        assertThat(verdict(p, 3, 0x40000003)).isEqualTo(Seccomp.RET_KILL_PROCESS);
    }

    @Test
    void theProgramFileIsWrittenOnceAndNamedByItsContent() throws Exception {
        // the cached file's name is the program's hash, known without building it: change PROGRAM_ID with the lists
        assertThat(Seccomp.PROGRAM_ID).as("Seccomp.PROGRAM_ID").isEqualTo(Seccomp.programId());
        Path f = Seccomp.programFile(tmp);
        assertThat(f.getFileName().toString()).isEqualTo("bwrap-" + Seccomp.programId() + ".bpf");
        assertThat(Files.readAllBytes(f)).isEqualTo(Seccomp.program());
        long mtime = Files.getLastModifiedTime(f).toMillis();
        assertThat(Seccomp.programFile(tmp)).isEqualTo(f);
        assertThat(Files.getLastModifiedTime(f).toMillis()).isEqualTo(mtime);
        assertThat(Seccomp.program().length / 8).as("instructions").isLessThan(4096); // BPF_MAXINSNS
    }

    @Test
    void theOciSectionSaysTheSame() {
        ObjectNode s = Seccomp.oci();
        assertThat(s.get("defaultAction").asText()).isEqualTo("SCMP_ACT_ERRNO");
        assertThat(s.get("defaultErrnoRet").asInt()).isEqualTo(1);
        List<String> allowed = new ArrayList<>();
        List<String> conditional = new ArrayList<>();
        for (JsonNode rule : s.get("syscalls")) {
            for (JsonNode n : rule.get("names")) {
                if (rule.get("action").asText().equals("SCMP_ACT_ALLOW") && !rule.has("args")) {
                    allowed.add(n.asText());
                } else {
                    conditional.add(n.asText() + ":" + rule.get("action").asText());
                }
            }
        }
        assertThat(allowed).contains("read", "ioctl").doesNotContain("mount", "keyctl", "io_uring_setup", "clone",
                "socket", "clone3");
        assertThat(conditional).contains("clone:SCMP_ACT_ALLOW", "socket:SCMP_ACT_ALLOW", "clone3:SCMP_ACT_ERRNO");
    }
}
