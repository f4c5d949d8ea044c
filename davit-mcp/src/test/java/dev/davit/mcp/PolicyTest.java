package dev.davit.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.modelcontextprotocol.spec.McpError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --allow-path as an attacker meets it: a host path is checked and pinned at once, so that a link swapped into an
 * allowed directory after the check (by anyone) cannot lead the command out of it.
 */
class PolicyTest {
    @TempDir
    Path tmp;
    private Path allowed;
    private Path outside;
    private Policy policy;
    private Pins pins;
    private Path scratch;
    private final Supplier<Path> scratchDir = () -> scratch;

    @BeforeEach
    void dirs() throws IOException {
        allowed = Files.createDirectories(tmp.resolve("allowed"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("f"), "OUTSIDE\n");
        Files.createDirectories(allowed.resolve("a"));
        Files.writeString(allowed.resolve("a/f"), "inside\n");
        scratch = Files.createDirectories(tmp.resolve("scratch"));
        policy = new Policy(List.of(allowed), false, 8, Duration.ofHours(1), tmp.resolve("home"));
        pins = Pins.open();
    }

    @AfterEach
    void close() {
        pins.close();
    }

    private Map<String, Object> args(String path) {
        Map<String, Object> a = new HashMap<>();
        a.put("p", path);
        return a;
    }

    @Test
    void aCommitNamesOnlyImagesUnderTheOperatorsPrefixes() {
        assertThatThrownBy(() -> policy.commit(new HashMap<>(Map.of("reference", "127.0.0.1:5000/agents/x:1")),
                "reference")).hasMessageContaining("committing is off").hasMessageContaining("--commit-to");
        Policy p = new Policy(List.of(allowed), false, 8, Duration.ofHours(1), tmp.resolve("home"), List.of(),
                name -> false, new Policy.Admission(), w -> true, 512, EgressBound.NONE,
                List.of("127.0.0.1:5000/agents"));
        p.commit(new HashMap<>(Map.of("reference", "127.0.0.1:5000/agents/fix:1")), "reference");
        p.commit(new HashMap<>(Map.of("reference", "127.0.0.1:5000/agents:2")), "reference");
        for (String bad : List.of("127.0.0.1:5000/agentsx/fix:1", "127.0.0.1:5000/other/fix:1",
                "127.0.0.1:5001/agents/fix:1", "docker.io/library/debian:12", "127.0.0.1:5000/agents/fix@sha256:"
                        + "0".repeat(64))) {
            assertThatThrownBy(() -> p.commit(new HashMap<>(Map.of("reference", bad)), "reference"))
                    .as(bad).hasMessageContaining("'reference'");
        }
        assertThatThrownBy(() -> new Policy(List.of(allowed), false, 8, Duration.ofHours(1), tmp.resolve("home"),
                List.of(), name -> false, new Policy.Admission(), w -> true, 512, EgressBound.NONE,
                List.of("https://x/y"))).hasMessageContaining("--commit-to");
    }

    @Test
    void aDiskPastTheOperatorsMaximumIsRefusedAndNoneGetsTheSmallerDefault() {
        Policy small = new Policy(List.of(allowed), false, 8, Duration.ofHours(1), tmp.resolve("home"), List.of(),
                name -> false, new Policy.Admission(), w -> true, 512, EgressBound.NONE, List.of());
        assertThat(small.disk(new HashMap<>(Map.of("disk", 256)))).isEqualTo(256);
        assertThat(small.disk(new HashMap<>())).isEqualTo(512);
        assertThat(policy.disk(new HashMap<>())).isEqualTo(10240);
        for (int bad : new int[] {1024, 0, 8, -1}) {
            assertThatThrownBy(() -> small.disk(new HashMap<>(Map.of("disk", bad))))
                    .isInstanceOf(dev.davit.oci.DavitException.class).hasMessageContaining("--max-disk")
                    .hasMessageContaining("512");
        }
        assertThat(small.disk(new HashMap<>(Map.of("backend", "vm")))).isNull();
        assertThatThrownBy(() -> small.disk(new HashMap<>(Map.of("backend", "vm", "disk", 64))))
                .hasMessageContaining("container");
    }

    @Test
    void aDirectorySwappedForALinkAfterTheCheckIsStillTheOneChecked() throws IOException {
        Map<String, Object> a = args(allowed.resolve("a").toString());
        policy.pinHostPath(a, "p", scratchDir);
        // after the check: the directory moved away and a link to a directory outside put in its place
        Files.move(allowed.resolve("a"), allowed.resolve("a.old"));
        Files.createSymbolicLink(allowed.resolve("a"), outside);
        Path used = Path.of((String) a.get("p"));
        assertThat(used.getFileName().toString()).isEqualTo("a");
        assertThat(Files.readString(used.resolve("f"))).isEqualTo("inside\n");
        assertThat(pins.rewrite("copied " + used)).isEqualTo("copied " + allowed.resolve("a"));
    }

    @Test
    void aFileSwappedAfterTheCheckIsStillTheOneChecked() throws IOException {
        Map<String, Object> a = args(allowed.resolve("a/f").toString());
        policy.pinHostPath(a, "p", scratchDir);
        Files.delete(allowed.resolve("a/f"));
        Files.createSymbolicLink(allowed.resolve("a/f"), outside.resolve("f"));
        assertThat(Files.readString(Path.of((String) a.get("p")))).isEqualTo("inside\n");
    }

    @Test
    void aDestinationWhoseParentIsSwappedAfterTheCheckLandsInTheCheckedDirectory() throws IOException {
        Files.createDirectories(allowed.resolve("out"));
        Map<String, Object> a = args(allowed.resolve("out/x.tar").toString());
        policy.pinHostDest(a, "p", scratchDir);
        Files.move(allowed.resolve("out"), allowed.resolve("out.old"));
        Files.createSymbolicLink(allowed.resolve("out"), outside);
        Files.writeString(Path.of((String) a.get("p")), "written\n");
        assertThat(Files.readString(allowed.resolve("out.old/x.tar"))).isEqualTo("written\n");
        assertThat(outside.resolve("x.tar")).doesNotExist();
    }

    @Test
    void linksOnTheWayOutAndSpecialFilesAreRefused() throws IOException {
        Files.createSymbolicLink(allowed.resolve("out-link"), outside);
        Files.createSymbolicLink(allowed.resolve("file-link"), outside.resolve("f"));
        Files.createSymbolicLink(allowed.resolve("in-link"), allowed.resolve("a"));
        Path fifo = allowed.resolve("fifo");
        new ProcessBuilder("mkfifo", fifo.toString()).start().onExit().join();
        for (String bad : List.of(allowed.resolve("out-link/f").toString(), allowed.resolve("file-link").toString(),
                outside.resolve("f").toString(), allowed + "/../outside/f", fifo.toString(), "relative/path",
                allowed + "/a\u0000b")) {
            assertThatThrownBy(() -> policy.pinHostPath(args(bad), "p", scratchDir)).as(bad)
                    .isInstanceOf(McpError.class).hasMessageNotContaining("\n");
        }
        assertThatThrownBy(() -> policy.pinHostDest(args(allowed.resolve("out-link/new").toString()), "p",
                scratchDir)).isInstanceOf(McpError.class);
        // a link that leads into an allowed directory: its real path is pinned
        Map<String, Object> a = args(allowed.resolve("in-link/f").toString());
        policy.pinHostPath(a, "p", scratchDir);
        assertThat(Files.readString(Path.of((String) a.get("p")))).isEqualTo("inside\n");
    }
}
