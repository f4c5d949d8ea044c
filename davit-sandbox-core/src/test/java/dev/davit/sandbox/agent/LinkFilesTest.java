package dev.davit.sandbox.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static dev.davit.sandbox.agent.Played.assertOneLine;
import static dev.davit.sandbox.agent.Played.concat;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.unpack.TarExtractor;
import dev.davit.sandbox.agent.AgentWire.Fields;
import dev.davit.sandbox.agent.AgentWire.Frame;
import dev.davit.sandbox.backend.GuestFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attacker's test of {@link LinkFiles}, the host's end of davit-agent's file requests, against agents played
 * by the test over a real unix socket: the sandbox's code can replace the agent, so a read that brings more than it
 * asked for, a size that lies, a tree whose tar climbs out of its directory or through a link, and a trickle that
 * never ends each fail within their bounds with one line, and nothing lands outside the directory the tree goes to.
 */
class LinkFilesTest {
    @TempDir
    Path dir;

    /** Files of a "sandbox" whose every link is a new connection to an agent {@code answer} plays. */
    private GuestFiles files(Played.Answer answer, Duration timeout) {
        return new LinkFiles(new LinkFiles.Links() {
            @Override
            public <T> T withLink(LinkFiles.Use<T> use) {
                try (AgentLink link = AgentLink.connect(Played.agent(dir, answer, null))) {
                    return use.apply(link);
                } catch (IOException e) {
                    // a backend's wording: the test's is the cause alone
                    throw new DavitException(Kind.INTERNAL, "broken: " + e.getMessage());
                }
            }
        }, "sbx-test", timeout, new TarExtractor.Limits(1 << 20, 100, 1 << 20), "; raise it");
    }

    private static byte[] u64(long v) {
        return java.nio.ByteBuffer.allocate(8).putLong(v).array();
    }

    private static void data(OutputStream out, Frame req, byte[] b) throws IOException {
        for (int at = 0; at < b.length; at += AgentWire.MAX_CHUNK) {
            AgentWire.write(out, new Frame(AgentWire.DATA, req.id(), java.util.Arrays.copyOfRange(b, at,
                    Math.min(b.length, at + AgentWire.MAX_CHUNK))));
        }
    }

    private static void done(OutputStream out, Frame req, long value) throws IOException {
        AgentWire.write(out, new Frame(AgentWire.DONE, req.id(), u64(value)));
    }

