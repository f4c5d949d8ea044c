package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Environments built from the busybox profile (and, where a Debian mirror is there, with mmdebstrap as root; see
 * {@link EnvBuilderRootlessTest} for a build without root).
 */
class EnvBuilderTest {
    @TempDir
    Path tmp;

    private EnvBuilder.Result build(DavitClient client, EnvBuilder.Options o, List<String> phases) {
        return new EnvBuilder(client, tmp.resolve("builds")).build(o, phases::add, ProgressListener.NONE);
    }

    @Test
    void theBusyboxProfileIsAReproducibleImageThatRuns() throws Exception {
        Tools.assumeAvailable("busybox", "bwrap");
        List<String> phases = new ArrayList<>();
        Path vmCache = vmCache();
        boolean vm = Tools.which("qemu-system-x86_64").isPresent() && Tools.which("mkfs.ext4").isPresent()
                && Tools.which("dpkg-deb").isPresent();
        EnvBuilder.Options o = new EnvBuilder.Options(BuildProfile.BUSYBOX, "1.0", "localhost/davit/busybox:1.0", null,
                null, Instant.parse("2026-01-01T00:00:00Z"), vm ? "localhost/davit/busybox-vm:1.0" : null,
                vm ? vmCache : null);
        try (DavitClient a = DavitClient.create(ClientOptions.anonymous(tmp.resolve("store-a")));
             DavitClient b = DavitClient.create(ClientOptions.anonymous(tmp.resolve("store-b")))) {
            EnvBuilder.Result first = build(a, o, phases);
            EnvBuilder.Result second = build(b, o, new ArrayList<>());
            // the same profile, version and epoch give the same bytes, in another store and another directory
            assertThat(second.image().manifest().digest()).isEqualTo(first.image().manifest().digest());
            if (vm) { // the microVM environment too: kernel, initrd and rootfs.ext4 byte for byte
                assertThat(first.vm()).isNotNull();
                assertThat(second.vm().digest()).isEqualTo(first.vm().digest());
                assertThat(first.vmDir().resolve("rootfs.ext4")).isRegularFile();
                // the pinned inode times leave a clean file system
                Process fsck = new ProcessBuilder("e2fsck", "-fn", first.vmDir().resolve("rootfs.ext4").toString())
                        .redirectErrorStream(true).start();
                String report = new String(fsck.getInputStream().readAllBytes());
                assertThat(fsck.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
                assertThat(fsck.exitValue()).as(report).isZero();
            }
            assertThat(phases).anyMatch(p -> p.startsWith("busybox")).anyMatch(p -> p.startsWith("storing"));
            try (Stream<Path> s = Files.list(tmp.resolve("builds"))) { // scratch space removed, the VM files kept
                assertThat(s.map(p -> p.getFileName().toString()).toList())
                        .containsExactlyElementsOf(vm ? List.of("busybox-1.0-vm") : List.of());
            }

            ImageManifest m = (ImageManifest) a.store().readManifest(first.image().manifest());
            JsonNode config = Json.read(a.store().readBlob(m.config().digest(), 1 << 20));
            assertThat(config.at("/config/Labels/dev.davit.env.profile").asText()).isEqualTo("busybox");
            assertThat(config.at("/config/Labels/dev.davit.env.version").asText()).isEqualTo("1.0");
            assertThat(config.at("/config/Cmd/0").asText()).isEqualTo("/bin/sh");
            assertThat(config.path("created").asText()).isEqualTo("2026-01-01T00:00:00Z");

            Path rootfs = tmp.resolve("rootfs");
            a.unpack("localhost/davit/busybox:1.0", rootfs, PlatformSelector.host(), UnpackOptions.defaults());
            try (Stream<Path> s = Files.walk(rootfs)) {
                assertThat(s.filter(p -> !Files.isSymbolicLink(p)).allMatch(p -> p.toFile().lastModified()
                        == Instant.parse("2026-01-01T00:00:00Z").toEpochMilli() || p.equals(rootfs))).isTrue();
            }
            Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("sandboxes")));
            ExecResult r = sandboxes.run(RunSpec.builder(rootfs).command("sh", "-c",
                    "cat /etc/davit/environment.json; echo; wc -l < /etc/passwd; ls /usr/bin/env").build());
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            assertThat(r.stdoutText()).contains("\"profile\":\"busybox\"").contains("/usr/bin/env");
        }
    }

    private static Path vmCache() {
        String cache = System.getProperty("davit.test.cache");
        return (cache != null ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "davit-test"))
                .resolve("vm");
    }

    /**
     * The real thing: the git profile (the catalog's debian:12 packages) by mmdebstrap from Debian's mirror (CI runs
     * as root and reaches deb.debian.org), run as a container and booted as a microVM; a Python project's
     * Containerfile over it, built with Debian's mirrors alone reachable, run as a container, as a microVM
     * ({@code --vm}) and as a workspace's environment pulled into another home.
     */
    @Test
    void theGitProfileIsDebianThatRunsInAContainerAndInAMicroVm() throws IOException {
        Tools.assumeAvailable("mmdebstrap", "bwrap", "qemu-system-x86_64", "mkfs.ext4", "dpkg-deb");
        org.junit.jupiter.api.Assumptions.assumeTrue(
                ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0, "the rootless test covers non-root");
        List<String> phases = new ArrayList<>();
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("store")))) {
            EnvBuilder.Result r = build(c, new EnvBuilder.Options(BuildProfile.GIT, "t", "localhost/davit/git:t",
                    null, null, null, "localhost/davit/git-vm:t", vmCache()), phases);
            assertThat(phases.get(0)).isEqualTo("mmdebstrap bookworm (bash, ca-certificates, coreutils, curl, git, less,"
                    + " procps) from http://deb.debian.org/debian, as root");
            Path rootfs = tmp.resolve("rootfs");
            c.unpack("localhost/davit/git:t", rootfs, PlatformSelector.host(), UnpackOptions.defaults());
            assertThat(rootfs.resolve("var/lib/apt/lists")).isDirectory();
            try (Stream<Path> s = Files.list(rootfs.resolve("var/lib/apt/lists"))) {
                assertThat(s.map(p -> p.getFileName().toString()).toList()).contains("partial")
                        .isSubsetOf("partial", "lock"); // apt's empty lock file, as mmdebstrap leaves it
            }
            assertThat(rootfs.resolve("dev")).isEmptyDirectory();
            assertThat(rootfs.resolve("var/log")).isEmptyDirectory();
            Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("sandboxes")));
            String script = "echo ${BASH_VERSINFO[0]}; ls --version | head -1; git --version;"
                    + " cat /etc/davit/environment.json; echo; dpkg-query -W -f='${Status}\\n' git; curl --version"
                    + " | head -1";
            ExecResult x = sandboxes.run(RunSpec.builder(rootfs).command("bash", "-c", script).build());
            assertThat(x.exitCode()).as(x.stderrText()).isZero();
            assertThat(x.stdoutText()).startsWith("5\nls (GNU coreutils)").contains("git version 2.",
                    "\"profile\":\"git\"", "\"suite\":\"bookworm\"", "install ok installed", "curl 7.");
            // the same root filesystem as a microVM (booted below, with the project built over it)
            assertThat(r.vmDir().resolve("rootfs.ext4")).isRegularFile();
            assertThat(r.vmDir().resolve("vmlinux")).isRegularFile();

            // a Python project's toolchain over it: its RUN installs packages with Debian's mirrors alone reachable
            // (the egress policy's debian preset; without a network the same step fails and says so), then it is
            // pushed to a registry and is a workspace's environment in another home
            Path ctx = Files.createDirectories(tmp.resolve("ctx"));
            Files.writeString(ctx.resolve("app.py"), "import sys\nprint('python', sys.version_info[0], 'says hi')\n");
            String file = "FROM localhost/davit/git:t\nRUN apt-get update -q && DEBIAN_FRONTEND=noninteractive"
                    + " apt-get install -y -q --no-install-recommends python3-minimal tree"
                    + " && rm -rf /var/lib/apt/lists/*\nCOPY app.py /srv/app/app.py\nWORKDIR /srv/app\n"
                    + "CMD [\"python3\", \"app.py\"]\n";
            dev.davit.sandbox.Network debian = dev.davit.sandbox.Network.policy(dev.davit.sandbox.EgressPolicy.parse(
                    List.of(), List.of(), List.of("debian"), List.of(), List.of()));
            Sandboxes builds = new Sandboxes(SandboxOptions.under(tmp.resolve("cf-home")));
            List<String> said = new ArrayList<>();
            new ContainerfileBuilder(c, builds, tmp.resolve("cf-home"), said::add).build(
                    dev.davit.oci.containerfile.Containerfile.parse(file, "Containerfile"), ctx, "localhost/test/tree:1",
                    ContainerfileBuilder.Options.defaults().withNetwork(debian));
            assertThat(said).anyMatch(l -> l.contains("Setting up tree"));
            Path treeRoot = tmp.resolve("tree-rootfs");
            c.unpack("localhost/test/tree:1", treeRoot, PlatformSelector.host(), UnpackOptions.defaults());
            ExecResult tree = sandboxes.run(RunSpec.builder(treeRoot).command("tree", "--version").build());
            assertThat(tree.stdoutText()).as(tree.stderrText()).startsWith("tree v");
            // and with --vm, the same image as a microVM: Debian's kernel boots it, the agent runs bash, the git
            // environment's tools are there and the project's Python runs (one boot serves both: a Debian boot under
            // TCG is most of this test's time)
            EnvBuilder.Result pyVm = new EnvBuilder(c, tmp.resolve("builds")).microVm("localhost/test/tree:1",
                    "localhost/test/tree-vm:1", vmCache(), null, "containerfile", "1", line -> { });
            ExecResult inVm = sandboxes.run(RunSpec.builder(pyVm.vmDir()).backend("vm").memoryMiB(384)
                    .command("bash", "-c", "cd /srv/app && python3 app.py && tree --version && " + script
                            + "; uname -r").timeout(java.time.Duration.ofSeconds(90)).build());
            assertThat(inVm.exitCode()).as(inVm.stderrText()).isZero();
            assertThat(inVm.stdoutText()).startsWith("python 3 says hi\ntree v").contains("\n5\nls (GNU coreutils)",
                    "git version 2.", "install ok installed", "-amd64");
            try (dev.davit.oci.testkit.TestRegistry registry = dev.davit.oci.testkit.TestRegistry.start()) {
                String pushed = registry.hostPort() + "/test/pyproj:1";
                c.push("localhost/test/tree:1", pushed, ProgressListener.NONE);
                try (dev.davit.Davit davit = dev.davit.Davit.builder().home(tmp.resolve("other-home"))
                        .anonymous().build();
                     dev.davit.OpenWorkspace ws = davit.workspace(pushed)) {
                    ExecResult hi = ws.exec("sh", "-c", "cd /srv/app && python3 app.py && pwd");
                    assertThat(hi.stdoutText()).as(hi.stderrText()).isEqualTo("python 3 says hi\n/srv/app\n");
                }
            }
            assertThatThrownBy(() -> new ContainerfileBuilder(c, builds,
                    tmp.resolve("cf-home"), null).build(dev.davit.oci.containerfile.Containerfile.parse(file,
                    "Containerfile"), ctx, "localhost/test/tree:2", ContainerfileBuilder.Options.defaults()))
                    .hasMessageStartingWith("Containerfile:2: RUN exited with 100");
        }
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThatThrownBy(() -> BuildProfile.named("huge")).isInstanceOf(DavitException.class)
                .hasMessageContaining("available: base, git, build, busybox");
        assertThatThrownBy(() -> new EnvBuilder.Options(BuildProfile.BASE, "1 0", "x:1", null, null, null))
                .isInstanceOf(DavitException.class).hasMessageContaining("not usable as a tag");
        assertThatThrownBy(() -> new EnvBuilder.Options(BuildProfile.BASE, "1", "x:1", "Bookworm;rm", null, null))
                .isInstanceOf(DavitException.class).hasMessageContaining("not a Debian suite");
    }

    @Test
    void staticBusyboxIsRecognisedAndADynamicBinaryIsNot() throws IOException {
        Tools.assumeAvailable("busybox");
        assertThat(dev.davit.sandbox.vm.VmImages.isStaticExecutable(Tools.which("busybox").orElseThrow().toRealPath())).isTrue();
        assertThat(dev.davit.sandbox.vm.VmImages.isStaticExecutable(Path.of("/bin/ls").toRealPath())).isFalse();
        Path text = Files.writeString(tmp.resolve("t"), "#!/bin/sh\n");
        assertThat(dev.davit.sandbox.vm.VmImages.isStaticExecutable(text)).isFalse();
    }
}
