package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The doors of commit and of snapshots that travel: the CLI's {@code workspace commit}, {@code workspace snapshot
 * push}, {@code workspace create --from} and {@code referrers} between two homes over a real registry, and the MCP
 * tools {@code workspace_commit}, {@code workspace_snapshot_push} and {@code workspace_create} with {@code from},
 * which a model may use only within the operator's {@code --commit-to} prefixes.
 */
class WorkspaceTravelCliTest extends BusyboxRegistryTest {
    @TempDir
    Path other;

    private final List<McpAsyncClient> clients = new ArrayList<>();

    @AfterEach
    void close() {
        clients.forEach(c -> c.closeGracefully().block());
        for (Path h : List.of(home, other)) {
            Cli cli = new Cli(h);
            for (JsonNode w : cli.run("--json", "workspace", "ls").json().get("workspaces")) {
                cli.run("workspace", "rm", w.get("id").asText());
            }
        }
    }

    private static JsonNode ok(Cli cli, String... args) {
        Cli.Result r = cli.run(args);
        assertThat(r.rc()).as(r.toString()).isZero();
        return r.json();
    }

    @Test
    void theCliCommitsPushesASnapshotAndCreatesFromItInAnotherHome() throws Exception {
        Cli a = new Cli(home);
        String id = ok(a, "--json", "workspace", "create", image, "--name", "proj").get("id").asText();
        ok(a, "--json", "workspace", "exec", "proj", "--", "sh", "-c", "echo one > a.txt; echo pkg > /etc/pkg.conf");
        ok(a, "--json", "workspace", "snapshot", "create", "proj", "s1");
        ok(a, "--json", "workspace", "exec", "proj", "--", "sh", "-c", ": > .wh.notes");

        String committed = registry.hostPort() + "/team/proj-image:1";
        JsonNode c = ok(a, "--json", "workspace", "commit", "proj", committed, "--push");
        assertThat(c.get("workspace").asText()).isEqualTo(id);
        assertThat(c.get("base").asText()).isEqualTo(image);
        assertThat(c.get("push").get("reference").asText()).isEqualTo(committed);
        Cli.Result human = a.run("workspace", "commit", "proj", registry.hostPort() + "/team/proj-image:2");
        assertThat(human.rc()).isZero();
        assertThat(human.stdout()).startsWith("committed " + id + " to ").contains(" files, ", " 0 deleted; on "
                + image);
        // a regular file named .wh.* is left out for its name, and said so: it is no special file
        assertThat(human.stderr()).contains("davit: skipped workspace/.wh.notes (a name starting with .wh. marks a"
                + " deletion in an image layer; rename the file to keep it)").doesNotContain("special file");

        String snap = registry.hostPort() + "/team/proj:s1";
        JsonNode p = ok(a, "--json", "workspace", "snapshot", "push", "proj", "s1", snap);
        assertThat(p.get("referrers_tag").asBoolean()).isTrue();
        JsonNode refs = ok(a, "--json", "referrers", registry.hostPort() + "/team/proj@"
                + p.get("environment").get("digest").asText());
        assertThat(refs.get("referrers")).hasSize(1);
        assertThat(refs.get("referrers").get(0).get("digest").asText()).isEqualTo(p.get("digest").asText());

        // another home: the image runs there, and the snapshot is a workspace there
        Cli b = new Cli(other);
        Cli.Result run = b.run("run", committed, "--", "sh", "-c", "cat /workspace/a.txt /etc/pkg.conf");
        assertThat(run.rc()).as(run.toString()).isZero();
        assertThat(run.stdout()).isEqualTo("one\npkg\n");
        JsonNode made = ok(b, "--json", "workspace", "create", "--from", snap, "--name", "proj-b");
        assertThat(made.get("snapshot").asText()).isEqualTo("s1");
        Cli.Result cat = b.run("workspace", "exec", "proj-b", "--", "sh", "-c", "cat a.txt; test -e /etc/pkg.conf"
                + " || echo only-workspace");
        assertThat(cat.stdout()).isEqualTo("one\nonly-workspace\n");

        // through a bundle, to a home no registry reaches
        java.nio.file.Path file = other.resolve("proj.tar");
        JsonNode exported = ok(a, "--json", "workspace", "snapshot", "push", "proj", "s1", "localhost/snaps/proj:s1",
                "--bundle", file.toString());
        assertThat(exported.get("bundle").asText()).isEqualTo(file.toString());
        Cli third = new Cli(other.resolve("third"));
        ok(third, "--json", "import", file.toString());
        JsonNode offline = ok(third, "--json", "workspace", "create", "--from", "localhost/snaps/proj:s1");
        assertThat(offline.get("snapshot").asText()).isEqualTo("s1");
        assertThat(third.run("workspace", "exec", offline.get("id").asText(), "--", "cat", "a.txt").stdout())
                .isEqualTo("one\n");
        ok(third, "--json", "workspace", "rm", offline.get("id").asText());
        // or straight from the bundle: only the snapshot and its environment are imported
        Cli fourth = new Cli(other.resolve("fourth"));
        JsonNode direct = ok(fourth, "--json", "workspace", "create", "--from", "localhost/snaps/proj:s1", "--bundle",
                file.toString());
        assertThat(direct.get("snapshot").asText()).isEqualTo("s1");
        ok(fourth, "--json", "workspace", "rm", direct.get("id").asText());
        assertThat(fourth.run("workspace", "create", image, "--bundle", file.toString()).stderr())
                .contains("give --from REF with it");
        // another snapshot under the same name: its import would move a name the home has, so it asks first
        ok(a, "--json", "workspace", "snapshot", "create", "proj", "s2");
        java.nio.file.Path moved = other.resolve("proj2.tar");
        ok(a, "--json", "workspace", "snapshot", "push", "proj", "s2", "localhost/snaps/proj:s1", "--bundle",
                moved.toString());
        Cli.Result asks = third.run("import", moved.toString());
        assertThat(asks.rc()).as(asks.toString()).isEqualTo(2);
        assertThat(asks.stderr().lines().filter(l -> l.startsWith("davit:")).toList()).singleElement().asString()
                .contains("would rename 1 reference the store already has to other images:"
                + " localhost/snaps/proj:s1 (").contains("Give --overwrite to replace them, or --map to import under"
                + " other names");
        assertThat(ok(third, "--json", "import", moved.toString(), "--overwrite").get("references")
                .findValuesAsText("status")).contains("updated");
        Cli.Result both = a.run("workspace", "snapshot", "push", "proj", "s1", "localhost/x:1", "--local", "--bundle",
                other.resolve("x.tar").toString());
        assertThat(both.rc()).isEqualTo(2);
        assertThat(both.stderr()).contains("--local and --bundle");

        // bad input: one line, exit 2, nothing made
        Cli.Result twice = b.run("workspace", "create", image, "--from", snap);
        assertThat(twice.rc()).isEqualTo(2);
        assertThat(twice.stderr().strip()).contains("one of the two").doesNotContain("\n");
        Cli.Result notSnap = b.run("workspace", "create", "--from", committed);
        assertThat(notSnap.rc()).isEqualTo(2);
        assertThat(notSnap.stderr()).contains("is not a workspace snapshot");
        assertThat(ok(b, "--json", "workspace", "ls").get("workspaces")).hasSize(1);
    }

