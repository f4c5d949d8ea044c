package dev.davit.oci.unpack;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TarExtractor#extractUntrusted}: a tar from a sender davit does not trust (a microVM's guest agent) lands
 * in its directory only, never through a link, without devices or fifos, and within its caps, which stop it the
 * moment they are passed.
 */
class UntrustedTarTest {
    static final TarExtractor.Limits LIMITS = new TarExtractor.Limits(1 << 20, 100, 10_000);

    @TempDir
    Path tmp;
    Path dir;
    Path outside;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createDirectories(tmp.resolve("out"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret"), "untouched\n");
    }

    List<UnpackResult.Skipped> extract(byte[] tar) {
        return extract(new ByteArrayInputStream(tar), LIMITS);
    }

    List<UnpackResult.Skipped> extract(InputStream tar, TarExtractor.Limits limits) {
        return TarExtractor.extractUntrusted(tar, dir, limits, "the tar of /workspace that sandbox sb-1 sent",
                "; raise it if you trust it");
    }

    void refused(byte[] tar, String... fragments) {
        assertDavitError(() -> extract(tar), Kind.VERIFICATION, fragments);
        assertOutsideUntouched();
    }

    void assertOutsideUntouched() {
        try (Stream<Path> s = Files.list(outside); Stream<Path> t = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("secret");
            assertThat(t.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("out", "outside");
            assertThat(Files.readString(outside.resolve("secret"))).isEqualTo("untouched\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aPlainTreeIsExtractedWithLinksAsLinksAndOnlyPermissionBits() throws IOException {
        byte[] tar = new TarBuilder().dir("./").dir("./src").file("./src/a.txt", "a\n")
                .file("./run", "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8), 04755)
                .symlink("./root", "/").symlink("./up", "../../outside").hardlink("./src/b.txt", "./src/a.txt")
                .file("./.wh.kept", "a file named like a whiteout\n").build();
        assertThat(extract(tar)).isEmpty();
        assertThat(Files.readString(dir.resolve("src/a.txt"))).isEqualTo("a\n");
        assertThat(Files.readSymbolicLink(dir.resolve("root"))).isEqualTo(Path.of("/"));
        assertThat(Files.readSymbolicLink(dir.resolve("up"))).isEqualTo(Path.of("../../outside"));
        assertThat(Files.isSameFile(dir.resolve("src/a.txt"), dir.resolve("src/b.txt"))).isTrue();
        assertThat(Files.readString(dir.resolve(".wh.kept"))).startsWith("a file");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("run"))))
                .isEqualTo("rwxr-xr-x"); // no set-uid bit
        assertThat((int) Files.getAttribute(dir.resolve("run"), "unix:mode") & 07000).isZero();
        assertOutsideUntouched();
    }

    @Test
    void dotDotAndAbsoluteNamesAreRefused() {
        refused(new TarBuilder().file("../outside/secret", "pwned\n").build(), "'../outside/secret'",
                "'..' component", "sandbox sb-1 sent", "broken or hostile");
        refused(new TarBuilder().file(tmp.resolve("outside/secret").toString(), "pwned\n").build(),
                "is absolute");
        refused(new TarBuilder().file("./a", "a").hardlink("./b", "/etc/passwd").build(), "is absolute");
        refused(new TarBuilder().hardlink("./b", "../outside/secret").build(), "'..' component");
    }

    /** Names the host could not make are refused in the tar's terms, never as the host's "File name too long". */
    @Test
    void namesTooLongForTheHostAreRefusedAsTheTarsFault() {
        refused(new TarBuilder().file("d/" + "n".repeat(256), "x").build(), "256 bytes, more than the 255 a file"
                + " name may be");
        refused(new TarBuilder().file(String.join("/", java.util.Collections.nCopies(17, "c".repeat(250))), "x")
                .build(), "bytes long, more than " + TarExtractor.MAX_PATH_BYTES);
        extract(new TarBuilder().file("d/" + "n".repeat(255), "x").build());
        assertThat(dir.resolve("d/" + "n".repeat(255))).hasContent("x");
    }

    @Test
    void nothingIsWrittenThroughALink() throws IOException {
        refused(new TarBuilder().symlink("./escape", outside.toString()).file("./escape/secret", "pwned\n").build(),
                "'escape' is a symbolic link");
        Files.delete(dir.resolve("escape"));
        refused(new TarBuilder().symlink("./root", "/").dir("./root/tmp").build(), "'root' is a symbolic link");
        Files.delete(dir.resolve("root"));
        // a link entry replacing a file, then a file over the link: the link is replaced, its target untouched
        assertThat(extract(new TarBuilder().symlink("./s", outside.resolve("secret").toString())
                .file("./s", "mine\n").build())).isEmpty();
        assertThat(Files.isSymbolicLink(dir.resolve("s"))).isFalse();
        assertThat(Files.readString(dir.resolve("s"))).isEqualTo("mine\n");
        assertOutsideUntouched();
    }

    @Test
    void devicesAndFifosAreNeverCreated() throws IOException {
        List<UnpackResult.Skipped> skipped = extract(new TarBuilder().device("./null", TarConstants.LF_CHR, 1, 3)
                .device("./sda", TarConstants.LF_BLK, 8, 0).device("./fifo", TarConstants.LF_FIFO, 0, 0)
                .file("./f", "x").build());
        assertThat(skipped).extracting(UnpackResult.Skipped::path).containsExactly("null", "sda", "fifo");
        assertThat(skipped).allSatisfy(s -> assertThat(s.reason()).contains("not created"));
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("f");
        }
        assertThat(Files.exists(dir.resolve("fifo"), LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    @Test
    void aDeclaredSizeOverTheCapIsRefusedBeforeAnyByteIsWritten() throws IOException {
        refused(TarBuilder.headerOnly("./big", 3L << 30), "'big' needs 3221225472 bytes", "limit of 1048576",
                "raise it if you trust it");
        assertThat(Files.exists(dir.resolve("big"))).isFalse();
    }

    @Test
    void theByteCapStopsAStreamTheMomentItIsPassed() {
        // an endless stream of small files: it fails after about the cap, not at the end
        long[] read = new long[1];
        InputStream endless = new InputStream() {
            byte[] entry = new byte[0];
            int at;
            int n;

            @Override
            public int read() {
                byte[] b = new byte[1];
                return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (at == entry.length) { // the next entry: its header and data, without the end-of-archive blocks
                    entry = java.util.Arrays.copyOf(new TarBuilder().file("./f" + n++, new byte[4000], 0644).build(),
                            512 + 4096);
                    at = 0;
                }
                int k = Math.min(len, entry.length - at);
                System.arraycopy(entry, at, b, off, k);
                at += k;
                read[0] += k;
                return k;
            }
        };
        assertDavitError(() -> extract(endless, new TarExtractor.Limits(1 << 20, 1_000_000, 1 << 20)),
                Kind.VERIFICATION, "limit");
        assertThat(read[0]).isLessThan((1 << 20) + (1 << 17) + 10240);
        assertOutsideUntouched();
    }

    @Test
    void theEntryAndNameCapsHold() {
        TarBuilder many = new TarBuilder();
        for (int i = 0; i < 101; i++) {
            many.file("./f" + i, "");
        }
        refused(many.build(), "more than 100 tar entries", "raise it if you trust it");
        TarBuilder longNames = new TarBuilder();
        for (int i = 0; i < 10; i++) {
            longNames.file("./" + "n".repeat(200) + "/" + "m".repeat(200) + "/" + "o".repeat(200) + "/" + i, "");
        }
        assertDavitError(() -> extract(new ByteArrayInputStream(longNames.build()),
                new TarExtractor.Limits(1 << 20, 100, 5000)), Kind.VERIFICATION, "more than 5000 bytes of entry names");
    }

    @Test
    void garbageIsNotATar() {
        byte[] junk = new byte[2048];
        java.util.Arrays.fill(junk, (byte) 'x');
        refused(junk, "not a valid tar stream", "broken or hostile");
    }
}
