package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The base profile built by a user without root (mmdebstrap's unshare mode). CI runs as root, so the test makes
 * the system user {@value Unprivileged#USER} with subordinate uid and gid ranges when it is missing (idempotent; see
 * docs/reference/ENVIRONMENTS.md), forks a JVM as that user that builds, then checks as root what it built: owners in the
 * image layer and in rootfs.ext4 are Debian's (root, shadow's gid 42), never the builder's, setuid bits are there,
 * and the image runs bash.
 */
class EnvBuilderRootlessTest {
    private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    void anUnprivilegedUserBuildsTheBaseProfile() throws Exception {
        Tools.assumeAvailable("mmdebstrap", "newuidmap", "newgidmap", "setpriv", "useradd", "usermod", "bwrap");
        Assumptions.assumeTrue(EnvBuilder.uid() == 0, "making the unprivileged user needs root (CI runs as root)");
        int[] ids = Unprivileged.ensureUser();
        Path dir = Files.createTempDirectory("davit-rootless-");
        try {
            Files.setAttribute(dir, "unix:mode", 0755);
            String cp = Unprivileged.readableClasspath(dir.resolve("cp"));
            Path home = Files.createDirectories(dir.resolve("home"));
            boolean vm = Tools.which("mkfs.ext4").isPresent() && Tools.which("debugfs").isPresent()
                    && Tools.which("dpkg-deb").isPresent();
            Path vmCache = dir.resolve("home/vm-cache");
            Path rootCache = Path.of(System.getProperty("user.home"), ".cache", "davit-test", "vm");
            if (vm && Files.isDirectory(rootCache)) { // the kernel the other tests cached, so it is not fetched again
                Tools.run("cp", "-a", rootCache.toString(), vmCache.toString());
            }
            Tools.run("chown", "-R", ids[0] + ":" + ids[1], home.toString());
            List<String> cmd = Unprivileged.javaAs(ids, home, cp, List.of(), Child.class.getName(),
                    home.resolve("store").toString(), home.resolve("builds").toString(),
                    vm ? vmCache.toString() : "-");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log")
                    .toFile()).start();
            assertThat(p.waitFor(30, TimeUnit.MINUTES)).isTrue();
            String log = Files.readString(dir.resolve("child.log"));
            assertThat(p.exitValue()).as(log).isZero();
            assertThat(log).contains("phase: mmdebstrap bookworm (bash, coreutils) from http://deb.debian.org/debian,"
                    + " without root (unshare)").containsPattern("downloads: (\\d+) of \\1\\n")
                    .containsPattern("done: mmdebstrap .* after \\d+ ms");

            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
                ImageManifest m = (ImageManifest) c.store().readManifest(c.store().entry("localhost/davit/base:rl")
                        .orElseThrow().descriptor());
                assertThat(log).contains("image " + m.digest());
                Map<String, TarArchiveEntry> layer = entries(c, m);
                TarArchiveEntry shadow = layer.get("etc/shadow");
                assertThat(shadow.getLongUserId()).isZero();
                assertThat(shadow.getLongGroupId()).isEqualTo(42); // shadow
                assertThat(shadow.getMode() & 07777).isEqualTo(0640);
                assertThat(layer.get("usr/bin/passwd").getMode() & 07777).isEqualTo(04755);
                assertThat(layer.get("usr/bin/passwd").getLongUserId()).isZero();
                assertThat(layer.get("usr/bin/chage").getMode() & 07777).isEqualTo(02755);
                assertThat(layer.get("usr/bin/chage").getLongGroupId()).isEqualTo(42);
                assertThat(layer.get(".davit/busybox").getLongUserId()).isZero(); // davit's own files are root's
                assertThat(layer.values()).as("no entry is the builder's").noneMatch(e -> e.getLongUserId() == ids[0]
                        || e.getLongGroupId() == ids[1]);
                assertThat(layer.values()).allMatch(e -> e.getUserName().isEmpty() && e.getGroupName().isEmpty());

                Path rootfs = dir.resolve("rootfs");
                c.unpack("localhost/davit/base:rl", rootfs, PlatformSelector.host(), UnpackOptions.defaults());
                assertThat(Files.getAttribute(rootfs.resolve("etc/shadow"), "unix:gid")).isEqualTo(42);
                Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(dir.resolve("sandboxes")));
                ExecResult x = sandboxes.run(RunSpec.builder(rootfs).limits(Limits.NONE).command("bash", "-c", "echo"
                        + " ${BASH_VERSINFO[0]}; ls -l /usr/bin/passwd | cut -c1-10; cat /etc/davit/environment.json")
                        .build());
                assertThat(x.exitCode()).as(x.stderrText()).isZero();
                assertThat(x.stdoutText()).startsWith("5\n-rwsr-xr-x\n").contains("\"profile\":\"base\"");
            }
            if (vm) {
                Path ext4 = home.resolve("builds/base-rl-vm/rootfs.ext4");
                assertThat(debugfsStat(ext4, "/etc/shadow")).contains("Mode:  0640").containsPattern(
                        "User: +0 +Group: +42 ");
                assertThat(debugfsStat(ext4, "/usr/bin/passwd")).contains("Mode:  04755").containsPattern(
                        "User: +0 +Group: +0 ");
                assertThat(debugfsStat(ext4, "/.davit/busybox")).containsPattern("User: +0 +Group: +0 ");
                assertThat(debugfsStat(ext4, "/etc/davit/environment.json")).containsPattern("User: +0 +Group: +0 ");
                Process fsck = new ProcessBuilder("e2fsck", "-fn", ext4.toString()).redirectErrorStream(true).start();
                String report = new String(fsck.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(fsck.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(fsck.exitValue()).as(report).isZero();
            }
        } finally {
            Fs.deleteTree(dir);
        }
    }

    private static Map<String, TarArchiveEntry> entries(DavitClient c, ImageManifest m) throws IOException {
        assertThat(m.layers()).hasSize(1);
        Map<String, TarArchiveEntry> out = new HashMap<>();
        try (InputStream blob = c.store().openBlob(m.layers().get(0).digest());
             TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(blob))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                out.put(e.getName().replaceAll("/$", ""), e);
            }
        }
        return out;
    }

    private static String debugfsStat(Path image, String path) {
        return Tools.run("debugfs", "-R", "stat " + path, image.toString());
    }

    /** Runs as the unprivileged user: builds base into {@code args[0]} (store), {@code args[1]} (builds). */
    public static final class Child {
        public static void main(String[] args) {
            Path vmCache = args[2].equals("-") ? null : Path.of(args[2]);
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(Path.of(args[0])))) {
                EnvBuilder.Result r = new EnvBuilder(c, Path.of(args[1])).build(new EnvBuilder.Options(
                        BuildProfile.BASE, "rl", "localhost/davit/base:rl", null, null, EPOCH,
                        vmCache == null ? null : "localhost/davit/base-vm:rl", vmCache), new EnvBuilder.Listener() {
                            @Override
                            public void phase(String line) {
                                System.out.println("phase: " + line);
                            }

                            @Override
                            public void phaseDone(String line, java.time.Duration took) {
                                System.out.println("done: " + line + " after " + took.toMillis() + " ms");
                            }

                            @Override
                            public void downloads(int done, int total) {
                                System.out.println("downloads: " + done + " of " + total);
                            }
                        }, ProgressListener.NONE);
                System.out.println("image " + r.image().manifest().digest());
                System.out.println("built as uid " + EnvBuilder.uid() + ", microVM " + r.vm());
            } catch (RuntimeException e) {
                System.out.println("failed: " + e.getMessage());
                e.printStackTrace(System.out);
                System.exit(1);
            }
        }
    }
}
