package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.testnet.CurlRootfs;
import dev.davit.sandbox.testnet.TestInternet;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The egress policy through the CLI: {@code --allow-host} and friends on {@code run}, {@code sandbox create} and
 * {@code workspace create}, {@code workspace network} and {@code sandbox network} (changes while it runs, the
 * {@code log}), and each workspace exec's {@code network_denied}; against the test Internet (network namespaces the
 * test makes), an image of busybox and curl pushed to a real registry, the gate resolving through
 * {@code DAVIT_EGRESS_DNS}.
 */
class EgressCliTest {
    private static TestInternet net;
    private static TestRegistry registry;
    private static String image;
    private static Path dns;

    @TempDir
    static Path shared;

    @TempDir
    Path home;

    private Cli cli;

    @BeforeAll
    static void up() throws IOException {
        TestInternet.assumeAvailable();
        Tools.assumeAvailable("bwrap", "busybox", "iptables-restore", Tools.REGISTRY);
        assumeTrue(dev.davit.sandbox.container.Overlay.ROOT, "the test Internet needs root");
        assumeTrue(Runtime.version().feature() >= 22, "as root, the sandbox's FFM calls need Java 22");
        net = TestInternet.start();
        registry = TestRegistry.start();
        Path rootfs = CurlRootfs.create(shared.resolve("rootfs"), net);
        dns = CurlRootfs.dns(shared.resolve("dns"), net);
        image = registry.hostPort() + "/egress/curl:1";
        Cli builder = new Cli(shared.resolve("builder-home"));
        Cli.Result b = builder.run("build", rootfs.toString(), image);
        assertThat(b.rc()).as(b.toString()).isZero();
        Cli.Result p = builder.run("push", image);
        assertThat(p.rc()).as(p.toString()).isZero();
    }

    @AfterAll
    static void down() {
        if (registry != null) {
            registry.close();
        }
        if (net != null) {
            net.close();
        }
    }

    private Cli cli() {
        if (cli == null) {
            cli = new Cli(home).env("DAVIT_EGRESS_DNS", dns.toString());
        }
        return cli;
    }

    @AfterEach
    void rmAll() {
        if (cli == null) {
            return;
        }
        for (JsonNode w : cli.run("--json", "workspace", "ls").json().get("workspaces")) {
            cli.run("workspace", "rm", w.get("id").asText());
        }
        for (JsonNode s : cli.run("--json", "sandbox", "ls").json().get("sandboxes")) {
            cli.run("sandbox", "rm", s.get("id").asText());
        }
    }

    private static JsonNode ok(Cli.Result r) {
        assertThat(r.rc()).as(r.toString()).isZero();
        return r.json();
    }

    /** A refusal: exit code 2 and an error of one line, the last on stderr (after any progress notices). */
    private static String refused(Cli.Result r) {
        assertThat(r.rc()).as(r.toString()).isEqualTo(2);
        List<String> lines = r.stderr().strip().lines().toList();
        assertThat(lines.stream().filter(l -> l.contains("error:"))).as(r.toString()).hasSize(1);
        assertThat(lines.getLast()).startsWith("davit: error: ");
        return lines.getLast();
    }

    private static final String CURL = "curl -sS --max-time 20 --cacert /ca.pem ";

