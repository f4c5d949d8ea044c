package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import java.util.List;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new user types first, on a machine where the built-in catalog's registry cannot be reached (its base points
 * at a name that never resolves): {@code davit run debian:12 -- git --version} builds the environment from Debian's
 * mirror once, and the second run finds the install. Needs root for debootstrap, as CI runs.
 */
class BuiltInEnvironmentTest {
    /** A registry base under the reserved {@code .invalid} top-level domain: it never resolves. */
    static final String NO_REGISTRY = "registry.invalid/davit/environments";

    @TempDir
    Path home;

    Cli cli() {
        return new Cli(home).env("DAVIT_REPO_REGISTRY_BASE", NO_REGISTRY).env("SOURCE_DATE_EPOCH", "1767225600");
    }

    static Path vmCache() {
        String cache = System.getProperty("davit.test.cache");
        return (cache != null ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "davit-test"))
                .resolve("vm");
    }

    @Test
    void debian12IsBuiltOnFirstUseAndFoundOnTheSecond() throws IOException {
        Tools.assumeAvailable("mmdebstrap", "bwrap");
        Cli cli = cli();
        Cli.Result first = cli.run("run", "debian:12", "--", "git", "--version");
        assertThat(first.rc()).as(first.toString()).isZero();
        assertThat(first.stdout()).startsWith("git version 2.");
        assertThat(first.stderr())
                .contains("note: cannot reach registry registry.invalid")
                .contains("==> building debian:12 2026.11.1 from profile git")
                .containsPattern("==> mmdebstrap bookworm \\(bash, ca-certificates, coreutils, curl, git, less, procps\\)")
                .containsPattern("    downloaded (\\d+) of \\1 packages")
                .containsPattern("    done \\(\\d+(\\.\\d)?s\\)")
                .contains("==> built debian:12 in ");

        // the second run finds the install: no note, no build, one JSON document
        Cli.Result second = cli.run("--json", "run", "debian:12", "--", "sh", "-c",
                "echo $PATH; ls --version | head -1; curl --version | head -1; cat /etc/davit/environment.json");
        assertThat(second.rc()).as(second.toString()).isZero();
        JsonNode doc = second.json();
        assertThat(doc.get("environment").asText()).isEqualTo("debian:12");
        assertThat(doc.get("stdout").asText()).startsWith("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")
                .contains("ls (GNU coreutils)", "\"profile\":\"git\"");
        assertThat(second.stderr()).doesNotContain("building").doesNotContain("note:");
        JsonNode pulled = cli.run("--json", "env", "pull", "debian:12").json();
        assertThat(pulled.get("origin").asText()).isEqualTo("existing");
        JsonNode list = cli.run("--json", "env", "list").json();
        assertThat(list.get("environments")).filteredOn(n -> n.get("name").asText().equals("debian:12"))
                .singleElement().satisfies(n -> assertThat(n.get("action").asText()).isEqualTo("installed"));

        // offline: an environment neither installed nor in the store fails with the fix; one in the store installs
        Cli.Result offline = cli.run("run", "--offline", "debian:12-base", "--", "true");
        assertThat(offline.rc()).as(offline.toString()).isEqualTo(3);
        assertThat(offline.stderr()).contains("environment 'debian:12-base' is neither installed nor in the store,"
                + " and --offline forbids pulling or building it; run 'davit environment pull debian:12-base' once with"
                + " network access");
        Fs.deleteTree(Path.of(pulled.get("path").asText()));
        Cli.Result fromStore = cli.run("--json", "env", "pull", "--offline", "debian:12");
        assertThat(fromStore.rc()).as(fromStore.toString()).isZero();
        assertThat(fromStore.json().get("origin").asText()).isEqualTo("build");
        assertThat(fromStore.json().get("source_digest").asText())
                .isEqualTo(pulled.get("source_digest").asText());
    }

    /**
     * The same first use by a user without root (CI runs as root and makes the unprivileged user): the build runs
     * in mmdebstrap's unshare mode and the sandbox rootless.
     */
    @Test
    void anUnprivilegedUserGetsDebian12BaseBuiltOnFirstUseAndFoundOnTheSecond() throws Exception {
        Tools.assumeAvailable("mmdebstrap", "newuidmap", "newgidmap", "setpriv", "useradd", "usermod", "bwrap");
        org.junit.jupiter.api.Assumptions.assumeTrue(
                ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-rootless-cli-")) {
            int[] ids = u.ids();
            Path dir = u.dir();
            Path user = u.home();
            List<String> env = List.of("DAVIT_HOME=" + user.resolve("davit"), "DAVIT_REPO_REGISTRY_BASE=" + NO_REGISTRY,
                    "DAVIT_PROGRESS=lines", "TMPDIR=" + user);
            String script = "id -u; echo ${BASH_VERSINFO[0]}; grep -o '\"profile\":\"base\"' /etc/davit/environment.json";
            String[] run = {"run", "debian:12-base", "--", "bash", "-c", script};
            List<String> cmd = Unprivileged.javaAs(ids, user, u.classpath(), env, Main.class.getName(), run);
            String out1 = succeeds(cmd, dir.resolve("first.log"), 30);
            // no delegated cgroup v2 on CI: the memory and CPU limits are dropped with a warning, not silently
            assertThat(out1).contains("warning: running without memory and CPU limits: they cannot be enforced here (",
                    "bounded by RLIMIT_NPROC instead",
                    "note: cannot reach registry registry.invalid",
                    "==> building debian:12-base 2026.11.1 from profile base", "without root (unshare)",
                    "0\n5\n\"profile\":\"base\"\n");
            String out2 = succeeds(cmd, dir.resolve("second.log"), 5);
            assertThat(out2).contains("0\n5\n\"profile\":\"base\"\n").doesNotContain("building").doesNotContain("note:");
            // everything the user's davit made is the user's
            try (var s = Files.walk(user.resolve("davit"), 3)) {
                assertThat(s.toList()).allSatisfy(p -> assertThat(Files.getAttribute(p, "unix:uid",
                        java.nio.file.LinkOption.NOFOLLOW_LINKS)).isEqualTo(ids[0]));
            }
        }
    }

    /** Runs {@code cmd} with its output in {@code log}; it must exit 0 within {@code minutes}. Returns the output. */
    static String succeeds(List<String> cmd, Path log, int minutes) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(minutes, java.util.concurrent.TimeUnit.MINUTES)).as(cmd.toString()).isTrue();
        String out = Files.readString(log);
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void aCatalogMicroVmWithABuildProfileIsBuiltAndBootedWithJsonAsOneDocument() throws IOException {
        Tools.assumeAvailable("qemu-system-x86_64", "qemu-img", "mkfs.ext4", "apt-get", "dpkg-deb", "busybox", "xz");
        Path catalog = home.resolve("catalog.json");
        Files.writeString(catalog, """
                {"schemaVersion":1,"version":"t","environments":[
                 {"name":"tiny:vm","version":"3","kind":"microvm","description":"busybox microVM",
                  "platform":"linux/amd64","source":{"reference":"repo://tiny-vm:3","build":"busybox"},
                  "artifacts":["vmlinux","initrd","rootfs.ext4"]}]}
                """);
        Cli cli = cli().env("DAVIT_VM_CACHE", vmCache().toString());
        JsonNode resolve = cli.run("--json", "env", "resolve", "tiny:vm", "--catalog", catalog.toString()).json();
        assertThat(resolve.get("action").asText()).isEqualTo("pull");
        assertThat(resolve.get("reason").asText()).endsWith("pull it, else build it from profile busybox");

        Cli.Result r = cli.run("--json", "run", "tiny:vm", "--catalog", catalog.toString(), "--memory", "256",
                "--", "sh", "-c", "cat /etc/davit/environment.json");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.json().get("backend").asText()).isEqualTo("vm");
        assertThat(r.json().get("stdout").asText()).contains("\"profile\":\"busybox\"", "\"version\":\"3\"");
        JsonNode pulled = cli.run("--json", "env", "pull", "tiny:vm", "--catalog", catalog.toString()).json();
        assertThat(pulled.get("origin").asText()).isEqualTo("existing");
        assertThat(cli.run("--json", "images").json().toString()).contains("localhost/davit/busybox-vm:3",
                "localhost/davit/busybox:3");
    }
}
