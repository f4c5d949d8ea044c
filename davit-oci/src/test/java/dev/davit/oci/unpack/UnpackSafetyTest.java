package dev.davit.oci.unpack;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and malformed layers, written with commons-compress: each is refused with a one-line VERIFICATION error
 * (or skipped where that is documented as safe), nothing is written outside the target, and a refused unpack
 * leaves neither the target nor its temp directory behind.
 */
class UnpackSafetyTest {
    @TempDir
    Path tmp;

    OciStore store;
    Path out;
    Path target;
    Path outside;

    @BeforeEach
    void setUp() throws IOException {
        store = OciStore.open(tmp.resolve("store"));
        out = Files.createDirectories(tmp.resolve("out"));
        target = out.resolve("rootfs");
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret"), "untouched\n");
    }

    UnpackResult unpack(Descriptor image) {
        return unpack(image, UnpackOptions.defaults());
    }

    UnpackResult unpack(Descriptor image, UnpackOptions options) {
        return new Unpacker(store, options).unpack(image, PlatformSelector.host(), target);
    }

    Descriptor image(byte[]... layers) {
        StoreImages img = StoreImages.image(store);
        for (byte[] l : layers) {
            img.layer(l);
        }
        return img.manifest();
    }

    /** The unpack is refused and nothing is left: no target, no temp dir, the outside dir as it was. */
    DavitException refused(Descriptor image, String... fragments) {
        return refused(image, UnpackOptions.defaults(), fragments);
    }

    DavitException refused(Descriptor image, UnpackOptions options, String... fragments) {
        DavitException e = assertDavitError(() -> unpack(image, options), Kind.VERIFICATION, fragments);
        assertNothingLeft();
        return e;
    }