    @Test
    void runWithAnAllowedHostReachesItAndNothingElse() {
        Cli.Result r = cli().run("run", "--allow-host", "allowed.test", image, "--", "sh", "-c",
                CURL + "https://allowed.test/run; echo \" allowed=$?\"; " + CURL + "https://denied.test/run;"
                        + " echo \"denied=$?\"");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stdout()).contains("allowed=0").contains("\"sni\"").doesNotContain("denied=0");
        assertThat(r.stdout()).containsPattern("denied=[1-9]");
        assertThat(r.stderr()).contains("(network: policy, 1 entry)");
        assertThat(net.httpRequests()).extracting(TestInternet.HttpRequest::host).doesNotContain("denied.test");
        // the run's JSON says what its gate refused, and why
        Cli.Result j = cli().run("--json", "run", "--allow-host", "allowed.test", image, "--", "sh", "-c",
                CURL + "https://denied.test/run; true");
        assertThat(j.rc()).as(j.toString()).isZero();
        JsonNode denied = j.json().get("network_denied");
        assertThat(denied).as(j.stdout()).isNotEmpty();
        assertThat(denied.get(0).get("kind").asText()).isEqualTo("dns");
        assertThat(denied.get(0).get("name").asText()).isEqualTo("denied.test");
        assertThat(denied.get(0).get("reason").asText()).contains("not in the allow-list");
    }

    /**
     * A service on the host's own address (the host side of the test's veth pair) is reached through no address
     * entry that merely covers it ({@code 0.0.0.0/0}, {@code 128.0.0.0/1}, the host's /24), only through one naming
     * exactly it.
     */
    @Test
    void aWideAddressEntryNeverReachesTheHostsOwnAddress() throws IOException {
        java.util.concurrent.atomic.AtomicInteger hits = new java.util.concurrent.atomic.AtomicInteger();
        com.sun.net.httpserver.HttpServer host = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(net.hostSideAddress(), 0), 0);
        host.createContext("/", ex -> {
            hits.incrementAndGet();
            byte[] b = "host service\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        host.start();
        try {
            int port = host.getAddress().getPort();
            String url = "http://" + net.hostSideAddress() + ":" + port + "/secret";
            for (String wide : List.of("0.0.0.0/0", "128.0.0.0/1", "198.18." + net.subnet() + ".0/24")) {
                Cli.Result r = cli().run("--json", "run", "--allow-cidr", wide + ":" + port, image, "--", "sh", "-c",
                        CURL + "-f " + url + "; echo \" rc=$?\"");
                JsonNode j = ok(r);
                assertThat(j.get("stdout").asText()).as(wide).doesNotContain("host service").doesNotContain(" rc=0");
                assertThat(j.get("network_denied").toString()).as(wide).contains("the host's own");
            }
            assertThat(hits.get()).as("no request reached the host's service").isZero();
            Cli.Result exact = cli().run("run", "--allow-cidr", net.hostSideAddress() + "/32:" + port, image, "--",
                    "sh", "-c", CURL + "-f " + url);
            assertThat(exact.rc()).as(exact.toString()).isZero();
            assertThat(exact.stdout()).contains("host service");
            assertThat(hits.get()).isEqualTo(1);
        } finally {
            host.stop(0);
        }
    }

    @Test
    void policyOptionsAreRefusedInOneLine() {
        String both = refused(cli().run("run", "--allow-host", "allowed.test", "--network", image, "true"));
        assertThat(both).contains("--network", "--allow-host");
        String bad = refused(cli().run("run", "--allow-host", "bad_name!", image, "true"));
        assertThat(bad).contains("--allow-host", "bad_name!");
        String preset = refused(cli().run("workspace", "create", "--allow-preset", "debian,nosuch", image));
        assertThat(preset).contains("--allow-preset", "nosuch", "pypi");
        ok(cli().run("--json", "sandbox", "create", "--network", image));
        String id = cli().run("--json", "sandbox", "ls").json().get("sandboxes").get(0).get("id").asText();
        JsonNode shown = ok(cli().run("--json", "sandbox", "network", id));
        assertThat(shown.get("mode").asText()).isEqualTo("nat");
        String nat = refused(cli().run("sandbox", "network", id, "--allow-host", "allowed.test"));
        assertThat(nat).contains("no egress policy", "nat");
        JsonNode presets = ok(cli().run("--json", "sandbox", "network", "presets"));
        assertThat(presets.has("pypi")).isTrue();
    }

    @Test
    void aWorkspaceReportsItsDenialsAndFollowsAChangeWithoutARestart() {
        JsonNode w = ok(cli().run("--json", "workspace", "create", "--allow-host", "allowed.test", image));
        String id = w.get("id").asText();
        assertThat(w.get("network").asText()).isEqualTo("policy");
        assertThat(w.get("egress").get("allow")).extracting(JsonNode::asText).containsExactly("allowed.test");

        Cli.Result denied = cli().run("--json", "workspace", "exec", id, "--", "sh", "-c", CURL
                + "https://denied.test/ws");
        assertThat(denied.rc()).as(denied.toString()).isNotZero();
        JsonNode d = denied.json().get("network_denied");
        assertThat(d).as(denied.toString()).isNotEmpty();
        assertThat(d.findValuesAsText("name")).contains("denied.test");

        Cli.Result human = cli().run("workspace", "exec", id, "--", "sh", "-c", CURL + "http://denied.test/h");
        assertThat(human.stderr()).contains("davit: egress denied: denied.test: not in the allow-list");

        Cli.Result allowed = cli().run("--json", "workspace", "exec", id, "--", "sh", "-c", CURL
                + "https://allowed.test/ws");
        assertThat(ok(allowed).get("network_denied")).isEmpty(); // always there

        JsonNode changed = ok(cli().run("--json", "workspace", "network", id, "--allow-host", "other.test"));
        assertThat(changed.get("mode").asText()).isEqualTo("policy");
        assertThat(changed.get("allow")).extracting(JsonNode::asText).containsExactly("allowed.test", "other.test");
        Cli.Result other = cli().run("workspace", "exec", id, "--", "sh", "-c", CURL + "https://other.test/ws");
        assertThat(other.rc()).as(other.toString()).isZero();

        JsonNode log = ok(cli().run("--json", "workspace", "network", "log", id));
        assertThat(log.isArray()).isTrue();
        assertThat(log.findValuesAsText("name")).contains("denied.test").doesNotContain("other.test");
        Cli.Result table = cli().run("workspace", "network", "log", id);
        assertThat(table.stdout()).startsWith("TIME").containsPattern("dns +denied.test +- +not in the allow-list");

        JsonNode removed = ok(cli().run("--json", "workspace", "network", id, "--remove", "allowed.test",
                "--deny-host", "*.allowed.test"));
        List<String> allow = new ArrayList<>();
        removed.get("allow").forEach(n -> allow.add(n.asText()));
        assertThat(allow).containsExactly("other.test");
        assertThat(removed.get("deny")).extracting(JsonNode::asText).containsExactly("*.allowed.test");
        Cli.Result shown = cli().run("workspace", "network", id);
        assertThat(shown.stdout()).contains("allow other.test", "deny  *.allowed.test");
    }
    /**
     * {@code --secret-inject}: the workspace's JSON says where the secret goes, the sandbox holds a placeholder, the
     * host gets the header; without a policy that allows the host, or in a bad form, a one-line refusal naming the
     * options, and nothing is made.
     */
    @Test
    void aSecretInjectedByTheGateReachesItsHostOnly() {
        String value = "cli-injected-51d0e8a2f3";
        JsonNode w = ok(cli().run("--json", "workspace", "create", "--allow-host", "allowed.test", "--secret",
                "TOKEN=" + value, "--secret-inject", "TOKEN=allowed.test:Authorization=Bearer {}", image));
        assertThat(w.toString()).doesNotContain(value);
        assertThat(w.get("secrets").get(0).get("injected").asText()).isEqualTo("allowed.test:Authorization");
        String id = w.get("id").asText();
        Cli.Result r = cli().run("workspace", "exec", id, "--", "sh", "-c", "cat /run/secrets/TOKEN; echo;"
                + " curl -sS --max-time 20 -o /dev/null -w 'code=%{http_code}' https://allowed.test/cli-bytes");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stdout()).contains("davit-injected:TOKEN", "code=").doesNotContain(value);
        assertThat(net.httpRequests()).filteredOn(x -> x.path().equals("/cli-bytes")).singleElement()
                .satisfies(x -> assertThat(x.header("authorization")).isEqualTo("Bearer " + value));

        String noPolicy = refused(cli().run("workspace", "create", "--secret", "TOKEN=" + value, "--secret-inject",
                "TOKEN=allowed.test:Authorization", image));
        assertThat(noPolicy).contains("--secret-inject", "--allow-host").doesNotContain(value);
        String notAllowed = refused(cli().run("workspace", "create", "--allow-host", "other.test", "--secret",
                "TOKEN=" + value, "--secret-inject", "TOKEN=allowed.test:Authorization", image));
        assertThat(notAllowed).contains("allowed.test", "--allow-host");
        String form = refused(cli().run("workspace", "create", "--allow-host", "allowed.test", "--secret",
                "TOKEN=" + value, "--secret-inject", "TOKEN", image));
        assertThat(form).contains("--secret-inject", "NAME=HOST:HEADER");
        String header = refused(cli().run("workspace", "create", "--allow-host", "allowed.test", "--secret",
                "TOKEN=" + value, "--secret-inject", "TOKEN=allowed.test:Host", image));
        assertThat(header).contains("--secret-inject", "Host");
        assertThat(ok(cli().run("--json", "workspace", "ls")).get("workspaces")).hasSize(1);
    }
}
