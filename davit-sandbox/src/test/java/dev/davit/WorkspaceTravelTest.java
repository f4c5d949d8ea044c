package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceImages;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots that travel, between two davit homes (two "machines") over a real registry and through a bundle: home A
 * pushes a snapshot; home B, which never pulled the environment, makes a workspace of it with the same files,
 * baseline, diff and snapshot; the snapshot is found from the environment through the registry's tag schema index
 * (docker-registry has no referrers API); a tampered layer is refused and leaves nothing.
 */
class WorkspaceTravelTest {
    private static final String IMAGE = "localhost/test/travel-base:1";

    @TempDir
    Path tmp;

    @BeforeEach
    void image() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        Path src = tmp.resolve("src");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : List.of("sh", "echo", "cat", "sleep", "true", "ls", "rm", "mkdir", "chmod", "stat", "test")) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("a/store")))) {
            c.build(src, IMAGE, BuildOptions.defaults(), ProgressListener.NONE);
        }
        Path seed = Files.createDirectories(tmp.resolve("seed/src"));
        Files.writeString(seed.resolve("main.c"), "int main() { return 1; }\n");
        Files.writeString(tmp.resolve("seed/README"), "hello\n");
    }

    private Davit open(String machine) {
        return Davit.builder().home(tmp.resolve(machine)).clientOptions(ClientOptions.anonymous(tmp.resolve(
                "ignored"))).build();
    }

    private static String sh(OpenWorkspace ws, String script) {
        ExecResult r = ws.exec("sh", "-c", script);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    /** Workspace "proj" of home A: seeded, then changed; snapshot s1 of that; then changed again. */
    private static List<WorkspaceDiff.Change> changedWithSnapshot(OpenWorkspace ws) {
        sh(ws, "echo 'int main() { return 0; }' > src/main.c; rm README; mkdir -p docs; echo notes > docs/n.md;"
                + " chmod 0755 docs/n.md");
        List<WorkspaceDiff.Change> atS1 = ws.files().diff().changes();
        ws.snapshot("s1");
        sh(ws, "echo later > later.txt");
        return atS1;
    }

    private static void seesSnapshotS1(OpenWorkspace b, List<WorkspaceDiff.Change> atS1) {
        assertThat(sh(b, "cat src/main.c docs/n.md; ls")).isEqualTo("int main() { return 0; }\nnotes\ndocs\nsrc\n");
        assertThat(b.files().diff().changes()).isEqualTo(atS1);
        assertThat(b.snapshots()).extracting(Workspaces.Snapshot::name).containsExactly("s1");
        b.reset();
        assertThat(sh(b, "cat README src/main.c")).isEqualTo("hello\nint main() { return 1; }\n"); // the baseline
        b.reset("s1");
        assertThat(sh(b, "test -e later.txt || echo absent")).isEqualTo("absent\n");
    }

    @Test
    void aSnapshotPushedByOneHomeIsAWorkspaceOfAnotherThatNeverSawTheEnvironment() throws Exception {
        Tools.assumeAvailable(Tools.REGISTRY);
        try (TestRegistry registry = TestRegistry.start(); Davit a = open("a")) {
            String ref = registry.hostPort() + "/team/proj:s1";
            List<WorkspaceDiff.Change> atS1;
            WorkspaceImages.SnapshotPush pushed;
            try (OpenWorkspace ws = a.newWorkspace(IMAGE).name("proj").seed(tmp.resolve("seed"))
                    .ttl(Duration.ofHours(1)).open()) {
                atS1 = changedWithSnapshot(ws);
                pushed = ws.pushSnapshot("s1", ref, false);
                // the same snapshot, the same artifact
                assertThat(ws.pushSnapshot("s1", registry.hostPort() + "/team/proj:again", true).digest())
                        .isEqualTo(pushed.digest());
            }
            assertThat(pushed.pushed()).isTrue();
            assertThat(pushed.indexed()).as("docker-registry has no referrers API: the tag schema index").isTrue();
            assertThat(pushed.environment()).isEqualTo(IMAGE);

            // found from the environment, in the snapshot's repository, through the sha256- tag
            String env = registry.hostPort() + "/team/proj@" + pushed.environmentDigest();
            List<Descriptor> referrers = a.client().artifacts().referrers(env, WorkspaceImages.SNAPSHOT_ARTIFACT_TYPE);
            assertThat(referrers).extracting(d -> d.digest().toString()).containsExactly(pushed.digest());
            assertThat(referrers.get(0).annotations()).containsEntry(WorkspaceImages.SNAPSHOT_NAME, "s1");
            assertThat(a.client().artifacts().referrers(env, "application/vnd.example.other")).isEmpty();
            ImageManifest m = (ImageManifest) a.client().inspectRemote(ref).manifest();
            assertThat(m.artifactType()).isEqualTo(WorkspaceImages.SNAPSHOT_ARTIFACT_TYPE);
            assertThat(m.subject().digest().toString()).isEqualTo(pushed.environmentDigest());

            try (Davit b = open("b")) {
                assertThat(b.client().images()).isEmpty(); // never saw the environment
                try (OpenWorkspace ws = b.newWorkspaceFrom(ref).name("proj-b").open()) {
                    seesSnapshotS1(ws, atS1);
                    assertThat(ws.info().seed()).contains(ref);
                }
            }

            // a layer altered in the registry is refused, and nothing is left of the workspace
            Path data = registry.blobDataPath(m.layers().get(1).digest().toString());
            byte[] bytes = Files.readAllBytes(data);
            bytes[bytes.length / 2] ^= 0x20;
            Files.write(data, bytes);
            try (Davit c = open("c")) {
                assertThatThrownBy(() -> c.newWorkspaceFrom(ref).open()).isInstanceOf(DavitException.class)
                        .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.VERIFICATION);
                assertThat(c.workspaces().list()).isEmpty();
            }
        }
    }

    @Test
    void aSnapshotTravelsInABundleToAHomeWithNoRegistry() throws Exception {
        Path bundle = tmp.resolve("proj.tar");
        List<WorkspaceDiff.Change> atS1;
        try (Davit a = open("a"); OpenWorkspace ws = a.newWorkspace(IMAGE).seed(tmp.resolve("seed")).open()) {
            atS1 = changedWithSnapshot(ws);
            // through the API alone: the handle exports, the other home imports and restores
            WorkspaceImages.SnapshotPush stored = ws.exportSnapshot("s1", "localhost/snapshots/proj:s1", bundle);
            assertThat(stored.pushed()).isFalse();
            assertThat(bundle).isRegularFile();
        }
        try (Davit d = open("d")) {
            assertThat(d.images().importBundle(bundle)).extracting(Images.Image::reference)
                    .contains("localhost/snapshots/proj:s1");
            try (OpenWorkspace ws = d.newWorkspaceFrom("localhost/snapshots/proj:s1").open()) {
                seesSnapshotS1(ws, atS1);
            }
        }
    }

    /**
     * A snapshot's bundle from a stranger with one more {@code index.json} entry: a name the receiving home already
     * gives another image ({@code localhost/victim/bb:1}). The import is refused naming it, and nothing is named;
     * a restore from the bundle imports only the snapshot and its environment; only when asked to overwrite does the
     * name move.
     */
    @Test
    void aSnapshotBundleRenamesNoImageTheHomeHas() throws Exception {
        String victim = "localhost/victim/bb:1";
        Path bundle = tmp.resolve("proj.tar");
        String env;
        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.writeString(other.resolve("sender"), "the sender's\n");
        try (Davit a = open("a"); OpenWorkspace ws = a.newWorkspace(IMAGE).seed(tmp.resolve("seed")).open()) {
            ws.snapshot("s1");
            ws.pushSnapshot("s1", "localhost/snapshots/proj:s1", true);
            env = "localhost/snapshots/proj@" + a.client().find(IMAGE).orElseThrow().descriptor().digest();
            a.client().build(other, victim, BuildOptions.defaults(), ProgressListener.NONE);
            a.client().store().setEntry(env, a.client().find(IMAGE).orElseThrow().descriptor(), java.util.Map.of());
            a.client().bundles().export(List.of("localhost/snapshots/proj:s1", env, victim), bundle,
                    dev.davit.oci.bundle.ExportOptions.defaults());
        }
        try (Davit d = open("d")) {
            Files.writeString(other.resolve("sender"), "the victim's own\n");
            d.client().build(other, victim, BuildOptions.defaults(), ProgressListener.NONE);
            dev.davit.oci.digest.Digest own = d.client().find(victim).orElseThrow().descriptor().digest();
            assertThatThrownBy(() -> d.client().bundles().importBundle(bundle, ImportOptions.defaults(),
                    ProgressListener.NONE))
                    .isInstanceOf(DavitException.class).satisfies(e -> {
                        assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
                        assertThat(e.getMessage()).contains("would rename 1 reference the store already has to other"
                                + " images: " + victim + " (" + own.shortHex() + " -> ")
                                .contains("ImportOptions.withOverwrite(true)").doesNotContain("\n");
                    });
            assertThat(d.client().find(victim).orElseThrow().descriptor().digest()).isEqualTo(own);
            assertThat(d.client().find("localhost/snapshots/proj:s1")).isEmpty();
            // a restore from the bundle takes only the snapshot and its environment: the extra entry is left out
            WorkspaceImages.Restored r = dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(d.workspaces(), d.client(), null).createFromBundle(bundle,
                    "localhost/snapshots/proj:s1", (t, carried) -> dev.davit.sandbox.CreateSpec.builder(t.rootfs())
                            .image(t.image()).backend(t.backend()).build(), null, null, null, null);
            assertThat(r.snapshot().name()).isEqualTo("s1");
            d.workspaces().rm(r.workspace().id());
            assertThat(d.client().find(victim).orElseThrow().descriptor().digest()).isEqualTo(own);
            assertThat(d.client().store().entries()).extracting(dev.davit.oci.store.StoreEntry::name)
                    .containsExactlyInAnyOrder(victim, "localhost/snapshots/proj:s1", env);
            d.client().bundles().importBundle(bundle, ImportOptions.defaults().withOverwrite(true),
                    ProgressListener.NONE);
            assertThat(d.client().find(victim).orElseThrow().descriptor().digest()).isNotEqualTo(own);
        }
    }

    /**
     * A stranger's snapshot in a registry whose layer is refused ({@code ../}): nothing of it stays in the receiving
     * store under a name, neither its tag (the next create asks the registry again) nor its environment's
     * {@code REPOSITORY@DIGEST} (which a later commit of another workspace on that image would take as its base).
     */
    @Test
    void aRefusedSnapshotLeavesNoNameInTheStore() throws Exception {
        Tools.assumeAvailable(Tools.REGISTRY);
        try (TestRegistry registry = TestRegistry.start(); Davit a = open("a")) {
            String evil = registry.hostPort() + "/stranger/evil:s1";
            Descriptor env;
            try (OpenWorkspace ws = a.newWorkspace(IMAGE).seed(tmp.resolve("seed")).open()) {
                ws.snapshot("s1");
                ws.pushSnapshot("s1", "localhost/snapshots/real:s1", true);
                env = a.client().find(IMAGE).orElseThrow().descriptor();
            }
            crafted(a.client(), "localhost/snapshots/real:s1", tarOf("../../escape", org.apache.commons.compress
                    .archivers.tar.TarConstants.LF_NORMAL, 0644, "x"), evil);
            a.client().push(env, registry.hostPort() + "/stranger/evil@" + env.digest(), ProgressListener.NONE);
            a.client().push(a.client().find(evil).orElseThrow().descriptor(), evil, ProgressListener.NONE);
            try (Davit d = open("d")) {
                for (int i = 0; i < 2; i++) { // twice: the second asks the registry again, and is refused again
                    assertThatThrownBy(() -> d.newWorkspaceFrom(evil).open()).isInstanceOf(DavitException.class)
                            .extracting(e -> ((DavitException) e).kind())
                            .isEqualTo(DavitException.Kind.VERIFICATION);
                    assertThat(d.client().store().entries()).as("no name left by the refused restore").isEmpty();
                    assertThat(d.workspaces().list()).isEmpty();
                }
            }
            assertThat(tmp.resolve("escape")).doesNotExist();
        }
    }

    /** {@code stored}'s manifest with its workspace layer replaced by {@code tar} (gzip), named {@code as}. */
    private static void crafted(DavitClient client, String stored, byte[] tar, String as) throws Exception {
        crafted(client, stored, null, tar, as);
    }

    /**
     * {@code stored}'s manifest with its baseline layer replaced by {@code baseline} (unless null) and its workspace
     * layer by {@code tar} (gzip), named {@code as}.
     */
    private static void crafted(DavitClient client, String stored, byte[] baseline, byte[] tar, String as)
            throws Exception {
        if (baseline != null) {
            crafted(client, stored, 0, baseline, as);
            stored = as;
        }
        crafted(client, stored, 1, tar, as);
    }

    /** {@code stored}'s manifest with its layer {@code index} replaced by {@code tar} (gzip), named {@code as}. */
    private static void crafted(DavitClient client, String stored, int index, byte[] tar, String as)
            throws Exception {
        var store = client.store();
        Descriptor top = client.find(stored).orElseThrow().descriptor();
        var m = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(store.readManifest(top).bytes());
        java.io.ByteArrayOutputStream gz = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream out = new java.util.zip.GZIPOutputStream(gz)) {
            out.write(tar);
        }
        byte[] blob = gz.toByteArray();
        dev.davit.oci.digest.Digest d = dev.davit.oci.digest.Digest.sha256(blob);
        try (AutoCloseable session = store.session()) {
            store.putBlob(new Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", d, blob.length), blob);
            var layer = (com.fasterxml.jackson.databind.node.ObjectNode) m.get("layers").get(index);
            layer.put("digest", d.toString());
            layer.put("size", blob.length);
            byte[] bytes = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(m);
            Descriptor md = new Descriptor(top.mediaType(), dev.davit.oci.digest.Digest.sha256(bytes), bytes.length);
            store.putBlob(md, bytes);
            store.setEntry(as, md, java.util.Map.of());
        }
    }

    /** A tar of one entry: {@code name} of {@code type}, mode {@code mode}, content {@code body}. */
    private static byte[] tarOf(String name, byte type, int mode, String body) throws Exception {
        return tarOf(List.of(name), type, mode, body);
    }

    /** A tar of empty files named {@code names}. */
    private static byte[] tarOfEmpty(List<String> names) throws Exception {
        return tarOf(names, org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL, 0644, "");
    }

    /** A tar of entries {@code names}, each of {@code type}, mode {@code mode}, content {@code body}. */
    private static byte[] tarOf(List<String> names, byte type, int mode, String body) throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(bytes)) {
            out.setLongFileMode(org.apache.commons.compress.archivers.tar.TarArchiveOutputStream.LONGFILE_POSIX);
            byte[] b = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            for (String name : names) {
                var e = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(name, type);
                e.setMode(mode);
                if (type == org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL) {
                    e.setSize(b.length);
                }
                out.putArchiveEntry(e);
                if (type == org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL) {
                    out.write(b);
                }
                out.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    /**
     * A snapshot crafted by whoever controls a registry: its parts are extracted as untrusted archives are. A setuid
     * file loses the bit, a fifo is not made, a name with {@code ..} is refused and nothing is left of the workspace
     * (nor of its temp trees).
     */
    @Test
    void aCraftedSnapshotIsExtractedAsAnUntrustedArchive() throws Exception {
        try (Davit a = open("a"); OpenWorkspace ws = a.newWorkspace(IMAGE).seed(tmp.resolve("seed")).open()) {
            ws.snapshot("s1");
            ws.pushSnapshot("s1", "localhost/snapshots/real:s1", true);
            crafted(a.client(), "localhost/snapshots/real:s1", tarOf("tool", org.apache.commons.compress.archivers
                    .tar.TarConstants.LF_NORMAL, 04755, "#!/bin/sh\n"), "localhost/snapshots/setuid:s1");
            try (OpenWorkspace b = a.newWorkspaceFrom("localhost/snapshots/setuid:s1").open()) {
                assertThat(sh(b, "stat -c %a tool 2>/dev/null || ls -l tool")).doesNotStartWith("4");
            }
            crafted(a.client(), "localhost/snapshots/real:s1", tarOf("p", org.apache.commons.compress.archivers.tar
                    .TarConstants.LF_FIFO, 0644, ""), "localhost/snapshots/fifo:s1");
            try (OpenWorkspace b = a.newWorkspaceFrom("localhost/snapshots/fifo:s1").open()) {
                assertThat(sh(b, "test -e p || echo absent")).isEqualTo("absent\n");
            }
            int before = a.workspaces().list().size();
            crafted(a.client(), "localhost/snapshots/real:s1", tarOf("../../escape", org.apache.commons.compress
                    .archivers.tar.TarConstants.LF_NORMAL, 0644, "x"), "localhost/snapshots/escape:s1");
            assertThatThrownBy(() -> a.newWorkspaceFrom("localhost/snapshots/escape:s1").open())
                    .isInstanceOf(DavitException.class).extracting(e -> ((DavitException) e).kind())
                    .isEqualTo(DavitException.Kind.VERIFICATION);
            assertThat(a.workspaces().list()).hasSize(before);
            assertThat(tmp.resolve("escape")).doesNotExist();
            try (var leftovers = Files.list(tmp.resolve("a/workspaces"))) {
                assertThat(leftovers.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".from-"));
            }
        }
    }

    /**
     * A restore is bounded as a whole by the new workspace's disk limit (16 MiB here): two parts of 10 MiB each are
     * refused (each was bounded on its own), and so are more entries than such a disk has inodes (5,000 empty files
     * where 4,096 fit); names nested deeper than TarExtractor.MAX_DEPTH are refused as they are met: a file 300 deep,
     * before the {@code ../} entry after it, and 3,000 deep with the same one-line error (not a file system's).
     */
    @Test
    void aRestoreIsBoundedAsAWholeByTheWorkspacesDisk() throws Exception {
        try (Davit a = open("a"); OpenWorkspace ws = a.newWorkspace(IMAGE).seed(tmp.resolve("seed")).open()) {
            ws.snapshot("s1");
            ws.pushSnapshot("s1", "localhost/snapshots/real:s1", true);
            byte[] big = tarOf("big", org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL, 0644,
                    "x".repeat(10 << 20));
            crafted(a.client(), "localhost/snapshots/real:s1", big, big, "localhost/snapshots/twice:s1");
            crafted(a.client(), "localhost/snapshots/real:s1", tarOfEmpty(java.util.stream.IntStream.range(0, 5_000)
                    .mapToObj(i -> "f" + i).toList()),
                    "localhost/snapshots/many:s1");
            crafted(a.client(), "localhost/snapshots/real:s1", tarOfEmpty(List.of("d/".repeat(300) + "f",
                    "../escape")),
                    "localhost/snapshots/deep:s1");
            crafted(a.client(), "localhost/snapshots/real:s1", tarOfEmpty(List.of("d/".repeat(3_000) + "f")),
                    "localhost/snapshots/deeper:s1");
            // a sparse baseline: a few KiB of tar that write 10 MiB, counted at what they write
            Path holes = Files.createDirectories(tmp.resolve("sparse"));
            Tools.run("truncate", "-s", "10M", holes.resolve("hole").toString());
            Tools.run("tar", "--sparse", "-C", holes.toString(), "-cf",
                    tmp.resolve("sparse.tar").toString(), "hole");
            byte[] sparse = Files.readAllBytes(tmp.resolve("sparse.tar"));
            assertThat(sparse.length).isLessThan(64 << 10);
            crafted(a.client(), "localhost/snapshots/real:s1", sparse, big, "localhost/snapshots/sparse:s1");
            WorkspaceImages images = dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(a.workspaces(), a.client(), null);
            WorkspaceImages.Spec small = (t, carried) ->
                    dev.davit.sandbox.CreateSpec.builder(t.rootfs()).image(t.image()).backend(t.backend())
                            .limits(new dev.davit.sandbox.Limits(0, 0, 0, 16)).build();
            int before = a.workspaces().list().size();
            java.util.function.Function<String, String> refused = ref -> {
                Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> images.createFrom(ref, small, null,
                        null, null, null));
                assertThat(t).as(ref).isInstanceOf(DavitException.class);
                assertThat(((DavitException) t).kind()).as(t.getMessage()).isEqualTo(DavitException.Kind.VERIFICATION);
                assertThat(t.getMessage()).doesNotContain("\n");
                return t.getMessage();
            };
            assertThat(refused.apply("localhost/snapshots/twice:s1")).contains("/workspace of snapshot"
                    + " localhost/snapshots/twice:s1 beyond its baseline").contains("give the new workspace a larger"
                    + " disk");
            assertThat(refused.apply("localhost/snapshots/sparse:s1")).contains("/workspace of snapshot"
                    + " localhost/snapshots/sparse:s1 beyond its baseline");
            assertThat(refused.apply("localhost/snapshots/many:s1")).contains("tar entries, the unpack limit")
                    .contains("give the new workspace a larger disk");
            assertThat(refused.apply("localhost/snapshots/deep:s1")).contains("nests 301 deep, more than 256");
            assertThat(refused.apply("localhost/snapshots/deeper:s1")).contains("nests 3001 deep, more than 256");
            assertThat(a.workspaces().list()).hasSize(before);
            assertThat(tmp.resolve("escape")).doesNotExist();
        }
    }

    @Test
    void whatIsNoSnapshotIsRefusedInTheCallersTerms() {
        try (Davit a = open("a"); OpenWorkspace ws = a.workspace(IMAGE)) {
            assertThatThrownBy(() -> a.newWorkspaceFrom(IMAGE).open()).isInstanceOf(DavitException.class)
                    .hasMessageContaining("is not a workspace snapshot");
            assertThatThrownBy(() -> ws.pushSnapshot("nope", "localhost/x:1", true))
                    .isInstanceOf(DavitException.class).extracting(e -> ((DavitException) e).kind())
                    .isEqualTo(DavitException.Kind.NOT_FOUND);
            assertThat(a.client().find("localhost/x:1")).isEmpty();
        }
    }
}
