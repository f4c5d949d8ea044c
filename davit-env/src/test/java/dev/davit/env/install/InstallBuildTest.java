package dev.davit.env.install;

import dev.davit.env.Environment;
import dev.davit.oci.DavitException;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.testkit.Fault;
import dev.davit.oci.testkit.FaultProxy;
import dev.davit.oci.testkit.TestRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The install order with a local build: existing install, then the registry, then the store, then a build of the
 * environment's {@code source.build} profile. Real registries (anonymous and with Basic auth), a fault proxy for a
 * corrupt download, and a builder that makes real images and artifacts with davit's own build.
 */
class InstallBuildTest {
    @TempDir
    static Path shared;
    static EnvFixtures fx;
    static TestRegistry locked;

    @TempDir
    Path home;
    DavitClient client;
    final List<String> notes = new ArrayList<>();
    final List<String> built = new ArrayList<>();

    @BeforeAll
    static void up() {
        fx = new EnvFixtures(shared);
        locked = TestRegistry.builder().basicAuth().start();
    }

    @AfterAll
    static void down() {
        if (fx != null) {
            fx.close();
        }
        if (locked != null) {
            locked.close();
        }
    }

    @BeforeEach
    void client() {
        // no retries: an unreachable registry fails at once, as the CLI's HEAD checks do
        ClientOptions o = ClientOptions.anonymous(home.resolve("store"));
        client = DavitClient.create(o.withRegistry(o.registry().toBuilder().maxRetries(0).build()));
    }

    @AfterEach
    void close() {
        client.close();
    }

    /** A builder that stores a one-file root filesystem (containers) or a two-file artifact (microVMs). */
    class TestBuilder implements Installer.LocalBuilder {
        @Override
        public String reference(Environment e) {
            return "localhost/davit/" + e.source().build() + (e.kind() == Environment.Kind.MICROVM ? "-vm" : "")
                    + ":" + e.version();
        }

        @Override
        public void build(Environment e) {
            built.add(e.name());
            try {
                Path src = Files.createDirectories(home.resolve("build-src-" + built.size()));
                if (e.kind() == Environment.Kind.CONTAINER) {
                    Files.writeString(src.resolve("built-from"), e.source().build() + "\n");
                    client.build(src, reference(e), BuildOptions.builder().build(), ProgressListener.NONE);
                    return;
                }
                Files.write(src.resolve("vmlinux"), EnvFixtures.VMLINUX);
                Files.write(src.resolve("rootfs.ext4"), EnvFixtures.ROOTFS);
                try (AutoCloseable session = client.store().session()) {
                    Descriptor md = Artifacts.create(client.store(), "application/vnd.davit.env.microvm.v1", List.of(
                            new Artifacts.FileSpec(src.resolve("vmlinux"), "application/vnd.davit.env.kernel.v1"),
                            new Artifacts.FileSpec(src.resolve("rootfs.ext4"), "application/vnd.davit.env.ext4.v1")),
                            Map.of());
                    client.store().setEntry(Reference.parse(reference(e)).toString(), md, Map.of());
                }
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        }
    }

    Installer installer(boolean offline) {
        return new Installer(home, client, r -> r, new Installer.Options(new TestBuilder(), offline, m -> notes.add(m.toString())));
    }

    static Environment env(String reference) {
        return EnvFixtures.container("debian:12", "2026.11.1", new Environment.Source(null, reference, null, null,
                "git"));
    }

    static String closedPort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "127.0.0.1:" + s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void assertBuiltInstall(Installer.InstallResult r, Environment e) throws IOException {
        assertThat(r.origin()).isEqualTo(Installer.Origin.BUILD);
        assertThat(Files.readString(r.path().resolve("rootfs/built-from"))).isEqualTo("git\n");
        assertThat(r.manifest().source()).startsWith("oci://localhost/davit/git@sha256:");
        assertThat(installer(false).status(e).installed()).isTrue();
    }

    @Test
    void anUnreachableRegistryFallsThroughToABuildAndTheSecondUseFindsTheInstall() throws IOException {
        Environment e = env(closedPort() + "/env/debian:12");
        Installer.InstallResult r = installer(false).install(EnvFixtures.catalog(e), e);
        assertBuiltInstall(r, e);
        assertThat(built).containsExactly("debian:12");
        assertThat(notes).singleElement().asString().contains("cannot connect to registry 127.0.0.1");

        Installer.InstallResult again = installer(false).install(EnvFixtures.catalog(e), e);
        assertThat(again.origin()).isEqualTo(Installer.Origin.EXISTING);
        assertThat(built).hasSize(1);
    }

    @Test
    void aMissingRepositoryFallsThroughToABuild() throws IOException {
        Environment e = env(fx.registry.hostPort() + "/env/never-published:1");
        assertBuiltInstall(installer(false).install(EnvFixtures.catalog(e), e), e);
        assertThat(notes).singleElement().asString().contains("env/never-published");
    }

    @Test
    void aDeniedPullFallsThroughToABuild() throws IOException {
        Environment e = env(locked.hostPort() + "/env/debian:12");
        assertBuiltInstall(installer(false).install(EnvFixtures.catalog(e), e), e);
        assertThat(built).hasSize(1);
        assertThat(notes).singleElement().asString().containsIgnoringCase("auth");
    }

    @Test
    void aCorruptDownloadIsAnErrorAndNeverBuilds() {
        try (FaultProxy proxy = FaultProxy.start(fx.registry)) {
            proxy.add(Fault.flipByte(10).on("GET", Fault.BLOB_PATH).times(100));
            Environment e = env(proxy.hostPort() + "/" + fx.image.repository() + ":" + fx.image.tag());
            Installer inst = installer(false);
            assertThatThrownBy(() -> inst.install(EnvFixtures.catalog(e), e))
                    .isInstanceOf(DavitException.class)
                    .satisfies(x -> assertThat(((DavitException) x).kind()).isEqualTo(DavitException.Kind.VERIFICATION));
            assertThat(built).isEmpty();
            assertThat(inst.installDir(e)).doesNotExist();
            assertThat(client.find("localhost/davit/git:2026.11.1")).isEmpty();
        }
    }