    private static byte[] tar(TarArchiveEntry... entries) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(b)) {
            t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (TarArchiveEntry e : entries) {
                t.putArchiveEntry(e);
                if (e.isFile()) {
                    t.write(new byte[(int) e.getSize()]);
                }
                t.closeArchiveEntry();
            }
        }
        return b.toByteArray();
    }

    private static TarArchiveEntry file(String name) {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(6);
        return e;
    }

    private static TarArchiveEntry link(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
        e.setLinkName(target);
        return e;
    }

    @Test
    void anHonestReadAndItsRequest() throws Exception {
        Frame[] seen = new Frame[1];
        GuestFiles f = files((req, in, out) -> {
            seen[0] = req;
            data(out, req, "hel".getBytes(StandardCharsets.UTF_8));
            done(out, req, 5);
        }, Duration.ofSeconds(10));
        GuestFiles.Content c = f.read("/f", 3);
        assertThat(new String(c.bytes(), StandardCharsets.UTF_8)).isEqualTo("hel");
        assertThat(c.size()).isEqualTo(5);
        Fields p = new Fields(seen[0].payload());
        assertThat(List.of(p.u32(), p.u64(), p.u32())).containsExactly((long) AgentWire.OP_READ, 3L, 1L);
    }

    @Test
    void aReadThatBringsMoreThanItAskedForOrMoreThanTheSizeItSaysIsRefused() {
        Throwable t = catchThrowable(() -> files((req, in, out) -> {
            data(out, req, new byte[20]);
            done(out, req, 20);
        }, Duration.ofSeconds(10)).read("/f", 10));
        assertOneLine(t, "more than the 10 bytes of /f asked for");
        t = catchThrowable(() -> files((req, in, out) -> {
            data(out, req, new byte[8]);
            done(out, req, 2);
        }, Duration.ofSeconds(10)).read("/f", 10));
        assertOneLine(t, "sent 8 bytes of /f, which has 2");
        // a whole file over the cap is the caller's usage error, not a 3 GB allocation
        t = catchThrowable(() -> files((req, in, out) -> done(out, req, 3_000_000_000L), Duration.ofSeconds(10))
                .read("/f", 0));
        assertThat(t).isInstanceOf(DavitException.class).hasMessageContaining("3000000000 bytes, more than the 64"
                + " MiB");
        assertThat(((DavitException) t).kind()).isEqualTo(Kind.USAGE);
    }

    @Test
    void theAgentsRefusalsAreTheCallersErrorsAndAnUnknownCodeIsABreach() {
        byte[] missing = concat(AgentWire.u32(AgentWire.E_MISSING), AgentWire.u32(7),
                "no file".getBytes(StandardCharsets.UTF_8));
        Throwable t = catchThrowable(() -> files((req, in, out) -> AgentWire.write(out, new Frame(AgentWire.ERROR,
                req.id(), missing)), Duration.ofSeconds(10)).read("/f", 0));
        assertOneLine(t, "cannot read /f in sandbox sbx-test: no file");
        assertThat(((DavitException) t).kind()).isEqualTo(Kind.NOT_FOUND);
        byte[] odd = concat(AgentWire.u32(AgentWire.E_ID), AgentWire.u32(0));
        t = catchThrowable(() -> files((req, in, out) -> AgentWire.write(out, new Frame(AgentWire.ERROR, req.id(),
                odd)), Duration.ofSeconds(10)).remove(List.of("/a")));
        assertOneLine(t, "broken: the agent refused a file request with code 2");
    }

    @Test
    void treesThatClimbOutOrGoThroughALinkLandNothingOutside() throws IOException {
        Path canary = Files.createDirectories(dir.resolve("canary"));
        String c = canary.toString();
        byte[][] lies = {
            tar(file("./ok"), file("./" + "../".repeat(20) + c.substring(1) + "/pwned")),
            tar(file("./ok"), file(c + "/pwned")),
            tar(link("./root", "/"), file("./root" + c + "/pwned")),
            tar(link("./c", c), file("./c/pwned")),
        };
        for (int i = 0; i < lies.length; i++) {
            byte[] lie = lies[i];
            Path into = Files.createDirectories(dir.resolve("into" + i));
            Throwable t = catchThrowable(() -> files((req, in, out) -> {
                data(out, req, lie);
                done(out, req, 0);
            }, Duration.ofSeconds(10)).copyTree("/workspace", into));
            if (i == 1 && t == null) {
                // an absolute name is taken as relative to the tree, as tar does
                assertThat(into.resolve(c.substring(1)).resolve("pwned")).exists();
            } else {
                assertThat(t).as("lie %d", i).isInstanceOf(DavitException.class).hasMessageNotContaining("\n");
            }
            try (Stream<Path> s = Files.list(canary)) {
                assertThat(s).as("the canary").isEmpty();
            }
        }
    }

    @Test
    void anHonestTreeComesWholeAndAnErrorPartWayIsTheAgentsReason() throws IOException {
        Path into = Files.createDirectories(dir.resolve("into"));
        files((req, in, out) -> {
            data(out, req, tar(file("./a"), file("./b")));
            done(out, req, 0);
        }, Duration.ofSeconds(10)).copyTree("/workspace", into);
        try (Stream<Path> s = Files.list(into)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("a", "b");
        }
        byte[] failed = concat(AgentWire.u32(AgentWire.E_FAILED), AgentWire.u32(12),
                "disk is gone".getBytes(StandardCharsets.UTF_8));
        Path more = Files.createDirectories(dir.resolve("more"));
        Throwable t = catchThrowable(() -> files((req, in, out) -> {
            byte[] half = tar(file("./a"), file("./b"));
            data(out, req, java.util.Arrays.copyOf(half, 700));
            AgentWire.write(out, new Frame(AgentWire.ERROR, req.id(), failed));
        }, Duration.ofSeconds(10)).copyTree("/workspace", more));
        assertOneLine(t, "cannot archive /workspace in sandbox sbx-test: disk is gone");
    }

    @Test
    void aTrickleThatNeverEndsIsCutOffAfterTheTimeoutAndTheKillsWait() {
        long t0 = System.nanoTime();
        Throwable t = catchThrowable(() -> files((req, in, out) -> {
            while (true) {
                AgentWire.write(out, new Frame(AgentWire.DATA, req.id(), new byte[] {0}));
                Thread.sleep(200);
            }
        }, Duration.ofSeconds(1)).copyTree("/workspace", Files.createDirectories(dir.resolve("t"))));
        assertOneLine(t, "did not archive /workspace within 1 s");
        assertThat(java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0))
                .isLessThan(1 + AgentLink.KILL_WAIT.toSeconds() + 10);
    }

    @Test
    void aRequestTheTimeoutStoppedSaysSoAndManyRemovalsGoInRequestsAFrameTakes() throws IOException {
        // the agent stops a request at the timeout's kill and says why
        Throwable t = catchThrowable(() -> files((req, in, out) -> {
            Frame signal = AgentWire.read(in);
            assertThat(signal.type()).isEqualTo(AgentWire.SIGNAL);
            AgentWire.write(out, new Frame(AgentWire.ERROR, req.id(), concat(AgentWire.u32(AgentWire.E_FAILED),
                    AgentWire.u32(9), "cancelled".getBytes(StandardCharsets.UTF_8))));
        }, Duration.ofMillis(300)).sync());
        assertOneLine(t, "sandbox sbx-test did not sync within 0 s (cancelled)");
        java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicLong paths = new java.util.concurrent.atomic.AtomicLong();
        GuestFiles f = files((req, in, out) -> {
            Fields p = new Fields(req.payload());
            p.u32();
            p.u64();
            paths.addAndGet(p.u32());
            requests.incrementAndGet();
            done(out, req, 0);
        }, Duration.ofSeconds(10));
        List<String> many = new java.util.ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            many.add("/workspace/" + "d".repeat(100) + "/" + i);
        }
        f.remove(many);
        assertThat(paths.get()).isEqualTo(10_000);
        assertThat(requests.get()).isGreaterThan(2);
    }
}