    void assertNothingLeft() {
        assertThat(target).doesNotExist();
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.toList()).as("left in %s", out).isEmpty();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertThat(Tree.of(outside)).containsOnlyKeys("secret");
        try {
            assertThat(Files.readString(outside.resolve("secret"))).isEqualTo("untouched\n");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void dotDotNamesAreRefused() {
        refused(image(new TarBuilder().file("../x", "escaped").build()), "entry '../x' is refused",
                "'..' component", "nothing was unpacked");
        refused(image(new TarBuilder().file("a/../../x", "escaped").build()), "'..' component");
        refused(image(new TarBuilder().dir("a").file("a/b/../../../outside/secret", "pwned").build()),
                "'..' component");
    }

    @Test
    void absoluteNamesAreKeptInsideWithTheLeadingSlashRemoved() throws IOException {
        String abs = outside.resolve("abs.txt").toString();
        UnpackResult r = unpack(image(new TarBuilder().file(abs, "inside").file("/etc/hostname", "davit\n").build()));
        assertThat(outside.resolve("abs.txt")).doesNotExist();
        assertThat(target.resolve(abs.substring(1))).hasContent("inside");
        assertThat(target.resolve("etc/hostname")).hasContent("davit");
        assertThat(r.notes()).anyMatch(n -> n.startsWith("2 entries had an absolute name"));
        assertThat(Tree.of(outside)).containsOnlyKeys("secret");
    }

    @Test
    void aFileThroughASymlinkIsRefused() {
        refused(image(new TarBuilder().symlink("a", outside.toString()).file("a/secret", "pwned").build()),
                "entry 'a/secret' is refused", "'a' is a symbolic link");
        refused(image(new TarBuilder().symlink("etc", "/etc").file("etc/passwd", "root::0:0::/:/bin/sh").build()),
                "'etc' is a symbolic link");
    }

    @Test
    void aFileThroughASymlinkOfAnEarlierLayerIsRefused() {
        refused(image(new TarBuilder().symlink("a", outside.toString()).build(),
                new TarBuilder().file("a/secret", "pwned").build()), "layer 2/2", "'a' is a symbolic link");
    }

    @Test
    void aFileThroughASymlinkToAParentIsRefused() {
        refused(image(new TarBuilder().dir("d").symlink("d/up", "..").file("d/up/x", "x").build()),
                "'d/up' is a symbolic link");
        refused(image(new TarBuilder().symlink("up", "../../..").file("up/outside/secret", "pwned").build()),
                "'up' is a symbolic link");
        refused(image(new TarBuilder().symlink("self", ".").file("self/x", "x").build()), "'self' is a symbolic link");
    }

    @Test
    void aDirectoryThroughASymlinkIsRefused() {
        refused(image(new TarBuilder().symlink("a", outside.toString()).dir("a/sub").build()),
                "'a' is a symbolic link");
    }

    @Test
    void hardLinksOutsideAreRefused() {
        refused(image(new TarBuilder().hardlink("h", "../outside/secret").build()),
                "hard link target '../outside/secret' is refused", "'..' component");
        // an absolute target means the same path inside the rootfs, where it does not exist
        refused(image(new TarBuilder().hardlink("h", outside.resolve("secret").toString()).build()),
                "does not exist");
        refused(image(new TarBuilder().hardlink("h", "/etc/passwd").build()), "'etc/passwd' does not exist");
    }

    @Test
    void hardLinksThroughASymlinkAreRefused() {
        refused(image(new TarBuilder().symlink("s", outside.toString()).hardlink("h", "s/secret").build()),
                "hard link target 's/secret' is refused", "'s' is a symbolic link");
    }

    @Test
    void aHardLinkToAnEscapingSymlinkLinksTheSymlinkItself() throws IOException {
        Path secret = outside.resolve("secret");
        UnpackResult r = unpack(image(new TarBuilder().symlink("s", secret.toString()).hardlink("h", "s")
                .file("x", "x").build()));
        assertThat(Files.isSymbolicLink(target.resolve("h"))).isTrue();
        assertThat(Files.readSymbolicLink(target.resolve("h"))).isEqualTo(secret);
        assertThat(Files.getAttribute(secret, "unix:nlink")).isEqualTo(1);
        assertThat(r.hardlinks()).isEqualTo(1);
        assertThat(Tree.of(outside)).containsOnlyKeys("secret");
    }

    @Test
    void hardLinksToDirectoriesAreRefused() {
        refused(image(new TarBuilder().dir("d").hardlink("h", "d").build()), "hard link to the directory 'd'");
        refused(image(new TarBuilder().dir("d").hardlink("h", ".").build()), "hard link to the root");
    }

    @Test
    void aLayerCannotReplaceItsOwnDirectoryWithALink() {
        refused(image(new TarBuilder().dir("d").file("d/f", "f").symlink("d", outside.toString())
                .file("d/secret", "pwned").build()), "entry 'd' is refused", "would replace the directory 'd'");
        refused(image(new TarBuilder().file("x", "x").file("d/f", "f").hardlink("d", "x").build()),
                "would replace the directory 'd'");
    }

    @Test
    void aLaterLayerMayReplaceADirectoryButNotWriteThroughTheLink() throws IOException {
        Descriptor ok = image(new TarBuilder().dir("d").file("d/f", "f").build(),
                new TarBuilder().symlink("d", outside.toString()).build());
        unpack(ok);
        assertThat(Files.readSymbolicLink(target.resolve("d"))).isEqualTo(outside);
        assertThat(Tree.of(outside)).containsOnlyKeys("secret");
        RootFs.deleteTree(target);

        refused(image(new TarBuilder().dir("d").file("d/f", "f").build(),
                new TarBuilder().symlink("d", outside.toString()).file("d/secret", "pwned").build()),
                "'d' is a symbolic link");
    }

    @Test
    void whiteoutsOfDotDotAndDotAreRefused() {
        refused(image(new TarBuilder().file(".wh...", "").build()), "whiteout of '..'");
        refused(image(new TarBuilder().dir("a").file("a/.wh...", "").build()), "whiteout of '..'");
        refused(image(new TarBuilder().file(".wh..", "").build()), "whiteout of '.'");
        refused(image(new TarBuilder().file(".wh.", "").build()), "whiteout of ''");
    }

    @Test
    void whiteoutsNeverFollowLinks() throws IOException {
        UnpackResult r = unpack(image(new TarBuilder().symlink("s", outside.toString()).build(),
                new TarBuilder().whiteout("s", "secret").opaque("s").build()));
        assertThat(Files.isSymbolicLink(target.resolve("s"))).isTrue();
        assertThat(r.whiteouts()).isEqualTo(2);
        assertThat(Tree.of(outside)).containsOnlyKeys("secret");
    }

    @Test
    void aDeclaredSizeOverTheLimitIsRefusedBeforeWriting() {
        UnpackOptions small = UnpackOptions.builder().maxBytes(1 << 20).build();
        refused(image(TarBuilder.headerOnly("huge", 10L << 20)), small, "entry 'huge' needs 10485760 bytes",
                "UnpackOptions.Builder.maxBytes");
        refused(image(TarBuilder.headerOnly("huge", 64L << 30)), "entry 'huge' needs 68719476736 bytes",
                "raise UnpackOptions.Builder.maxBytes");
    }

    @Test
    void aDecompressionBombIsStoppedAtTheLimit() {
        UnpackOptions small = UnpackOptions.builder().maxBytes(4 << 20).build();
        TarBuilder many = new TarBuilder();
        for (int i = 0; i < 8; i++) {
            many.file("zeros" + i, new byte[1 << 20], 0644);
        }
        refused(image(many.build()), small, "the unpack limit", "UnpackOptions.Builder.maxBytes");
        // the whole uncompressed stream counts, also what follows the archive's end
        byte[] tar = new TarBuilder().file("a", "a").build();
        byte[] padded = new byte[tar.length + (8 << 20)];
        System.arraycopy(tar, 0, padded, 0, tar.length);
        refused(image(padded), small, "more uncompressed data than the unpack limit allows");
    }

    @Test
    void anEntryCountBombIsStoppedAtTheLimit() {
        TarBuilder many = new TarBuilder();
        for (int i = 0; i < 2000; i++) {
            many.file("f" + i, new byte[0], 0644);
        }
        refused(image(many.build()), UnpackOptions.builder().maxEntries(1000).build(),
                "more than 1000 tar entries",
                "UnpackOptions.Builder.maxEntries");
    }

    @Test
    void aHugePaxHeaderIsRefused() {
        String big = "x".repeat(2 << 20);
        refused(image(new TarBuilder().withPax("f", "f", Map.of("SCHILY.xattr.user.big", big)).build()),
                "tar header over 1048576 bytes");
    }

    @Test
    void devicesAreSkippedWithoutRootButFifosAreMade() throws IOException {
        UnpackOptions rootless = UnpackOptions.builder().privileges(UnpackOptions.Privileges.ROOTLESS).build();
        UnpackResult r = unpack(image(new TarBuilder()
                .device("dev/null", TarConstants.LF_CHR, 1, 3)
                .device("dev/sda", TarConstants.LF_BLK, 8, 0)
                .device("run/fifo", TarConstants.LF_FIFO, 0, 0).build()), rootless);
        assertThat(r.skipped()).containsExactly(
                new UnpackResult.Skipped("dev/null", "character device 1:3: creating device nodes needs root"
                        + " (rootless unpack)"),
                new UnpackResult.Skipped("dev/sda", "block device 8:0: creating device nodes needs root"
                        + " (rootless unpack)"));
        assertThat(r.skippedTotal()).isEqualTo(2);
        assertThat(target.resolve("dev")).doesNotExist();
        assertThat(Tree.of(target).get("run/fifo").type()).isEqualTo("fifo");
        assertThat(r.specialFiles()).isEqualTo(1);

        RootFs.deleteTree(target);
        r = unpack(image(new TarBuilder().device("dev/null", TarConstants.LF_CHR, 1, 3)
                .hardlink("dev/null2", "dev/null").build()), rootless);
        assertThat(r.skipped()).extracting(UnpackResult.Skipped::path).containsExactly("dev/null", "dev/null2");
        assertThat(r.skipped().get(1).reason()).isEqualTo("hard link to 'dev/null', which was skipped");
    }

    @Test
    void aSymlinkNamedLikeTheRootIsRefused() {
        refused(image(new TarBuilder().symlink("./", outside.toString()).build()), "root of the image can only be"
                + " a directory");
    }

    @Test
    void notATarIsAVerificationError() {
        byte[] junk = "this is not a tar archive, just some text that is long enough".repeat(20)
                .getBytes(StandardCharsets.UTF_8);
        assertDavitError(() -> unpack(image(junk)), Kind.VERIFICATION, "layer 1/1", "not a valid tar stream");
        assertNothingLeft();
    }

    @Test
    void theTargetMustBeNewOrEmpty() throws IOException {
        Descriptor img = image(new TarBuilder().file("a", "a").build());
        Files.createDirectories(target);
        Files.writeString(target.resolve("keep"), "mine");
        assertDavitError(() -> unpack(img), Kind.USAGE, "is not empty");
        assertThat(target.resolve("keep")).hasContent("mine");
        Files.delete(target.resolve("keep"));
        unpack(img);
        assertThat(target.resolve("a")).hasContent("a");

        Path file = out.resolve("file");
        Files.writeString(file, "x");
        assertDavitError(() -> new Unpacker(store, UnpackOptions.defaults()).unpack(img, PlatformSelector.host(),
                file), Kind.USAGE, "exists and is not a directory");
        Path link = out.resolve("link");
        Files.createSymbolicLink(link, Files.createDirectories(tmp.resolve("empty")));
        assertDavitError(() -> new Unpacker(store, UnpackOptions.defaults()).unpack(img, PlatformSelector.host(),
                link), Kind.USAGE, "exists and is not a directory");
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.exists(link.resolve("a"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(List.of(Files.list(out).map(p -> p.getFileName().toString()).sorted().toArray()))
                .containsExactly("file", "link", "rootfs");
    }
}