    /**
     * A snapshot of the whole sandbox ({@code --all}) travels with what was installed outside /workspace, and with the
     * workspace's variables, labels and disk limit; given options win over the carried ones.
     */
    @Test
    void aWholeSandboxSnapshotCarriesItsPackagesAndSettings() {
        Cli a = new Cli(home);
        ok(a, "--json", "workspace", "create", image, "--name", "whole", "--env", "GREETING=hi", "--label",
                "team=core", "--disk", "200");
        ok(a, "--json", "workspace", "exec", "whole", "--", "sh", "-c", "mkdir -p /opt/t && echo v1 > /opt/t/V"
                + " && echo w > w.txt");
        assertThat(ok(a, "--json", "workspace", "snapshot", "create", "whole", "s1", "--all").get("all")
                .asBoolean()).isTrue();
        String snap = registry.hostPort() + "/team/whole:s1";
        ok(a, "--json", "workspace", "snapshot", "push", "whole", "s1", snap);

        Cli b = new Cli(other);
        JsonNode made = ok(b, "--json", "workspace", "create", "--from", snap, "--name", "wb");
        assertThat(made.get("labels").get("team").asText()).isEqualTo("core");
        assertThat(made.get("environment").asText()).startsWith("localhost/davit/restored:");
        Cli.Result cat = b.run("workspace", "exec", "wb", "--", "sh", "-c", "cat /opt/t/V w.txt; echo $GREETING");
        assertThat(cat.stdout()).as(cat.toString()).isEqualTo("v1\nw\nhi\n");
        assertThat(ok(b, "--json", "sandbox", "status", made.get("sandbox").asText()).get("limits").toString())
                .contains("\"disk_mib\":200");
        // options given here win
        JsonNode wc = ok(b, "--json", "workspace", "create", "--from", snap, "--name", "wc", "--env", "GREETING=bye",
                "--label", "team=other", "--disk", "300");
        assertThat(b.run("workspace", "exec", "wc", "--", "sh", "-c", "echo $GREETING").stdout()).isEqualTo("bye\n");
        assertThat(wc.get("labels").get("team").asText()).isEqualTo("other");
        assertThat(ok(b, "--json", "sandbox", "status", wc.get("sandbox").asText()).get("limits").toString())
                .contains("\"disk_mib\":300");
    }

