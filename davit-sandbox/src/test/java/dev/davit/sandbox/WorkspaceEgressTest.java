package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.internal.WorkspaceJson;
import dev.davit.sandbox.testnet.CurlRootfs;
import dev.davit.sandbox.testnet.TestInternet;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A workspace's egress policy through {@link Workspaces}: {@link Workspaces#network} changes it while it runs (and
 * while it is stopped), {@link Workspaces#egressDenials} lists what its gate refused, and each exec's result carries
 * the denials it met ({@link Workspaces.Executed#networkDenied}); against the {@link TestInternet}, on bwrap.
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
        assumeTrue(Runtime.version().feature() >= 22, "the gate needs Java 22");
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
        return workspaces.create(CreateSpec.builder(rootfs).network(n).build(), null, null);
    }

    private Workspaces.SpooledExecuted exec(Workspace w, String script) {
        return workspaces.execSpooled(w.id(), List.of("sh", "-c", script), null, null, null, Duration.ofSeconds(60),
                65536, null, null, null);
    }

    private static EgressPolicy.Change allow(String host) {
        return new EgressPolicy.Change(List.of(host), null, null, null, null, null, null);
    }

    @Test
    void anExecCarriesTheDenialsItMetAndTheLogKeepsThem() {
        Workspace w = create(Network.policy(EgressPolicy.parse(List.of(TestInternet.ALLOWED), null, null, null,
                null)));
        try (Workspaces.SpooledExecuted ok = exec(w, CURL + "http://allowed.test/ok")) {
            assertThat(ok.result().exitCode()).as(() -> ok.result().stderrText()).isZero();
            assertThat(ok.networkDenied()).isEmpty();
        }
        try (Workspaces.SpooledExecuted x = exec(w, CURL + "https://denied.test/x")) {
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
        try (Workspaces.SpooledExecuted later = exec(w, "true")) {
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
        try (Workspaces.SpooledExecuted before = exec(w, CURL + "http://other.test/before")) {
            assertThat(before.result().exitCode()).isNotZero();
        }
        workspaces.network(w.id(), allow(TestInternet.OTHER));
        try (Workspaces.SpooledExecuted after = exec(w, CURL + "http://other.test/after")) {
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
        try (Workspaces.SpooledExecuted x = exec(w, CURL + "http://other.test/x; " + CURL + "http://allowed.test/y")) {
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
        try (Workspaces.SpooledExecuted x = exec(w, "true")) {
            assertThat(x.networkDenied()).isEmpty();
        }
        assertThatThrownBy(() -> workspaces.network("ws-nosuch", allow(TestInternet.ALLOWED)))
                .isInstanceOfSatisfying(DavitException.class,
                        e -> assertThat(e.kind()).isEqualTo(DavitException.Kind.NOT_FOUND));
    }
}
