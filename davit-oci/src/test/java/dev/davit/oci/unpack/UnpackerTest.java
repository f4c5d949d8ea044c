package dev.davit.oci.unpack;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Layer semantics: whiteouts, opaque directories, links across layers, compression, metadata, diff_ids. */
class UnpackerTest {
    @TempDir
    Path tmp;

    OciStore store;
    Path target;

    @BeforeEach
    void setUp() {
        store = OciStore.open(tmp.resolve("store"));
        target = tmp.resolve("rootfs");
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

    @Test
    void whiteoutsAndOpaqueDirectoriesRemoveOnlyEarlierContent() {
        byte[] base = new TarBuilder().dir("a").file("a/x", "x").file("a/y", "y").dir("a/sub").file("a/sub/z", "z")
                .dir("b").file("b/keep", "k").file("b/gone", "g").file("c", "c").dir("d").file("d/deep", "d")
                .build();
        byte[] change = new TarBuilder()
                .file("a/new", "new")               // written before the opaque marker: stays
                .opaque("a")
                .file("a/y", "y2")                  // written after it: stays
                .whiteout("b", "gone")
                .whiteout("", "c")
                .file("c2", "c2")
                .whiteout("", "c2")                 // a whiteout never removes this layer's own content
                .whiteout("", "d")                  // a whole directory
                .whiteout("", "missing")            // nothing to remove: fine
                .build();
        UnpackResult r = unpack(image(base, change));
        SortedMap<String, Tree.Node> t = Tree.of(target);
        assertThat(t.keySet()).containsExactly("a", "a/new", "a/y", "b", "b/keep", "c2");
        assertThat(content("a/y")).isEqualTo("y2");
        assertThat(r.whiteouts()).isEqualTo(6);
        assertThat(r.layers()).hasSize(2);
    }

    @Test
    void anOpaqueDirectoryKeepsWhatTheSameLayerPutInItsSubdirectories() {
        byte[] base = new TarBuilder().dir("a").dir("a/s").file("a/s/old", "o").file("a/s/old2", "o").build();
        byte[] change = new TarBuilder().file("a/s/mine", "m").opaque("a").build();
        unpack(image(base, change));
        assertThat(Tree.of(target).keySet()).containsExactly("a", "a/s", "a/s/mine");
    }

    @Test
    void anOpaqueMarkerAtTheTopEmptiesTheRoot() {
        unpack(image(new TarBuilder().file("old", "o").dir("d").build(),
                new TarBuilder().file("new", "n").opaque("").build()));
        assertThat(Tree.of(target).keySet()).containsExactly("new");
    }

    @Test
    void aDirectoryReplacedByAFileAndBack() {
        unpack(image(new TarBuilder().dir("d").file("d/f", "f").file("x", "x").build(),
                new TarBuilder().file("d", "now a file").dir("x").file("x/in", "in").build()));
        SortedMap<String, Tree.Node> t = Tree.of(target);
        assertThat(t.keySet()).containsExactly("d", "x", "x/in");
        assertThat(t.get("d").type()).isEqualTo("file");
        assertThat(t.get("x").type()).isEqualTo("dir");
    }

    @Test
    void hardLinksWithinAndAcrossLayers() throws IOException {
        UnpackResult r = unpack(image(
                new TarBuilder().file("bin/busybox", "bb".getBytes(StandardCharsets.UTF_8), 0755)
                        .hardlink("bin/sh", "bin/busybox").build(),
                new TarBuilder().hardlink("usr/bin/env", "/bin/busybox").build(),
                new TarBuilder().file("bin/busybox", "replaced".getBytes(StandardCharsets.UTF_8), 0755).build()));
        SortedMap<String, Tree.Node> t = Tree.of(target);
        assertThat(t.get("bin/sh").nlink()).isEqualTo(2);
        assertThat(t.get("usr/bin/env").content()).isEqualTo(t.get("bin/sh").content());
        assertThat(content("bin/sh")).isEqualTo("bb");
        assertThat(content("bin/busybox")).isEqualTo("replaced");
        assertThat(t.get("bin/busybox").nlink()).isEqualTo(1);
        assertThat(r.hardlinks()).isEqualTo(2);
        assertThat(r.files()).isEqualTo(2);
    }

    @Test
    void symlinksKeepTheirTargets() throws IOException {
        unpack(image(new TarBuilder().symlink("lib", "usr/lib").symlink("abs", "/etc/os-release")
                .symlink("dangling", "../../nowhere").build()));
        assertThat(Files.readSymbolicLink(target.resolve("lib"))).isEqualTo(Path.of("usr/lib"));
        assertThat(Files.readSymbolicLink(target.resolve("abs"))).isEqualTo(Path.of("/etc/os-release"));
        assertThat(Files.readSymbolicLink(target.resolve("dangling"))).isEqualTo(Path.of("../../nowhere"));
    }

    @ParameterizedTest
    @EnumSource(StoreImages.Codec.class)
    void everyCompressionUnpacks(StoreImages.Codec codec) {
        Descriptor d = StoreImages.image(store).layer(new TarBuilder().file("f", "content").build(), codec)
                .manifest();
        UnpackResult r = unpack(d);
        assertThat(content("f")).isEqualTo("content");
        assertThat(r.bytes()).isEqualTo(7);
    }

    @Test
    void dockerMediaTypesAndMislabelledLayersUnpack() {
        Descriptor d = StoreImages.image(store).docker()
                .layer(new TarBuilder().file("a", "a").build(), StoreImages.Codec.GZIP, MediaTypes.DOCKER_LAYER_GZIP)
                .layer(new TarBuilder().file("b", "b").build(), StoreImages.Codec.ZSTD, MediaTypes.OCI_LAYER)
                .layer(new TarBuilder().file("c", "c").build(), StoreImages.Codec.TAR,
                        "application/octet-stream")
                .manifest();
        unpack(d);
        assertThat(Tree.of(target).keySet()).containsExactly("a", "b", "c");
    }

    @Test
    void aWrongDiffIdIsAVerificationErrorAndNothingIsLeft() throws IOException {
        Descriptor d = StoreImages.image(store)
                .layer(new TarBuilder().file("a", "a").build())
                .layer(new TarBuilder().file("b", "b").build())
                .diffId(1, Digest.sha256("something else".getBytes(StandardCharsets.UTF_8)).toString())
                .manifest();
        assertDavitError(() -> unpack(d), Kind.VERIFICATION, "layer 2/2", "diff_id is sha256:",
                "the image is corrupt");
        assertThat(target).doesNotExist();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("store");
        }
    }

