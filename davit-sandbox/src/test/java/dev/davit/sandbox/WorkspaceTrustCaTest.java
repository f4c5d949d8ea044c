package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.testnet.CurlRootfs;
import dev.davit.sandbox.testnet.TestInternet;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's CA certificates in a workspace's trust store (issue 53, item 8): behind a TLS server whose CA no
 * sandbox trusts (the test Internet's, as a company's intercepting proxy's would be), a workspace made with that CA
 * ({@link SandboxOptions#withTrustedCas}) reaches it with a plain {@code curl https://...} (no {@code --cacert}),
 * one made without it does not; the certificates are added once however often it starts, only as certificates
 * (a key in the file never reaches the sandbox), and a bad file is refused in the option's terms.
 */
class WorkspaceTrustCaTest {
    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    private static CurlRootfs.Gated gated;
    private static TestInternet net;
    private static Path rootfs;
    private static Path dns;

    @BeforeAll
    static void internet() throws IOException {
        gated = CurlRootfs.Gated.start(shared);
        net = gated.net();
        rootfs = gated.rootfs();
        dns = gated.dns();
    }

    @AfterAll
    static void down() {
        if (gated != null) {
            gated.close();
        }
    }

    private Workspaces workspaces(TrustedCas cas) {
        return Workspaces.under(tmp.resolve("home"), SandboxOptions.under(tmp.resolve("home")).withEgressDns(dns)
                .withTrustedCas(cas));
    }

    private static Workspace create(Workspaces ws) {
        return ws.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .network(Network.policy(EgressPolicy.parse(List.of(
                TestInternet.ALLOWED), null, null, null, null))).build()).build());
    }

    private static ExecResult sh(Workspaces ws, Workspace w, String script) {
        return ws.execs().run(w.id(), ExecRequest.builder("sh", "-c", script).timeout(java.time.Duration.ofSeconds(60))
                .build());
    }

    @Test
    void aWorkspaceWithTheOperatorsCaReachesTheServerThatUsesItAndOneWithoutDoesNot() throws IOException {
        // the CA file as an operator may have it: with a key and text around the certificate
        Path file = tmp.resolve("proxy-ca.pem");
        Files.writeString(file, "Company proxy CA\n-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n"
                + "-----END PRIVATE KEY-----\n" + Files.readString(net.caCertificate()));
        TrustedCas cas = TrustedCas.parse(List.of(file.toString()), "--trust-ca");
        assertThat(cas.size()).isEqualTo(1);
        Workspaces with = workspaces(cas);
        Workspace w = create(with);
        try {
            ExecResult ok = sh(with, w, "curl -sS --max-time 20 https://allowed.test/ok");
            assertThat(ok.exitCode()).as(ok.stderrText()).isZero();
            assertThat(ok.stdoutText()).contains("https");
            String store = sh(with, w, "cat /etc/ssl/certs/ca-certificates.crt").stdoutText();
            assertThat(store).doesNotContain("PRIVATE KEY").doesNotContain("Company proxy");
            // once, however often it starts
            with.stop(w.id());
            with.start(w.id());
            assertThat(sh(with, w, "grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt").stdoutText()
                    .strip()).isEqualTo("1");
            assertThat(sh(with, w, "curl -sS --max-time 20 https://allowed.test/ok").exitCode()).isZero();
        } finally {
            with.rm(w.id());
        }

        Workspaces without = workspaces(TrustedCas.NONE);
        Workspace plain = create(without);
        try {
            ExecResult refused = sh(without, plain, "curl -sS --max-time 20 https://allowed.test/ok");
            assertThat(refused.exitCode()).isNotZero();
            assertThat(refused.stderrText()).containsIgnoringCase("certificate");
        } finally {
            without.rm(plain.id());
        }
    }

    /**
     * An image whose user cannot write the trust store: the create fails in one line that repeats nothing the
     * sandbox printed, and leaves no workspace or sandbox.
     */
    @Test
    void aSandboxThatCannotTakeTheCertificatesIsNotLeftRunning() throws IOException {
        Path file = Files.copy(net.caCertificate(), tmp.resolve("ca.pem"));
        Workspaces ws = workspaces(TrustedCas.parse(List.of(file.toString()), "--trust-ca"));
        assertThatThrownBy(() -> ws.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .image(new ImageConfig(List.of(), List.of(),
                List.of(), null, "1000:1000")).build()).build())).isInstanceOf(DavitException.class)
                .satisfies(e -> assertThat(e.getMessage()).contains("cannot add the operator's 1 CA certificates")
                        .contains("it was stopped").doesNotContain("\n").doesNotContain("Permission denied"));
        assertThat(ws.list()).isEmpty();
        assertThat(ws.sandboxes().list()).isEmpty();
    }

    @Test
    void aBadCaFileIsRefusedInTheOptionsTerms() throws IOException {
        Path text = Files.writeString(tmp.resolve("notes.txt"), "no certificate here\n");
        for (String bad : List.of(text.toString(), tmp.resolve("missing.pem").toString(), "/dev/zero")) {
            assertThatThrownBy(() -> TrustedCas.parse(List.of(bad), "--trust-ca")).as(bad)
                    .isInstanceOf(DavitException.class).satisfies(e -> {
                        assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
                        assertThat(e.getMessage()).startsWith("--trust-ca " + bad).contains("CA certificates (PEM)")
                                .doesNotContain("\n");
                    });
        }
        assertThatThrownBy(() -> TrustedCas.fromEnv(Map.of(TrustedCas.ENV, text.toString())))
                .hasMessageStartingWith(TrustedCas.ENV + " " + text);
        assertThat(TrustedCas.fromEnv(Map.of())).isSameAs(TrustedCas.NONE);
        // the host's own store: every certificate of it, once
        assumeTrue(Files.isRegularFile(Path.of("/etc/ssl/certs/ca-certificates.crt")), "a host trust store");
        assertThat(TrustedCas.parse(List.of(TrustedCas.HOST, TrustedCas.HOST), "--trust-ca").size()).isPositive();
    }
}