    /** Workspace "proj" of home {@code cli}, one file in it, snapshot s1 pushed to {@code reference}. */
    private static void pushedSnapshot(Cli cli, String reference) {
        ok(cli, "--json", "workspace", "create", image, "--name", "proj");
        ok(cli, "--json", "workspace", "exec", "proj", "--", "sh", "-c", "echo one > a.txt");
        ok(cli, "--json", "workspace", "snapshot", "create", "proj", "s1");
        ok(cli, "--json", "workspace", "snapshot", "push", "proj", "s1", reference);
    }

    /**
     * A snapshot artifact in the store is held to the signature policy on every use, as a cached image is: once the
     * policy rejects its tag, a create from it is refused as a pull of it is (exit 6), though it was admitted when
     * it came.
     */
    @Test
    void aStoredSnapshotIsHeldToThePolicyOnEveryUse() throws Exception {
        String snap = registry.hostPort() + "/stranger/proj:s1";
        pushedSnapshot(new Cli(home), snap);
        Cli b = new Cli(other);
        String first = ok(b, "--json", "workspace", "create", "--from", snap).get("id").asText();
        ok(b, "--json", "workspace", "rm", first);
        java.nio.file.Files.writeString(other.resolve("policy.json"), "{\"default\": [{\"type\":"
                + " \"insecureAcceptAnything\"}], \"transports\": {\"docker\": {\"" + snap + "\": [{\"type\":"
                + " \"reject\"}]}}}");
        Cli.Result refused = b.run("workspace", "create", "--from", snap);
        assertThat(refused.rc()).as(refused.toString()).isEqualTo(6);
        assertThat(refused.stderr().strip()).contains(snap + " is refused by the signature policy")
                .doesNotContain("\n");
        assertThat(b.run("pull", snap).rc()).isEqualTo(6);
        assertThat(ok(b, "--json", "workspace", "ls").get("workspaces")).isEmpty();
    }

