package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a hostile or careless model cannot do to {@code davit mcp serve} (issue 21): flood the server's memory with
 * output, get results larger than an agent can take, lift the operator's limits, or make the host fetch what it
 * names. The server runs in its own JVM with the heap options of the {@code davit} launcher.
 */
class McpLimitsTest {
    /** The server's resident memory must stay under this while it is flooded (documented in docs/reference/mcp/RESULTS.md, Bounds). */
    static final long RSS_BOUND_MIB = 512;

    static TestRegistry registry;
    static String image;
    static McpAsyncClient client;
    static String marker = "davit-test-" + UUID.randomUUID();

    @TempDir
    static Path shared;

    @BeforeAll
    static void up() throws IOException {
        Tools.assumeAvailable("bwrap", "busybox", Tools.REGISTRY);
        registry = TestRegistry.start();
        image = BusyboxImage.push(shared, registry);
        client = connect(shared.resolve("home"), marker, "--max-workspaces", "4", "--ttl", "100");
    }

    /** A server of this build on {@code home}, with the launcher's heap options and {@code tag} on its command line. */
    static McpAsyncClient connect(Path home, String tag, String... more) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> args = new ArrayList<>(List.of("-XX:+UseSerialGC", "-Xmn16m", "-Xmx512m", "-Dtag=" + tag,
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.davit.cli.Main", "mcp", "serve", "--tools", "full", "--allow-registry", registry.hostPort()));
        args.addAll(List.of(more));
        ServerParameters params = ServerParameters.builder(java).args(args)
                .env(Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH"))).build();
        McpAsyncClient c = McpClient.async(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(5)).build();
        c.initialize().block();
        return c;
    }

    @AfterAll
    static void down() {
        if (client != null) {
            client.closeGracefully().block();
        }
        if (registry != null) {
            registry.close();
        }
    }

    private static McpSchema.CallToolResult call(McpAsyncClient c, String tool, Map<String, Object> args) {
        return c.callTool(new McpSchema.CallToolRequest(tool, args)).block();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> ok(String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = call(client, tool, args);
        assertThat(r.isError()).as(tool + ": " + r).isFalse();
        return (Map<String, Object>) r.structuredContent();
    }

    private static long n(Object o) {
        return ((Number) o).longValue();
    }

    /** The resident memory of the server's process, in MiB. */
    private static long serverRssMiB(String tag) throws IOException {
        for (ProcessHandle p : ProcessHandle.allProcesses().toList()) {
            Path cmdline = Path.of("/proc", Long.toString(p.pid()), "cmdline");
            try {
                if (new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).contains("-Dtag=" + tag)) {
                    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p.pid()), "status"))) {
                        if (line.startsWith("VmRSS:")) {
                            return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                        }
                    }
                }
            } catch (IOException gone) {
                // not ours, or gone
            }
        }
        throw new IOException("no server process tagged " + tag);
    }

    @Test
    void aLongMessageIsReadWholeAndOneTooLongIsAnsweredWithAnError() throws IOException {
        String id = (String) ok("workspace_create", Map.of("environment", image)).get("id");
        try {
            // a string of 6 MiB (past the 4 MiB of davit's own documents) within a message under the 16 MiB limit:
            // written whole, within a bound (no answer at all was the old way)
            String big = "a".repeat(6 << 20);
            McpSchema.CallToolResult w = client.callTool(new McpSchema.CallToolRequest("workspace_file_write",
                    Map.of("workspace", id, "path", "big.txt", "content", big))).block(Duration.ofSeconds(90));
            assertThat(w.isError()).as(String.valueOf(w)).isFalse();
            assertThat(ok("workspace_exec", Map.of("workspace", id, "command", List.of("sh", "-c",
                    "wc -c < big.txt")))).containsEntry("stdout", (6 << 20) + "\n");
            // past the limit: an Invalid Request error with the request's id, not silence; the server goes on
            String tooBig = "b".repeat(17 << 20);
            Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> client.callTool(
                    new McpSchema.CallToolRequest("workspace_file_write", Map.of("workspace", id, "path", "x.txt",
                            "content", tooBig))).block(Duration.ofSeconds(90)));
            assertThat(t).isInstanceOf(McpError.class);
            assertThat(((McpError) t).getJsonRpcError().code()).isEqualTo(-32600);
            assertThat(t.getMessage()).contains("more than the 16 MiB this server reads");
            assertThat(serverRssMiB(marker)).isLessThan(512);
            assertThat(ok("workspace_exec", Map.of("workspace", id, "command", List.of("sh", "-c",
                    "ls")))).containsEntry("stdout", "big.txt\n");
        } finally {
            ok("workspace_remove", Map.of("workspace", id));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void bigOutputIsCappedAndReadInPagesLosslessly() {
        String id = (String) ok("workspace_create", Map.of("environment", image)).get("id");
        try {
            // 3,000,001 bytes: the numbers 1.. and one byte more
            Map<String, Object> r = ok("workspace_exec", Map.of("workspace", id, "command", List.of("sh", "-c",
                    "seq 1 500000 | head -c 3000000; printf Z")));
            assertThat(n(r.get("stdout_bytes"))).isEqualTo(3_000_001);
            assertThat(r).containsEntry("truncated", true);
            String shown = (String) r.get("stdout");
            assertThat(shown.length()).isLessThan(17_000);
            assertThat(shown).startsWith("1\n2\n3\n").endsWith("Z").contains("bytes of stdout left out here");
            String exec = (String) r.get("exec_id");
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            boolean eof = false;
            while (!eof) {
                Map<String, Object> page = ok("workspace_exec_output", Map.of("workspace", id, "exec_id", exec,
                        "offset", all.size(), "limit", 1 << 20));
                assertThat(n(page.get("offset"))).isEqualTo(all.size());
                all.writeBytes(((String) page.get("content")).getBytes(StandardCharsets.UTF_8));
                eof = (Boolean) page.get("eof");
            }
            StringBuilder want = new StringBuilder();
            for (int i = 1; want.length() < 3_000_000; i++) {
                want.append(i).append('\n');
            }
            want.setLength(3_000_000);
            assertThat(all.toString(StandardCharsets.UTF_8)).isEqualTo(want + "Z");

            Map<String, Object> bin = ok("workspace_exec", Map.of("workspace", id, "command", List.of("sh", "-c",
                    "printf '\\377\\376x'")));
            assertThat(Base64.getDecoder().decode((String) bin.get("stdout_base64")))
                    .isEqualTo(new byte[] {(byte) 0xff, (byte) 0xfe, 'x'});
            assertThat(r.get("stdout_base64")).isNull();

            Map<String, Object> small = ok("workspace_exec", Map.of("workspace", id, "output_limit", 100,
                    "command", List.of("sh", "-c", "seq 1 1000 >&2")));
            assertThat(((String) small.get("stderr")).length()).isLessThan(200);
            assertThat(n(small.get("stderr_bytes"))).isEqualTo(3893);
            Map<String, Object> page = ok("workspace_exec_output", Map.of("workspace", id, "exec_id",
                    small.get("exec_id"), "stream", "stderr", "offset", 3888, "limit", 100));
            assertThat(page).containsEntry("content", "1000\n").containsEntry("eof", true)
                    .containsEntry("dropped_bytes", 0);
        } finally {
            ok("workspace_remove", Map.of("workspace", id));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void floodsLeaveTheServerBoundedAndAnswering() throws Exception {
        String id = (String) ok("workspace_create", Map.of("environment", image)).get("id");
        try {
            // 64 MiB of control bytes on each stream, twice at once: JSON would make six bytes of each
            String flood = "head -c 67108864 /dev/zero | tr '\\000' '\\001'; head -c 67108864 /dev/zero"
                    + " | tr '\\000' '\\002' >&2";
            List<CompletableFuture<McpSchema.CallToolResult>> floods = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                floods.add(client.callTool(new McpSchema.CallToolRequest("workspace_exec", Map.of("workspace", id,
                        "command", List.of("sh", "-c", flood)))).toFuture());
            }
            AtomicLong maxRss = new AtomicLong();
            AtomicInteger answered = new AtomicInteger();
            while (!floods.stream().allMatch(CompletableFuture::isDone)) {
                maxRss.accumulateAndGet(serverRssMiB(marker), Math::max);
                McpSchema.CallToolResult l = call(client, "workspace_list", Map.of());
                assertThat(l.isError()).isFalse();
                if (!floods.stream().allMatch(CompletableFuture::isDone)) {
                    answered.incrementAndGet(); // answered while both floods went on
                }
                Thread.sleep(100);
            }
            assertThat(answered.get()).as("answers while flooded").isPositive();
            assertThat(maxRss.get()).as("server RSS in MiB while flooded").isLessThan(RSS_BOUND_MIB);
            for (CompletableFuture<McpSchema.CallToolResult> f : floods) {
                Map<String, Object> r = (Map<String, Object>) f.get().structuredContent();
                assertThat(r).as(f.get().toString()).containsKey("stdout_bytes");
                assertThat(n(r.get("stdout_bytes"))).isEqualTo(64L << 20);
                assertThat(n(r.get("stderr_bytes"))).isEqualTo(64L << 20);
                assertThat(r).containsEntry("truncated", true);
                assertThat(f.get().content().toString().length()).isLessThan(200_000);
                Map<String, Object> page = ok("workspace_exec_output", Map.of("workspace", id, "exec_id",
                        r.get("exec_id"), "offset", 1000, "limit", 4));
                assertThat(page).containsEntry("content", "\u0001\u0001\u0001\u0001")
                        .containsEntry("kept", 16 << 20) // what is kept on disk is bounded too
                        .containsEntry("dropped_bytes", 48 << 20); // and what was not is said
            }
        } finally {
            ok("workspace_remove", Map.of("workspace", id));
        }
    }

    @Test
    void theOperatorsTtlIsTheMost() {
        Map<String, Object> w = ok("workspace_create", Map.of("environment", image, "ttl", 99_999_999));
        try {
            assertThat(((Number) w.get("ttl_seconds")).doubleValue()).isEqualTo(100.0);
        } finally {
            ok("workspace_remove", Map.of("workspace", w.get("id")));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aStoppedWorkspaceSaysToStartIt() {
        String id = (String) ok("workspace_create", Map.of("environment", image)).get("id");
        try {
            ok("workspace_stop", Map.of("workspace", id));
            McpSchema.CallToolResult r = call(client, "workspace_exec", Map.of("workspace", id, "command",
                    List.of("true")));
            assertThat(r.isError()).isTrue();
            Map<String, Object> e = (Map<String, Object>) ((Map<String, Object>) r.structuredContent()).get("error");
            assertThat(e).containsEntry("kind", "state");
            assertThat((String) e.get("message")).contains(id, "workspace_start").doesNotContain("sbx-", "davit ",
                    "--");
        } finally {
            ok("workspace_remove", Map.of("workspace", id));
        }
    }

    @Test
    void aModelCannotMakeTheHostFetchFromARegistryNotAllowed() throws Exception {
        try (ServerSocket trap = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            AtomicInteger connections = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            Thread t = Thread.ofVirtual().start(() -> {
                while (!stop.get()) {
                    try (Socket s = trap.accept()) {
                        connections.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            for (String tool : List.of("run", "workspace_create")) {
                Map<String, Object> args = new java.util.HashMap<>(Map.of("environment", "127.0.0.1:" + trap.getLocalPort()
                        + "/secret/thing:1"));
                if (tool.equals("run")) {
                    args.put("command", List.of("true"));
                }
                Throwable e = org.assertj.core.api.Assertions.catchThrowable(() -> call(client, tool, args));
                assertThat(e).isInstanceOf(McpError.class).hasMessageContaining("--allow-registry 127.0.0.1:"
                        + trap.getLocalPort());
            }
            stop.set(true);
            trap.close();
            t.join(5000);
            assertThat(connections.get()).as("requests sent to the trap").isZero();
        }
    }

    @Test
    void concurrentCreatesNeverPassTheLimitEvenForAnImageNotYetUnpacked() throws Exception {
        Path home = shared.resolve("home-limit");
        String tag = "davit-test-" + UUID.randomUUID();
        McpAsyncClient c = connect(home, tag, "--max-workspaces", "5");
        try {
            List<CompletableFuture<Object>> calls = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                calls.add(c.callTool(new McpSchema.CallToolRequest("workspace_create", Map.of("environment", image)))
                        .<Object>map(r -> r).onErrorResume(e -> reactor.core.publisher.Mono.just(e)).toFuture());
            }
            int created = 0;
            int refused = 0;
            List<Object> other = new ArrayList<>();
            for (CompletableFuture<Object> f : calls) {
                Object r = f.get(10, TimeUnit.MINUTES);
                if (r instanceof McpSchema.CallToolResult res && !Boolean.TRUE.equals(res.isError())) {
                    created++;
                } else if (r instanceof McpError e && e.getMessage().contains("--max-workspaces")) {
                    refused++;
                } else {
                    other.add(r);
                }
            }
            assertThat(other).as("neither created nor refused for the limit").isEmpty();
            assertThat(created).isEqualTo(5);
            assertThat(refused).isEqualTo(15);
            assertThat(new Cli(home).run("--json", "workspace", "ls").json().get("workspaces")).hasSize(5);
        } finally {
            c.closeGracefully().block();
            Cli cli = new Cli(home);
            cli.run("--json", "workspace", "ls").json().get("workspaces").forEach(w -> cli.run("workspace", "rm",
                    w.get("id").asText()));
        }
    }

    /** The sandboxes of {@code home} (workspaces' and spares'), by id: their {@code sandbox ls} documents. */
    private static Map<String, com.fasterxml.jackson.databind.JsonNode> sandboxes(Path home) {
        Map<String, com.fasterxml.jackson.databind.JsonNode> m = new java.util.TreeMap<>();
        new Cli(home).run("--json", "sandbox", "ls").json().get("sandboxes").forEach(s -> m.put(s.get("id").asText(),
                s));
        return m;
    }

    private static void await(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("within 90 s: " + what).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aWarmPoolHandsOutStartedSandboxesWithinTheLimit() throws Exception {
        Path home = shared.resolve("home-warm");
        McpAsyncClient c = connect(home, "davit-test-" + UUID.randomUUID(), "--max-workspaces", "3", "--warm", "2");
        try {
            Map<String, Object> first = (Map<String, Object>) call(c, "workspace_create", Map.of("environment", image))
                    .structuredContent();
            // ready spares: a spare still starting when a create looks finds it not ready (the create makes its
            // own sandbox, and the spare, done later, no longer fits the room)
            await(() -> sandboxes(home).size() == 3 && sandboxes(home).values().stream().allMatch(s -> "running"
                    .equals(s.get("status").asText())), "two running spares beside the first workspace's sandbox");
            java.util.Set<String> spares = new java.util.HashSet<>(sandboxes(home).keySet());
            spares.remove((String) first.get("sandbox"));
            java.time.Instant before = java.time.Instant.now();
            McpSchema.CallToolResult r = call(c, "workspace_create", Map.of("environment", image, "name", "second"));
            assertThat(r.isError()).as(r.toString()).isFalse();
            Map<String, Object> second = (Map<String, Object>) r.structuredContent();
            // its sandbox is a spare, started before the call
            assertThat(spares).contains((String) second.get("sandbox"));
            assertThat(java.time.Instant.parse(sandboxes(home).get((String) second.get("sandbox"))
                    .get("created_at").asText())).isBefore(before);
            Map<String, Object> ran = (Map<String, Object>) call(c, "workspace_exec", Map.of("workspace", "second",
                    "command", List.of("sh", "-c", "echo hi > /workspace/f; ls /workspace"))).structuredContent();
            assertThat(ran.get("stdout")).isEqualTo("f\n");
            Map<String, Object> third = (Map<String, Object>) call(c, "workspace_create", Map.of("environment", image))
                    .structuredContent();
            assertThat(spares).contains((String) third.get("sandbox"));
            assertThat(third.get("sandbox")).isNotEqualTo(second.get("sandbox"));

            // three workspaces: the limit; no spare may be left beside them, and a fourth create is refused
            await(() -> sandboxes(home).size() == 3, "no spare beside three workspaces");
            Thread.sleep(6000); // past the pool's next look: still none
            assertThat(sandboxes(home)).hasSize(3);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> call(c, "workspace_create", Map.of("env",
                    image))).isInstanceOf(McpError.class).hasMessageContaining("--max-workspaces");

            // a workspace deleted makes room: the pool fills it again
            call(c, "workspace_remove", Map.of("workspace", (String) first.get("id")));
            await(() -> sandboxes(home).size() == 3, "a spare in the room of the deleted workspace");
        } finally {
            c.closeGracefully().block();
        }
        // the server removed its spares when it ended; the workspaces stay
        await(() -> sandboxes(home).size() == 2, "only the workspaces' sandboxes after the server ended");
        Cli cli = new Cli(home);
        cli.run("--json", "workspace", "ls").json().get("workspaces").forEach(w -> cli.run("workspace", "rm",
                w.get("id").asText()));
        assertThat(sandboxes(home)).isEmpty();
    }

    @Test
    @SuppressWarnings("unchecked")
    void aSecretNeverReachesTheModel() throws Exception {
        String value = "tok-" + UUID.randomUUID();
        Map<String, Object> w = ok("workspace_create", Map.of("environment", image, "secrets", Map.of("API_TOKEN", value)));
        String id = (String) w.get("id");
        List<String> seen = new ArrayList<>();
        try {
            assertThat(w.toString()).doesNotContain(value).contains("API_TOKEN");
            // echoed by an exec, through secret_env
            McpSchema.CallToolResult echo = call(client, "workspace_exec", Map.of("workspace", id, "secret_env",
                    Map.of("T", "API_TOKEN"), "command", List.of("sh", "-c", "echo \"$T\"; echo \"$T\" >&2")));
            seen.add(echo.toString());
            assertThat((String) ((Map<String, Object>) echo.structuredContent()).get("stdout"))
                    .contains("[REDACTED:API_TOKEN]");
            // several secrets it lacks: the error names the first the model gave
            Map<String, String> missing = new java.util.LinkedHashMap<>();
            for (int i = 0; i < 8; i++) {
                missing.put("V" + i, "missing" + i);
            }
            assertThatThrownBy(() -> call(client, "workspace_exec", Map.of("workspace", id, "secret_env", missing,
                    "command", List.of("true")))).isInstanceOf(McpError.class)
                    .hasMessageContaining("no secret 'missing0' ('secret_env' V0=NAME)");
            // in a failing command's message: a command named by the value
            seen.add(call(client, "workspace_exec", Map.of("workspace", id, "command", List.of("/no/" + value)))
                    .toString());
            // printed by a service
            ok("workspace_service_start", Map.of("workspace", id, "name", "leak", "ready_file", "ready",
                    "command", List.of("sh", "-c", "cat /run/secrets/API_TOKEN; touch ready; sleep 600")));
            Map<String, Object> logs = ok("workspace_service_logs", Map.of("workspace", id, "name", "leak"));
            seen.add(logs.toString());
            assertThat((String) logs.get("output")).contains("[REDACTED:API_TOKEN]");
            // typed into a shell, and printed by it
            String sh = (String) ok("workspace_shell_open", Map.of("workspace", id)).get("id");
            ok("workspace_shell_write", Map.of("workspace", id, "shell", sh, "data", "echo " + value + "\n"));
            Map<String, Object> read = ok("workspace_shell_read", Map.of("workspace", id, "shell", sh, "wait_ms",
                    5000));
            seen.add(read.toString());
            assertThat((String) read.get("output")).contains("[REDACTED:API_TOKEN]");
            // copied into /workspace by the sandbox (a name holding it too): read back, listed, diffed
            ok("workspace_exec", Map.of("workspace", id, "secret_env", Map.of("T", "API_TOKEN"), "command",
                    List.of("sh", "-c", "echo \"$T\" >leak.txt; echo x >\"n-$T\"")));
            Map<String, Object> file = ok("workspace_file_read", Map.of("workspace", id, "path", "leak.txt"));
            seen.add(file.toString());
            assertThat(file.get("content")).isEqualTo("[REDACTED:API_TOKEN]\n");
            assertThat(file.get("redacted")).isEqualTo(true);
            assertThat(((Number) file.get("size")).longValue()).isEqualTo(value.length() + 1);
            seen.add(ok("workspace_file_list", Map.of("workspace", id, "recursive", true)).toString());
            Map<String, Object> diff = ok("workspace_diff", Map.of("workspace", id));
            assertThat(diff.get("redacted")).isEqualTo(true);
            seen.add(diff.toString());
            seen.add(ok("workspace_logs", Map.of("workspace", id)).toString());
            seen.add(ok("workspace_status", Map.of("workspace", id)).toString());
            seen.add(ok("workspace_list", Map.of()).toString());
            seen.add(ok("workspace_diff", Map.of("workspace", id)).toString());
            for (String r : seen) {
                assertThat(r).doesNotContain(value);
            }
            // at rest: no file of the home holds it but the values' own, and the sandbox's tree (its layer, on its
            // disk image, and baseline, where it wrote the value itself); service and shell logs and records included
            Path home = shared.resolve("home");
            List<String> holding = new ArrayList<>();
            try (java.util.stream.Stream<Path> all = Files.walk(home)) {
                for (Path f : all.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                        .toList()) {
                    String rel = home.relativize(f).toString();
                    if (!rel.equals("workspaces/" + id + "/secrets/values.json")
                            && !rel.matches("sandboxes/[^/]+/(disk/)?(upper|merged)/.*")
                            && !rel.matches("sandboxes/[^/]+/disk\\.img") // the sandbox's disk: its layer
                            && !rel.matches("workspaces/[^/]+/(baseline|snapshots)/.*")
                            && new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).contains(value)) {
                        holding.add(rel);
                    }
                }
            }
            assertThat(holding).isEmpty();
        } finally {
            ok("workspace_remove", Map.of("workspace", id));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aRegistrysWordsDoNotReachTheModel() {
        McpSchema.CallToolResult r = call(client, "run", Map.of("environment", registry.hostPort() + "/nosuch/thing:1",
                "command", List.of("true")));
        assertThat(r.isError()).isTrue();
        String message = (String) ((Map<String, Object>) ((Map<String, Object>) r.structuredContent()).get("error"))
                .get("message");
        // the registry answers {"errors":[{"code":"NAME_UNKNOWN"|"MANIFEST_UNKNOWN","message":"... unknown",...}]}:
        // its code may be named, its words are not repeated
        assertThat(message).doesNotContainIgnoringCase("repository name not known").doesNotContain("manifest unknown");
        // in a JVM of its own, as a person's davit: a server in this JVM stops quoting registries for all of it
        Cli.Result cli = new Cli(shared.resolve("home-cli")).runInJvm("run", registry.hostPort() + "/nosuch/thing:1",
                "--", "true");
        assertThat(cli.stderr()).containsAnyOf("repository name not known", "manifest unknown"); // a person sees them
    }

    @Test
    void anArgumentIsNeverAHostFilesContent() throws Exception {
        Path secret = Files.writeString(shared.resolve("host-only.txt"), "host-secret-" + UUID.randomUUID() + "\n");
        String id = (String) ok("workspace_create", Map.of("environment", image)).get("id");
        try {
            McpSchema.CallToolResult r = call(client, "workspace_exec", Map.of("workspace", id, "command",
                    List.of("echo", "@" + secret)));
            assertThat(r.toString()).doesNotContain("host-secret-");
            assertThat(r.structuredContent().toString()).contains("@" + secret);
            Throwable e = org.assertj.core.api.Assertions.catchThrowable(() -> call(client, "workspace_file_read",
                    Map.of("workspace", "@" + secret, "path", "x")));
            assertThat(String.valueOf(e)).doesNotContain("host-secret-");
        } finally {
            ok("workspace_remove", Map.of("workspace", id));
        }
    }
}
