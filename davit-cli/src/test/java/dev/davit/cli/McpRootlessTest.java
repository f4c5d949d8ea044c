package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code davit mcp serve} as an unprivileged user where no cgroup can be made (the CI's hybrid host delegates none):
 * it refuses to start unless the operator passes {@code --allow-unlimited}; with it, it warns, and a model's fork
 * loop in {@code run} still stops at the default process limit (RLIMIT_NPROC), which the result says.
 */
class McpRootlessTest {
    @TempDir
    Path tmp;

    /** Prints why limits cannot be enforced for the user running it ("null": they can). */
    public static final class Probe {
        public static void main(String[] args) {
            System.out.println("unenforceable: " + dev.davit.sandbox.Limits.unenforceable());
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void withoutCgroupsTheServerRefusesToStartUnlessAllowedAndThenBoundsProcesses() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox", "prlimit", Tools.REGISTRY);
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-mcp-rootless-");
             TestRegistry registry = TestRegistry.start()) {
            Assumptions.assumeFalse(u.java(List.of(), 2, Probe.class.getName()).contains("unenforceable: null"),
                    "this host delegates cgroups to the user");
            // doctor names each missing limit and what bounds processes instead
            String doctor = u.java(List.of("DAVIT_HOME=" + u.home().resolve("davit")), 3, Main.class.getName(),
                    "--json", "doctor");
            com.fasterxml.jackson.databind.JsonNode limits = null;
            for (com.fasterxml.jackson.databind.JsonNode b : Json.read(doctor.substring(doctor.indexOf('{'))
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8)).path("backends")) {
                if (b.path("name").asText().equals("container/limits")) {
                    limits = b;
                }
            }
            assertThat(limits).as(doctor).isNotNull();
            assertThat(limits.path("available").asBoolean()).isFalse();
            assertThat(limits.path("facts").path("memory").asText()).isEqualTo("not enforced");
            assertThat(limits.path("facts").path("cpus").asText()).isEqualTo("not enforced");
            assertThat(limits.path("facts").path("totals").asText()).isEqualTo("not enforced");
            assertThat(limits.path("facts").path("pids").asText()).startsWith("RLIMIT_NPROC");
            assertThat(limits.path("facts").path("disk").asText()).contains("not bounded without root");
            assertThat(limits.path("detail").asText()).contains("bounded by RLIMIT_NPROC instead");
            String image = BusyboxImage.push(tmp, registry);
            List<String> env = List.of("DAVIT_HOME=" + u.home().resolve("davit"), "PATH=" + System.getenv("PATH"));
            List<String> serve = Unprivileged.javaAs(u.ids(), u.home(), u.classpath(), env, Main.class.getName(),
                    "mcp", "serve", "--tools", "run", "--allow-registry", registry.hostPort());
            // no opt-out: one line naming the cause and the flag, exit 2, before anything is served
            Path log = u.dir().resolve("refused.log");
            Process p = new ProcessBuilder(serve).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(new File("/dev/null")).start();
            assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
            String refused = Files.readString(log);
            assertThat(p.exitValue()).as(refused).isEqualTo(2);
            assertThat(refused.strip()).as(refused).doesNotContain("\n")
                    .contains("memory and CPU limits cannot be enforced here (", "--allow-unlimited")
                    .doesNotContain("Exception");
            // with it: served, with a warning, and the model's sandboxes still bounded in processes
            List<String> allowed = new ArrayList<>(serve);
            allowed.add("--allow-unlimited");
            ServerParameters params = ServerParameters.builder(allowed.getFirst())
                    .args(allowed.subList(1, allowed.size())).build();
            StdioClientTransport transport = new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper()));
            List<String> stderr = new java.util.concurrent.CopyOnWriteArrayList<>();
            transport.setStdErrorHandler(stderr::add);
            McpAsyncClient c = McpClient.async(transport).requestTimeout(Duration.ofMinutes(5)).build();
            try {
                c.initialize().block();
                assertThat(stderr).anyMatch(l -> l.contains("warning: running without memory and CPU limits")
                        && l.contains("RLIMIT_NPROC") && l.contains("--allow-unlimited"));
                assertThat(stderr).anyMatch(l -> l.contains("warning: no disk limit here")
                        && l.contains(u.home().resolve("davit").toString()));
                McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("run", Map.of("environment", image,
                        "command", List.of("sh", "-c", "(i=0; while [ $i -lt 1500 ]; do sleep 30 & i=$((i+1));"
                                + " echo $i > /tmp/n; done) 2>/tmp/err; read n < /tmp/n; echo started $n")))).block();
                assertThat(r.isError()).as(r.toString()).isFalse();
                Map<String, Object> doc = (Map<String, Object>) r.structuredContent();
                assertThat((Map<String, Object>) doc.get("limits")).containsEntry("pids", 1024)
                        .containsEntry("enforced_by", "rlimit_nproc").containsEntry("memory_mib", 0)
                        .containsEntry("disk_enforced_by", "scratch_tmpfs");
                String out = (String) doc.get("stdout");
                assertThat(out).as(out).matches("started \\d+\n");
                assertThat(Integer.parseInt(out.replaceAll("\\D", ""))).isBetween(512, 1023);
            } finally {
                c.closeGracefully().block();
            }
        }
    }
}
