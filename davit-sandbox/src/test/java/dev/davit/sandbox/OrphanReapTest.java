package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.container.OciRuntimeBackend;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A one-shot run whose davit is killed with SIGKILL: crun's container outlives it, and
 * {@link Sandboxes#reapOrphans} removes both the container's processes and the state directory. A live run is
 * never touched.
 */
class OrphanReapTest {
    @TempDir
    Path tmp;

    /** The "davit" that gets killed: one crun run of sleep 600 (as root with a disk of its own: a tmpfs mount). */
    public static final class Child {
        public static void main(String[] args) {
            new Sandboxes(SandboxOptions.of(Path.of(args[0]))).run(RunSpec.builder(Path.of(args[1]))
                    .runtime(OciRuntimeBackend.CRUN).limits(Limits.NONE.withDiskMiB(64)).command("sleep", "600")
                    .build());
        }
    }

    @Test
    void theLeftoversOfAKilledDavitAreReapedAndALiveRunIsNot() throws Exception {
        Path rootfs = BusyboxRootfs.createFor(tmp.resolve("rootfs"), "crun");
        Path state = tmp.resolve("state");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process davit = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Child.class.getName(), state.toString(), rootfs.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile()).start();
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(state));
        ProcessHandle sleeper = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (sleeper == null && System.nanoTime() < deadline) {
            // the container's busybox sleep (its command line reads as "<busybox> 600")
            Optional<ProcessHandle> s = davit.descendants().filter(h -> h.info().commandLine().orElse("")
                    .endsWith(" 600")).findFirst();
            sleeper = s.orElse(null);
            Thread.sleep(50);
        }
        assertThat(sleeper).as(Files.readString(tmp.resolve("child.log"))).isNotNull();
        assertThat(sandboxes.reapOrphans()).isEmpty(); // its davit is alive
        List<ProcessHandle> tree = davit.descendants().toList();

        davit.destroyForcibly(); // SIGKILL: no clean-up runs
        davit.waitFor();
        Thread.sleep(200);
        assertThat(sleeper.isAlive()).as("crun's container outlives a killed davit").isTrue();

        List<String> removed = sandboxes.reapOrphans();
        assertThat(removed).hasSize(1).allMatch(id -> id.matches("sb-[0-9a-f]{12}"));
        // killed: gone once their new parent (init) has reaped them, which a loaded host may do a moment later
        long reaped = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((sleeper.isAlive() || tree.stream().anyMatch(ProcessHandle::isAlive)) && System.nanoTime() < reaped) {
            Thread.sleep(20);
        }
        assertThat(sleeper.isAlive()).isFalse();
        assertThat(tree).noneMatch(ProcessHandle::isAlive);
        try (Stream<Path> s = Files.list(state)) {
            assertThat(s.filter(p -> p.getFileName().toString().startsWith("sb-")).toList()).isEmpty();
        }
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).as("the run's disk unmounted")
                .doesNotContain(state.toString());
        assertThat(sandboxes.reapOrphans()).isEmpty();
    }

    /**
     * Ownership records are not forced to disk (they mean nothing after a reboot), so a crash can leave a state
     * directory without one: kept while it is of this boot (it may be being created), reaped once it is older.
     */
    @Test
    void aDirectoryWithoutItsOwnerIsKeptThisBootAndReapedAfterAReboot() throws Exception {
        Path state = tmp.resolve("state");
        Path creating = Files.createDirectories(state.resolve("sb-000000000001"));
        Path crashed = Files.createDirectories(state.resolve("sb-000000000002"));
        Files.writeString(crashed.resolve("owner"), ""); // written, never forced: empty after the crash
        Files.setLastModifiedTime(crashed, java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(java.time.Duration.ofDays(3650))));
        assertThat(Host.beforeBoot(crashed)).isTrue();
        assertThat(Host.beforeBoot(creating)).isFalse();

        assertThat(new Sandboxes(SandboxOptions.of(state)).reapOrphans())
                .containsExactly("sb-000000000002");
        assertThat(creating).isDirectory();
        assertThat(crashed).doesNotExist();
    }
}
