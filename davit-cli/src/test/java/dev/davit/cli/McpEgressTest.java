package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.testnet.TestInternet;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Attacker's tests of the MCP door of egress policies: a model asks for a policy ({@code allow_hosts}, ... of
 * {@code workspace_create} and {@code run}) and changes it ({@code workspace_network}), and gets nothing beyond the
 * operator's {@code --allow-egress} (refused in tool terms, naming the bound, before anything is made); without
 * {@code --allow-egress} no policy at all. Through a test Internet (network namespaces the test makes, never the host's
 * LAN), a denied name's refusal comes back in the exec's result ({@code network_denied}).
 */
class McpEgressTest extends BusyboxRegistryTest {
    private final List<McpAsyncClient> clients = new ArrayList<>();
    /** Every progress notification the test's clients got. */
    private final List<McpSchema.ProgressNotification> progress = new java.util.concurrent.CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        clients.forEach(c -> c.closeGracefully().block());
        Cli cli = new Cli(home);
        for (JsonNode w : cli.run("--json", "workspace", "ls").json().get("workspaces")) {
            cli.run("workspace", "rm", w.get("id").asText());
        }
    }

    /** What a sandbox with a policy needs here: its gate runs on Java 22 and sets iptables rules, as root. */
    private static void assumeGate() {
        Tools.assumeAvailable("iptables-restore", "slirp4netns");
        assumeTrue("root".equals(System.getProperty("user.name")), "egress policies are tested as root here");
        assumeTrue(Runtime.version().feature() >= 22, "as root, the sandbox's FFM calls need Java 22");
    }

    /** A stdio server of this build on the test's home, with {@code env} added to its environment. */
    private McpAsyncClient stdio(Map<String, String> env, String... more) {
        String java = ProcessHandle.current().info().command().orElse("java");
        // this test's class path: with every module's Java 22 root when run from class directories (the parent pom)
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools", "full",
                "--allow-registry", registry.hostPort()));
        cmd.addAll(List.of(more));
        Map<String, String> e = new HashMap<>(env);
        e.put("DAVIT_HOME", home.toString());
        e.put("PATH", System.getenv("PATH"));
        ServerParameters params = ServerParameters.builder(cmd.get(0)).args(cmd.subList(1, cmd.size())).env(e).build();
        McpAsyncClient c = McpClient.async(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(3)).progressConsumer(p -> {
                    progress.add(p);
                    return reactor.core.publisher.Mono.empty();
                }).build();
        clients.add(c);
        c.initialize().block();
        return c;
    }

    private McpAsyncClient stdio(String... more) {
        return stdio(Map.of(), more);
    }

    private static McpSchema.CallToolResult call(McpAsyncClient c, String tool, Map<String, Object> args) {
        return c.callTool(new McpSchema.CallToolRequest(tool, args)).block();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> ok(McpAsyncClient c, String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = call(c, tool, args);
        assertThat(r.isError()).as(tool + ": " + r).isFalse();
        return (Map<String, Object>) r.structuredContent();
    }

    /** A refusal in tool terms: one line, a JSON-RPC invalid-params error. */
    private static String invalid(McpAsyncClient c, String tool, Map<String, Object> args) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> call(c, tool, args));
        assertThat(t).as(tool + " " + args).isInstanceOf(McpError.class);
        assertThat(((McpError) t).getJsonRpcError().code()).isEqualTo(McpSchema.ErrorCodes.INVALID_PARAMS);
        assertThat(t.getMessage()).as("one line").doesNotContain("\n");
        return t.getMessage();
    }

    @SuppressWarnings("unchecked")
    private static List<String> listed(McpAsyncClient c) {
        return ((List<Map<String, Object>>) ok(c, "workspace_list", Map.of()).get("workspaces")).stream()
                .map(w -> (String) w.get("id")).toList();
    }

    private static Map<String, Object> args(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    @SuppressWarnings("unchecked")
    void aPolicyWithinTheBoundIsMadeAndOneBeyondItIsRefusedBeforeAnythingIs() {
        assumeGate();
        McpAsyncClient c = stdio("--allow-egress", "allowed.test,pypi", "--allow-egress", "198.18.0.0/15");
        String bound = "(--allow-egress: allowed.test, pypi, 198.18.0.0/15)";
        String beyond = invalid(c, "workspace_create", args("environment", image, "allow_hosts", List.of("denied.test")));
        assertThat(beyond).contains("allow_hosts entry denied.test is beyond the operator's egress bound " + bound)
                .contains("ask the operator");
        assertThat(invalid(c, "workspace_create", args("environment", image, "allow_hosts", List.of("allowed.test"),
                "allow_presets", List.of("npm")))).contains("allow_presets entry npm (").contains(bound);
        assertThat(invalid(c, "workspace_create", args("environment", image, "allow_cidrs", List.of("10.0.0.0/8"))))
                .contains("allow_cidrs entry 10.0.0.0/8 is beyond");
        // a wildcard is wider than the name it ends with
        assertThat(invalid(c, "workspace_create", args("environment", image, "allow_hosts", List.of("*.allowed.test"))))
                .contains("allow_hosts entry *.allowed.test is beyond");
        assertThat(invalid(c, "run", args("environment", image, "command", List.of("true"), "allow_hosts",
                List.of("evil.test")))).contains("allow_hosts entry evil.test is beyond").contains(bound);
        // a policy and the whole network exclude each other; an invalid entry is refused in tool words
        assertThat(invalid(c, "workspace_create", args("environment", image, "network", true, "allow_hosts",
                List.of("allowed.test")))).contains("'network'").contains("not both");
        assertThat(invalid(c, "workspace_create", args("environment", image, "allow_hosts", List.of("http://x/"))))
                .contains("'allow_hosts'").doesNotContain("--allow-host").doesNotContain("allowHosts");
        assertThat(listed(c)).as("nothing was created").isEmpty();

        // pypi.org on every port is wider than the preset's pypi.org:443
        assertThat(invalid(c, "workspace_create", args("environment", image, "allow_hosts", List.of("pypi.org"))))
                .contains("allow_hosts entry pypi.org is beyond");
        Map<String, Object> w = ok(c, "workspace_create", args("environment", image, "name", "pol", "allow_hosts",
                List.of("allowed.test", "pypi.org:443"), "allow_presets", List.of("pypi"), "deny_hosts",
                List.of("evil.test")));
        Map<String, Object> shown = ok(c, "workspace_network", args("workspace", "pol"));
        assertThat(shown).containsEntry("mode", "policy").containsEntry("presets", List.of("pypi"))
                .containsEntry("deny", List.of("evil.test")).containsEntry("denied_recently", List.of());
        assertThat((List<String>) shown.get("allow")).contains("allowed.test", "pypi.org:443",
                "files.pythonhosted.org:443");
        assertThat(listed(c)).containsExactly((String) w.get("id"));
    }

    /**
     * A whole-sandbox snapshot carries its workspace's policy, variables, labels and what was installed under /opt;
     * a server restores the policy only within its own bound (as if the model had asked for it), and the model's own
     * network wins.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aSnapshotsPolicyComesWithItOnlyWithinTheServersBound() {
        assumeGate();
        String agents = registry.hostPort() + "/agents";
        McpAsyncClient c = stdio("--allow-egress", "allowed.test,other.test", "--commit-to", agents);
        ok(c, "workspace_create", args("environment", image, "name", "src", "allow_hosts", List.of("allowed.test",
                "other.test"), "env", Map.of("GREETING", "hi"), "labels", Map.of("team", "core")));
        ok(c, "workspace_exec", args("workspace", "src", "command", List.of("sh", "-c",
                "mkdir -p /opt/t && echo v1 > /opt/t/V && echo w > w.txt")));
        Map<String, Object> snap = ok(c, "workspace_snapshot_create", args("workspace", "src", "name", "all",
                "all", true));
        assertThat(snap.get("all")).isEqualTo(true);
        String ref = (String) ok(c, "workspace_snapshot_push", args("workspace", "src", "snapshot", "all",
                "reference", agents + "/proj:all")).get("reference");
        Map<String, Object> made = ok(c, "workspace_create", args("from", ref, "name", "back"));
        assertThat((Map<String, Object>) made.get("labels")).containsEntry("team", "core");
        Map<String, Object> ran = ok(c, "workspace_exec", args("workspace", "back", "command", List.of("sh", "-c",
                "cat /opt/t/V w.txt; echo $GREETING")));
        assertThat(ran.get("stdout")).isEqualTo("v1\nw\nhi\n");
        assertThat((List<String>) ok(c, "workspace_network", args("workspace", "back")).get("allow"))
                .containsExactlyInAnyOrder("allowed.test", "other.test");
        c.closeGracefully().block();
        clients.remove(c);

        McpAsyncClient narrow = stdio("--allow-egress", "allowed.test", "--commit-to", agents);
        assertThat(invalid(narrow, "workspace_create", args("from", ref))).contains("snapshot " + ref
                + " carries an egress policy allowing other.test, beyond this server's --allow-egress (allowed.test)")
                .contains("'network': false");
        Map<String, Object> none = ok(narrow, "workspace_create", args("from", ref, "name", "none", "network",
                false));
        assertThat(ok(narrow, "workspace_network", args("workspace", none.get("id"))).get("mode")).isEqualTo("none");
        ok(narrow, "workspace_create", args("from", ref, "name", "own", "allow_hosts", List.of("allowed.test")));
        assertThat((List<String>) ok(narrow, "workspace_network", args("workspace", "own")).get("allow"))
                .containsExactly("allowed.test");
        narrow.closeGracefully().block();
        clients.remove(narrow);

        McpAsyncClient off = stdio("--commit-to", agents);
        assertThat(invalid(off, "workspace_create", args("from", ref))).contains("this server allows no egress");
    }

    @Test
    void aBadAllowEgressEntryIsAUsageErrorOfOneLine() {
        for (String bad : List.of("pypi.org,http://evil.test/", "203.0.113.1/24", "*")) {
            Cli.Result r = new Cli(home).runInJvm("mcp", "serve", "--allow-egress", bad);
            assertThat(r.rc()).as(r.toString()).isEqualTo(2);
            assertThat(r.stderr().strip()).as(bad).startsWith("davit: error: --allow-egress").doesNotContain("\n")
                    .doesNotContain("Exception").doesNotContain("--allow-host").doesNotContain("--allow-cidr");
        }
    }

    /** The operator's CA option: a file that holds no certificate is its one-line error, at both doors that take it. */
    @Test
    void aBadTrustCaIsTheOperatorsOneLineError() throws IOException {
        Path notes = Files.writeString(home.resolve("notes.txt"), "no certificate\n");
        for (String[] cmd : List.of(new String[] {"mcp", "serve", "--trust-ca", notes.toString()},
                new String[] {"workspace", "create", image, "--trust-ca", notes.toString()})) {
            Cli.Result r = new Cli(home).runInJvm(cmd);
            assertThat(r.rc()).as(r.toString()).isEqualTo(2);
            assertThat(r.stderr().strip()).startsWith("davit: error: --trust-ca " + notes + " holds no")
                    .contains("CA certificates (PEM)").doesNotContain("\n").doesNotContain("Exception");
        }
        Cli.Result env = new Cli(home).env(dev.davit.sandbox.TrustedCas.ENV, notes.toString()).runInJvm("mcp",
                "serve");
        assertThat(env.rc()).as(env.toString()).isEqualTo(2);
        assertThat(env.stderr().strip()).contains(dev.davit.sandbox.TrustedCas.ENV + " " + notes);
    }

    @Test
    void withoutAllowEgressNoPolicyIsGiven() {
        McpAsyncClient c = stdio("--allow-network");
        for (Map<String, Object> a : List.of(args("allow_hosts", List.of("pypi.org")),
                args("allow_presets", List.of("pypi")), args("allow_cidrs", List.of("203.0.113.0/24")))) {
            Map<String, Object> create = new HashMap<>(a);
            create.put("environment", image);
            String m = invalid(c, "workspace_create", create);
            assertThat(m).contains("egress is off: this server was started without --allow-egress")
                    .contains("leave the allow entries out");
            Map<String, Object> run = new HashMap<>(create);
            run.put("command", List.of("true"));
            assertThat(invalid(c, "run", run)).contains("without --allow-egress");
        }
        assertThat(listed(c)).isEmpty();
    }

    @Test
    @SuppressWarnings("unchecked")
    void workspaceNetworkNarrowsAlwaysAndWidensOnlyWithinTheBound() {
        assumeGate();
        McpAsyncClient c = stdio("--allow-egress", "allowed.test,other.test");
        String id = (String) ok(c, "workspace_create", args("environment", image, "allow_hosts", List.of("allowed.test")))
                .get("id");
        String m = invalid(c, "workspace_network", args("workspace", id, "allow_hosts", List.of("denied.test")));
        assertThat(m).contains("allow_hosts entry denied.test is beyond the operator's egress bound (--allow-egress:"
                + " allowed.test, other.test)");
        assertThat((List<String>) ok(c, "workspace_network", args("workspace", id)).get("allow"))
                .as("unchanged").containsExactly("allowed.test");
        // narrowing: a deny entry, a removal; widening within the bound
        Map<String, Object> n = ok(c, "workspace_network", args("workspace", id, "deny_hosts",
                List.of("denied.test"), "remove", List.of("allowed.test")));
        assertThat((List<String>) n.get("allow")).isEmpty();
        assertThat((List<String>) n.get("deny")).containsExactly("denied.test");
        assertThat((List<String>) ok(c, "workspace_network", args("workspace", id, "allow_hosts",
                List.of("other.test", "allowed.test"))).get("allow")).containsExactly("other.test", "allowed.test");

        // a workspace without a policy has none to change
        String plain = (String) ok(c, "workspace_create", args("environment", image)).get("id");
        assertThat(invalid(c, "workspace_network", args("workspace", plain, "allow_hosts",
                List.of("allowed.test")))).contains("has no egress policy (its network is none)");
        assertThat(ok(c, "workspace_network_log", args("workspace", plain))).containsEntry("mode", "none")
                .containsEntry("denials", List.of());
    }

    @Test
    void aReadOnlySharedWorkspacesPolicyIsNotTheModelsToChange() {
        Cli.Result made = new Cli(home).run("--json", "workspace", "create", image, "--name", "opws");
        assertThat(made.rc()).as(made.toString()).isZero();
        McpAsyncClient c = stdio("--allow-egress", "allowed.test", "--share-workspace", "opws");
        assertThat(invalid(c, "workspace_network", args("workspace", "opws", "allow_hosts",
                List.of("allowed.test")))).contains("shared read-only");
        assertThat(invalid(c, "workspace_network", args("workspace", "opws"))).contains("shared read-only");
        assertThat(ok(c, "workspace_network_log", args("workspace", "opws"))).containsEntry("mode", "none");
    }

    /**
     * Removing a deny entry widens: the operator's deny entries on a workspace shared {@code :rw} stay, whatever the
     * bound; on the server's own workspace, a removal is held to the bound as an allow.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aDenyEntryIsRemovedOnlyWithinTheBoundAndNeverTheOperators() {
        assumeGate();
        Cli.Result made = new Cli(home).run("--json", "workspace", "create", image, "--name", "opdeny",
                "--allow-host", "*.wild.test", "--deny-host", "bad.wild.test,unrelated.test");
        assertThat(made.rc()).as(made.toString()).isZero();
        McpAsyncClient c = stdio("--allow-egress", "*.wild.test", "--share-workspace", "opdeny:rw");
        String m = invalid(c, "workspace_network", args("workspace", "opdeny", "remove", List.of("bad.wild.test")));
        assertThat(m).contains("removing the deny entry bad.wild.test would let workspace opdeny reach what its"
                + " operator denied");
        assertThat((List<String>) ok(c, "workspace_network", args("workspace", "opdeny")).get("deny"))
                .as("unchanged").containsExactly("bad.wild.test", "unrelated.test");
        // no deny entry of the operator's goes, even one no allow touches (or no longer does: an allow removed first
        // and added back after would lift it in steps); removing an allow narrows
        assertThat(invalid(c, "workspace_network", args("workspace", "opdeny", "remove",
                List.of("unrelated.test")))).contains("removing the deny entry unrelated.test");
        assertThat((List<String>) ok(c, "workspace_network", args("workspace", "opdeny", "remove",
                List.of("*.wild.test"))).get("allow")).isEmpty();
        assertThat(invalid(c, "workspace_network", args("workspace", "opdeny", "remove",
                List.of("bad.wild.test")))).contains("keeps its deny entries");
        assertThat((List<String>) ok(c, "workspace_network", args("workspace", "opdeny", "allow_hosts",
                List.of("*.wild.test"))).get("deny")).containsExactly("bad.wild.test", "unrelated.test");

        // the server's own workspace: a lifted deny is held to the bound as an allow
        String own = (String) ok(c, "workspace_create", args("environment", image, "allow_hosts", List.of("*.wild.test"),
                "deny_hosts", List.of("bad.wild.test"))).get("id");
        assertThat((List<String>) ok(c, "workspace_network", args("workspace", own, "remove",
                List.of("bad.wild.test"))).get("deny")).as("within the bound").isEmpty();
        // beyond the bound: bad.wild.test on every port is wider than the bound's *.wild.test:443
        McpAsyncClient tls = stdio("--allow-egress", "*.wild.test:443");
        String id = (String) ok(tls, "workspace_create", args("environment", image, "allow_hosts", List.of("*.wild.test:443"),
                "deny_hosts", List.of("bad.wild.test"))).get("id");
        assertThat(invalid(tls, "workspace_network", args("workspace", id, "remove", List.of("bad.wild.test"))))
                .contains("removing the deny entry bad.wild.test would let the workspace reach what it denies, beyond"
                        + " the operator's egress bound (--allow-egress: *.wild.test:443)");
        assertThat((List<String>) ok(tls, "workspace_network", args("workspace", id)).get("deny"))
                .containsExactly("bad.wild.test");
    }

    /** A bound of 0.0.0.0/0:PORT does not let a model ask for the host's own address; only one naming it does. */
    @Test
    void aWideBoundNeverOpensTheHostsOwnAddress() throws IOException {
        String own = null;
        for (NetworkInterface i : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : Collections.list(i.getInetAddresses())) {
                if (a instanceof Inet4Address && !EgressPolicy.isSpecial(a)) {
                    own = a.getHostAddress();
                }
            }
        }
        assumeTrue(own != null, "the host has an address outside the special blocks");
        McpAsyncClient c = stdio("--allow-egress", "0.0.0.0/0:8080");
        for (String cidr : List.of(own + "/32:8080", "0.0.0.0/0:8080", "128.0.0.0/1:8080")) {
            assertThat(invalid(c, "run", args("environment", image, "command", List.of("true"), "allow_cidrs",
                    List.of(cidr)))).contains("allow_cidrs entry " + cidr + " is beyond");
        }
        assertThat(invalid(c, "workspace_create", args("environment", image, "allow_cidrs", List.of(own + "/32:8080"))))
                .contains("is beyond");
        assertThat(listed(c)).isEmpty();
        // the operator names the host's address: then the model may ask for it
        assumeGate();
        McpAsyncClient named = stdio("--allow-egress", "0.0.0.0/0:8080," + own + "/32:8080");
        Map<String, Object> r = ok(named, "run", args("environment", image, "command", List.of("true"), "allow_cidrs",
                List.of(own + "/32:8080")));
        assertThat(r).containsEntry("exit_code", 0);
    }

    /**
     * Through a test Internet: a denied name's refusal is in the exec's result, an allowed name answers, and a name
     * the model adds within the bound answers at once, without a restart.
     */
    @Test
    @SuppressWarnings("unchecked")
    void deniedNamesComeBackInTheExecResult() throws IOException {
        assumeGate();
        TestInternet.assumeAvailable();
        Tools.assumeAvailable("curl");
        try (TestInternet net = TestInternet.start()) {
            String curlImage = pushCurlImage();
            Path dns = Files.createDirectories(shared.resolve("dns"));
            Files.copy(net.resolvConf(), dns.resolve("resolv.conf"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(net.hostsFile(), dns.resolve("hosts"), StandardCopyOption.REPLACE_EXISTING);
            McpAsyncClient c = stdio(Map.of("DAVIT_EGRESS_DNS", dns.toString()), "--allow-egress",
                    "allowed.test,other.test");
            String id = (String) ok(c, "workspace_create", args("environment", curlImage, "allow_hosts",
                    List.of("allowed.test"))).get("id");
            String curl = "curl -sS --max-time 20 ";

            McpSchema.CallToolResult denied = call(c, "workspace_exec", args("workspace", id, "command",
                    List.of("sh", "-c", curl + "http://denied.test/x")));
            Map<String, Object> d = (Map<String, Object>) denied.structuredContent();
            assertThat(denied.isError()).as(d.toString()).isTrue(); // curl could not resolve it
            List<Map<String, Object>> nd = (List<Map<String, Object>>) d.get("network_denied");
            assertThat(nd).as(d.toString()).isNotEmpty();
            assertThat(nd).anySatisfy(x -> {
                assertThat(x).containsEntry("name", "denied.test");
                assertThat((String) x.get("reason")).isNotBlank();
            });

            // while a command still retries: in the progress notifications, and in a background exec's wait
            String retry = "for i in 1 2 3 4 5 6 7 8; do " + curl + "http://retried.test/r; sleep 1; done; true";
            McpSchema.CallToolResult slow = c.callTool(new McpSchema.CallToolRequest("workspace_exec", args(
                    "workspace", id, "command", List.of("sh", "-c", retry)), Map.of("progressToken", "deny-1")))
                    .block();
            assertThat(slow.isError()).as(slow.toString()).isFalse();
            assertThat(progress).filteredOn(p -> "deny-1".equals(p.progressToken())).extracting(
                    McpSchema.ProgressNotification::message).anySatisfy(m -> assertThat(m).contains(
                    "the network policy refused").contains("retried.test"));
            String bg = (String) ok(c, "workspace_exec", args("workspace", id, "command", List.of("sh", "-c",
                    retry), "detach", true)).get("exec_id");
            Map<String, Object> waited = ok(c, "workspace_exec_wait", args("workspace", id, "exec_id", bg,
                    "timeout", 4));
            assertThat(waited).containsEntry("state", "running");
            assertThat((List<Map<String, Object>>) waited.get("network_denied")).as(waited.toString())
                    .anySatisfy(x -> assertThat(x).containsEntry("name", "retried.test"));
            ok(c, "workspace_exec_kill", args("workspace", id, "exec_id", bg));

            Map<String, Object> allowed = ok(c, "workspace_exec", args("workspace", id, "command",
                    List.of("sh", "-c", curl + "http://allowed.test/plain")));
            assertThat((String) allowed.get("stdout")).contains("\"path\":\"/plain\"");
            assertThat((List<Object>) allowed.get("network_denied")).isEmpty();

            // other.test: refused now, allowed once the model adds it (within the bound), no restart
            Map<String, Object> before = (Map<String, Object>) call(c, "workspace_exec", args("workspace", id,
                    "command", List.of("sh", "-c", curl + "http://other.test/o"))).structuredContent();
            assertThat(before.get("exit_code")).isNotEqualTo(0);
            ok(c, "workspace_network", args("workspace", id, "allow_hosts", List.of("other.test")));
            Map<String, Object> after = ok(c, "workspace_exec", args("workspace", id, "command",
                    List.of("sh", "-c", curl + "http://other.test/o")));
            assertThat((String) after.get("stdout")).contains("\"path\":\"/o\"");

            Map<String, Object> log = ok(c, "workspace_network_log", args("workspace", id));
            assertThat((List<Map<String, Object>>) log.get("denials")).extracting(x -> x.get("name"))
                    .contains("denied.test", "other.test");
            assertThat(net.httpRequests()).extracting(TestInternet.HttpRequest::path).doesNotContain("/x")
                    .contains("/plain", "/o");
        }
    }

    /**
     * A secret the model gives with {@code secret_inject}: the workspace holds a placeholder, its HTTPS request
     * reaches the test server with the real header, and no tool result carries the value, not even the server's
     * echo of the request's headers (redacted), nor the workspace's own description.
     */
    @Test
    @SuppressWarnings("unchecked")
    void anInjectedSecretReachesItsHostAndNoToolResult() throws IOException {
        assumeGate();
        TestInternet.assumeAvailable();
        Tools.assumeAvailable("curl");
        String value = "mcp-injected-9c41e07b2d";
        try (TestInternet net = TestInternet.start()) {
            String curlImage = pushCurlImage();
            Path dns = dev.davit.sandbox.testnet.CurlRootfs.dns(Files.createTempDirectory(shared, "dns"), net);
            McpAsyncClient c = stdio(Map.of("DAVIT_EGRESS_DNS", dns.toString()), "--allow-egress", "allowed.test");
            McpSchema.CallToolResult made = call(c, "workspace_create", args("environment", curlImage, "allow_hosts",
                    List.of("allowed.test"), "secrets", Map.of("TOKEN", value), "secret_inject",
                    Map.of("TOKEN", "allowed.test:Authorization=Bearer {}")));
            assertThat(made.isError()).as(made.toString()).isFalse();
            assertThat(made.toString()).doesNotContain(value);
            Map<String, Object> w = (Map<String, Object>) made.structuredContent();
            assertThat((List<Map<String, Object>>) w.get("secrets")).singleElement()
                    .satisfies(x -> assertThat(x).containsEntry("injected", "allowed.test:Authorization"));
            String id = (String) w.get("id");
            List<McpSchema.CallToolResult> results = new ArrayList<>();
            McpSchema.CallToolResult r = call(c, "workspace_exec", args("workspace", id, "command", List.of("sh",
                    "-c", "cat /run/secrets/TOKEN; echo; curl -sS --max-time 20 -o /dev/null -w 'code=%{http_code}'"
                            + " https://allowed.test/bytes/3; echo; curl -sS --max-time 20 https://allowed.test/echo")));
            results.add(r);
            Map<String, Object> out = (Map<String, Object>) r.structuredContent();
            assertThat(r.isError()).as(out.toString()).isFalse();
            assertThat((String) out.get("stdout")).contains("davit-injected:TOKEN\n", "code=200",
                    "\"authorization\":\"Bearer [REDACTED:TOKEN]\"");
            results.add(call(c, "workspace_status", args("workspace", id)));
            results.add(call(c, "workspace_logs", args("workspace", id)));
            results.add(call(c, "workspace_network_log", args("workspace", id)));
            for (McpSchema.CallToolResult x : results) {
                assertThat(x.toString()).doesNotContain(value);
            }
            assertThat(net.httpRequests()).filteredOn(x -> x.path().equals("/bytes/3")).singleElement()
                    .satisfies(x -> assertThat(x.header("authorization")).isEqualTo("Bearer " + value));
            assertThat(net.httpRequests()).filteredOn(x -> x.path().equals("/echo")).singleElement()
                    .satisfies(x -> assertThat(x.header("authorization")).isEqualTo("Bearer " + value));
        }
    }

    /** busybox and the host's curl (with its libraries) as an image in the test registry. */
    private static String pushCurlImage() throws IOException {
        Path src = shared.resolve("curl-src");
        if (!Files.exists(src)) {
            Files.createDirectories(src.resolve("bin"));
            Files.copy(Tools.which("busybox").orElseThrow(), src.resolve("bin/busybox"));
            for (String a : List.of("sh", "echo", "cat", "true", "sleep", "grep", "mkdir")) {
                Files.createSymbolicLink(src.resolve("bin").resolve(a), Path.of("busybox"));
            }
            for (String d : List.of("proc", "dev", "tmp", "etc")) {
                Files.createDirectories(src.resolve(d));
            }
            Path curl = Tools.which("curl").orElseThrow();
            List<Path> files = new ArrayList<>(List.of(curl));
            Matcher m = Pattern.compile("(/\\S+)").matcher(Tools.run("ldd", curl.toString()));
            while (m.find()) {
                files.add(Path.of(m.group(1)));
            }
            for (Path f : files) {
                Path to = src.resolve(f.toString().substring(1));
                Files.createDirectories(to.getParent());
                Files.copy(f.toRealPath(), to, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        String ref = registry.hostPort() + "/sandbox/curl:1";
        Cli builder = new Cli(shared.resolve("curl-builder-home"));
        Cli.Result b = builder.run("build", src.toString(), ref);
        assertThat(b.rc()).as(b.toString()).isZero();
        Cli.Result p = builder.run("push", ref);
        assertThat(p.rc()).as(p.toString()).isZero();
        return ref;
    }
}
