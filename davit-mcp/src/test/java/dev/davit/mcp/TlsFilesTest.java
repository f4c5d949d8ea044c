package dev.davit.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP door's certificate and key, made by openssl (an independent tool) in the forms a TLS Secret holds them:
 * RSA in PKCS#1, EC in SEC1, Ed25519 in PKCS#8 are each served; a key of another certificate, a file that is not PEM
 * and a missing file are one-line usage errors naming the flag; a renewed pair is served to new connections once the
 * files change, and a bad renewal keeps the old one.
 */
class TlsFilesTest {
    @TempDir
    Path dir;

    /** A self-signed certificate {@code name}.crt for CN={@code cn} and its key {@code name}.key of {@code kind}. */
    private TlsFiles pair(String name, String cn, String kind) throws Exception {
        Path key = dir.resolve(name + ".key");
        Path cert = dir.resolve(name + ".crt");
        switch (kind) {
            case "rsa-pkcs1" -> openssl("genrsa", "-traditional", "-out", key.toString(), "2048");
            case "ec-sec1" -> openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.toString());
            case "ed25519-pkcs8" -> openssl("genpkey", "-algorithm", "ed25519", "-out", key.toString());
            default -> throw new IllegalArgumentException(kind);
        }
        openssl("req", "-new", "-x509", "-key", key.toString(), "-out", cert.toString(), "-days", "2", "-subj",
                "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1");
        return new TlsFiles(cert, key);
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as(out).isTrue();
    }

    @Test
    void eachFormOfASecretsKeyIsServed() throws Exception {
        for (String kind : List.of("rsa-pkcs1", "ec-sec1", "ed25519-pkcs8")) {
            TlsFiles tls = pair(kind, "davit-" + kind, kind);
            var ssl = tls.server();
            Server jetty = serve(ssl);
            try {
                assertThat(servedName(jetty)).as(kind).isEqualTo("CN=davit-" + kind);
            } finally {
                jetty.stop();
            }
        }
    }

    @Test
    void otherBlocksBesideTheKeyAndTheChainAreSkippedAsKubectlDoes() throws Exception {
        // openssl ecparam -genkey without -noout writes EC PARAMETERS before the key, which kubectl takes
        Path key = dir.resolve("p.key");
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", key.toString());
        assertThat(Files.readString(key)).startsWith("-----BEGIN EC PARAMETERS-----");
        Path cert = dir.resolve("p.crt");
        openssl("req", "-new", "-x509", "-key", key.toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=p");
        // and a certificate file with the key after it (one file for both)
        Files.writeString(cert, Files.readString(cert) + Files.readString(key));
        assertThat(new TlsFiles(cert, key).read().getCertificate("davit")).isNotNull();
    }

    @Test
    void badFilesAreOneLineErrorsNamingTheFlag() throws Exception {
        TlsFiles a = pair("a", "a", "ec-sec1");
        pair("b", "b", "ec-sec1");
        assertThatThrownBy(() -> new TlsFiles(dir.resolve("a.crt"), dir.resolve("b.key")).read())
                .isInstanceOf(DavitException.class)
                .hasMessage("the key in --tls-key " + dir.resolve("b.key") + " is not the key of the first"
                        + " certificate in --tls-cert " + dir.resolve("a.crt") + "; give the key the certificate was"
                        + " made for");
        // a chain whose leaf is not first: said so
        Files.writeString(dir.resolve("ba.crt"), Files.readString(dir.resolve("b.crt"))
                + Files.readString(dir.resolve("a.crt")));
        assertThatThrownBy(() -> new TlsFiles(dir.resolve("ba.crt"), dir.resolve("a.key")).read())
                .hasMessage("the key in --tls-key " + dir.resolve("a.key") + " is not the key of the first"
                        + " certificate in --tls-cert " + dir.resolve("ba.crt") + " but of a later one: put the"
                        + " server's own certificate (the leaf) first");
        assertThatThrownBy(() -> new TlsFiles(dir.resolve("a.key"), dir.resolve("a.key")).read())
                .hasMessage("--tls-cert " + dir.resolve("a.key") + " holds no PEM certificate; give the server's"
                        + " certificate chain, leaf first (a TLS Secret's tls.crt)");
        assertThatThrownBy(() -> new TlsFiles(dir.resolve("a.crt"), dir.resolve("a.crt")).read())
                .hasMessage("--tls-key " + dir.resolve("a.crt") + " holds no unencrypted PEM private key; give the"
                        + " certificate's key (a TLS Secret's tls.key: PKCS#1, SEC1 or PKCS#8)");
        assertThatThrownBy(() -> new TlsFiles(dir.resolve("none.crt"), dir.resolve("a.key")).read())
                .hasMessage("cannot read --tls-cert " + dir.resolve("none.crt") + ": no such file");
        assertThat(a.read().getCertificate("davit")).isNotNull();
    }

    @Test
    void aRenewedPairIsServedToNewConnectionsAndABadOneIsNot() throws Exception {
        TlsFiles tls = pair("live", "first", "ec-sec1");
        var ssl = tls.server();
        Server jetty = serve(ssl);
        List<String> log = new ArrayList<>();
        try {
            String seen = tls.stamp();
            assertThat(tls.reloadIfChanged(ssl, seen, log::add)).isEqualTo(seen);
            assertThat(log).isEmpty();
            // a renewal as a Secret's volume makes it: the same paths, new files
            TlsFiles next = pair("next", "second", "rsa-pkcs1");
            Files.move(dir.resolve("next.crt"), dir.resolve("live.crt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.move(dir.resolve("next.key"), dir.resolve("live.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            seen = tls.reloadIfChanged(ssl, seen, log::add);
            assertThat(log).containsExactly("the HTTP door's certificate was reloaded from " + dir.resolve("live.crt"));
            assertThat(servedName(jetty)).isEqualTo("CN=second");
            // half a renewal (a certificate without its key) is refused and the pair served stays
            pair("third", "third", "ec-sec1");
            Files.move(dir.resolve("third.crt"), dir.resolve("live.crt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            tls.reloadIfChanged(ssl, seen, log::add);
            assertThat(log.getLast()).startsWith("the renewed certificate was refused, the old one kept: the key in"
                    + " --tls-key");
            assertThat(servedName(jetty)).isEqualTo("CN=second");
            assertThat(next).isNotNull();
        } finally {
            jetty.stop();
        }
    }

    private static Server serve(org.eclipse.jetty.util.ssl.SslContextFactory.Server ssl) throws Exception {
        Server jetty = new Server();
        ServerConnector c = new ServerConnector(jetty, ssl);
        c.setHost("127.0.0.1");
        c.setPort(0);
        jetty.addConnector(c);
        jetty.start();
        return jetty;
    }

    /** The subject of the certificate a new TLS connection to {@code jetty} is shown. */
    private static String servedName(Server jetty) throws Exception {
        int port = ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
        X509Certificate[] shown = new X509Certificate[1];
        TrustManager look = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                shown[0] = chain[0];
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {look}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.startHandshake();
        }
        return shown[0].getSubjectX500Principal().getName();
    }
}