    private McpAsyncClient stdio(String... more) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> args = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools", "full",
                "--allow-registry", registry.hostPort()));
        args.addAll(List.of(more));
        ServerParameters params = ServerParameters.builder(java).args(args)
                .env(Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH"))).build();
        McpAsyncClient c = McpClient.async(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(3)).build();
        clients.add(c);
        c.initialize().block();
        return c;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> call(McpAsyncClient c, String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest(tool, args)).block();
        assertThat(r.isError()).as(tool + ": " + r).isFalse();
        return (Map<String, Object>) r.structuredContent();
    }

    private static String invalid(McpAsyncClient c, String tool, Map<String, Object> args) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> c.callTool(
                new McpSchema.CallToolRequest(tool, args)).block());
        assertThat(t).as(tool).isInstanceOf(McpError.class);
        assertThat(((McpError) t).getJsonRpcError().code()).isEqualTo(McpSchema.ErrorCodes.INVALID_PARAMS);
        return t.getMessage();
    }

    @Test
    void aModelCommitsAndPushesOnlyUnderTheOperatorsPrefixes() {
        McpAsyncClient off = stdio();
        String ws0 = (String) call(off, "workspace_create", Map.of("environment", image)).get("id");
        assertThat(invalid(off, "workspace_commit", Map.of("workspace", ws0, "reference", registry.hostPort()
                + "/agents/x:1"))).contains("--commit-to");
        off.closeGracefully().block();
        clients.remove(off);

        McpAsyncClient c = stdio("--commit-to", registry.hostPort() + "/agents");
        String ws = (String) call(c, "workspace_create", Map.of("environment", image)).get("id");
        call(c, "workspace_exec", Map.of("workspace", ws, "command", List.of("sh", "-c", "echo fixed > f.txt")));
        Map<String, Object> commit = call(c, "workspace_commit", Map.of("workspace", ws, "reference",
                registry.hostPort() + "/agents/fixed:1", "push", true));
        assertThat(commit.get("pushed")).isEqualTo(true);
        assertThat(invalid(c, "workspace_commit", Map.of("workspace", ws, "reference", image)))
                .contains("not under a repository");
        assertThat(invalid(c, "workspace_commit", Map.of("workspace", ws, "reference", registry.hostPort()
                + "/agentsx/fixed:1"))).contains("not under a repository");

        call(c, "workspace_snapshot_create", Map.of("workspace", ws, "name", "s1"));
        assertThat(invalid(c, "workspace_snapshot_push", Map.of("workspace", ws, "snapshot", "s1", "reference",
                registry.hostPort() + "/team/x:1"))).contains("not under a repository");
        Map<String, Object> pushed = call(c, "workspace_snapshot_push", Map.of("workspace", ws, "snapshot", "s1",
                "reference", registry.hostPort() + "/agents/proj:s1"));
        Map<String, Object> made = call(c, "workspace_create", Map.of("from", pushed.get("reference")));
        assertThat(made.get("snapshot")).isEqualTo("s1");
        Map<String, Object> read = call(c, "workspace_file_read", Map.of("workspace", made.get("id"), "path",
                "f.txt"));
        assertThat(read.get("content")).isEqualTo("fixed\n");
        assertThat(invalid(c, "workspace_create", Map.of("environment", image, "from", pushed.get("reference"))))
                .contains("one of the two");

        // a snapshot of the operator's, only in the store, is not the model's to open
        Cli operator = new Cli(home);
        ok(operator, "--json", "workspace", "create", image, "--name", "mine");
        ok(operator, "--json", "workspace", "exec", "mine", "--", "sh", "-c", "echo private > p.txt");
        ok(operator, "--json", "workspace", "snapshot", "create", "mine", "s1");
        ok(operator, "--json", "workspace", "snapshot", "push", "mine", "s1", "localhost/operator/mine:s1", "--local");
        assertThat(invalid(c, "workspace_create", Map.of("from", "localhost/operator/mine:s1")))
                .contains("'from'");
        // nor under the name of a registry the server may pull from: it is opened as the registry has it (not at all)
        String stored = registry.hostPort() + "/operator/mine:s1";
        ok(operator, "--json", "workspace", "snapshot", "push", "mine", "s1", stored, "--local");
        McpSchema.CallToolResult refused = c.callTool(new McpSchema.CallToolRequest("workspace_create",
                Map.of("from", stored))).block();
        assertThat(refused.isError()).as(refused.toString()).isTrue();
        assertThat(refused.toString()).doesNotContain("private");
        assertThat(invalid(c, "workspace_create", Map.of())).contains("one of the two");
    }
}
