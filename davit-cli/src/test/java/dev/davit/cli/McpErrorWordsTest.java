package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Every tool's error paths, through the real server ({@code davit mcp serve} of this build over stdio, the {@code full}
 * and the {@code core} tool sets on one davit home and one workspace), speak the model's words only: no CLI flag (the
 * server's own options excepted: the model tells the user who runs the server to change them), no {@code davit}
 * command line, no library term ({@code Workspaces.get}, {@code RunSpec}, {@code Secrets.of()}), no internal sandbox
 * id and no path of the server's own (its scratch copies, its davit home). Each tool of {@code tools/list} is called
 * with bad arguments derived from its schema (unknown, missing, mistyped, out of range, not of its enum), with a
 * workspace that does not exist, and with bad values of its own (names, ports, secrets, host paths, ids, patterns,
 * patches), on a running workspace and on a stopped one; both invalid-params errors and isError results are read.
 */
class McpErrorWordsTest {
    static TestRegistry registry;
    static String image;
    static Path home;
    static Path allowed;
    static McpAsyncClient full;
    static McpAsyncClient core;
    /** The one workspace of the class (its name), made by the full server; the core server (same owner) sees it. */
    static final String WS = "errws";

    @TempDir
    static Path shared;

    /** A flag: {@code --memory}. */
    private static final Pattern FLAG = Pattern.compile("(?<![\\w-])--([a-z][a-z0-9-]*)");
    /** A library term: {@code Type.member}, as DoorWordsTest finds them in the library's sources. */
    private static final Pattern TERM = DoorWordsTest.TERM;
    /** A method call: {@code of()}, {@code Limits.diskMiB(}. */
    private static final Pattern CALL = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*\\((?:\\)|[A-Za-z]+\\))");
    /** The library's types a message must not name. */
    private static final Pattern TYPES = Pattern.compile("\\b(?:Workspaces|Limits|RunSpec|CreateSpec|Sandboxes"
            + "|DavitClient|Secrets|ExecSpec|ExecRequest|ServiceSpec|Shells|Services|OpenWorkspace|Davit)\\b"
            + "|Exception\\b|\\bjava\\.");
    /** What an image's layer is, which a seed archive (the model's own file) is not. */
    private static final Pattern STORE = Pattern.compile("\\b(?:store|blob|layer)\\b");
    /** Internal ids and the server's own paths. */
    private static final Pattern INTERNAL = Pattern.compile("sbx-[0-9a-z]|/tmp/davit-mcp|/pin-");

    @BeforeAll
    static void up() throws IOException, InterruptedException {
        Tools.assumeAvailable("bwrap", "busybox", Tools.REGISTRY);
        registry = TestRegistry.start();
        image = BusyboxImage.push(shared, registry);
        home = shared.resolve("home");
        allowed = Files.createDirectories(shared.resolve("allowed"));
        Files.writeString(allowed.resolve("a.txt"), "alpha\n");
        Files.createDirectories(allowed.resolve("full"));
        Files.writeString(allowed.resolve("full/b.txt"), "beta\n");
        Files.writeString(Files.createDirectories(shared.resolve("outside")).resolve("c.txt"), "gamma\n");
        Files.createSymbolicLink(allowed.resolve("escape"), shared.resolve("outside"));
        for (String bad : List.of("bad.tar", "bad.tar.gz", "bad.tar.zst")) {
            Files.writeString(allowed.resolve(bad), "not an archive\n".repeat(100));
        }
        assertThat(new ProcessBuilder("mkfifo", allowed.resolve("fifo").toString()).start().waitFor()).isZero();
        // full may give a network (so that 'publish' reaches the library's own checks), core may not
        full = serve("full", Tools.which("slirp4netns").isPresent() ? "--allow-network" : "--max-runs");
        core = serve("core", "--max-runs");
        McpSchema.CallToolResult r = full.callTool(new McpSchema.CallToolRequest("workspace_create",
                Map.of("environment", image, "name", WS))).block();
        assertThat(r.isError()).as(r.toString()).isFalse();
    }

    /** {@code davit mcp serve --tools PROFILE} of this build on the class's home; {@code more}: one more option. */
    private static McpAsyncClient serve(String profile, String more) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> args = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools", profile,
                "--allow-path", allowed.toString(), "--max-workspaces", "2", "--allow-registry", registry.hostPort(),
                more));
        if (more.equals("--max-runs")) {
            args.add("4");
        }
        ServerParameters params = ServerParameters.builder(java).args(args)
                .env(Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH"))).build();
        McpAsyncClient c = McpClient.async(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(3)).build();
        c.initialize().block();
        return c;
    }

    @AfterAll
    static void down() {
        if (full != null) {
            full.callTool(new McpSchema.CallToolRequest("workspace_remove", Map.of("workspace", WS))).block();
            full.closeGracefully().block();
        }
        if (core != null) {
            core.closeGracefully().block();
        }
        if (registry != null) {
            registry.close();
        }
    }

    /** One call made: what it was, and the error's words (null when it did not fail). */
    record Seen(String profile, String tool, String what, Map<String, Object> args, String error) {
        @Override
        public String toString() {
            return profile + " " + tool + " [" + what + "] " + args + ": " + error;
        }
    }

    /** The calls of one server, and what they answered. */
    static final class Run {
        final String profile;
        final McpAsyncClient client;
        final Map<String, McpSchema.Tool> tools = new LinkedHashMap<>();
        final List<Seen> seen = new ArrayList<>();

        Run(String profile, McpAsyncClient client) {
            this.profile = profile;
            this.client = client;
            client.listTools().block().tools().forEach(t -> tools.put(t.name(), t));
        }

        /** Calls {@code tool} with {@code args} (when the server offers it) and keeps the error's words. */
        Seen call(String tool, String what, Map<String, Object> args) {
            return tools.containsKey(tool) ? send(tool, what, args) : null;
        }

        /** Calls {@code tool} with {@code args}, offered or not, and keeps the error's words. */
        Seen send(String tool, String what, Map<String, Object> args) {
            String error;
            try {
                McpSchema.CallToolResult r = client.callTool(new McpSchema.CallToolRequest(tool, args)).block();
                error = !Boolean.TRUE.equals(r.isError()) ? null : errorText(r);
            } catch (McpError e) {
                error = "invalid params (" + e.getJsonRpcError().code() + "): " + e.getMessage();
            }
            Seen s = new Seen(profile, tool, what, args, error);
            seen.add(s);
            return s;
        }

        /** A call that must fail (one whose {@code what} starts with "may:" may succeed). */
        void fails(String tool, String what, Object... kv) {
            call(tool, what, map(kv));
        }
    }

    @SuppressWarnings("unchecked")
    private static String errorText(McpSchema.CallToolResult r) {
        StringBuilder b = new StringBuilder();
        if (r.structuredContent() instanceof Map<?, ?> doc && doc.get("error") instanceof Map<?, ?> e) {
            b.append(e.get("kind")).append(": ").append(e.get("message"));
        } else if (r.structuredContent() instanceof Map<?, ?> doc) {
            // a command that failed (run, workspace_exec): its result, not an error of the server's
            b.append("exit ").append(doc.get("exit_code"));
        }
        for (McpSchema.Content c : r.content()) {
            if (c instanceof McpSchema.TextContent t && !(r.structuredContent() instanceof Map<?, ?> d
                    && d.get("exit_code") != null)) {
                b.append(" | ").append(t.text());
            }
        }
        return b.toString();
    }

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void everyToolsErrorsSpeakTheModelsWordsOnly() {
        Run f = new Run("full", full);
        Run c = new Run("core", core);
        assertThat(f.tools.keySet()).containsAll(c.tools.keySet());
        assertThat(c.tools.keySet()).contains("workspace_exec", "workspace_diff").doesNotContain("workspace_push");
        for (Run r : List.of(f, c)) {
            schemaErrors(r);
            running(r);
            live(r);
        }
        Seen stopped = f.call("workspace_stop", "may: stop it", map("workspace", WS));
        assertThat(stopped.error()).as(stopped.toString()).isNull();
        for (Run r : List.of(f, c)) {
            stoppedErrors(r);
        }
        f.call("workspace_start", "may: start it again", map("workspace", WS));
        if (dev.davit.sandbox.jail.Jail.active()) { // a container pauses by its cgroup's freezer, made as root
            pausedStatusAndErrors(f, c);
        }
        // a tool the server does not offer
        c.send("workspace_shell_open", "not offered", map("workspace", WS));

        List<String> problems = new ArrayList<>();
        Set<String> failedTools = new TreeSet<>();
        for (Run r : List.of(f, c)) {
            for (Seen s : r.seen) {
                System.out.println(s);
                if (s.error() == null) {
                    if (!s.what().startsWith("may:")) {
                        problems.add("did not fail: " + s);
                    }
                    continue;
                }
                failedTools.add(r.profile + " " + s.tool());
                problems.addAll(foreign(s));
                if (s.what().startsWith("seed bad") && STORE.matcher(s.error()).find()) {
                    problems.add("the model's own seed archive blamed on the server's store: " + s);
                }
            }
        }
        for (Run r : List.of(f, c)) {
            for (String t : r.tools.keySet()) {
                assertThat(failedTools).as("an error of " + t + " was read").contains(r.profile + " " + t);
            }
        }
        assertThat(problems).as("door-foreign words in the model's errors (or a case that did not fail)").isEmpty();
    }

    /** The door-foreign words in {@code s}'s error. */
    private static List<String> foreign(Seen s) {
        String text = s.error();
        List<String> found = new ArrayList<>();
        Matcher m = FLAG.matcher(text);
        while (m.find()) {
            if (!SERVER_OPTIONS.contains(m.group(1))) {
                found.add("flag --" + m.group(1) + " in " + s);
            }
        }
        if (COMMAND.matcher(text).find()) {
            found.add("davit command line in " + s);
        }
        for (Pattern p : List.of(TERM, CALL, TYPES, INTERNAL)) {
            Matcher t = p.matcher(text);
            if (t.find()) {
                found.add("'" + t.group() + "' in " + s);
            }
        }
        if (text.contains(home.toString())) {
            found.add("the server's davit home in " + s);
        }
        return found;
    }

    /** The options of {@code davit mcp serve}: the operator's, which an error may name for the model to relay. */
    private static final Set<String> SERVER_OPTIONS = serverOptions();
    /** A davit command line: {@code 'davit workspace start'}, {@code davit pull x}. */
    private static final Pattern COMMAND = Pattern.compile("'davit |\\bdavit ("
            + String.join("|", ShellDocs.commandLine().getSubcommands().keySet()) + ")\\b");

    private static Set<String> serverOptions() {
        CommandLine serve = ShellDocs.commandLine().getSubcommands().get("mcp").getSubcommands().get("serve");
        Set<String> names = new TreeSet<>();
        serve.getCommandSpec().options().forEach(o -> Stream.of(o.names()).filter(n -> n.startsWith("--"))
                .forEach(n -> names.add(n.substring(2))));
        assertThat(names).contains("allow-path", "allow-network", "max-memory").doesNotContain("secret", "disk");
        return names;
    }

    /**
     * The errors every tool's schema gives: an unknown argument, each required one missing, each of a wrong type,
     * out of its range or not of its enum, and (for a workspace tool) a workspace that does not exist.
     */
    @SuppressWarnings("unchecked")
    private static void schemaErrors(Run r) {
        for (McpSchema.Tool t : r.tools.values()) {
            Map<String, Object> props = t.inputSchema().properties() == null ? Map.of() : t.inputSchema().properties();
            List<String> required = t.inputSchema().required() == null ? List.of() : t.inputSchema().required();
            Map<String, Object> base = new LinkedHashMap<>();
            for (String a : required) {
                base.put(a, valid(a, (Map<String, Object>) props.get(a)));
            }
            Map<String, Object> unknown = new LinkedHashMap<>(base);
            unknown.put("bogus", 1);
            r.call(t.name(), "unknown argument", unknown);
            for (String a : required) {
                Map<String, Object> missing = new LinkedHashMap<>(base);
                missing.remove(a);
                r.call(t.name(), "missing " + a, missing);
            }
            for (Map.Entry<String, Object> p : props.entrySet()) {
                Map<String, Object> schema = (Map<String, Object>) p.getValue();
                for (Object bad : badValues(schema)) {
                    Map<String, Object> a = new LinkedHashMap<>(base);
                    a.put(p.getKey(), bad);
                    r.call(t.name(), "bad " + p.getKey(), a);
                }
            }
            if (props.containsKey("workspace")) {
                for (String none : List.of("nosuchws", "ws-000000000000")) {
                    Map<String, Object> a = new LinkedHashMap<>(base);
                    a.put("workspace", none);
                    r.call(t.name(), "no such workspace", a);
                }
            }
        }
    }

    /** A value of an argument's type (what the other arguments' cases are given). */
    private static Object valid(String name, Map<String, Object> schema) {
        return switch (name) {
            case "workspace" -> WS;
            case "env" -> image;
            case "command" -> List.of("true");
            default -> switch (String.valueOf(schema.get("type"))) {
                case "array" -> List.of("x");
                case "integer", "number" -> 1;
                case "boolean" -> true;
                case "object" -> Map.of();
                default -> schema.get("enum") instanceof List<?> l ? l.getFirst() : "x";
            };
        };
    }

    /** Values {@code schema} refuses. */
    private static List<Object> badValues(Map<String, Object> schema) {
        List<Object> bad = new ArrayList<>();
        switch (String.valueOf(schema.get("type"))) {
            case "string" -> {
                bad.add(42);
                if (schema.get("enum") != null) {
                    bad.add("nosuchvalue");
                }
            }
            case "integer" -> {
                bad.add("12");
                bad.add(1.5);
                bad.add(-1);
                if (schema.get("maximum") instanceof Number n) {
                    bad.add(n.longValue() + 1);
                }
                if (schema.get("minimum") instanceof Number n && n.longValue() > 0) {
                    bad.add(n.longValue() - 1);
                }
            }
            case "number" -> {
                bad.add("1");
                bad.add(0);
            }
            case "boolean" -> bad.add("yes");
            case "array" -> {
                bad.add(List.of());
                bad.add(List.of(1));
            }
            case "object" -> {
                bad.add("A=1");
                bad.add(Map.of("A", 1));
                bad.add(Map.of("A=B", "x"));
            }
            default -> throw new AssertionError(schema);
        }
        return bad;
    }

    /** Bad values of each tool's own, on the running workspace. */
    private static void running(Run r) {
        String big = "x".repeat(65 * 1024);
        // run: environments, registries, limits, sizes
        r.fails("run", "unknown environment", "environment", "nosuchenv:1", "command", List.of("true"));
        r.fails("run", "bad reference", "environment", "Bad Ref!!", "command", List.of("true"));
        r.fails("run", "registry not allowed", "environment", "127.0.0.2:5000/x:1", "command", List.of("true"));
        r.fails("run", "memory too small", "environment", image, "memory", 1, "command", List.of("true"));
        r.fails("run", "memory too large", "environment", image, "memory", 1L << 40, "command", List.of("true"));
        r.fails("run", "cpus too few", "environment", image, "cpus", 0.001, "command", List.of("true"));
        r.fails("run", "cpus too many", "environment", image, "cpus", 100000, "command", List.of("true"));
        r.fails("run", "disk too small", "environment", image, "disk", 1, "command", List.of("true"));
        r.fails("run", "disk too large", "environment", image, "disk", 1L << 40, "command", List.of("true"));
        r.fails("run", "bad max_output", "environment", image, "max_output", "lots", "command", List.of("true"));
        r.fails("run", "relative workdir", "environment", image, "workdir", "rel/dir", "command", List.of("true"));
        r.fails("run", "network", "environment", image, "network", true, "memory", 1, "command", List.of("true"));
        r.fails("environment_pull", "unknown environment", "name", "nosuchenv:1");
        r.fails("environment_inspect", "unknown environment", "name", "nosuchenv:1");
        // workspace_create: names, labels, ports, secrets, seeds, backends (each refused before a sandbox starts)
        r.fails("workspace_create", "name taken", "environment", image, "name", WS);
        r.fails("workspace_create", "name ws-", "environment", image, "name", "ws-mine");
        r.fails("workspace_create", "bad name", "environment", image, "name", "bad name!");
        r.fails("workspace_create", "long name", "environment", image, "name", "n".repeat(65));
        r.fails("workspace_create", "bad label key", "environment", image, "labels", Map.of("bad key!", "v"));
        r.fails("workspace_create", "bad label value", "environment", image, "labels", Map.of("k", "bad value!"));
        Map<String, Object> many = new LinkedHashMap<>();
        for (int i = 0; i < 33; i++) {
            many.put("k" + i, "v");
        }
        r.fails("workspace_create", "too many labels", "environment", image, "labels", many);
        r.fails("workspace_create", "publish without network", "environment", image, "publish", List.of("18080:8080"));
        for (String p : List.of("8080", "80:80", "abc:def", "70000:80", "0.0.0.0:18080:80", "18080:0",
                "18080:8080/sctp")) {
            r.fails("workspace_create", "bad publish " + p, "environment", image, "network", true, "publish", List.of(p));
        }
        r.fails("workspace_create", "short secret", "environment", image, "secrets", Map.of("A", "short"));
        r.fails("workspace_create", "bad secret name", "environment", image, "secrets", Map.of("1BAD", "long enough value"));
        r.fails("workspace_create", "large secret", "environment", image, "secrets", Map.of("A", big));
        r.fails("workspace_create", "seed outside", "environment", image, "seed", shared.resolve("outside").toString());
        r.fails("workspace_create", "seed relative", "environment", image, "seed", "allowed");
        r.fails("workspace_create", "seed missing", "environment", image, "seed", allowed.resolve("nosuch").toString());
        r.fails("workspace_create", "seed through a link", "environment", image, "seed",
                allowed.resolve("escape").toString());
        r.fails("workspace_create", "vm with disk", "environment", image, "backend", "vm", "disk", 100);
        r.fails("workspace_create", "memory too small", "environment", image, "memory", 1);
        r.fails("workspace_create", "cpus too many", "environment", image, "cpus", 100000);
        r.fails("workspace_create", "disk too small", "environment", image, "disk", 1);
        r.fails("workspace_create", "unknown environment", "environment", "nosuchenv:1");
        // workspace_exec and its output
        r.call("workspace_exec", "may: cwd ../etc (/etc in the sandbox)", map("workspace", WS, "workdir", "../etc",
                "command", List.of("true")));
        r.fails("workspace_exec", "cwd missing", "workspace", WS, "workdir", "nosuch/dir", "command", List.of("true"));
        r.fails("workspace_exec", "unknown secret", "workspace", WS, "secret_env", Map.of("X", "NOSUCH"),
                "command", List.of("true"));
        r.fails("workspace_exec", "bad variable", "workspace", WS, "env", Map.of("1=", "x"),
                "command", List.of("true"));
        r.fails("workspace_exec", "no such command", "workspace", WS, "command", List.of("/nosuch/cmd"));
        r.fails("workspace_exec_output", "unknown exec", "workspace", WS, "exec_id", "nosuch");
        r.fails("workspace_exec_output", "unknown exec id", "workspace", WS, "exec_id", "ex-00000000");
        // listing and updating
        r.fails("workspace_list", "bad label key", "labels", Map.of("bad key!", "v"));
        r.fails("workspace_update", "name and no_name", "workspace", WS, "name", "x", "no_name", true);
        r.fails("workspace_update", "name ws-", "workspace", WS, "name", "ws-x");
        r.fails("workspace_update", "bad label", "workspace", WS, "labels", Map.of("bad key!", "v"));
        r.fails("workspace_update", "bad label to remove", "workspace", WS, "remove_labels", List.of("bad key!"));
        // files
        for (String p : List.of("../etc/passwd", "/etc/passwd", "nosuch", ".")) {
            r.fails("workspace_file_read", "path " + p, "workspace", WS, "path", p);
        }
        r.fails("workspace_file_read", "offset past the end", "workspace", WS, "path", "nosuch", "offset", 1L << 40);
        for (String p : List.of("../..", "nosuch", "/etc")) {
            r.fails("workspace_file_list", "path " + p, "workspace", WS, "path", p);
        }
        r.fails("workspace_file_write", "both contents", "workspace", WS, "path", "a", "content", "x",
                "content_base64", "eA==");
        r.fails("workspace_file_write", "no content", "workspace", WS, "path", "a");
        r.fails("workspace_file_write", "bad base64", "workspace", WS, "path", "a", "content_base64", "!!!");
        for (String p : List.of("../x", "", ".", "/etc/x")) {
            r.fails("workspace_file_write", "path " + p, "workspace", WS, "path", p, "content", "x");
        }
        // diff, snapshots, reset, logs
        r.fails("workspace_diff", "unknown snapshot", "workspace", WS, "snapshot", "nosuch");
        r.fails("workspace_diff", "path escapes", "workspace", WS, "paths", List.of("../x"));
        r.fails("workspace_snapshot_create", "bad name", "workspace", WS, "name", "bad name!");
        r.fails("workspace_snapshot_create", "empty name", "workspace", WS, "name", "");
        r.fails("workspace_snapshot_remove", "unknown snapshot", "workspace", WS, "name", "nosuch");
        r.fails("workspace_reset", "unknown snapshot", "workspace", WS, "snapshot", "nosuch");
        // host paths
        r.fails("workspace_push", "outside", "workspace", WS, "host_path", shared.resolve("outside/c.txt").toString());
        r.fails("workspace_push", "relative", "workspace", WS, "host_path", "allowed/a.txt");
        r.fails("workspace_push", "missing", "workspace", WS, "host_path", allowed.resolve("nosuch").toString());
        r.fails("workspace_push", "through a link", "workspace", WS, "host_path",
                allowed.resolve("escape/c.txt").toString());
        r.fails("workspace_push", "dest escapes", "workspace", WS, "host_path", allowed.resolve("a.txt").toString(),
                "dest", "../x");
        r.fails("workspace_export", "outside", "workspace", WS, "host_dest", shared.resolve("outside/d").toString());
        r.fails("workspace_export", "relative", "workspace", WS, "host_dest", "allowed/d");
        r.fails("workspace_export", "the allowed directory", "workspace", WS, "host_dest", allowed.toString());
        r.fails("workspace_export", "not empty", "workspace", WS, "host_dest", allowed.resolve("full").toString());
        r.fails("workspace_export", "path escapes", "workspace", WS, "host_dest", allowed.resolve("e1").toString(),
                "path", "../x");
        r.fails("workspace_export", "path missing", "workspace", WS, "host_dest", allowed.resolve("e2").toString(),
                "path", "nosuch");
        // the disk tools read a stopped workspace only
        r.fails("workspace_disk_list", "running", "workspace", WS);
        r.fails("workspace_disk_read", "running", "workspace", WS, "path", "a");
        r.fails("workspace_disk_export", "running", "workspace", WS, "host_dest", allowed.resolve("e3").toString());
        // patches
        r.fails("workspace_patch", "not a patch", "workspace", WS, "patch", "garbage\n");
        r.fails("workspace_patch", "path escapes", "workspace", WS, "patch",
                "--- a/../x\n+++ b/../x\n@@ -0,0 +1 @@\n+x\n");
        r.fails("workspace_patch", "does not apply", "workspace", WS, "patch",
                "--- a/nosuch\n+++ b/nosuch\n@@ -1 +1 @@\n-a\n+b\n");
        // services
        r.fails("workspace_service_start", "bad name", "workspace", WS, "name", "bad name!", "command",
                List.of("true"));
        r.fails("workspace_service_start", "two readinesses", "workspace", WS, "name", "s", "ready_port", 8000,
                "ready_file", "x", "command", List.of("true"));
        r.fails("workspace_service_start", "bad port", "workspace", WS, "name", "s", "ready_port", 70000,
                "command", List.of("true"));
        r.fails("workspace_service_start", "ready_file escapes", "workspace", WS, "name", "s", "ready_file", "../x",
                "command", List.of("true"));
        r.fails("workspace_service_start", "unknown secret", "workspace", WS, "name", "s", "secret_env",
                Map.of("X", "NOSUCH"), "command", List.of("true"));
        r.fails("workspace_service_start", "exits", "workspace", WS, "name", "s", "ready_file", "never",
                "ready_timeout", 5, "command", List.of("sh", "-c", "exit 3"));
        r.fails("workspace_service_logs", "unknown service", "workspace", WS, "name", "nosuch");
        r.fails("workspace_service_stop", "unknown service", "workspace", WS, "name", "nosuch");
        // shells
        r.fails("workspace_shell_open", "unknown secret", "workspace", WS, "secret_env", Map.of("X", "NOSUCH"));
        for (String sh : List.of("sh-00000000", "bad id!")) {
            r.fails("workspace_shell_write", "unknown shell " + sh, "workspace", WS, "shell", sh, "data", "x");
            r.fails("workspace_shell_read", "unknown shell " + sh, "workspace", WS, "shell", sh);
            r.fails("workspace_shell_signal", "unknown shell " + sh, "workspace", WS, "shell", sh, "signal", "INT");
            r.fails("workspace_shell_close", "unknown shell " + sh, "workspace", WS, "shell", sh);
        }
        r.fails("workspace_shell_read", "bad until", "workspace", WS, "shell", "sh-00000000", "until", "(");
        r.fails("workspace_logs", "too many", "workspace", WS, "last", 100000);
    }

    /**
     * Errors about what the running workspace holds: an exec's kept output, a snapshot, a file, a service, a shell,
     * each made by an earlier call of the test's.
     */
    @SuppressWarnings("unchecked")
    private static void live(Run r) {
        String p = r.profile;
        r.fails("workspace_create", "vm of a container image", "environment", image, "backend", "vm");
        r.fails("workspace_create", "vm with part of a CPU", "environment", image, "backend", "vm", "cpus", 1.5);
        r.call("run", "may: tiny max_output", map("environment", image, "max_output", "1", "command", List.of("true")));
        McpSchema.CallToolResult x = r.client.callTool(new McpSchema.CallToolRequest("workspace_exec", map(
                "workspace", WS, "output_limit", 64, "command", List.of("sh", "-c", "seq 1 2000")))).block();
        String execId = (String) ((Map<String, Object>) x.structuredContent()).get("exec_id");
        assertThat(execId).as(x.toString()).isNotNull();
        r.call("workspace_exec_output", "may: offset past the end", map("workspace", WS, "exec_id", execId,
                "offset", 1L << 40));
        r.fails("workspace_exec_output", "exec not kept", "workspace", WS, "exec_id", "e-000000000000");
        r.call("workspace_file_write", "may: a file", map("workspace", WS, "path", "d/f.txt", "content", "x\n"));
        r.call("workspace_file_read", "may: offset past the end", map("workspace", WS, "path", "d/f.txt", "offset",
                1L << 40));
        r.fails("workspace_file_read", "a directory", "workspace", WS, "path", "d");
        r.call("workspace_file_list", "may: a file", map("workspace", WS, "path", "d/f.txt"));
        r.fails("workspace_file_write", "under a file", "workspace", WS, "path", "d/f.txt/g", "content", "x");
        r.fails("workspace_file_write", "over a directory", "workspace", WS, "path", "d", "content", "x");
        r.call("workspace_diff", "may: offset past the end", map("workspace", WS, "offset", 1L << 40));
        r.call("workspace_snapshot_create", "may: a snapshot", map("workspace", WS, "name", "s-" + p));
        r.fails("workspace_snapshot_create", "name taken", "workspace", WS, "name", "s-" + p);
        r.fails("workspace_push", "over a file's parent", "workspace", WS, "host_path",
                allowed.resolve("full").toString(), "dest", "d/f.txt/x");
        r.fails("workspace_export", "a file that exists", "workspace", WS, "host_dest",
                allowed.resolve("a.txt").toString());
        r.fails("workspace_export", "a tar that exists", "workspace", WS, "host_dest",
                allowed.resolve("bad.tar").toString());
        r.fails("workspace_push", "a fifo", "workspace", WS, "host_path", allowed.resolve("fifo").toString());
        for (String seed : List.of("bad.tar", "bad.tar.gz", "bad.tar.zst", "fifo")) {
            r.fails("workspace_create", "seed " + seed, "environment", image, "seed", allowed.resolve(seed).toString());
        }
        r.call("workspace_service_start", "may: a service", map("workspace", WS, "name", "svc-" + p, "command",
                List.of("sleep", "600")));
        r.fails("workspace_service_start", "name taken", "workspace", WS, "name", "svc-" + p, "command",
                List.of("sleep", "600"));
        r.fails("workspace_service_start", "not ready in time", "workspace", WS, "name", "late-" + p, "ready_file",
                "never", "ready_timeout", 1, "command", List.of("sleep", "600"));
        r.call("workspace_service_stop", "may: stop the service", map("workspace", WS, "name", "svc-" + p));
        if (r.tools.containsKey("workspace_shell_open")) {
            McpSchema.CallToolResult sh = r.client.callTool(new McpSchema.CallToolRequest("workspace_shell_open",
                    map("workspace", WS))).block();
            String id = (String) ((Map<String, Object>) sh.structuredContent()).get("id");
            r.call("workspace_shell_close", "may: close it", map("workspace", WS, "shell", id));
            r.fails("workspace_shell_write", "closed shell", "workspace", WS, "shell", id, "data", "x");
            r.fails("workspace_shell_read", "closed shell", "workspace", WS, "shell", id);
        }
    }

    /**
     * The workspace paused: workspace_status and workspace_list say {@code paused} (its sandbox runs, frozen), and a
     * call that would run something in it is a result of kind {@code state} naming the workspace as the model gave
     * it (never a protocol error, never its sandbox); resumed, it runs again.
     */
    @SuppressWarnings("unchecked")
    private static void pausedStatusAndErrors(Run f, Run c) {
        Seen paused = f.call("workspace_pause", "may: pause it", map("workspace", WS));
        assertThat(paused.error()).as(paused.toString()).isNull();
        Map<String, Object> status = (Map<String, Object>) full.callTool(new McpSchema.CallToolRequest(
                "workspace_status", map("workspace", WS))).block().structuredContent();
        assertThat(status).containsEntry("status", "paused").containsEntry("paused", true);
        Map<String, Object> list = (Map<String, Object>) core.callTool(new McpSchema.CallToolRequest(
                "workspace_list", map())).block().structuredContent();
        assertThat((List<Map<String, Object>>) list.get("workspaces")).filteredOn(w -> WS.equals(w.get("name")))
                .singleElement().satisfies(w -> assertThat(w).containsEntry("status", "paused")
                        .containsEntry("paused", true));
        for (Run r : List.of(f, c)) {
            for (Seen s : List.of(
                    r.send("workspace_exec", "paused", map("workspace", WS, "command", List.of("true"))),
                    r.send("workspace_exec", "paused", map("workspace", WS, "command", List.of("true"),
                            "detach", true)))) {
                assertThat(s.error()).as(s.toString()).startsWith("state: workspace " + WS + " is paused;")
                        .contains(r == f ? "(workspace_resume)" : "(resume the workspace)"); // core has no such tool
            }
            r.fails("workspace_service_start", "paused", "workspace", WS, "name", "s", "command", List.of("true"));
            r.fails("workspace_shell_open", "paused", "workspace", WS);
        }
        Seen resumed = f.call("workspace_resume", "may: resume it", map("workspace", WS));
        assertThat(resumed.error()).as(resumed.toString()).isNull();
        Map<String, Object> again = (Map<String, Object>) full.callTool(new McpSchema.CallToolRequest(
                "workspace_status", map("workspace", WS))).block().structuredContent();
        assertThat(again).containsEntry("status", "running").containsEntry("paused", false);
    }

    /**
     * Each workspace tool on the stopped workspace: those that need it running fail, the disk tools work (and fail
     * on bad paths); whatever fails speaks the model's words. A case named "may: ..." may succeed.
     */
    private static void stoppedErrors(Run r) {
        r.fails("workspace_exec", "stopped", "workspace", WS, "command", List.of("true"));
        r.fails("workspace_shell_open", "stopped", "workspace", WS);
        r.fails("workspace_shell_read", "stopped", "workspace", WS, "shell", "sh-00000000");
        r.fails("workspace_service_start", "stopped", "workspace", WS, "name", "s", "command", List.of("true"));
        r.call("workspace_service_list", "may: stopped", map("workspace", WS));
        r.call("workspace_file_list", "may: stopped", map("workspace", WS));
        r.call("workspace_file_read", "may: stopped", map("workspace", WS, "path", "nosuch"));
        r.call("workspace_file_write", "may: stopped", map("workspace", WS, "path", "w.txt", "content", "x"));
        r.call("workspace_diff", "may: stopped", map("workspace", WS));
        r.call("workspace_patch", "may: stopped", map("workspace", WS, "patch",
                "--- /dev/null\n+++ b/p.txt\n@@ -0,0 +1 @@\n+p\n"));
        r.call("workspace_push", "may: stopped", map("workspace", WS, "host_path", allowed.resolve("a.txt").toString()));
        r.call("workspace_export", "may: stopped", map("workspace", WS, "host_dest",
                allowed.resolve("stopped-" + r.profile).toString()));
        r.fails("workspace_disk_read", "path escapes", "workspace", WS, "path", "../etc/passwd");
        r.fails("workspace_disk_read", "missing", "workspace", WS, "path", "nosuch");
        r.fails("workspace_disk_list", "path escapes", "workspace", WS, "path", "../..");
        r.fails("workspace_disk_list", "missing", "workspace", WS, "path", "nosuch");
        r.fails("workspace_disk_export", "outside", "workspace", WS, "host_dest",
                shared.resolve("outside/s").toString());
        r.fails("workspace_disk_export", "not empty", "workspace", WS, "host_dest", allowed.resolve("full").toString());
        r.fails("workspace_disk_export", "a tar that exists", "workspace", WS, "host_dest",
                allowed.resolve("bad.tar").toString());
        r.fails("workspace_disk_export", "path escapes", "workspace", WS, "host_dest",
                allowed.resolve("s1").toString(), "path", "../x");
    }
}
