package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.testnet.CurlRootfs;
import dev.davit.sandbox.testnet.TestInternet;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Secrets;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A workspace's egress policy through {@link Workspaces}: {@link Workspaces#network} changes it while it runs (and
 * while it is stopped), {@link Workspaces#egressDenials} lists what its gate refused, and each exec's result carries
 * the denials it met ({@link WorkspaceExecs.Executed#networkDenied}); and secrets its gate injects
 * ({@link Secrets#inject}): the sandbox holds a placeholder, its requests to the host reach the server with the
 * real header (with bodies of either framing), a request on that connection for another host is refused and never
 * reaches a server, and the value is nowhere in the sandbox (its files, its processes' environments) nor in what an
 * exec returns; against the {@link TestInternet}, on bwrap.
 */
class WorkspaceEgressTest {
    private static TestInternet net;
    private static Path rootfs;
    private static Path dns;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    private Workspaces workspaces;

    @BeforeAll
    static void internet() throws IOException {
        TestInternet.assumeAvailable();
        dev.davit.oci.testkit.Tools.assumeAvailable("bwrap", "iptables-restore");
        assumeTrue(Overlay.ROOT, "the test Internet needs root");
        assumeTrue(Runtime.version().feature() >= 22, "as root, the sandbox's FFM calls need Java 22");
        net = TestInternet.start();
        rootfs = CurlRootfs.create(shared.resolve("rootfs"), net);
        dns = CurlRootfs.dns(shared.resolve("dns"), net);
    }

    @AfterAll
    static void down() {
        if (net != null) {
            net.close();
        }
    }

    @BeforeEach
    void home() {
        workspaces = Workspaces.under(tmp.resolve("home"), SandboxOptions.under(tmp.resolve("home"))
                .withEgressDns(dns));
    }

    @AfterEach
    void rm() {
        if (workspaces != null) {
            workspaces.list().forEach(w -> workspaces.rm(w.id()));
        }
    }

    private static final String CURL = "curl -sS --max-time 20 --cacert /ca.pem ";

    private Workspace create(Network n) {
        return workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).network(n).build()).build());
    }

    private WorkspaceExecs.SpooledExecuted exec(Workspace w, String script) {
        return exec(w, script, null);
    }

    private static EgressPolicy.Change allow(String host) {
        return new EgressPolicy.Change(List.of(host), null, null, null, null, null, null);
    }

    @Test
    void anExecCarriesTheDenialsItMetAndTheLogKeepsThem() {
        Workspace w = create(Network.policy(EgressPolicy.parse(List.of(TestInternet.ALLOWED), null, null, null,
                null)));
        try (WorkspaceExecs.SpooledExecuted ok = exec(w, CURL + "http://allowed.test/ok")) {
            assertThat(ok.result().exitCode()).as(() -> ok.result().stderrText()).isZero();
            assertThat(ok.networkDenied()).isEmpty();
        }
        try (WorkspaceExecs.SpooledExecuted x = exec(w, CURL + "https://denied.test/x")) {
            assertThat(x.result().exitCode()).isNotZero();
            assertThat(x.networkDenied()).isNotEmpty();
            assertThat(x.networkDenied()).extracting(EgressDenial::name).contains(TestInternet.DENIED);
            // the shared JSON writer: always there, here with the name and why
            JsonNode doc = WorkspaceJson.executed(Json.object(), x, false);
            assertThat(doc.get("network_denied").isArray()).isTrue();
            assertThat(doc.get("network_denied").get(0).get("name").asText()).isEqualTo(TestInternet.DENIED);
            assertThat(doc.get("network_denied").get(0).get("reason").asText()).isNotEmpty();
            assertThat(doc.get("exec_id").asText()).isEqualTo(x.execId());
        }
        // a later exec does not carry the earlier one's
        try (WorkspaceExecs.SpooledExecuted later = exec(w, "true")) {
            assertThat(later.networkDenied()).isEmpty();
            assertThat(WorkspaceJson.executed(Json.object(), later, false).get("network_denied")).isEmpty();
        }
        assertThat(workspaces.egressDenials(w.id())).extracting(EgressDenial::name).contains(TestInternet.DENIED);
        assertThat(workspaces.egressDenials(w.id())).allSatisfy(d -> assertThat(d.time()).isNotNull());
    }

    @Test
    void aChangeHoldsAtOnceWithoutARestartAndSurvivesStopAndStart() {
        Workspace w = create(Network.policy(EgressPolicy.parse(List.of(TestInternet.ALLOWED), null, null, null,
                null)));
        long started = workspaces.sandbox(w.id()).startedAt().toEpochMilli();
        try (WorkspaceExecs.SpooledExecuted before = exec(w, CURL + "http://other.test/before")) {
            assertThat(before.result().exitCode()).isNotZero();
        }
        workspaces.network(w.id(), allow(TestInternet.OTHER));
        try (WorkspaceExecs.SpooledExecuted after = exec(w, CURL + "http://other.test/after")) {
            assertThat(after.result().exitCode()).as(() -> after.result().stderrText()).isZero();
            assertThat(after.networkDenied()).isEmpty();
        }
        assertThat(workspaces.sandbox(w.id()).startedAt().toEpochMilli()).isEqualTo(started); // no restart
        // removed while stopped: from the next start, other.test is refused again
        workspaces.stop(w.id());
        workspaces.network(w.id(), EgressPolicy.Change.of(null, null, null, List.of(TestInternet.ALLOWED), null,
                List.of(TestInternet.OTHER)));
        workspaces.start(w.id());
        EgressPolicy p = workspaces.sandbox(w.id()).spec().network().egress();
        assertThat(p.rules()).extracting(EgressPolicy.Rule::toString)
                .containsExactly(TestInternet.ALLOWED, TestInternet.ALLOWED);
        assertThat(p.rules()).extracting(EgressPolicy.Rule::allow).containsExactly(true, false);
        try (WorkspaceExecs.SpooledExecuted x = exec(w,
                CURL + "http://other.test/x; " + CURL + "http://allowed.test/y")) {
            assertThat(x.result().exitCode()).isNotZero();
            assertThat(x.networkDenied()).extracting(EgressDenial::name)
                    .contains(TestInternet.OTHER, TestInternet.ALLOWED); // deny wins
        }
    }

    @Test
    void aWorkspaceWithoutAPolicyHasNoneToChangeAndNoDenials() {
        Workspace w = create(Network.NONE);
        assertThatThrownBy(() -> workspaces.network(w.id(), allow(TestInternet.ALLOWED)))
                .isInstanceOfSatisfying(DavitException.class, e -> {
                    assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
                    assertThat(e.getMessage()).contains("has no egress policy", "network is none");
                });
        assertThat(workspaces.egressDenials(w.id())).isEmpty();
        try (WorkspaceExecs.SpooledExecuted x = exec(w, "true")) {
            assertThat(x.networkDenied()).isEmpty();
        }
        assertThatThrownBy(() -> workspaces.network("ws-nosuch", allow(TestInternet.ALLOWED)))
                .isInstanceOfSatisfying(DavitException.class,
                        e -> assertThat(e.kind()).isEqualTo(DavitException.Kind.NOT_FOUND));
    }

    // secrets the egress gate injects (Secrets.inject)

    private static final String VALUE = "s3cr3t-token-7f3a9c1e55";

    private static Secrets token() {
        return Secrets.of(Map.of("TOKEN", VALUE.getBytes(StandardCharsets.UTF_8)))
                .inject("TOKEN", TestInternet.ALLOWED, "Authorization", "Bearer {}");
    }

    private static Network allowBoth() {
        return Network.policy(EgressPolicy.parse(List.of(TestInternet.ALLOWED, TestInternet.CDN), null, null, null,
                null));
    }

    private WorkspaceExecs.SpooledExecuted exec(Workspace w, String script, Map<String, String> secretEnv) {
        return workspaces.execs().runSpooled(w.id(), List.of("sh", "-c", script), null, secretEnv, null,
                Duration.ofSeconds(60), 65536, null, null, null);
    }

    @Test
    void theHostGetsTheHeaderTheSandboxOnlyAPlaceholder() throws IOException {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).network(allowBoth()).build())
                .secrets(token()).build());
        net.clearRecords();
        String script = "cat /run/secrets/TOKEN; echo; echo \"env=$TOKEN\"\n"
                // the program sends the placeholder, as code that reads its token would
                + "curl -sS --max-time 20 -o /dev/null -w 'one=%{http_code}\\n' -H \"Authorization: Bearer $TOKEN\""
                + " https://allowed.test/bytes/16\n"
                // two requests on one kept-alive connection, one with a body by length, one chunked
                + "curl -sS --max-time 20 -o /dev/null -o /dev/null -w 'two=%{http_code} %{num_connects}\\n'"
                + " https://allowed.test/bytes/8 -d abcd https://allowed.test/posted\n"
                + "head -c 3000 /dev/zero | tr '\\0' y | curl -sS --max-time 20 -o /dev/null -w 'chunked=%{http_code}\\n'"
                + " -H 'Transfer-Encoding: chunked' --data-binary @- https://allowed.test/chunked\n"
                // another host behind the same address, by Host on the secret's connection: refused
                + "curl -sS --max-time 20 -w 'fronted=%{http_code}\\n' -H 'Host: cdn.allowed.test'"
                + " https://allowed.test/fronted\n"
                // a host without an injection: its own certificate, no header added
                + "curl -sS --max-time 20 --cacert /ca.pem -o /dev/null -w 'cdn=%{http_code}\\n'"
                + " https://cdn.allowed.test/bytes/4\n"
                // the value is nowhere: the files (but /proc and /sys) and every process's environment
                + "v=\"" + VALUE.substring(0, 10) + "\"\"" + VALUE.substring(10) + "\"\n"
                + "echo \"files=$(for d in /*; do case $d in /proc|/sys|/dev) ;; *) grep -rlF \"$v\" \"$d\";; esac;"
                + " done 2>/dev/null | wc -l)\"\n"
                + "echo \"environ=$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -cF \"$v\")\"\n";
        String out;
        try (WorkspaceExecs.SpooledExecuted x = exec(w, script, Map.of("TOKEN", "TOKEN"))) {
            out = x.result().stdoutText();
            assertThat(x.result().exitCode()).as(x.result().stderrText() + out).isZero();
        }
        assertThat(out).contains(Secrets.Injection.placeholder("TOKEN") + "\n")
                .contains("env=" + Secrets.Injection.placeholder("TOKEN") + "\n")
                .contains("one=200\n", "two=200 1\n", "chunked=200\n", "cdn=200\n", "files=0\n", "environ=0\n")
                .contains("fronted=403").doesNotContain(VALUE).doesNotContain("REDACTED");
        List<TestInternet.HttpRequest> seen = net.httpRequests();
        for (String path : List.of("/bytes/16", "/bytes/8", "/posted", "/chunked")) {
            assertThat(seen).filteredOn(r -> r.path().equals(path)).singleElement().satisfies(r -> {
                assertThat(r.header("authorization")).isEqualTo("Bearer " + VALUE);
                assertThat(r.sni()).isEqualTo(TestInternet.ALLOWED);
            });
        }
        assertThat(seen).filteredOn(r -> r.path().equals("/posted")).singleElement()
                .satisfies(r -> assertThat(r.header("content-length")).isEqualTo("4"));
        assertThat(seen).filteredOn(r -> r.path().equals("/bytes/4")).singleElement()
                .satisfies(r -> assertThat(r.header("authorization")).isNull());
        assertThat(seen).extracting(TestInternet.HttpRequest::path).doesNotContain("/fronted");
        assertThat(workspaces.egressDenials(w.id())).anySatisfy(d -> {
            assertThat(d.name()).isEqualTo(TestInternet.ALLOWED);
            assertThat(d.reason()).contains("cdn.allowed.test");
        });
        // nothing of davit's home holds the value but the secrets' own file (the sandbox's disk image, a large
        // sparse file, is what the grep in the sandbox read)
        try (Stream<Path> all = Files.walk(tmp.resolve("home"))) {
            for (Path f : all.filter(Files::isRegularFile).toList()) {
                if (f.getFileName().toString().equals("values.json") || Files.size(f) > (16 << 20)) {
                    continue;
                }
                assertThat(Files.readString(f, StandardCharsets.ISO_8859_1)).as(f.toString()).doesNotContain(VALUE);
            }
        }
    }

    @Test
    void theSecretFollowsARestartAndTheCaStaysTheWorkspaces() {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).network(allowBoth()).build())
                .secrets(token()).build());
        workspaces.stop(w.id());
        workspaces.start(w.id());
        net.clearRecords();
        try (WorkspaceExecs.SpooledExecuted x = exec(w, "curl -sS --max-time 20 -o /dev/null -w '%{http_code}'"
                + " https://allowed.test/bytes/2; grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt",
                null)) {
            assertThat(x.result().stdoutText()).as(x.result().stderrText()).startsWith("200").endsWith("1\n");
        }
        assertThat(net.httpRequests()).filteredOn(r -> r.path().equals("/bytes/2")).singleElement()
                .satisfies(r -> assertThat(r.header("authorization")).isEqualTo("Bearer " + VALUE));
    }

    @Test
    void anInjectionNeedsAPolicyThatAllowsItsHostAndAGoodHeader() {
        assertThatThrownBy(() -> workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .network(Network.NONE).build())
                .secrets(token()).build())).isInstanceOfSatisfying(DavitException.class,
                        e -> assertThat(e.getMessage()).contains("egress policy"));
        Network other = Network.policy(EgressPolicy.parse(List.of(TestInternet.OTHER), null, null, null, null));
        assertThatThrownBy(() -> workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).network(other)
                .build())
                .secrets(token()).build())).isInstanceOfSatisfying(DavitException.class,
                        e -> assertThat(e.getMessage()).contains("allowed.test", "does not allow"));
        Secrets s = Secrets.of(Map.of("TOKEN", VALUE.getBytes(StandardCharsets.UTF_8)));
        for (String[] bad : new String[][] {{"NOPE", "a.test", "Authorization", "{}"}, {"TOKEN", "*.a.test",
            "Authorization", "{}"}, {"TOKEN", "a.test:443", "Authorization", "{}"}, {"TOKEN", "a.test", "Host", "{}"},
            {"TOKEN", "a.test", "Bad Header", "{}"}, {"TOKEN", "a.test", "Authorization", "Bearer"},
            {"TOKEN", "a.test", "Authorization", "x\r\nEvil: {}"}}) {
            assertThatThrownBy(() -> s.inject(bad[0], bad[1], bad[2], bad[3])).as(String.join(" ", bad))
                    .isInstanceOfSatisfying(DavitException.class,
                            e -> assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE));
        }
        assertThatThrownBy(() -> s.inject("TOKEN", "a.test", "X-Key", "{}").inject("TOKEN", "a.test", "X-Other",
                "{}")).isInstanceOf(DavitException.class);
        assertThat(workspaces.list()).isEmpty();
    }
}
