package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.agent.AgentProgram;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The programs of the gate's image (no cluster needed): the jar's davit-agent for amd64 and, where the build had the
 * other architecture's target, for arm64 (scripts/install-deps.sh installs it); each a static ELF program of its
 * machine (nothing to load: the image is FROM scratch), each running the gate's modes, the other architecture's
 * under qemu-user.
 */
class GateImageTest {
    private static final int PT_INTERP = 3;

    @TempDir
    Path tmp;

    @Test
    void theGatesProgramsAreStaticAndRunForEachArchitecture() throws Exception {
        String host = System.getProperty("os.arch");
        // Java's name of the architecture, ELF's e_machine, the emulator that runs it on the other
        for (List<String> a : List.of(List.of("amd64", "62", "qemu-x86_64"), List.of("aarch64", "183",
                "qemu-aarch64"))) {
            byte[] program = AgentProgram.bytes(a.get(0));
            if (a.get(0).equals(host)) {
                assertThat(program).as("this jar's davit-agent for this machine, " + host).isNotNull();
            } else if (program == null) {
                System.out.println("this jar has no davit-agent for " + a.get(0) + " (built without its target)");
                continue;
            }
            assertStatic(program, Integer.parseInt(a.get(1)));
            if (!a.get(0).equals(host)) {
                Tools.assumeAvailable(a.get(2));
            }
            assertRuns(program, a.get(0).equals(host) ? List.of() : List.of(a.get(2)));
        }
    }

    /** An ELF executable of machine {@code machine}, 64-bit little-endian, with no program interpreter. */
    private static void assertStatic(byte[] elf, int machine) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(elf, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("ELF");
        assertThat(elf[4]).as("64-bit").isEqualTo((byte) 2);
        assertThat(b.getShort(18) & 0xffff).as("e_machine").isEqualTo(machine);
        long phoff = b.getLong(32);
        int phentsize = b.getShort(54) & 0xffff;
        int phnum = b.getShort(56) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            assertThat(b.getInt((int) (phoff + (long) i * phentsize))).as("no PT_INTERP: static")
                    .isNotEqualTo(PT_INTERP);
        }
    }

    /** The program, run (under {@code emulator}), reads the end of a denials file as the gate's {@code tail} mode. */
    private void assertRuns(byte[] program, List<String> emulator) throws Exception {
        Path exe = Files.write(tmp.resolve("davit-agent-" + emulator), program);
        Files.setAttribute(exe, "unix:mode", 0755);
        Path dir = Files.createDirectories(tmp.resolve("gate-" + emulator));
        Files.writeString(dir.resolve("denials.jsonl"), "{\"a\":1}\n{\"b\":2}\n");
        List<String> cmd = new ArrayList<>(emulator);
        cmd.addAll(List.of(exe.toString(), "gate", "tail", "denials.jsonl", "8"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("DAVIT_GATE_DIR", dir.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).isEqualTo("{\"b\":2}\n");
    }
}
