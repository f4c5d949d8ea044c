package dev.davit.env.install;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.testkit.Fixtures;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InstallerTest {
    @TempDir
    static Path shared;
    static EnvFixtures fx;

    @TempDir
    Path home;
    DavitClient client;
    Installer installer;

    @BeforeAll
    static void up() {
        fx = new EnvFixtures(shared);
    }

    @AfterAll
    static void down() {
        if (fx != null) {
            fx.close();
        }
    }

    @BeforeEach
    void client() {
        client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")));
        installer = new Installer(home, client);
    }

    @AfterEach
    void close() {
        client.close();
    }

    @Test
    void containerInstallUnpacksTheRootfsAndASecondInstallIsANoOp() throws IOException {
        Environment e = fx.containerEnv();
        Catalog c = EnvFixtures.catalog(e);
        assertThat(installer.status(e).installed()).isFalse();
        assertThat(installer.status(e).reason()).contains("no install directory");

        Installer.InstallResult r = installer.install(c, e);
        Path dir = home.resolve("environments/linux_amd64/debian_12-2026.11.1");
        assertThat(r.path()).isEqualTo(dir);
        assertThat(r.origin()).isEqualTo(Installer.Origin.OCI);
        assertThat(r.sourceDigest()).isEqualTo(fx.image.manifestDigest());
        assertThat(Files.readString(dir.resolve("rootfs").resolve(Fixtures.HELLO_PATH))).isEqualTo(Fixtures.HELLO_TEXT);

        JsonNode m = Json.read(Files.readAllBytes(dir.resolve("environment.json")));
        assertThat(m.get("catalog_version").asText()).isEqualTo("2026.11");
        assertThat(m.get("name").asText()).isEqualTo("debian:12");
        assertThat(m.get("version").asText()).isEqualTo("2026.11.1");
        assertThat(m.get("source").asText()).isEqualTo("oci://" + fx.registry.hostPort() + "/env/debian@"
                + fx.image.manifestDigest());
        assertThat(m.get("source_digest").asText()).isEqualTo(fx.image.manifestDigest());
        assertThat(m.get("installed_at").asText()).isNotBlank();
        assertThat(m.get("artifacts").get(0).get("name").asText()).isEqualTo("rootfs/");
        assertThat(m.get("artifacts").get(0).get("type").asText()).isEqualTo("directory");

        Installer.InstallResult again = installer.install(c, e);
        assertThat(again.origin()).isEqualTo(Installer.Origin.EXISTING);
        assertThat(again.sourceDigest()).isEqualTo(fx.image.manifestDigest());
        assertThat(installer.list(c)).singleElement().satisfies(s -> {
            assertThat(s.installed()).isTrue();
            assertThat(s.reason()).isNull();
            assertThat(s.path()).isEqualTo(dir);
            assertThat(s.sourceDigest()).isEqualTo(fx.image.manifestDigest());
        });
        assertThat(siblings(dir)).containsExactly(".debian_12-2026.11.1.lock", "debian_12-2026.11.1");
    }

    @Test
    void microvmArtifactsAreHardLinksToStoreBlobs() throws IOException {
        Environment e = fx.vmEnv();
        Installer.InstallResult r = installer.install(EnvFixtures.catalog(e), e);
        assertThat(r.origin()).isEqualTo(Installer.Origin.OCI);
        assertThat(r.sourceDigest()).isEqualTo(fx.vmDigest);
        for (String name : List.of("vmlinux", "rootfs.ext4")) {
            Path p = r.path().resolve(name);
            assertThat(Files.isSymbolicLink(p)).isFalse();
            assertThat(Files.isRegularFile(p)).isTrue();
            InstallManifest.Artifact a = r.manifest().artifact(name);
            Path blob = client.store().blobPath(Digest.parse(a.digest()));
            assertThat(Files.isSameFile(p, blob)).isTrue();
            assertThat(Files.getAttribute(p, "unix:ino")).isEqualTo(Files.getAttribute(blob, "unix:ino"));
            assertThat((Integer) Files.getAttribute(p, "unix:nlink")).isGreaterThanOrEqualTo(2);
        }
        assertThat(Files.readAllBytes(r.path().resolve("vmlinux"))).isEqualTo(EnvFixtures.VMLINUX);
        assertThat(r.manifest().artifact("rootfs.ext4").size()).isEqualTo(EnvFixtures.ROOTFS.length);
        assertThat(r.manifest().artifact("rootfs.ext4").digest())
                .isEqualTo(Digest.sha256(EnvFixtures.ROOTFS).toString());
        assertThat(installer.status(e).installed()).isTrue();
    }

    @Test
    void compressedMicrovmArtifactsAreDecompressedVerifiedAndStamped() throws IOException {
        Environment e = EnvFixtures.microvm("debian:12-vmz", "1", new Environment.Source(null, fx.vmZstdRef, null,
                null));
        Catalog c = EnvFixtures.catalog(e);
        Installer.InstallResult r = installer.install(c, e);
        assertThat(r.origin()).isEqualTo(Installer.Origin.OCI);
        Path rootfs = r.path().resolve("rootfs.ext4");
        assertThat(Files.readAllBytes(rootfs)).isEqualTo(EnvFixtures.ROOTFS);
        assertThat(Files.readAllBytes(r.path().resolve("vmlinux"))).isEqualTo(EnvFixtures.VMLINUX);
        InstallManifest.Artifact a = r.manifest().artifact("rootfs.ext4");
        // the manifest records the file, not the compressed blob it came from
        assertThat(a.digest()).isEqualTo(Digest.sha256(EnvFixtures.ROOTFS).toString());
        assertThat(a.size()).isEqualTo(EnvFixtures.ROOTFS.length);
        assertThat(client.store().hasBlob(Digest.parse(a.digest()))).isFalse();
        assertThat(a.verified()).isEqualTo(FileStamp.of(rootfs));
        JsonNode m = Json.read(Files.readAllBytes(r.path().resolve("environment.json")));
        assertThat(m.at("/artifacts/1/verified/ino").asLong()).isEqualTo(Files.getAttribute(rootfs, "unix:ino"));
        assertThat(installer.status(e).installed()).isTrue();
        assertThat(installer.install(c, e).origin()).isEqualTo(Installer.Origin.EXISTING);

        // a file with its stamp is not read again: the validator goes by the stamp, not the content
        Path mf = r.path().resolve("environment.json");
        String original = Files.readString(mf);
        Files.writeString(mf, original.replace(a.digest(), Digest.sha256(new byte[1]).toString()));
        assertThat(installer.status(e).installed()).isTrue();
        Files.writeString(mf, original);

        // an in-place write of the same size, with the modification time put back, moves the change time
        var mtime = Files.getLastModifiedTime(rootfs);
        try (var ch = java.nio.channels.FileChannel.open(rootfs, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) ~EnvFixtures.ROOTFS[0]}), 0);
        }
        Files.setLastModifiedTime(rootfs, mtime);
        InstallStatus st = installer.status(e);
        assertThat(st.installed()).isFalse();
        assertThat(st.reason()).contains("rootfs.ext4 has digest");
        Installer.InstallResult again = installer.install(c, e);
        assertThat(again.repaired()).isEqualTo(st.reason());
        assertThat(Files.readAllBytes(rootfs)).isEqualTo(EnvFixtures.ROOTFS);
        assertThat(installer.status(e).installed()).isTrue();
    }

    @Test
    void aPinnedDigestIsPulledByDigest() throws IOException {
        // the tag points elsewhere: only the pinned digest gives the microVM artifact
        Environment e = EnvFixtures.microvm("pinned", "1", new Environment.Source(null,
                fx.registry.hostPort() + "/env/vm:no-such-tag", fx.vmDigest, null));
        Installer.InstallResult r = installer.install(EnvFixtures.catalog(e), e);
        assertThat(r.sourceDigest()).isEqualTo(fx.vmDigest);
        assertThat(r.manifest().source()).isEqualTo("oci://" + fx.registry.hostPort() + "/env/vm@" + fx.vmDigest);
    }

    // ---- source precedence ----

    @Test
    void sourcePrecedence() throws IOException {
        Path complete = EnvFixtures.profile(shared.resolve("profile-complete"), "vmlinux", "rootfs.ext4");
        Path partial = EnvFixtures.profile(shared.resolve("profile-partial"), "vmlinux");
        Path empty = Files.createDirectories(shared.resolve("profile-empty"));
        String archive = archive(shared.resolve("vm.tar.gz")).toUri().toString();
        String oci = fx.vmRef;

        record Row(String profile, String reference, String archive, Installer.Origin expected) {
        }
        List<Row> rows = List.of(
                new Row(complete.toString(), oci, archive, Installer.Origin.PROFILE),
                new Row(empty.toString(), oci, archive, Installer.Origin.OCI),
                new Row(partial.toString(), oci, archive, Installer.Origin.OCI),
                new Row(shared.resolve("no-such-dir").toString(), oci, archive, Installer.Origin.OCI),
                new Row(null, oci, archive, Installer.Origin.OCI),
                new Row(partial.toString(), null, archive, Installer.Origin.ARCHIVE),
                new Row(empty.toString(), null, archive, Installer.Origin.ARCHIVE),
                new Row(null, fx.registry.hostPort() + "/env/missing:1", archive, Installer.Origin.ARCHIVE),
                new Row(null, null, archive, Installer.Origin.ARCHIVE));
        int i = 0;
        for (Row row : rows) {
            Environment e = EnvFixtures.microvm("row" + i++, "1",
                    new Environment.Source(row.profile(), row.reference(), null, row.archive()));
            Installer.InstallResult r = installer.install(EnvFixtures.catalog(e), e);
            assertThat(r.origin()).as("row %s", row).isEqualTo(row.expected());
            assertThat(Files.readAllBytes(r.path().resolve("rootfs.ext4"))).isEqualTo(EnvFixtures.ROOTFS);
            assertThat(installer.status(e).installed()).as("row %s", row).isTrue();
            // a valid existing install beats every source
            assertThat(installer.install(EnvFixtures.catalog(e), e).origin()).isEqualTo(Installer.Origin.EXISTING);
        }
        Environment profiled = EnvFixtures.microvm("profiled", "1",
                new Environment.Source(complete.toString(), null, null, null));
        Installer.InstallResult r = installer.install(null, profiled);
        assertThat(r.manifest().source()).isEqualTo("profile://" + complete);
        assertThat(Files.isSameFile(r.path().resolve("vmlinux"), complete.resolve("vmlinux"))).isFalse();
    }

    @Test
    void noUsableSourceIsAnErrorNamingTheEnvironment() throws IOException {
        Path partial = EnvFixtures.profile(shared.resolve("profile-partial-2"), "rootfs.ext4");
        for (String profile : new String[] {null, partial.toString()}) {
            Environment e = EnvFixtures.microvm("nothing", "1", new Environment.Source(profile, null, null, null));
            assertThatThrownBy(() -> installer.install(EnvFixtures.catalog(e), e))
                    .isInstanceOfSatisfying(DavitException.class,
                            x -> assertThat(x.kind()).isEqualTo(DavitException.Kind.NOT_FOUND))
                    .hasMessageStartingWith("environment 'nothing' is not installed and no downloadable source is"
                            + " configured");
            assertThat(Files.exists(installer.installDir(e))).isFalse();
        }
    }

    // ---- repair ----

    interface Damage {
        void apply(Path dir) throws IOException;
    }

    @Test
    void brokenInstallsAreNotInstalledAndTheNextInstallRepairsThem() throws IOException {
        Map<String, Damage> damages = new java.util.LinkedHashMap<>();
        damages.put("is a symbolic link (dangling)", d -> {
            Files.delete(d.resolve("vmlinux"));
            Files.createSymbolicLink(d.resolve("vmlinux"), d.resolve("nowhere"));
        });
        damages.put("is a symbolic link", d -> {
            Path real = Files.write(d.resolveSibling("elsewhere-" + System.nanoTime()), EnvFixtures.VMLINUX);
            Files.delete(d.resolve("vmlinux"));
            Files.createSymbolicLink(d.resolve("vmlinux"), real);
        });
        damages.put("vmlinux is missing", d -> Files.delete(d.resolve("vmlinux")));
        damages.put("rootfs.ext4 has 1000 bytes", d -> {
            try (var ch = java.nio.channels.FileChannel.open(d.resolve("rootfs.ext4"),
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(1000); // the store blob shares the inode: install must notice and pull it again
            }
        });
        damages.put("unreadable install manifest", d -> Files.writeString(d.resolve("environment.json"),
                "{\"schema_version\": 1, \"name\": "));
        damages.put("no install manifest", d -> Files.delete(d.resolve("environment.json")));
        damages.put("rootfs.ext4 has digest", d -> {
            byte[] other = EnvFixtures.ROOTFS.clone();
            other[5] ^= 1;
            Files.delete(d.resolve("rootfs.ext4"));
            Files.write(d.resolve("rootfs.ext4"), other);
        });
        damages.put("records an invalid digest", d -> {
            Path mf = d.resolve("environment.json");
            Files.writeString(mf, Files.readString(mf).replace("sha256:", "sha256:zz"));
        });
        damages.put("not a directory", d -> {
            Installer.deleteTree(d);
            Files.writeString(d, "junk");
        });
        Environment e = fx.vmEnv();
        Catalog c = EnvFixtures.catalog(e);
        installer.install(c, e);
        for (var entry : damages.entrySet()) {
            entry.getValue().apply(installer.installDir(e));
            InstallStatus st = installer.status(e);
            assertThat(st.installed()).as(entry.getKey()).isFalse();
            assertThat(st.reason()).as(entry.getKey()).contains(entry.getKey());
            Installer.InstallResult r = installer.install(c, e);
            assertThat(r.origin()).as(entry.getKey()).isEqualTo(Installer.Origin.OCI);
            assertThat(r.repaired()).as(entry.getKey()).isEqualTo(st.reason());
            assertThat(installer.status(e).installed()).as(entry.getKey()).isTrue();
            assertThat(Files.readAllBytes(r.path().resolve("rootfs.ext4"))).isEqualTo(EnvFixtures.ROOTFS);
            assertThat(Files.readAllBytes(r.path().resolve("vmlinux"))).isEqualTo(EnvFixtures.VMLINUX);
            assertThat(siblings(r.path())).as(entry.getKey()).noneMatch(n -> n.startsWith(".partial-"));
        }
    }

    @Test
    void anEmptyRootfsIsNotAnInstall() throws IOException {
        Environment e = fx.containerEnv();
        installer.install(EnvFixtures.catalog(e), e);
        Path rootfs = installer.installDir(e).resolve("rootfs");
        Installer.deleteTree(rootfs);
        Files.createDirectory(rootfs);
        assertThat(installer.status(e).reason()).isEqualTo("rootfs/ is empty");
        assertThat(installer.install(EnvFixtures.catalog(e), e).origin()).isEqualTo(Installer.Origin.OCI);
        assertThat(rootfs.resolve(Fixtures.HELLO_PATH)).hasContent(Fixtures.HELLO_TEXT.strip());
    }

    // ---- atomicity ----

    @Test
    void aFailingSourceLeavesNothingBehind() throws IOException {
        Path bad = shared.resolve("unsafe.tar");
        try (OutputStream out = Files.newOutputStream(bad);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            add(tar, "vmlinux", EnvFixtures.VMLINUX);
            add(tar, "../escape", new byte[] {1});
        }
        Path incomplete = shared.resolve("incomplete.tar");
        try (OutputStream out = Files.newOutputStream(incomplete);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            add(tar, "vmlinux", EnvFixtures.VMLINUX);
        }
        Map<String, String> archives = Map.of(
                bad.toUri().toString(), "is not a plain relative name",
                incomplete.toUri().toString(), "has no file rootfs.ext4",
                shared.resolve("absent.tar").toUri().toString(), "does not exist");
        for (var a : archives.entrySet()) {
            Environment e = EnvFixtures.microvm("failing", "1", new Environment.Source(null,
                    fx.registry.hostPort() + "/env/missing:1", null, a.getKey()));
            // the registry's "not found" falls through to the archive; an unsafe archive is an error of its own
            // (carrying the registry's failure), a missing or incomplete one is reported beside the registry's
            assertThatThrownBy(() -> installer.install(EnvFixtures.catalog(e), e))
                    .isInstanceOf(DavitException.class)
                    .satisfies(x -> {
                        DavitException other = (DavitException) x.getSuppressed()[0];
                        assertThat(x.getSuppressed()).hasSize(1);
                        boolean hard = a.getValue().equals("is not a plain relative name");
                        assertThat((hard ? x : other).getMessage()).contains(a.getValue());
                        assertThat((hard ? other : x).getMessage()).contains("env/missing");
                    });
            Path dir = installer.installDir(e);
            assertThat(dir).doesNotExist();
            assertThat(siblings(dir)).noneMatch(n -> n.startsWith(".partial-"));
            assertThat(Files.exists(dir.resolveSibling("escape"))).isFalse();
        }
    }

    // ---- helpers ----

    static Path archive(Path file) throws IOException {
        Path src = EnvFixtures.profile(file.resolveSibling(file.getFileName() + "-src"), "vmlinux", "rootfs.ext4");
        Process p = new ProcessBuilder("tar", "-czf", file.toString(), "-C", src.toString(), ".")
                .inheritIO().start();
        try {
            assertThat(p.waitFor()).isZero();
        } catch (InterruptedException ex) {
            throw new IOException(ex);
        }
        return file;
    }

    private static void add(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
        TarArchiveEntry en = new TarArchiveEntry(name, true);
        en.setSize(data.length);
        tar.putArchiveEntry(en);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    static List<String> siblings(Path dir) throws IOException {
        if (!Files.isDirectory(dir.getParent())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir.getParent())) {
            return new ArrayList<>(s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    static String text(Path p) throws IOException {
        return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
    }
}
