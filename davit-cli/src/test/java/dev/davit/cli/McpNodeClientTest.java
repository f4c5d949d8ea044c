package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@code davit mcp serve} driven by an independent client: the MCP TypeScript SDK from npm (installed once
 * into target/mcp-node; npm's cache keeps reruns fast) running src/test/node/mcp-client.mjs, over stdio and over
 * streamable HTTP.
 */
class McpNodeClientTest {
    /** The npm package the client uses, pinned. */
    static final String SDK = "@modelcontextprotocol/sdk@1.32.2";

    static TestRegistry registry;
    static String image;
    static Path nodeDir;

    @TempDir
    static Path shared;

    @BeforeAll
    static void up() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox", "node", "npm", Tools.REGISTRY);
        registry = TestRegistry.start();
        image = BusyboxImage.push(shared, registry);
        nodeDir = nodeClients();
        Path allowed = Files.createDirectories(shared.resolve("allowed/project"));
        Files.writeString(allowed.resolve("a.txt"), "alpha\n");
    }

    /**
     * target/mcp-node: the SDK installed there (once) and the client scripts of src/test/node copied beside it.
     */
    static Path nodeClients() throws Exception {
        Path dir = Path.of("target", "mcp-node").toAbsolutePath();
        Files.createDirectories(dir);
        if (!Files.isRegularFile(dir.resolve("node_modules/@modelcontextprotocol/sdk/package.json"))) {
            Files.writeString(dir.resolve("package.json"), "{\"private\":true,\"type\":\"module\"}\n");
            Result npm = exec(dir, List.of("npm", "install", "--no-audit", "--no-fund", "--silent", SDK), 600);
            assertThat(npm.rc()).as(npm.output()).isZero();
        }
        for (String script : List.of("checks.mjs", "mcp-client.mjs", "mcp-k8s-client.mjs", "mcp-https-client.mjs")) {
            Files.copy(Path.of("src/test/node", script), dir.resolve(script), StandardCopyOption.REPLACE_EXISTING);
        }
        return dir;
    }

    @AfterAll
    static void down() {
        if (registry != null) {
            registry.close();
        }
    }

    record Result(int rc, String output) {
    }

    private static Result exec(Path dir, List<String> argv, int seconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true);
        if (shared != null) { // null for another test class's nodeClients()
            pb.environment().put("DAVIT_HOME", shared.resolve("home").toString());
        }
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static List<String> serve(String... more) {
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools", "full", "--allow-path",
                shared.resolve("allowed").toString(), "--allow-registry", registry.hostPort()));
        argv.addAll(List.of(more));
        return argv;
    }

    private static List<String> client(String mode, List<String> rest) {
        List<String> argv = new ArrayList<>(List.of("node", "mcp-client.mjs", mode, image,
                shared.resolve("allowed/project").toString()));
        argv.addAll(rest);
        return argv;
    }

    @Test
    void overStdio() throws Exception {
        Result r = exec(nodeDir, client("stdio", serve()), 600);
        assertThat(r.rc()).as(r.output()).isZero();
        assertThat(r.output()).contains("ok: a host path outside --allow-path is refused",
                "ok: a cancelled exec goes on", "ok: a cancelled exec's end is in workspace_logs",
                "ok: a shell answers `read x`", "ok: a 3 MB output is capped",
                "ok: bytes that are not UTF-8 come back exactly", "ok: a shell's reads are clean text",
                "ok: exec on a stopped workspace", "ok: descriptions name only offered tools",
                "ok: the background exec was still running after one wait",
                "ok: a 20 s background exec outlived its client and was waited for in calls shorter than it",
                "ok: its output paged back whole", "ok: done");
    }

    @Test
    void overStreamableHttpWithItsToken() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(serve("--http", "127.0.0.1:0")).redirectErrorStream(true);
        pb.environment().put("DAVIT_HOME", shared.resolve("home").toString());
        Process server = pb.start();
        StringBuilder log = new StringBuilder();
        try {
            BufferedReader lines = new BufferedReader(new InputStreamReader(server.getInputStream(),
                    StandardCharsets.UTF_8));
            String url = null;
            Pattern started = Pattern.compile("MCP server on (http://127\\.0\\.0\\.1:\\d+/mcp) \\(bearer token in"
                    + " (.+)\\)");
            for (String line; url == null && (line = lines.readLine()) != null; ) {
                log.append(line).append('\n');
                Matcher m = started.matcher(line);
                if (m.find()) {
                    url = m.group(1);
                    assertThat(Path.of(m.group(2))).isEqualTo(shared.resolve("home/mcp/token"));
                }
            }
            assertThat(url).as(log.toString()).isNotNull();
            Path tokenFile = shared.resolve("home/mcp/token");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenFile))).isEqualTo("rw-------");
            String token = Files.readString(tokenFile).strip();
            assertThat(token).hasSize(64);
            Thread drain = new Thread(() -> lines.lines().forEach(l -> {
                synchronized (log) {
                    log.append(l).append('\n');
                }
            }));
            drain.setDaemon(true);
            drain.start();
            Result r = exec(nodeDir, client("http", List.of(url, tokenFile.toString())), 600);
            assertThat(r.rc()).as(r.output() + "\n--- server\n" + log).isZero();
            assertThat(r.output()).contains("ok: http: no token is 401 with WWW-Authenticate: Bearer",
                    "ok: http: a non-loopback Origin is refused (403)", "ok: workspace_diff",
                    "ok: a cancelled exec goes on", "ok: a cancelled exec's end is in workspace_logs",
                    "ok: http: deleting the session killed its run", "ok: done");
            synchronized (log) {
                assertThat(log.toString()).doesNotContain(token);
            }
        } finally {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void refusesBadOptionsInOneLine() throws Exception {
        Result r = exec(shared, serve("--http", "127.0.0.1:notaport"), 120);
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.output().strip()).isEqualTo("davit: error: --http needs [HOST:]PORT with PORT 0-65535, got"
                + " '127.0.0.1:notaport'");
        Cli cli = new Cli(shared.resolve("home"));
        Cli.Result tools = cli.run("mcp", "serve", "--tools", "most");
        assertThat(tools.rc()).isEqualTo(2);
        assertThat(tools.stderr()).isEqualTo("davit: error: --tools must be run, core or full, got 'most'\n");
        // the bounds DavitTools.Options checks too (ServeOptions.checkOptions), here in the flags' words
        Cli.Result warm = cli.run("mcp", "serve", "--max-workspaces", "2", "--warm", "3");
        assertThat(warm.rc()).isEqualTo(2);
        assertThat(warm.stderr()).isEqualTo("davit: error: --warm must be between 0 and --max-workspaces (2), got 3\n");
        Cli.Result disk = cli.run("mcp", "serve", "--max-disk", "1");
        assertThat(disk.rc()).isEqualTo(2);
        assertThat(disk.stderr()).startsWith("davit: error: --max-disk must be between ").endsWith(" MiB, got 1\n");
        Cli.Result backend = cli.run("mcp", "serve", "--backend", "k8s,nomad");
        assertThat(backend.rc()).isEqualTo(2);
        assertThat(backend.stderr()).startsWith("davit: error: --backend: unknown backend 'nomad'; available:")
                .contains("k8s").hasLineCount(1);
        Cli.Result path = cli.run("mcp", "serve", "--allow-path", shared.resolve("nosuch").toString());
        assertThat(path.rc()).isEqualTo(2);
        assertThat(path.stderr()).isEqualTo("davit: error: --allow-path " + shared.resolve("nosuch")
                + " is not an existing directory; create it or give another\n");
    }
}
