package dev.davit.oci.build;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LayerBuilderTest {
    @TempDir
    Path tmp;

    record Built(LayerBuilder.Layer layer, byte[] blob, byte[] tar, List<LayerFiles.Entry> entries) {
        Map<String, LayerFiles.Entry> byName() {
            return entries.stream().collect(Collectors.toMap(LayerFiles.Entry::name, Function.identity()));
        }
    }

    static Built build(Path dir, BuildOptions o) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LayerBuilder.Layer layer = new LayerBuilder(o).write(dir, out);
        byte[] blob = out.toByteArray();
        byte[] tar = LayerFiles.decompress(blob, o.compression());
        return new Built(layer, blob, tar, LayerFiles.entries(tar));
    }

    static BuildOptions opts(Compression c) {
        return BuildOptions.builder().compression(c).build();
    }

    Path sample() {
        return LayerFiles.sampleTree(tmp.resolve("src"), tmp.resolve("outside"));
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void digestsDescribeTheStreamAndTheTar(Compression c) {
        Built b = build(sample(), opts(c));
        assertThat(b.layer().descriptor().mediaType()).isEqualTo(c.mediaType());
        assertThat(b.layer().descriptor().size()).isEqualTo(b.blob().length);
        assertThat(b.layer().descriptor().digest()).isEqualTo(Digest.sha256(b.blob()));
        assertThat(b.layer().diffId()).isEqualTo(Digest.sha256(b.tar()));
        assertThat(b.layer().tarSize()).isEqualTo(b.tar().length);
        assertThat(b.layer().entries()).isEqualTo(b.entries().size());
        if (c == Compression.NONE) {
            assertThat(b.layer().descriptor().digest()).isEqualTo(b.layer().diffId());
        } else {
            assertThat(b.blob().length).isLessThan(b.tar().length);
        }
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void sameDirectoryGivesByteIdenticalLayers(Compression c) throws Exception {
        Path dir = sample();
        Built first = build(dir, opts(c));
        Built second = build(dir, opts(c));
        assertThat(second.blob()).isEqualTo(first.blob());

        LayerFiles.touchAll(dir, Instant.parse("2030-01-02T03:04:05Z"));
        Built touched = build(dir, opts(c));
        assertThat(touched.layer()).isEqualTo(first.layer());

        // a copy of the tree elsewhere, made in another order, is the same layer too
        Path copy = LayerFiles.sampleTree(tmp.resolve("elsewhere/src"), tmp.resolve("elsewhere/outside"));
        Files.delete(copy.resolve("outside-link"));
        Files.createSymbolicLink(copy.resolve("outside-link"), tmp.resolve("outside"));
        assertThat(build(copy, opts(c)).layer().descriptor()).isEqualTo(first.layer().descriptor());

        Files.writeString(dir.resolve("hello.txt"), "hellO\n");
        Built changed = build(dir, opts(c));
        assertThat(changed.layer().diffId()).isNotEqualTo(first.layer().diffId());
        assertThat(changed.layer().descriptor().digest()).isNotEqualTo(first.layer().descriptor().digest());
    }

    @Test
    void modeChangeAndRenameChangeTheLayer() throws Exception {
        Path dir = sample();
        Digest base = build(dir, opts(Compression.NONE)).layer().diffId();
        Files.setPosixFilePermissions(dir.resolve("hello.txt"), java.nio.file.attribute.PosixFilePermissions
                .fromString("rwxr--r--"));
        Digest chmod = build(dir, opts(Compression.NONE)).layer().diffId();
        assertThat(chmod).isNotEqualTo(base);
        Files.move(dir.resolve("hello.txt"), dir.resolve("hello2.txt"));
        assertThat(build(dir, opts(Compression.NONE)).layer().diffId()).isNotEqualTo(chmod);
    }

    @Test
    void entriesAreSortedByBytesWithDirectoriesFirstAndNormalisedMetadata() {
        Built b = build(sample(), opts(Compression.GZIP));
        List<String> names = b.entries().stream().map(e -> e.name().replaceAll("/$", "")).toList();
        List<String> sorted = new ArrayList<>(names);
        sorted.sort((x, y) -> Arrays.compareUnsigned(x.getBytes(StandardCharsets.UTF_8), y.getBytes(StandardCharsets.UTF_8)));
        assertThat(names).isEqualTo(sorted).doesNotHaveDuplicates();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            int slash = n.lastIndexOf('/');
            if (slash > 0) {
                assertThat(names.subList(0, i)).as("parent of " + n).contains(n.substring(0, slash));
            }
        }
        assertThat(names).contains("bin", "bin/run.sh", "data", "data/a.bin", "data/b.bin", "dangling", "empty-dir",
                "empty-file", "etc", "etc/app.conf", "etc/link.conf", "etc/secret", "hello.txt", "outside-link",
                LayerFiles.LONG_NAME);
        if (LayerFiles.UNICODE_NAMES) {
            assertThat(names).contains(LayerFiles.UNICODE_NAME);
        }
        assertThat(names).noneMatch(n -> n.startsWith("/") || n.startsWith("./") || n.isEmpty());
        for (LayerFiles.Entry e : b.entries()) {
            assertThat(e.uid()).as(e.name()).isZero();
            assertThat(e.gid()).as(e.name()).isZero();
            assertThat(e.uname()).as(e.name()).isEmpty();
            assertThat(e.gname()).as(e.name()).isEmpty();
            assertThat(e.mtime()).as(e.name()).isZero();
        }
        assertThat(b.layer().skipped()).isEmpty();
    }

    @Test
    void keepsPermissionBitsSymlinksAndHardlinks() throws Exception {
        Path dir = sample();
        Tools.run("chmod", "4755", dir.resolve("bin/run.sh").toString());
        Tools.run("chmod", "2775", dir.resolve("data").toString());
        Tools.run("chmod", "1777", dir.resolve("empty-dir").toString());
        Map<String, LayerFiles.Entry> e = build(dir, opts(Compression.ZSTD)).byName();
        assertThat(e.get("bin/run.sh").mode() & 07777).isEqualTo(04755);
        assertThat(e.get("data/").mode() & 07777).isEqualTo(02775);
        assertThat(e.get("empty-dir/").mode() & 07777).isEqualTo(01777);
        assertThat(e.get("etc/secret").mode() & 07777).isEqualTo(0600);
        assertThat(e.get("etc/secret").text()).isEqualTo("s3cret\n");
        assertThat(e.get("hello.txt").mode() & 0777).isEqualTo(Files.getAttribute(dir.resolve("hello.txt"),
                "unix:mode") instanceof Integer m ? m & 0777 : -1);
        assertThat(e.get("empty-file").content()).isEmpty();
        assertThat(e.get("empty-dir/").type()).isEqualTo('5');

        assertThat(e.get("etc/link.conf").type()).isEqualTo('2');
        assertThat(e.get("etc/link.conf").linkName()).isEqualTo("app.conf");
        assertThat(e.get("dangling").type()).isEqualTo('2');
        assertThat(e.get("dangling").linkName()).isEqualTo("/does/not/exist");
        assertThat(e.get("outside-link").type()).as("a symlink to a directory is not followed").isEqualTo('2');
        assertThat(e.get("outside-link").linkName()).isEqualTo(tmp.resolve("outside").toString());
        assertThat(e.keySet()).noneMatch(n -> n.contains("not-in-the-layer"));

        assertThat(e.get("data/a.bin").type()).isEqualTo('0');
        assertThat(e.get("data/a.bin").text()).isEqualTo("same inode\n");
        assertThat(e.get("data/b.bin").type()).isEqualTo('1');
        assertThat(e.get("data/b.bin").linkName()).isEqualTo("data/a.bin");
        assertThat(e.get("data/b.bin").content()).isEmpty();
    }

    @Test
    void longAndNonAsciiNamesUsePaxHeaders() {
        Built b = build(sample(), opts(Compression.NONE));
        Map<String, LayerFiles.Entry> e = b.byName();
        assertThat(e.get(LayerFiles.LONG_NAME).text()).isEqualTo("long\n");
        if (LayerFiles.UNICODE_NAMES) {
            assertThat(e.get(LayerFiles.UNICODE_NAME).text()).isEqualTo("unicode\n");
        }
        assertThat(new String(b.tar(), StandardCharsets.ISO_8859_1)).contains("path=" + LayerFiles.LONG_NAME)
                .contains("PaxHeaders.0/");
        // a long symlink target and a long hardlink target
        Path dir = tmp.resolve("links");
        String target = "x/".repeat(80) + "target";
        try {
            Files.createDirectories(dir);
            Files.createSymbolicLink(dir.resolve("sym"), Path.of(target));
            LayerFiles.write(dir.resolve(LayerFiles.LONG_NAME), "first\n");
            Files.createLink(dir.resolve("zz-second"), dir.resolve(LayerFiles.LONG_NAME));
        } catch (java.io.IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
        Map<String, LayerFiles.Entry> l = build(dir, opts(Compression.NONE)).byName();
        assertThat(l.get("sym").linkName()).isEqualTo(target);
        assertThat(l.get("zz-second").type()).isEqualTo('1');
        assertThat(l.get("zz-second").linkName()).isEqualTo(LayerFiles.LONG_NAME);
    }

    @Test
    void paxRecordLengthsCountThemselves() {
        for (int len = 1; len < 1200; len++) {
            String v = "v".repeat(len);
            byte[] r = TarWriter.paxRecords(new java.util.TreeMap<>(Map.of("path", v)));
            String s = new String(r, StandardCharsets.UTF_8);
            assertThat(Integer.parseInt(s.substring(0, s.indexOf(' ')))).as("value length " + len)
                    .isEqualTo(r.length);
        }
    }

    @Test
    void gzipHasAFixedHeaderAndTheLevelMatters() {
        Path dir = sample();
        byte[] six = build(dir, opts(Compression.GZIP)).blob();
        assertThat(Arrays.copyOf(six, 10)).containsExactly(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff);
        byte[] one = build(dir, BuildOptions.builder().compressionLevel(1).build()).blob();
        byte[] nine = build(dir, BuildOptions.builder().compressionLevel(9).build()).blob();
        assertThat(one[8]).isEqualTo((byte) 4);
        assertThat(nine[8]).isEqualTo((byte) 2);
        assertThat(LayerFiles.decompress(one, Compression.GZIP)).isEqualTo(LayerFiles.decompress(six, Compression.GZIP));
        assertThat(one).isNotEqualTo(six);
    }

    @Test
    void zstdIsOneDeterministicFrame() {
        Path dir = sample();
        byte[] a = build(dir, opts(Compression.ZSTD)).blob();
        assertThat(Arrays.copyOf(a, 4)).containsExactly(0x28, 0xb5, 0x2f, 0xfd);
        byte[] nineteen = build(dir, BuildOptions.builder().compression(Compression.ZSTD).compressionLevel(19).build())
                .blob();
        assertThat(build(dir, BuildOptions.builder().compression(Compression.ZSTD).compressionLevel(19).build()).blob())
                .isEqualTo(nineteen);
        assertThat(LayerFiles.decompress(nineteen, Compression.ZSTD)).isEqualTo(LayerFiles.decompress(a, Compression.ZSTD));
    }

    @Test
    void bigFilesAreStreamedAndSurviveChunkBoundaries() throws Exception {
        Path dir = tmp.resolve("big");
        Files.createDirectories(dir);
        byte[] data = dev.davit.oci.testkit.Fixtures.randomBytes(3 * LayerStreams.CHUNK + 12_345, 9);
        Files.write(dir.resolve("random.bin"), data);
        for (Compression c : Compression.values()) {
            Built b = build(dir, opts(c));
            assertThat(b.byName().get("random.bin").content()).isEqualTo(data);
            assertThat(b.tar().length % 512).isZero();
        }
    }

    @Test
    void mtimesAreFixedOrKept() throws Exception {
        Path dir = sample();
        Instant epoch = Instant.parse("2023-11-14T22:13:20Z");
        Built fixed = build(dir, BuildOptions.builder().fileMtime(epoch.plusMillis(999)).build());
        assertThat(fixed.entries()).allSatisfy(e -> assertThat(e.mtime()).isEqualTo(epoch.getEpochSecond()));
        Built kept = build(dir, BuildOptions.builder().keepMtimes(true).build());
        assertThat(kept.byName().get("hello.txt").mtime())
                .isEqualTo(Instant.parse("2021-06-01T12:00:00Z").getEpochSecond());
        Files.setLastModifiedTime(dir.resolve("hello.txt"), FileTime.from(Instant.parse("1960-01-01T00:00:00Z")));
        Built old = build(dir, BuildOptions.builder().keepMtimes(true).build());
        assertThat(old.byName().get("hello.txt").mtime()).as("negative mtime via pax")
                .isEqualTo(Instant.parse("1960-01-01T00:00:00Z").getEpochSecond());
    }

    @Test
    void preserveOwnerKeepsIdsAndNames() throws Exception {
        Path dir = sample();
        int uid = (Integer) Files.getAttribute(dir.resolve("hello.txt"), "unix:uid");
        String owner = Files.getOwner(dir.resolve("hello.txt")).getName();
        Map<String, LayerFiles.Entry> e = build(dir, BuildOptions.builder().preserveOwner(true).build()).byName();
        assertThat(e.get("hello.txt").uid()).isEqualTo(uid);
        assertThat(e.get("hello.txt").uname()).isEqualTo(owner.equals(Integer.toString(uid)) ? "" : owner);
    }

    @Test
    void ownersGivenByPathWinAndEveryOtherEntryStaysRoot() throws Exception {
        Path dir = sample();
        Map<String, BuildOptions.Owner> owners = Map.of("etc/secret", new BuildOptions.Owner(0, 42),
                "etc", new BuildOptions.Owner(7, 8), "etc/link.conf", new BuildOptions.Owner(100000, 100001),
                "data/b.bin", new BuildOptions.Owner(5, 5), "not/there", new BuildOptions.Owner(9, 9));
        Map<String, LayerFiles.Entry> e = build(dir, BuildOptions.builder().owners(owners).build()).byName();
        assertThat(e.get("etc/secret").uid()).isZero();
        assertThat(e.get("etc/secret").gid()).isEqualTo(42);
        assertThat(e.get("etc/secret").gname()).isEmpty();
        assertThat(e.get("etc/").uid()).isEqualTo(7);
        assertThat(e.get("etc/link.conf").uid()).isEqualTo(100000); // a symlink's own owner
        assertThat(e.get("data/b.bin").gid()).isEqualTo(5); // a hardlink entry too
        assertThat(e.get("data/a.bin").gid()).isZero();
        assertThat(e.get("hello.txt").uid()).isZero();
        // with preserveOwner, paths not listed keep their own owner and name, listed ones lose the names
        int uid = (Integer) Files.getAttribute(dir.resolve("hello.txt"), "unix:uid");
        Map<String, LayerFiles.Entry> p = build(dir, BuildOptions.builder().preserveOwner(true).owners(owners)
                .build()).byName();
        assertThat(p.get("hello.txt").uid()).isEqualTo(uid);
        assertThat(p.get("etc/secret").gid()).isEqualTo(42);
        assertThat(p.get("etc/secret").uname()).isEmpty();
        assertThat(BuildOptions.builder().owners(owners).build().toBuilder().build().owners()).isEqualTo(owners);
    }

    @Test
    void specialFilesAreSkippedAndListed() throws Exception {
        Path dir = tmp.resolve("special");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("regular"), "r");
        Tools.run("mkfifo", dir.resolve("fifo").toString());
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(dir.resolve("sock")));
            Built b = build(dir, opts(Compression.GZIP));
            assertThat(b.byName()).containsOnlyKeys("regular");
            assertThat(b.layer().skipped()).containsExactly("fifo", "sock");
        }
    }

    @Test
    void emptyDirectoryIsAnEmptyArchive() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        Built b = build(dir, opts(Compression.NONE));
        assertThat(b.tar()).hasSize(1024).containsOnly(0);
        assertThat(b.entries()).isEmpty();
    }

    @Test
    void badDirectories() throws Exception {
        LayerBuilder lb = new LayerBuilder(BuildOptions.defaults());
        assertDavitError(() -> lb.write(tmp.resolve("missing"), new ByteArrayOutputStream()), Kind.USAGE,
                "does not exist");
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertDavitError(() -> lb.write(file, new ByteArrayOutputStream()), Kind.USAGE, "is not a directory");
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"hellO\n", "a longer hello\n", ""})
    void aDirectoryChangedBetweenThePassesStoresNothing(String newContent) throws Exception {
        Path dir = sample();
        OciStore store = OciStore.open(tmp.resolve("store"));
        LayerBuilder lb = new LayerBuilder(BuildOptions.defaults());
        Digest[] expected = new Digest[1];
        try (var s = store.session()) {
            assertDavitError(() -> lb.build(dir, store, e -> {
                if (e instanceof dev.davit.oci.copy.ProgressEvent.BlobStarted started) {
                    expected[0] = started.descriptor().digest();
                    try {
                        Files.writeString(dir.resolve("hello.txt"), newContent);
                    } catch (java.io.IOException ex) {
                        throw new java.io.UncheckedIOException(ex);
                    }
                }
            }), Kind.VERIFICATION, "changed while its layer was being written", "nothing was stored");
        }
        assertThat(expected[0]).isNotNull();
        assertThat(store.hasBlob(expected[0])).isFalse();
        try (var files = Files.list(store.root().resolve(".davit/ingest"))) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".partial"));
        }
        LayerBuilder.Layer again;
        try (var s = store.session()) {
            again = lb.build(dir, store, e -> { });
        }
        assertThat(store.hasBlob(again.descriptor().digest())).as("the next build works").isTrue();
    }

    @Test
    void undecodableFileNamesAreRefused() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("raw"));
        Tools.run("sh", "-c", "printf x > \"$1/raw$(printf '\\377').txt\"", "sh", dir.toString());
        assertDavitError(() -> new LayerBuilder(BuildOptions.defaults()).write(dir, new ByteArrayOutputStream()),
                Kind.USAGE, "cannot be decoded", "rename it");
    }

    @Test
    void buildsIntoTheStoreOnceThenFindsItCached() {
        Path dir = sample();
        OciStore store = OciStore.open(tmp.resolve("store"));
        LayerBuilder lb = new LayerBuilder(BuildOptions.defaults());
        List<String> events = new ArrayList<>();
        LayerBuilder.Layer first;
        try (var s = store.session()) {
            first = lb.build(dir, store, e -> events.add(e.getClass().getSimpleName()));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertThat(first.cached()).isFalse();
        assertThat(events).containsExactly("BlobStarted", "BlobDone");
        assertThat(store.hasBlob(first.descriptor().digest())).isTrue();
        byte[] stored = store.readBlob(first.descriptor().digest(), 1 << 20);
        assertThat(stored).isEqualTo(build(dir, BuildOptions.defaults()).blob());
        assertThat(first.descriptor().mediaType()).isEqualTo(MediaTypes.OCI_LAYER_GZIP);

        LayerBuilder.Layer again = lb.build(dir, store, e -> { });
        assertThat(again.cached()).isTrue();
        assertThat(again.descriptor()).isEqualTo(first.descriptor());
        assertThat(store.fsck(false).clean()).isTrue();
    }
}
