package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.Limits;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's global budget (issue 33, item 3) as a hostile model meets it: many one-shot runs at once never put
 * more sandboxes alive than {@code --max-runs} and {@code --max-memory} allow beside the workspaces, and every
 * sandbox of the server's davit home is below one cgroup whose limits are the totals.
 */
class McpBudgetTest {
    static TestRegistry registry;
    static String image;

    @TempDir
    static Path shared;

    @BeforeAll
    static void up() throws IOException {
        Tools.assumeAvailable("bwrap", "busybox", Tools.REGISTRY);
        assumeThat(Limits.unenforceable()).as("cgroups davit can create").isNull();
        registry = TestRegistry.start();
        image = BusyboxImage.push(shared, registry);
    }

    @AfterAll
    static void down() {
        if (registry != null) {
            registry.close();
        }
    }

    /** A server of this build on {@code home} with the JVM's {@code props} and the server's {@code more}. */
    static McpAsyncClient connect(Path home, List<String> props, Consumer<McpSchema.ProgressNotification> progress,
                                  String... more) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> args = new ArrayList<>(props);
        args.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.davit.cli.Main", "mcp", "serve", "--tools", "full", "--cleanup-on-exit", "--allow-registry",
                registry.hostPort()));
        args.addAll(List.of(more));
        ServerParameters params = ServerParameters.builder(java).args(args)
                .env(Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH"))).build();
        McpAsyncClient c = McpClient.async(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(10)).progressConsumer(p -> {
                    progress.accept(p);
                    return reactor.core.publisher.Mono.empty();
                }).build();
        c.initialize().block();
        return c;
    }

    /** The directories of the totals' cgroup of the sandboxes of {@code home}, one per cgroup hierarchy. */
    static List<Path> totalsCgroups(Path home) throws Exception {
        byte[] h = MessageDigest.getInstance("SHA-256").digest(home.resolve("sandboxes").toAbsolutePath().normalize()
                .toString().getBytes(StandardCharsets.UTF_8));
        String name = "totals-" + HexFormat.of().formatHex(h, 0, 6);
        try (Stream<Path> s = Files.find(Path.of("/sys/fs/cgroup"), 8, (p, a) -> a.isDirectory()
                && p.getFileName().toString().equals(name) && p.getParent().getFileName().toString().equals("davit"))) {
            return s.toList();
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> ok(McpAsyncClient c, String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest(tool, args)).block();
        assertThat(r.isError()).as(tool + ": " + r).isFalse();
        return (Map<String, Object>) r.structuredContent();
    }

    private static String refused(McpAsyncClient c, String tool, Map<String, Object> args) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> c.callTool(
                new McpSchema.CallToolRequest(tool, args)).block());
        assertThat(t).as(tool).isInstanceOf(McpError.class);
        return t.getMessage();
    }

    @Test
    void twentyFourConcurrentRunsNeverPassTheTotalsAndTheKernelHoldsThem() throws Exception {
        Path home = shared.resolve("home-24");
        // 4 sandboxes of 1024 MiB fit; one workspace takes one, so at most 3 runs at once although 10 are allowed
        McpAsyncClient c = connect(home, List.of("-Ddavit.mcp.runWaitMs=600000"), p -> { }, "--max-workspaces", "2",
                "--max-memory", "4096", "--max-cpus", "2", "--max-runs", "10");
        try {
            List<Path> parents = totalsCgroups(home);
            assertThat(parents).as("the totals' cgroup").isNotEmpty();
            for (Path p : parents) {
                if (Files.exists(p.resolve("memory.limit_in_bytes"))) {
                    assertThat(Files.readString(p.resolve("memory.limit_in_bytes")).strip())
                            .isEqualTo(Long.toString(4096L << 20));
                }
                if (Files.exists(p.resolve("cpu.cfs_quota_us"))) {
                    assertThat(Files.readString(p.resolve("cpu.cfs_quota_us")).strip()).isEqualTo("200000");
                }
                if (Files.exists(p.resolve("pids.max"))) {
                    assertThat(Files.readString(p.resolve("pids.max")).strip()).isEqualTo("12288");
                }
            }
            Path pidsParent = parents.stream().filter(p -> Files.exists(p.resolve("pids.max"))).findFirst()
                    .orElseThrow();
            String ws = (String) ok(c, "workspace_create", Map.of("environment", image)).get("id");
            // every sandbox alive is a cgroup below the totals' one: count them while the runs go
            AtomicBoolean done = new AtomicBoolean();
            AtomicInteger peak = new AtomicInteger();
            Thread counter = new Thread(() -> {
                while (!done.get()) {
                    try (Stream<Path> s = Files.list(pidsParent)) {
                        int n = (int) s.filter(Files::isDirectory).count();
                        peak.accumulateAndGet(n, Math::max);
                    } catch (IOException e) {
                        // listed again
                    }
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            counter.start();
            List<CompletableFuture<McpSchema.CallToolResult>> runs = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                runs.add(c.callTool(new McpSchema.CallToolRequest("run", Map.of("environment", image, "command",
                        List.of("sh", "-c", "sleep 1; echo done " + i)))).toFuture());
            }
            for (CompletableFuture<McpSchema.CallToolResult> r : runs) {
                McpSchema.CallToolResult res = r.get();
                assertThat(res.isError()).as(res.toString()).isFalse();
            }
            done.set(true);
            counter.join();
            assertThat(peak.get()).as("sandboxes alive at once: the workspace and at most 3 runs").isBetween(2, 4);
            ok(c, "workspace_remove", Map.of("workspace", ws));
        } finally {
            c.closeGracefully().block();
        }
    }

    @Test
    void aRunOrCreatePastTheMemoryTotalWaitsThenIsRefused() throws Exception {
        Path home = shared.resolve("home-full");
        List<McpSchema.ProgressNotification> seen = new CopyOnWriteArrayList<>();
        McpAsyncClient c = connect(home, List.of("-Ddavit.mcp.runWaitMs=600000"), seen::add, "--max-workspaces",
                "2", "--max-memory", "1024");
        try {
            String ws = (String) ok(c, "workspace_create", Map.of("environment", image)).get("id");
            assertThat(refused(c, "workspace_create", Map.of("environment", image)))
                    .contains("total memory (--max-memory 1024) is in use by 1 sandboxes")
                    .contains("workspace_remove");
            // a run waits for room, saying so, and runs once the workspace is gone
            CompletableFuture<McpSchema.CallToolResult> run = c.callTool(new McpSchema.CallToolRequest("run",
                    Map.of("environment", image, "command", List.of("echo", "ran")), Map.of("progressToken", "r1")))
                    .toFuture();
            while (seen.stream().noneMatch(p -> p.message() != null && p.message().startsWith("waiting for room"))) {
                assertThat(run).isNotDone();
                Thread.sleep(50);
            }
            assertThat(run).isNotDone();
            ok(c, "workspace_remove", Map.of("workspace", ws));
            McpSchema.CallToolResult r = run.get();
            assertThat(r.isError()).as(r.toString()).isFalse();
        } finally {
            c.closeGracefully().block();
        }
        // with no wait allowed, the run is refused at once in the tool's terms
        McpAsyncClient d = connect(shared.resolve("home-full-2"), List.of("-Ddavit.mcp.runWaitMs=0"), p -> { },
                "--max-workspaces", "2", "--max-memory", "1024");
        try {
            ok(d, "workspace_create", Map.of("environment", image));
            assertThat(refused(d, "run", Map.of("environment", image, "command", List.of("true"))))
                    .contains("total memory (--max-memory 1024) is in use by 1 sandboxes of 1024 MiB together (1 workspaces,"
                            + " 0 runs): no room for 1024 MiB more")
                    .contains("call run again");
        } finally {
            d.closeGracefully().block();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aModelsMemoryAndCpusAreItsSandboxesWithinTheServersMaxima() throws Exception {
        McpAsyncClient c = connect(shared.resolve("home-resources"), List.of("-Ddavit.mcp.runWaitMs=0"), p -> { },
                "--max-workspaces", "3", "--max-memory", "4096", "--max-cpus", "2");
        try {
            // past a maximum: a one-line error in the tool's words, naming the maximum and the server's option
            assertThat(refused(c, "workspace_create", Map.of("environment", image, "memory", 8192)))
                    .isEqualTo("'memory' must be between 16 and 4096 MiB on this server (--max-memory: all its"
                            + " sandboxes together), not 8192");
            assertThat(refused(c, "run", Map.of("environment", image, "cpus", 3, "command", List.of("true"))))
                    .isEqualTo("'cpus' must be between 0.01 and 2 on this server (--max-cpus: all its sandboxes"
                            + " together), not 3");
            // a 1-CPU workspace and run see one CPU; the memory asked for is the sandbox's limit
            String ws = (String) ok(c, "workspace_create", Map.of("environment", image, "memory", 3072, "cpus", 1))
                    .get("id");
            Map<String, Object> e = ok(c, "workspace_exec", Map.of("workspace", ws, "command", List.of("busybox",
                    "nproc")));
            assertThat(e.get("stdout")).isEqualTo("1\n");
            Map<String, Object> r = ok(c, "run", Map.of("environment", image, "cpus", 0.5, "memory", 64, "command",
                    List.of("sh", "-c", "busybox nproc; busybox head -c 200000000 /dev/zero | busybox tail -c 1 >"
                            + " /dev/null")));
            assertThat(r.get("stdout")).isEqualTo("1\n");
            McpSchema.CallToolResult oom = c.callTool(new McpSchema.CallToolRequest("run", Map.of("environment", image,
                    "memory", 64, "command", List.of("sh", "-c", "x=$(busybox head -c 200000000 /dev/zero | busybox"
                            + " tr '\\0' a); echo ${#x}")))).block();
            assertThat(((Map<String, Object>) oom.structuredContent()).get("oom_killed")).as(oom.toString())
                    .isEqualTo(true);
            // admission counts a sandbox's memory: 3072 MiB of 4096 leave room for one of 1024, not of 2048
            assertThat(refused(c, "workspace_create", Map.of("environment", image, "memory", 2048)))
                    .contains("is in use by 1 sandboxes of 3072 MiB together (1 workspaces, 0 runs): no room for 2048"
                            + " MiB more");
            String small = (String) ok(c, "workspace_create", Map.of("environment", image)).get("id");
            ok(c, "workspace_remove", Map.of("workspace", small));
            ok(c, "workspace_remove", Map.of("workspace", ws));
        } finally {
            c.closeGracefully().block();
        }
    }
}