    @Test
    void aPinnedDigestIsNeverReplacedByABuild() {
        Environment e = EnvFixtures.container("debian:12", "1", new Environment.Source(null,
                closedPort() + "/env/debian", "sha256:" + "a".repeat(64), null, "git"));
        assertThatThrownBy(() -> installer(false).install(EnvFixtures.catalog(e), e))
                .isInstanceOf(DavitException.class).hasMessageContaining("cannot connect to registry");
        assertThat(built).isEmpty();
    }

    @Test
    void aRemovedInstallIsMadeAgainFromTheEarlierBuildWithoutBuilding() throws IOException {
        Environment e = env(closedPort() + "/env/debian:12");
        Installer.InstallResult first = installer(false).install(EnvFixtures.catalog(e), e);
        dev.davit.oci.internal.Fs.deleteTree(first.path());
        notes.clear();
        Installer.InstallResult second = installer(false).install(EnvFixtures.catalog(e), e);
        assertBuiltInstall(second, e);
        assertThat(built).hasSize(1);
        assertThat(notes).anySatisfy(n -> assertThat(n).contains("earlier local build localhost/davit/git:2026.11.1"));
        assertThat(second.sourceDigest()).isEqualTo(first.sourceDigest());
    }

    @Test
    void offlineUsesOnlyInstallsAndTheStore() throws IOException {
        // a registry that would answer: offline must not ask it
        Environment e = env(fx.image.reference());
        assertThatThrownBy(() -> installer(true).install(EnvFixtures.catalog(e), e))
                .isInstanceOf(DavitException.class)
                .hasMessage("environment 'debian:12' is neither installed nor in the store, and"
                        + " Installer.Options.offline forbids pulling or building it; run Installer.install(catalog,"
                        + " debian:12) once with network access, then use it offline");
        assertThat(built).isEmpty();
        assertThat(client.store().entries()).isEmpty();

        // once pulled into the store, offline installs from it
        client.pull(fx.image.reference(), PlatformSelector.host(), ProgressListener.NONE);
        Installer.InstallResult r = installer(true).install(EnvFixtures.catalog(e), e);
        assertThat(r.origin()).isEqualTo(Installer.Origin.STORE);
        assertThat(r.sourceDigest()).isEqualTo(fx.image.manifestDigest());
        assertThat(built).isEmpty();
    }

    @Test
    void offlineInstallsAnEarlierLocalBuild() throws IOException {
        Environment e = env(closedPort() + "/env/debian:12");
        Installer.InstallResult first = installer(false).install(EnvFixtures.catalog(e), e);
        dev.davit.oci.internal.Fs.deleteTree(first.path());
        assertBuiltInstall(installer(true).install(EnvFixtures.catalog(e), e), e);
        assertThat(built).hasSize(1);
    }

    @Test
    void aStoreCopyServesWhenTheRegistryCannot() {
        try (FaultProxy proxy = FaultProxy.start(fx.registry)) {
            String ref = proxy.hostPort() + "/" + fx.image.repository() + ":" + fx.image.tag();
            client.pull(ref, PlatformSelector.host(), ProgressListener.NONE);
            proxy.add(Fault.status(503).on("GET", Fault.MANIFEST_PATH).times(100));
            proxy.add(Fault.status(503).on("HEAD", Fault.MANIFEST_PATH).times(100));
            Environment e = env(ref);
            Installer.InstallResult r = installer(false).install(EnvFixtures.catalog(e), e);
            assertThat(r.origin()).isEqualTo(Installer.Origin.STORE);
            assertThat(built).isEmpty();
            assertThat(notes).anySatisfy(n -> assertThat(n).contains("using the copy of " + ref));
        }
    }

    @Test
    void aMicroVmIsInstalledFromItsBuild() {
        Environment e = EnvFixtures.microvm("debian:12-vm", "2026.11.1", new Environment.Source(null,
                closedPort() + "/env/vm:1", null, null, "git"));
        Installer.InstallResult r = installer(false).install(EnvFixtures.catalog(e), e);
        assertThat(r.origin()).isEqualTo(Installer.Origin.BUILD);
        assertThat(r.path().resolve("vmlinux")).hasBinaryContent(EnvFixtures.VMLINUX);
        assertThat(r.path().resolve("rootfs.ext4")).hasBinaryContent(EnvFixtures.ROOTFS);
        assertThat(r.manifest().source()).startsWith("oci://localhost/davit/git-vm@sha256:");
    }

    @Test
    void aBuilderThatCannotBuildHereSaysWhyWithThePullFailure() {
        Environment e = env(closedPort() + "/env/debian:12");
        Installer inst = new Installer(home, client, r -> r, new Installer.Options(new TestBuilder() {
            @Override
            public String unavailable(Environment env) {
                return "mmdebstrap is not installed; install the mmdebstrap package";
            }
        }, false, m -> notes.add(m.toString())));
        assertThatThrownBy(() -> inst.install(EnvFixtures.catalog(e), e))
                .isInstanceOf(DavitException.class)
                .hasMessageStartingWith("environment 'debian:12' cannot be pulled (cannot connect to registry 127.0.0.1")
                .hasMessageEndingWith("and cannot be built here: mmdebstrap is not installed; install the"
                        + " mmdebstrap package");
        assertThat(built).isEmpty();
    }
}
