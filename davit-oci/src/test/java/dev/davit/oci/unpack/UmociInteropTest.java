package dev.davit.oci.unpack;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * davit's rootfs equals {@code umoci unpack --rootless}'s for the same images: same paths, types, permission bits,
 * link targets, contents and link counts. Images come from umoci itself (whiteouts, an opaque directory, hard
 * links within a layer), from the kit's registry fixture (pulled by davit), and from layer tars written here
 * (hard links across layers, replaced directories, same-layer whiteout ordering) into a store that umoci reads
 * as an OCI layout.
 */
class UmociInteropTest {
    static TestRegistry registry;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        registry = TestRegistry.start();
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void theRegistryFixtureWithAWhiteout() throws IOException {
        PushedImage img = Fixtures.pushImage(registry, "unpack/fixture", "1");
        Path davit = tmp.resolve("davit");
        try (DavitClient client = DavitClient.create(ClientOptions.anonymous(tmp.resolve("store")))) {
            client.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
            UnpackResult r = client.unpack(img.reference(), davit, PlatformSelector.host(),
                    UnpackOptions.builder().privileges(UnpackOptions.Privileges.ROOTLESS).build());
            assertThat(r.layers()).hasSize(3);
            assertThat(r.whiteouts()).isEqualTo(1);
        }
        Path layout = copyLayout(img.layoutDir());
        assertSameTree(davit, umociUnpack(layout, img.layoutTag()));
        assertThat(Tree.of(davit)).containsKeys(Fixtures.HELLO_PATH, Fixtures.DATA_PATH)
                .doesNotContainKey(Fixtures.REMOVED_PATH);
    }

    @Test
    void anImageBuiltByUmoci() throws IOException {
        Tools.assumeAvailable(Tools.UMOCI);
        Path layout = tmp.resolve("layout");
        Path src = tmp.resolve("src");
        Path l1 = src.resolve("l1");
        write(l1.resolve("bin/tool"), "#!/bin/sh\necho tool\n", 0755);
        Files.createLink(l1.resolve("bin/tool-alias"), l1.resolve("bin/tool"));
        write(l1.resolve("etc/conf"), "a=1\n", 0644);
        write(l1.resolve("etc/secret"), "s\n", 0600);
        write(l1.resolve("opq/a"), "a", 0644);
        write(l1.resolve("opq/sub/c"), "c", 0644);
        write(l1.resolve("wh/gone"), "gone", 0644);
        write(l1.resolve("wh/stay"), "stay", 0644);
        write(l1.resolve("whdir/x"), "x", 0644);
        write(l1.resolve("suid"), "", 04755);
        write(l1.resolve("ro/file"), "ro", 0444);
        Files.setAttribute(l1.resolve("ro"), "unix:mode", 0555);
        Files.createDirectories(l1.resolve("empty"));
        Files.createSymbolicLink(l1.resolve("link"), Path.of("etc/conf"));
        Files.createSymbolicLink(l1.resolve("abs"), Path.of("/etc/conf"));
        Files.createSymbolicLink(l1.resolve("dangling"), Path.of("../nowhere"));
        Path l2 = src.resolve("l2");
        write(l2.resolve("new"), "new in opq", 0640);
        Path l3 = src.resolve("l3");
        write(l3.resolve("etc/conf"), "a=2\n", 0644);
        write(l3.resolve("link"), "now a file", 0644);
        fixTimes(src);

        String image = layout + ":rich";
        run("umoci", "init", "--layout", layout.toString());
        run("umoci", "new", "--image", image);
        run("umoci", "config", "--image", image, "--os", "linux", "--architecture", "amd64");
        run("umoci", "insert", "--rootless", "--image", image, l1.toString(), "/");
        run("umoci", "insert", "--rootless", "--image", image, "--opaque", l2.toString(), "/opq");
        run("umoci", "insert", "--rootless", "--image", image, "--whiteout", "/wh/gone");
        run("umoci", "insert", "--rootless", "--image", image, "--whiteout", "/whdir");
        run("umoci", "insert", "--rootless", "--image", image, l3.toString(), "/");

        OciStore store = OciStore.open(tmp.resolve("store"));
        Descriptor d = importLayout(layout, "rich", store);
        Path davit = tmp.resolve("davit");
        UnpackResult r = new Unpacker(store, UnpackOptions.builder()
                .privileges(UnpackOptions.Privileges.ROOTLESS).build()).unpack(d, PlatformSelector.host(), davit);
        assertThat(r.layers()).hasSize(5);
        SortedMap<String, Tree.Node> t = Tree.of(davit);
        assertThat(t).containsKeys("opq/new", "wh/stay", "bin/tool-alias").doesNotContainKeys("opq/a", "opq/sub",
                "wh/gone", "whdir");
        assertThat(t.get("bin/tool").nlink()).isEqualTo(2);
        assertSameTree(davit, umociUnpack(layout, "rich"));
    }

