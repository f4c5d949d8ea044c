package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.testnet.CurlRootfs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent loop of issue 53 as a test of its own: src/test/node/mcp-agent-loop.mjs, the MCP TypeScript SDK from
 * npm, drives two real {@code davit mcp serve} over stdio (two davit homes: two machines) through a Node project's
 * whole session, against a local {@code docker-registry} and a test Internet (network namespaces the test makes),
 * never the Internet. Each tool's timings go to target/agent-loop-timings.json (docs/reference/benchmarks/MCP.md quotes a run).
 */
class McpAgentLoopTest {
    @TempDir
    Path shared;

    @Test
    void anAgentsSessionRunsEndToEndAcrossTwoHomes() throws Exception {
        Tools.assumeAvailable("node", "npm", Tools.REGISTRY);
        try (CurlRootfs.Gated gated = CurlRootfs.Gated.start(shared.resolve("net"));
             TestRegistry registry = TestRegistry.start()) {
            // a Node environment: the curl root filesystem with the host's node
            CurlRootfs.addProgram(gated.rootfs(), Path.of("/usr/bin/node"));
            String image = registry.hostPort() + "/env/node:20";
            Cli builder = new Cli(shared.resolve("builder-home"));
            Cli.Result b = builder.run("build", gated.rootfs().toString(), image, "--env",
                    "PATH=/usr/local/bin:/usr/bin:/bin");
            assertThat(b.rc()).as(b.toString()).isZero();
            assertThat(builder.run("push", image).rc()).isZero();

            Path allowed = Files.createDirectories(shared.resolve("allowed"));
            Path project = Files.createDirectories(allowed.resolve("project"));
            Files.writeString(project.resolve("package.json"), "{\"name\":\"app\",\"version\":\"1.0.0\","
                    + "\"type\":\"commonjs\"}\n");
            Files.writeString(project.resolve("sum.js"), "module.exports = (a, b) => a - b;\n");
            Files.writeString(Files.createDirectories(project.resolve("test")).resolve("sum.test.js"), "const test = require('node:test');\n"
                    + "const assert = require('node:assert');\nconst sum = require('../sum.js');\n"
                    + "test('adds', () => assert.strictEqual(sum(2, 3), 5));\n");

            String repository = registry.hostPort() + "/agents";
            Path nodeDir = McpNodeClientTest.nodeClients();
            Files.copy(Path.of("src/test/node/mcp-agent-loop.mjs"), nodeDir.resolve("mcp-agent-loop.mjs"),
                    StandardCopyOption.REPLACE_EXISTING);
            ArrayNode rounds = Json.array();
            for (int round = 0; round < Integer.getInteger("davit.agentLoop.rounds", 1); round++) {
                List<Path> homes = List.of(shared.resolve("r" + round + "-a"), shared.resolve("r" + round + "-b"));
                try {
                    rounds.add(round(nodeDir, image, project, repository, homes, allowed, registry, gated));
                } finally {
                    for (Path home : homes) { // what the agent left: its disks are mounted
                        Cli cli = new Cli(home);
                        Cli.Result ls = cli.run("--json", "workspace", "ls");
                        if (ls.rc() == 0) {
                            for (JsonNode w : ls.json().get("workspaces")) {
                                cli.run("workspace", "rm", w.get("id").asText());
                            }
                        }
                    }
                }
            }
            Files.writeString(Path.of("target", "agent-loop-timings.json"), Json.pretty(rounds));
            gated.net().httpRequests().forEach(r -> assertThat(r.host()).isNotEqualTo("denied.test"));
        }
    }

    /** One run of the loop over two fresh homes; its seconds and each tool's times. */
    private static ObjectNode round(Path nodeDir, String image, Path project, String repository, List<Path> homes,
                                    Path allowed, TestRegistry registry, CurlRootfs.Gated gated) throws Exception {
        ArrayNode servers = Json.array();
        for (Path home : homes) {
            ObjectNode s = servers.addObject();
            s.put("command", ProcessHandle.current().info().command().orElse("java"));
            ArrayNode args = s.putArray("args");
            // this test's class path: with every module's Java 22 root when run from class directories (the parent pom)
            for (String a : List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    "dev.davit.cli.Main", "mcp", "serve", "--tools", "full", "--allow-path", allowed.toString(),
                    "--allow-registry", registry.hostPort(), "--allow-egress", "allowed.test", "--commit-to",
                    repository)) {
                args.add(a);
            }
            s.putObject("env").put("DAVIT_HOME", home.toString()).put("DAVIT_EGRESS_DNS", gated.dns().toString())
                    .put("PATH", System.getenv("PATH"));
        }
        ProcessBuilder pb = new ProcessBuilder("node", "mcp-agent-loop.mjs", image, project.toString(), repository)
                .directory(nodeDir.toFile()).redirectErrorStream(true);
        pb.environment().put("AGENT_SERVERS", new String(Json.bytes(servers), StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(15, TimeUnit.MINUTES)).isTrue();
        long ms = (System.nanoTime() - t0) / 1_000_000L;
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("ok: the project's tests fail at first", "ok: a package fetched from the allowed"
                + " host", "ok: a host the allow-list does not name is refused, and said so",
                "ok: one attempt passes, the other fails", "ok: workspace_snapshot_push of the whole sandbox",
                "ok: the tests pass there, with /opt and the variables", "ok: the allow-list came with it",
                "ok: workspace_status says paused", "ok: the service answers after the resume", "ok: done");
        String line = out.lines().filter(l -> l.startsWith("timings: ")).findFirst().orElseThrow();
        JsonNode timings = Json.read(line.substring("timings: ".length()));
        assertThat(timings.has("workspace_exec")).isTrue();
        ObjectNode record = Json.object().put("ms", ms);
        record.set("tools_ms", timings);
        return record;
    }
}
