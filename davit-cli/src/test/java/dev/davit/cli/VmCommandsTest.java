package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vm backend through the CLI: {@code env build busybox} makes a microVM environment (Debian kernel, initrd,
 * rootfs.ext4) that {@code run} and {@code sandbox} boot in QEMU (TCG on CI).
 */
class VmCommandsTest {
    @TempDir
    static Path home;

    static Cli cli;

    @BeforeAll
    static void build() {
        Tools.assumeAvailable("qemu-system-x86_64", "qemu-img", "mkfs.ext4", "apt-get", "dpkg-deb", "busybox", "xz",
                "bwrap");
        String cache = System.getProperty("davit.test.cache");
        Path vmCache = (cache != null ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache",
                "davit-test")).resolve("vm");
        cli = new Cli(home).env("DAVIT_VM_CACHE", vmCache.toString()).env("SOURCE_DATE_EPOCH", "1767225600");
        Cli.Result b = cli.run("--json", "env", "build", "busybox", "--version", "2");
        assertThat(b.rc()).as(b.toString()).isZero();
        assertThat(b.json().at("/microvm/reference").asText()).isEqualTo("localhost/davit/busybox-vm:2");
        assertThat(b.json().at("/microvm/digest").asText()).startsWith("sha256:");
    }

    @Test
    void runBootsTheMicroVmEnvironmentAndReturnsTheCommandsResult() throws IOException {
        Cli.Result r = cli.run("--json", "run", "localhost/davit/busybox-vm:2", "--memory", "256", "--", "sh", "-c",
                "cat /etc/davit/environment.json; echo; uname -s; echo oops >&2; echo x > /etc/written; exit 3");
        assertThat(r.rc()).as(r.toString()).isEqualTo(3);
        JsonNode doc = r.json();
        assertThat(doc.get("backend").asText()).isEqualTo("vm");
        assertThat(doc.get("runtime").asText()).isEqualTo("qemu");
        assertThat(doc.get("stdout").asText()).contains("\"profile\":\"busybox\"", "Linux\n");
        assertThat(doc.get("stderr").asText()).isEqualTo("oops\n");
        assertThat(doc.at("/timings_ms/start").asLong()).isPositive();
        // the environment's files are linked once and never written: the next run does not see /etc/written
        Cli.Result again = cli.run("run", "localhost/davit/busybox-vm:2", "--", "sh", "-c", "test ! -e /etc/written");
        assertThat(again.rc()).as(again.toString()).isZero();
        try (Stream<Path> s = Files.list(home.resolve("sandboxes"))) {
            assertThat(s.filter(p -> p.getFileName().toString().startsWith("sb-")).toList()).isEmpty();
        }
        // a container root filesystem is not a microVM, and the other way round
        assertThat(cli.run("run", "localhost/davit/busybox-vm:2", "--backend", "container", "--", "true").rc())
                .isEqualTo(2);
        // davit-agent feeds stdin (here /dev/null, in a JVM of its own: this one's stdin is the test runner's) and
        // closes it, so cat ends
        Cli.Result stdin = cli.runInJvm("run", "localhost/davit/busybox-vm:2", "-i", "--", "sh", "-c", "cat; echo end");
        assertThat(stdin.rc()).as(stdin.toString()).isZero();
        assertThat(stdin.stdout()).isEqualTo("end\n");
        Cli.Result wrong = cli.run("run", "localhost/davit/busybox:2", "--backend", "vm", "--", "true");
        assertThat(wrong.rc()).isEqualTo(2);
        assertThat(wrong.stderr()).contains("--backend vm needs a microVM environment");
    }

    @Test
    void aCatalogMicroVmEnvironmentIsInstalledAndBooted() throws IOException {
        // a catalog entry whose source is the build's directory (vmlinux, initrd, rootfs.ext4)
        Path catalog = home.resolve("catalog.json");
        Files.writeString(catalog, """
                {"schemaVersion":1,"version":"t","environments":[
                 {"name":"tiny:vm","version":"2","kind":"microvm","description":"busybox microVM",
                  "distribution":"busybox","distributionVersion":"1","platform":"linux/amd64",
                  "source":{"profile":"%s"},"artifacts":["vmlinux","initrd","rootfs.ext4"]}]}
                """.formatted(home.resolve("builds/busybox-2-vm")));
        Cli.Result r = cli.run("--json", "run", "tiny:vm", "--catalog", catalog.toString(), "--vcpus", "2",
                "--memory", "256", "--env", "X=set", "--", "sh", "-c", "nproc; echo $X");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.json().get("environment").asText()).isEqualTo("tiny:vm");
        assertThat(r.json().get("backend").asText()).isEqualTo("vm");
        assertThat(r.json().get("stdout").asText()).isEqualTo("2\nset\n");
        try (Stream<Path> s = Files.list(home.resolve("environments"))) {
            assertThat(s.toList()).isNotEmpty(); // installed under $DAVIT_HOME/environments/<platform>/
        }
    }

    @Test
    void aCompressedMicroVmEnvironmentRoundTripsThroughARegistryAndBoots() throws Exception {
        try (TestRegistry registry = TestRegistry.start()) {
            String ref = registry.hostPort() + "/envs/busybox-vm:2";
            Cli.Result push = cli.run("push", "localhost/davit/busybox-vm:2", ref);
            assertThat(push.rc()).as(push.toString()).isZero();
            // on the wire: the registry serves the compressed blobs, of the sizes the manifest names
            HttpClient http = HttpClient.newHttpClient();
            JsonNode m = Json.read(http.send(HttpRequest.newBuilder(URI.create(registry.baseUrl()
                            + "/v2/envs/busybox-vm/manifests/2")).header("Accept", MediaTypes.OCI_MANIFEST).build(),
                    HttpResponse.BodyHandlers.ofByteArray()).body());
            long wire = 0;
            long files = 0;
            for (JsonNode l : m.get("layers")) {
                assertThat(l.get("mediaType").asText()).endsWith("+zstd");
                HttpResponse<Void> head = http.send(HttpRequest.newBuilder(URI.create(registry.baseUrl()
                        + "/v2/envs/busybox-vm/blobs/" + l.get("digest").asText())).method("HEAD",
                        HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
                assertThat(head.statusCode()).isEqualTo(200);
                assertThat(head.headers().firstValueAsLong("Content-Length").orElse(-1))
                        .isEqualTo(l.get("size").asLong());
                wire += l.get("size").asLong();
                files += Long.parseLong(l.at("/annotations/dev.davit.uncompressed.size").asText());
            }
            assertThat(wire).as("busybox microVM on the wire").isLessThanOrEqualTo(30L << 20);
            assertThat(wire * 4).isLessThan(files);

            // a fresh home installs it from the registry through a catalog entry and boots it
            Path fresh = Files.createDirectories(home.resolve("fresh"));
            Path catalog = fresh.resolve("catalog.json");
            Files.writeString(catalog, """
                    {"schemaVersion":1,"version":"t","environments":[
                     {"name":"tiny:vmz","version":"2","kind":"microvm","platform":"linux/amd64",
                      "source":{"reference":"%s"},"artifacts":["vmlinux","initrd","rootfs.ext4"]}]}
                    """.formatted(ref));
            Cli other = new Cli(fresh);
            Cli.Result r = other.run("--json", "run", "tiny:vmz", "--catalog", catalog.toString(), "--memory", "256",
                    "--", "sh", "-c", "cat /etc/davit/environment.json");
            assertThat(r.rc()).as(r.toString()).isZero();
            assertThat(r.json().get("stdout").asText()).contains("\"profile\":\"busybox\"");
            Path rootfs;
            try (Stream<Path> s = Files.walk(fresh.resolve("environments"))) {
                rootfs = s.filter(p -> p.getFileName().toString().equals("rootfs.ext4")).findFirst().orElseThrow();
            }
            // decompressed sparse: the image's free space takes no blocks
            assertThat(allocated(rootfs)).isLessThan(Files.size(rootfs) / 4);
            Cli.Result status = other.run("--json", "env", "inspect", "tiny:vmz", "--catalog", catalog.toString());
            assertThat(status.rc()).as(status.toString()).isZero();
            assertThat(status.json().at("/install/installed").asBoolean()).as(status.toString()).isTrue();

            // compatibility: the same files stored as they are (the old way) still run
            Path built = home.resolve("builds/busybox-2-vm");
            String raw = registry.hostPort() + "/envs/busybox-vm-raw:2";
            Cli.Result rawPush = cli.run("artifact", "push", raw, "--artifact-type",
                    "application/vnd.davit.env.microvm.v1",
                    built.resolve("vmlinux") + ":application/vnd.davit.env.kernel.v1",
                    built.resolve("initrd") + ":application/vnd.davit.env.initrd.v1",
                    built.resolve("rootfs.ext4") + ":application/vnd.davit.env.ext4.v1");
            assertThat(rawPush.rc()).as(rawPush.toString()).isZero();
            Cli.Result old = other.run("run", raw, "--memory", "256", "--", "test", "-x", "/bin/busybox");
            assertThat(old.rc()).as(old.toString()).isZero();
        }
    }

    /** Allocated bytes of a file, from stat(1). */
    private static long allocated(Path p) throws Exception {
        Process proc = new ProcessBuilder("stat", "-c", "%b %B", p.toString()).redirectErrorStream(true).start();
        String[] f = new String(proc.getInputStream().readAllBytes()).strip().split(" ");
        assertThat(proc.waitFor()).isZero();
        return Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    @Test
    void aLongLivedMicroVmKeepsFilesBetweenExecs() {
        // --cpus 1: one vCPU, and a CPU quota of one CPU on its QEMU's cgroup (kept in the state's limits)
        Cli.Result c = cli.run("--json", "sandbox", "create", "localhost/davit/busybox-vm:2", "--memory", "256",
                "--cpus", "1");
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        try {
            assertThat(c.json().get("backend").asText()).isEqualTo("vm");
            assertThat(c.json().get("status").asText()).isEqualTo("running");
            assertThat(c.json().get("vcpus").asInt()).isEqualTo(1);
            assertThat(c.json().at("/limits/cpus").asDouble()).isEqualTo(1.0);
            if (dev.davit.sandbox.Limits.unenforceable() == null) {
                assertThat(cpuQuota(c.json().get("qemu_pid").asLong())).isEqualTo("100000");
            }
            Cli.Result w = cli.run("sandbox", "exec", id, "--", "sh", "-c", "echo kept > /root/f; echo written");
            assertThat(w.rc()).as(w.toString()).isZero();
            assertThat(w.stdout()).isEqualTo("written\n");
            Cli.Result r = cli.run("--json", "sandbox", "exec", id, "--", "cat", "/root/f");
            assertThat(r.json().get("stdout").asText()).as(r.toString()).isEqualTo("kept\n");
            Cli.Result t = cli.run("--json", "sandbox", "exec", id, "--timeout", "1", "--", "sleep", "30");
            assertThat(t.rc()).as(t.toString()).isEqualTo(124);
            assertThat(cli.run("sandbox", "exec", id, "--", "true").rc()).isZero();
            assertThat(cli.run("sandbox", "ls").stdout()).containsPattern(id + " +running +vm ");
        } finally {
            Cli.Result rm = cli.run("--json", "sandbox", "rm", id);
            assertThat(rm.rc()).as(rm.toString()).isZero();
        }
        assertThat(cli.run("sandbox", "status", id).rc()).isEqualTo(3);
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains(id)))
                .as("no QEMU of %s is left", id).isEmpty();
    }
    /** The CFS quota (µs per 100 ms) of the v1 cpu cgroup of {@code pid}, or null where it has none. */
    private static String cpuQuota(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
                String[] f = line.split(":", 3);
                if (List.of(f[1].split(",")).contains("cpu")) {
                    return Files.readString(Path.of("/sys/fs/cgroup", f[1], f[2].substring(1), "cpu.cfs_quota_us"))
                            .strip();
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    @Test
    void aMicroVmWorkspaceIsSeededWorkedInAndReset() throws IOException {
        Path seed = home.resolve("ws-seed");
        Files.createDirectories(seed);
        Files.writeString(seed.resolve("a.txt"), "alpha\n");
        Cli.Result c = cli.run("--json", "workspace", "create", "localhost/davit/busybox-vm:2", "--memory", "256",
                "--seed", seed.toString());
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        try {
            assertThat(c.json().get("backend").asText()).as(c.toString()).isEqualTo("vm");
            Cli.Result e = cli.run("workspace", "exec", id, "--", "sh", "-c", "pwd; cat a.txt; echo beta > b.txt");
            assertThat(e.stdout()).as(e.toString()).isEqualTo("/workspace\nalpha\n");
            assertThat(cli.run("workspace", "file", "read", id, "b.txt").stdout()).isEqualTo("beta\n");
            Cli.Result out = cli.run("workspace", "file", "read", id, "../etc/passwd");
            assertThat(out.rc()).isEqualTo(2);
            assertThat(out.stderr().strip()).doesNotContain("\n").contains("leads out of /workspace");
            assertThat(cli.run("workspace", "diff", id).stdout()).startsWith("A b.txt\n");
            assertThat(cli.run("workspace", "reset", id).rc()).isZero();
            assertThat(cli.run("--json", "workspace", "file", "ls", id).json().get("files")).hasSize(1);
        } finally {
            Cli.Result rm = cli.run("workspace", "rm", id);
            assertThat(rm.rc()).as(rm.toString()).isZero();
        }
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains("qemu")
                && p.info().commandLine().orElse("").contains(home.toString()))).isEmpty();
    }

    @Test
    void aMicroVmWorkspaceRunsServicesAndShellsAcrossDavitProcesses() {
        Cli.Result c = cli.run("--json", "workspace", "create", "localhost/davit/busybox-vm:2", "--memory", "256",
                "--name", "vmproc");
        assertThat(c.rc()).as(c.toString()).isZero();
        try {
            Cli.Result start = cli.runInJvm("workspace", "service", "start", "vmproc", "web", "--ready-port", "8080",
                    "--ready-timeout", "120", "--", "sh", "-c", "echo serving; exec busybox httpd -f -p 8080");
            assertThat(start.rc()).as(start.toString()).isZero();
            assertThat(start.stdout()).isEqualTo("web\n");
            Cli.Result ls = cli.runInJvm("--json", "workspace", "service", "ls", "vmproc");
            assertThat(ls.json().at("/services/0/state").asText()).as(ls.toString()).isEqualTo("running");
            assertThat(ls.json().at("/services/0/readiness/kind").asText()).isEqualTo("port");
            assertThat(cli.runInJvm("workspace", "service", "logs", "vmproc", "web").stdout())
                    .isEqualTo("serving\n");

            Cli.Result open = cli.runInJvm("--json", "workspace", "shell", "open", "vmproc");
            assertThat(open.rc()).as(open.toString()).isZero();
            String sh = open.json().get("id").asText();
            assertThat(cli.runInJvm("workspace", "shell", "write", "vmproc", sh,
                    "test -t 0 && read x; echo got-$x-$((1+2))\\n").rc()).isZero();
            assertThat(cli.runInJvm("workspace", "shell", "write", "vmproc", sh, "hi\\n").rc()).isZero();
            StringBuilder seen = new StringBuilder();
            for (int i = 0; i < 30 && !seen.toString().contains("got-hi-3"); i++) {
                Cli.Result r = cli.runInJvm("--json", "workspace", "shell", "read", "vmproc", sh, "--wait-ms", "1000");
                assertThat(r.rc()).as(r.toString()).isZero();
                seen.append(r.json().get("output").asText());
            }
            assertThat(seen.toString()).contains("got-hi-3");

            Cli.Result stop = cli.runInJvm("workspace", "service", "stop", "vmproc", "web");
            assertThat(stop.stdout()).as(stop.toString()).isEqualTo("web stopped\n");
            Cli.Result close = cli.runInJvm("workspace", "shell", "close", "vmproc", sh);
            assertThat(close.stdout()).as(close.toString()).isEqualTo(sh + "\n");
            Cli.Result bad = cli.run("workspace", "service", "start", "vmproc", "bad", "--ready-file", "never", "--",
                    "sh", "-c", "echo boom; exit 4");
            assertThat(bad.rc()).as(bad.toString()).isEqualTo(9);
            assertThat(bad.stderr().strip()).doesNotContain("\n").contains("exited with code 4", "boom");
        } finally {
            Cli.Result rm = cli.run("workspace", "rm", "vmproc");
            assertThat(rm.rc()).as(rm.toString()).isZero();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theMcpServerDrivesAMicroVmWorkspace() {
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        io.modelcontextprotocol.client.transport.ServerParameters params =
                io.modelcontextprotocol.client.transport.ServerParameters.builder(javaBin)
                .args("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "mcp", "serve")
                .env(java.util.Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH"))).build();
        io.modelcontextprotocol.client.McpSyncClient client = io.modelcontextprotocol.client.McpClient.sync(
                new io.modelcontextprotocol.client.transport.StdioClientTransport(params,
                        new io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(java.time.Duration.ofMinutes(5)).build();
        try {
            client.initialize();
            java.util.function.BiFunction<String, java.util.Map<String, Object>, java.util.Map<String, Object>> ok =
                    (tool, args) -> {
                        var r = client.callTool(new io.modelcontextprotocol.spec.McpSchema.CallToolRequest(tool, args));
                        assertThat(r.isError()).as(tool + ": " + r).isFalse();
                        return (java.util.Map<String, Object>) r.structuredContent();
                    };
            // a disk limit a microVM would not get is refused, also when the environment (not 'backend') makes it one
            assertThatThrownBy(() -> client.callTool(new io.modelcontextprotocol.spec.McpSchema.CallToolRequest(
                    "workspace_create", java.util.Map.of("environment", "localhost/davit/busybox-vm:2", "disk", 100))))
                    .hasMessageContaining("'disk' is for container sandboxes");
            assertThatThrownBy(() -> client.callTool(new io.modelcontextprotocol.spec.McpSchema.CallToolRequest(
                    "run", java.util.Map.of("environment", "localhost/davit/busybox-vm:2", "disk", 100,
                            "command", java.util.List.of("true")))))
                    .hasMessageContaining("'disk' is for container sandboxes");
            java.util.Map<String, Object> w = ok.apply("workspace_create", java.util.Map.of("env",
                    "localhost/davit/busybox-vm:2", "backend", "vm"));
            String id = (String) w.get("id");
            try {
                assertThat(w).containsEntry("backend", "vm");
                assertThat(ok.apply("workspace_file_write", java.util.Map.of("workspace", id, "path", "a.txt",
                        "content", "alpha\n"))).containsEntry("bytes", 6);
                assertThat(ok.apply("workspace_exec", java.util.Map.of("workspace", id, "command",
                        java.util.List.of("sh", "-c", "pwd; cat a.txt; echo beta > b.txt; uname -s"))))
                        .containsEntry("stdout", "/workspace\nalpha\nLinux\n");
                assertThat(ok.apply("workspace_file_read", java.util.Map.of("workspace", id, "path", "b.txt")))
                        .containsEntry("content", "beta\n");
                assertThat((java.util.List<java.util.Map<String, Object>>) ok.apply("workspace_diff",
                        java.util.Map.of("workspace", id)).get("changes")).extracting(c -> c.get("path"))
                        .containsExactlyInAnyOrder("a.txt", "b.txt");
            } finally {
                assertThat(ok.apply("workspace_remove", java.util.Map.of("workspace", id)))
                        .containsEntry("removed", true);
            }
        } finally {
            client.closeGracefully();
        }
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains("qemu")
                && p.info().commandLine().orElse("").contains(home.toString()))).isEmpty();
    }
}