    @Test
    void layerTarsWrittenHere() throws IOException {
        Tools.assumeAvailable(Tools.UMOCI);
        OciStore store = OciStore.open(tmp.resolve("layout"));
        byte[] l1 = new TarBuilder()
                .dir("./", 0755)
                .dir("bin").file("bin/busybox", bytes("busybox"), 0755).hardlink("bin/sh", "bin/busybox")
                .dir("usr").dir("usr/lib").file("usr/lib/libc.so", bytes("libc"), 0755).symlink("lib", "usr/lib")
                .dir("etc").file("etc/passwd", bytes("root:x:0:0::/root:/bin/sh\n"), 0644)
                .file("etc/shadow", bytes("root:*::0:::::\n"), 0640)
                .dir("opt", 0700).dir("opt/app").file("opt/app/a", bytes("a"), 0644).dir("opt/app/cache")
                .file("opt/app/cache/c", bytes("c"), 0600)
                .dir("var").dir("var/run").file("var/run/pid", bytes("1"), 0644)
                .dir("tmp", 01777)
                .file("doomed", bytes("doomed"), 0644).hardlink("doomed-alias", "doomed")
                .dir("ro", 0555).file("ro/f", bytes("ro"), 0444)
                .build();
        byte[] l2 = new TarBuilder()
                .hardlink("usr/bin/env", "bin/busybox")            // hard link to a file of layer 1
                .dir("usr/bin")
                .file("opt/app/new", bytes("new"), 0644)            // before the opaque marker: stays
                .opaque("opt/app")
                .dir("opt/app/cache").file("opt/app/cache/d", bytes("d"), 0644)
                .symlink("var/run", "../run")                      // a directory becomes a link
                .dir("run").file("run/pid", bytes("2"), 0644)
                .file("etc/passwd", bytes("root:x:0:0::/root:/bin/ash\n"), 0644)
                .whiteout("", "doomed")                            // the alias keeps the content
                .dir("ro", 0755).file("ro/g", bytes("g"), 0644)
                .build();
        byte[] l3 = new TarBuilder()
                .whiteout("etc", "shadow")
                .file("lib", bytes("a file replaces the link"), 0644)
                .dir("tmp/x", 0700)
                .whiteout("usr", "lib")
                .build();
        Descriptor d = StoreImages.image(store).layer(l1).layer(l2, StoreImages.Codec.TAR).layer(l3).manifest();
        store.setEntry("crafted", d, Map.of());
        Path davit = tmp.resolve("davit");
        UnpackResult r = new Unpacker(store, UnpackOptions.builder()
                .privileges(UnpackOptions.Privileges.ROOTLESS).build()).unpack(d, PlatformSelector.host(), davit);
        SortedMap<String, Tree.Node> t = Tree.of(davit);
        assertThat(t.get("usr/bin/env").nlink()).isEqualTo(3);
        assertThat(t.get("doomed-alias").nlink()).isEqualTo(1);
        assertThat(t).doesNotContainKeys("doomed", "opt/app/a", "opt/app/cache/c", "etc/shadow", "usr/lib",
                "var/run/pid");
        assertThat(t.get("var/run").type()).isEqualTo("symlink");
        assertThat(r.hardlinks()).isEqualTo(3);
        assertSameTree(davit, umociUnpack(store.root(), "crafted"));
    }

    // ------------------------------------------------------------------ helpers

    /** Compares every path below both roots, and the roots' own modes. */
    static void assertSameTree(Path davit, Path umoci) throws IOException {
        SortedMap<String, Tree.Node> a = Tree.of(davit);
        SortedMap<String, Tree.Node> b = Tree.of(umoci);
        List<String> diff = new ArrayList<>();
        Set<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        for (String k : keys) {
            Tree.Node x = a.get(k);
            Tree.Node y = b.get(k);
            if (x == null || !x.equals(y)) {
                diff.add(k + ": davit " + x + ", umoci " + y);
            }
        }
        assertThat(diff).as("differences between davit (%s) and umoci (%s)", davit, umoci).isEmpty();
        assertThat(a).isNotEmpty();
        assertThat(Tree.node(davit).mode()).as("mode of the root").isEqualTo(Tree.node(umoci).mode());
    }

    /** {@code umoci unpack --rootless}; returns the bundle's rootfs. */
    Path umociUnpack(Path layout, String tag) {
        Path bundle = tmp.resolve("bundle-" + tag);
        run("umoci", "unpack", "--rootless", "--image", layout + ":" + tag, bundle.toString());
        return bundle.resolve("rootfs");
    }

    /** Puts the image tagged {@code tag} in an OCI layout into {@code store}; returns its manifest descriptor. */
    static Descriptor importLayout(Path layout, String tag, OciStore store) throws IOException {
        for (Descriptor m : ManifestParser.layoutIndex(Files.readAllBytes(layout.resolve("index.json")))) {
            if (!tag.equals(m.annotations().get(OciStore.REF_NAME))) {
                continue;
            }
            Descriptor d = m.withAnnotations(Map.of());
            ImageManifest im = (ImageManifest) ManifestParser.parse(blob(layout, d.digest()), d.mediaType());
            for (Descriptor c : im.children()) {
                store.putBlob(c, blob(layout, c.digest()));
            }
            store.putBlob(d, im.bytes());
            return store.setEntry("imported/" + tag, d, Map.of()).descriptor();
        }
        throw new IllegalStateException("no " + tag + " in " + layout);
    }

    private static byte[] blob(Path layout, Digest d) throws IOException {
        return Files.readAllBytes(layout.resolve("blobs").resolve(d.algorithm().id()).resolve(d.hex()));
    }

    /** A private copy of a shared fixture layout (umoci gets its own). */
    private Path copyLayout(Path layout) throws IOException {
        Path copy = tmp.resolve("layout-copy");
        try (Stream<Path> s = Files.walk(layout)) {
            for (Path p : s.toList()) {
                Path to = copy.resolve(layout.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        return copy;
    }

    private static void write(Path p, String content, int mode) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
        Files.setAttribute(p, "unix:mode", mode);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void fixTimes(Path root) throws IOException {
        FileTime t = FileTime.from(Instant.parse("2024-01-01T00:00:00Z"));
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                if (!Files.isSymbolicLink(p)) {
                    Files.setLastModifiedTime(p, t);
                }
            }
        }
    }

    private static void run(String... cmd) {
        try {
            Tools.run(cmd);
        } catch (IllegalStateException e) {
            throw new UncheckedIOException(new IOException(e.getMessage(), e));
        }
    }
}