    @Test
    void diffIdsMustMatchTheLayerCount() {
        Descriptor d = StoreImages.image(store).layer(new TarBuilder().file("a", "a").build())
                .diffId(0, "not-a-digest").manifest();
        assertDavitError(() -> unpack(d), Kind.VERIFICATION, "invalid diff_id at position 0");
    }

    @Test
    void modesTimesAndOwnershipAreApplied() throws IOException {
        TarArchiveEntry owned = TarBuilder.entry("owned", TarConstants.LF_NORMAL);
        owned.setIds(1234, 5678);
        owned.setMode(0640);
        byte[] tar = new TarBuilder().dir("ro", 0555).file("ro/inside", "x".getBytes(StandardCharsets.UTF_8), 0400)
                .file("suid", new byte[0], 04755).dir("sticky", 01777).add(owned, new byte[0]).build();
        Descriptor d = image(tar);
        unpack(d, UnpackOptions.builder().privileges(UnpackOptions.Privileges.ROOTLESS).build());
        SortedMap<String, Tree.Node> t = Tree.of(target);
        assertThat(t.get("ro").mode()).isEqualTo(0555);
        assertThat(t.get("ro/inside").mode()).isEqualTo(0400);
        assertThat(t.get("suid").mode()).isEqualTo(04755);
        assertThat(t.get("sticky").mode()).isEqualTo(01777);
        assertThat(Files.getLastModifiedTime(target.resolve("ro/inside")))
                .isEqualTo(FileTime.from(TarBuilder.MTIME));
        assertThat(Files.getLastModifiedTime(target.resolve("ro"))).isEqualTo(FileTime.from(TarBuilder.MTIME));
        int me = (Integer) Files.getAttribute(tmp, "unix:uid");
        assertThat(Files.getAttribute(target.resolve("owned"), "unix:uid")).isEqualTo(me);
        assertThat(Files.getAttribute(target.resolve("ro"), "unix:mode", LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(040555);

        assumeThat(me).as("keeping ownership needs root").isZero();
        RootFs.deleteTree(target);
        unpack(d, UnpackOptions.builder().privileges(UnpackOptions.Privileges.ROOT).build());
        assertThat(Files.getAttribute(target.resolve("owned"), "unix:uid")).isEqualTo(1234);
        assertThat(Files.getAttribute(target.resolve("owned"), "unix:gid")).isEqualTo(5678);
        assertThat(Tree.of(target).get("owned").mode()).isEqualTo(0640);
    }

    /**
     * A rootless unpack records the owners it cannot give, as the finished tree has them: a later layer's entry
     * replaces an owner (0:0 removes it), a whiteout removes a path and what was below it, an opaque directory what
     * earlier layers had below it (not its own layer's entries), a file in place of a directory what was below it.
     */
    @Test
    void aRootlessUnpackRecordsTheOwnersItCannotGive() throws IOException {
        byte[] one = new TarBuilder().add(owned("home/node", true, 1000, 1000), new byte[0])
                .add(owned("home/node/.profile", false, 1000, 1000), new byte[0])
                .add(owned("app", true, 1000, 1001), new byte[0])
                .add(owned("app/a", false, 1000, 1001), new byte[0])
                .add(owned("app/b", false, 1000, 1001), new byte[0])
                .add(owned("srv", true, 33, 33), new byte[0])
                .add(owned("srv/x", false, 33, 33), new byte[0])
                .add(owned("data", true, 7, 7), new byte[0])
                .add(owned("data/old", false, 7, 7), new byte[0])
                .add(owned("was-root", false, 5, 5), new byte[0])
                .add(owned("etc", true, 0, 0), new byte[0]).add(owned("etc/shadow", false, 0, 42), new byte[0])
                .build();
        byte[] two = new TarBuilder().whiteout("app", "a").whiteout("", "srv")
                .add(owned("data/new", false, 8, 8), new byte[0]).opaque("data")
                .add(owned("was-root", false, 0, 0), new byte[0])
                .add(sized(owned("home/node", false, 1000, 1000), 10), "now a file".getBytes(StandardCharsets.UTF_8))
                .hardlink("app/b-link", "app/b").build();
        unpack(image(one, two), UnpackOptions.builder().privileges(UnpackOptions.Privileges.ROOTLESS).build());
        assertThat(Owners.read(target)).containsExactly(
                Map.entry("app", new Owners.Owner(1000, 1001)), Map.entry("app/b", new Owners.Owner(1000, 1001)),
                Map.entry("data", new Owners.Owner(7, 7)), Map.entry("data/new", new Owners.Owner(8, 8)),
                Map.entry("etc/shadow", new Owners.Owner(0, 42)), Map.entry("home/node", new Owners.Owner(1000, 1000)));
        assertThat(Files.exists(target.resolve("data/old"))).isFalse();
        assertThat(Files.exists(target.resolve("data/new"))).isTrue();

        // as root the owners are given, and no record is left (a stale one of an earlier rootless unpack goes)
        assumeThat((Integer) Files.getAttribute(tmp, "unix:uid")).as("keeping ownership needs root").isZero();
        RootFs.deleteTree(target);
        unpack(image(one, two), UnpackOptions.builder().privileges(UnpackOptions.Privileges.ROOT).build());
        assertThat(Files.exists(Owners.fileOf(target))).isFalse();
        assertThat(Owners.read(target)).isEmpty();
        assertThat(Files.getAttribute(target.resolve("app/b"), "unix:uid")).isEqualTo(1000);
    }

    private static org.apache.commons.compress.archivers.tar.TarArchiveEntry sized(
            org.apache.commons.compress.archivers.tar.TarArchiveEntry e, long size) {
        e.setSize(size);
        return e;
    }

    private static org.apache.commons.compress.archivers.tar.TarArchiveEntry owned(String name, boolean dir,
                                                                                   int uid, int gid) {
        var e = TarBuilder.entry(dir ? name + "/" : name, dir ? org.apache.commons.compress.archivers.tar
                .TarConstants.LF_DIR : org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL);
        e.setIds(uid, gid);
        e.setMode(dir ? 0755 : 0644);
        return e;
    }

    @Test
    void theRootEntrySetsTheRootMode() throws IOException {
        unpack(image(new TarBuilder().dir("./", 0750).file("f", "f").build()));
        assertThat(Tree.node(target).mode()).isEqualTo(0750);
    }

    @Test
    void userXattrsAreSetAndOthersAreNoted() throws IOException {
        UnpackResult r = unpack(image(new TarBuilder().withPax("f", "f", Map.of(
                "SCHILY.xattr.user.origin", "davit", "SCHILY.xattr.security.capability", "cap")).build()));
        assertThat(r.notes()).contains("extended attribute security.capability was not applied: Java can only set"
                + " user.* attributes (1 entry)");
        if (r.notes().stream().noneMatch(n -> n.contains("user.origin could not be set"))) {
            UserDefinedFileAttributeView v = Files.getFileAttributeView(target.resolve("f"),
                    UserDefinedFileAttributeView.class);
            ByteBuffer b = ByteBuffer.allocate(64);
            v.read("origin", b);
            assertThat(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8)).isEqualTo("davit");
        }
    }

    @Test
    void devicesAreCreatedAsRoot() throws IOException {
        assumeThat((Integer) Files.getAttribute(tmp, "unix:uid")).as("mknod needs root").isZero();
        assumeThat(SpecialFiles.available()).isTrue();
        UnpackResult r = unpack(image(new TarBuilder().device("dev/null", TarConstants.LF_CHR, 1, 3).build()),
                UnpackOptions.builder().privileges(UnpackOptions.Privileges.ROOT).build());
        if (r.skippedTotal() == 0) {
            assertThat(Tree.of(target).get("dev/null")).isEqualTo(new Tree.Node("char", 0666, null, null, 0));
            assertThat(Files.getAttribute(target.resolve("dev/null"), "unix:rdev")).isEqualTo(259L);
        } else {
            // a container without CAP_MKNOD: skipped with mknod's reason
            assertThat(r.skipped().get(0).reason()).startsWith("character device 1:3: mknod exited");
        }
    }

    @Test
    void anIndexIsResolvedToThePlatformsManifest() {
        Descriptor amd = StoreImages.image(store).layer(new TarBuilder().file("arch", "amd64").build()).manifest()
                .withPlatform(Platform.parse("linux/amd64"));
        Descriptor arm = StoreImages.image(store).platform("linux/arm64").layer(new TarBuilder().file("arch", "arm64")
                .build()).manifest().withPlatform(Platform.parse("linux/arm64"));
        Descriptor index = StoreImages.index(store, "example.com/multi:1", List.of(amd, arm));
        UnpackResult r = new Unpacker(store, UnpackOptions.defaults()).unpack(index,
                PlatformSelector.of(Platform.parse("linux/arm64")), target);
        assertThat(content("arch")).isEqualTo("arm64");
        assertThat(r.platform()).isEqualTo("linux/arm64/v8");
        assertThat(r.manifest().digest()).isEqualTo(arm.digest());
        assertDavitError(() -> new Unpacker(store, UnpackOptions.defaults()).unpack(index,
                PlatformSelector.allPlatforms(), tmp.resolve("other")), Kind.USAGE, "give PlatformSelector.of(platform)");
        assertDavitError(() -> new Unpacker(store, UnpackOptions.defaults()).unpack(index,
                PlatformSelector.of(Platform.parse("linux/s390x")), tmp.resolve("other")), Kind.NOT_FOUND,
                "no image for platform linux/s390x", "example.com/multi:1");
    }

    @Test
    void anotherPlatformIsANote() {
        Descriptor arm = StoreImages.image(store).platform("linux/arm64").layer(new TarBuilder().file("a", "a")
                .build()).manifest();
        UnpackResult r = new Unpacker(store, UnpackOptions.defaults()).unpack(arm,
                PlatformSelector.of(Platform.parse("linux/amd64")), target);
        assertThat(r.notes()).contains("the image is for linux/arm64/v8, not for linux/amd64");
    }

    @Test
    void artifactsAreNotUnpacked() {
        Descriptor d = StoreImages.image(store).configType("application/vnd.davit.test.artifact.v1")
                .layer(new TarBuilder().file("a", "a").build()).manifest();
        assertDavitError(() -> unpack(d), Kind.USAGE, "is not a container image", "only images can be unpacked");
        assertThat(target).doesNotExist();
    }

    @Test
    void aufsMetadataIsSkipped() {
        UnpackResult r = unpack(image(new TarBuilder().dir(".wh..wh.plnk").file(".wh..wh.plnk/1.2", "x")
                .file("a", "a").build()));
        assertThat(Tree.of(target).keySet()).containsExactly("a");
        assertThat(r.skipped()).extracting(UnpackResult.Skipped::path)
                .containsExactly(".wh..wh.plnk", ".wh..wh.plnk/1.2");
    }

    @Test
    void anArchiveEndingAfterItsLastDataIsCompleteButOneEndingInsideDataIsNot() {
        byte[] tar = new TarBuilder().file("a", "abc").file("b", "hello").build();
        unpack(image(Arrays.copyOf(tar, 3 * 512 + 5)));  // no padding, no end-of-archive blocks (umoci 0.4)
        assertThat(Tree.of(target).keySet()).containsExactly("a", "b");
        assertThat(content("b")).isEqualTo("hello");
        Path other = tmp.resolve("other");
        assertDavitError(() -> new Unpacker(store, UnpackOptions.defaults()).unpack(
                image(Arrays.copyOf(tar, 3 * 512 + 3)), PlatformSelector.host(), other), Kind.VERIFICATION,
                "layer 1/1", "not a valid tar stream");
        assertThat(other).doesNotExist();
    }

    @Test
    void countsAndLayers() {
        Descriptor d = image(new TarBuilder().dir("d").file("d/f", "12345").symlink("l", "d/f").hardlink("h", "d/f")
                .build());
        UnpackResult r = unpack(d);
        assertThat(r.directories()).isEqualTo(1);
        assertThat(r.files()).isEqualTo(1);
        assertThat(r.symlinks()).isEqualTo(1);
        assertThat(r.hardlinks()).isEqualTo(1);
        assertThat(r.bytes()).isEqualTo(5);
        assertThat(r.dir()).isEqualTo(target.toAbsolutePath());
        assertThat(r.platform()).isEqualTo("linux/amd64");
        assertThat(r.layers().get(0).diffId().toString()).startsWith("sha256:");
        assertThat(r.notes()).isEmpty();
    }

    private String content(String rel) {
        try {
            return Files.readString(target.resolve(rel));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
