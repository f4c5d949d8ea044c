package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A service or shell that floods its output: the log on disk stays under the cap while it writes and after (the
 * capper is the holder's, so it holds with no davit running), {@code logs --tail} reads from the end with bounded
 * output, and a shell read across the capper's renames loses and repeats nothing. The cap is lowered to 1 MiB
 * ({@code davit.logs.capBytes}) so that 50 MiB prove it quickly.
 */
class LogCapTest extends BwrapWorkspaces {
    private static final long CAP = 1 << 20;
    private static final Duration LIMIT = Duration.ofSeconds(60);

    Workspace w;

    @Override
    List<String> applets() {
        return List.of("tr", "yes");
    }

    @BeforeEach
    void lowerTheCap() {
        System.setProperty("davit.logs.capBytes", Long.toString(CAP));
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").build());
    }

    @AfterEach
    void restoreTheCap() {
        System.clearProperty("davit.logs.capBytes");
    }

    @Test
    void aServiceWriting50MiBWithoutANewlineStaysUnderTheCap() throws Exception {
        Services services = workspaces.services(w.id());
        services.start("flood", ServiceChecks.sh("head -c 52428800 /dev/zero; printf tail-end"), Map.of(), null,
                null);
        Path dir = home.resolve("workspaces").resolve(w.id()).resolve("services/flood");
        long most = 0;
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (services.get("flood").state().equals("running") && System.nanoTime() < deadline) {
            most = Math.max(most, onDisk(dir));
            Thread.sleep(5);
        }
        assertThat(services.get("flood").label()).isEqualTo("exited(0)");
        most = Math.max(most, onDisk(dir));
        assertThat(most).as("bytes on disk").isLessThanOrEqualTo(CAP).isGreaterThan(CAP / 2);

        long t0 = System.nanoTime();
        Services.Log log = dev.davit.sandbox.workspace.Workspaces.under(home).services("w").log("flood", 5); // later
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).as("tail took %d ms", ms).isLessThan(2000);
        assertThat(log.bytes().length).isEqualTo(Services.LINE_MAX);
        assertThat(new String(log.bytes(), StandardCharsets.UTF_8)).endsWith("\0tail-end");
        assertThat(log.lineCut()).isTrue();
        assertThat(log.droppedBytes()).isGreaterThanOrEqualTo(52428800 + 8 - CAP);

        Services.Log all = services.log("flood", 0);
        assertThat((long) all.bytes().length).isLessThanOrEqualTo(CAP).isGreaterThan(CAP / 2);
        assertThat(all.droppedBytes() + all.bytes().length).isEqualTo(52428800 + 8);
        assertThat(all.lineCut()).isFalse();
    }

    @Test
    void aServicesLinesAreTailedFromTheEndAcrossTheRename() throws Exception {
        Services services = workspaces.services(w.id());
        // 30000 numbered lines (about 1 MiB), past half the cap: the file is renamed at least once
        services.start("lines", ServiceChecks.sh("i=0; x=xxxxxxxxxxxxxxxxxxxxxxxx; while [ $i -lt 30000 ]; do"
                + " echo line-$i-$x; i=$((i+1)); done"), Map.of(), null, null);
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (services.get("lines").state().equals("running") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        Services.Log log = services.log("lines", 3);
        String x = "x".repeat(24);
        assertThat(new String(log.bytes(), StandardCharsets.UTF_8)).isEqualTo("line-29997-" + x + "\nline-29998-"
                + x + "\nline-29999-" + x + "\n");
        assertThat(log.lineCut()).isFalse();
        String all = new String(services.logs("lines", 0), StandardCharsets.UTF_8);
        assertThat(all).endsWith("line-29999-" + x + "\n");
        assertThat(all.length()).isLessThanOrEqualTo((int) CAP);
    }

    @Test
    void aShellsFloodStaysUnderTheCapAndReadsLoseNothingAcrossRenames() throws Exception {
        Shells shells = workspaces.shells(w.id());
        // 4 x 300000 a's (past half the cap twice), each followed by a mark and a pause the reads keep up with
        Shells.Shell sh = shells.open(ServiceChecks.sh("for i in 1 2 3 4; do head -c 300000 /dev/zero | tr '\\0'"
                + " a; echo \" MARK-$i\"; sleep 1; done; echo END-$((1+1))"), Map.of());
        Path dir = home.resolve("workspaces").resolve(w.id()).resolve("shells").resolve(sh.id());
        StringBuilder seen = new StringBuilder();
        long most = 0;
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (!seen.toString().contains("END-2") && System.nanoTime() < deadline) {
            seen.append(new String(shells.read(sh.id(), Duration.ofMillis(200)), StandardCharsets.UTF_8));
            most = Math.max(most, onDisk(dir));
        }
        assertThat(seen.toString()).contains("MARK-4").contains("END-2");
        assertThat(seen.chars().filter(c -> c == 'a').count()).isEqualTo(1_200_000);
        assertThat(most).isLessThanOrEqualTo(CAP);
        assertThat(Files.exists(dir.resolve(Spawned.OUTPUT_OLD))).isTrue();

        // a flood far past the cap between two reads: the disk stays under it, the next read goes on at what is kept
        shells.close(sh.id());
        Shells.Shell big = shells.open(ServiceChecks.sh("head -c 20000000 /dev/zero | tr '\\0' b; echo; echo"
                + " END-$((2+2)); sleep 100"), Map.of());
        Path bigDir = home.resolve("workspaces").resolve(w.id()).resolve("shells").resolve(big.id());
        most = 0;
        deadline = System.nanoTime() + LIMIT.toNanos();
        while (!holds(bigDir.resolve(Spawned.OUTPUT), "END-4") && System.nanoTime() < deadline) {
            most = Math.max(most, onDisk(bigDir));
            Thread.sleep(5);
        }
        assertThat(most).isLessThanOrEqualTo(CAP);
        String rest = ShellReads.readUntil(shells, big.id(), "END-4", LIMIT);
        assertThat(rest.length()).isLessThanOrEqualTo((int) CAP);
    }

    /** Whether {@code f} holds {@code s} (a file missing between the capper's two renames does not). */
    private static boolean holds(Path f, String s) throws IOException {
        try {
            return new String(Files.readAllBytes(f), StandardCharsets.UTF_8).contains(s);
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
    }

    /** The bytes of the output files in a service's or shell's directory. */
    private static long onDisk(Path dir) throws IOException {
        long n = 0;
        for (String f : List.of(Spawned.OUTPUT, Spawned.OUTPUT_OLD)) {
            try {
                n += Files.size(dir.resolve(f));
            } catch (java.nio.file.NoSuchFileException e) {
                // between the capper's two renames
            }
        }
        return n;
    }
}
