package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code davit mcp serve}'s TLS flags given wrong: each a one-line usage error naming the flag and the fix, before
 * anything is served (TlsFilesTest has the files' own errors; K8sInClusterTest an agent over HTTPS).
 */
class McpTlsFlagsTest {
    @TempDir
    Path home;

    private void refused(String line, String... args) {
        Cli.Result r = new Cli(home).run(args);
        assertThat(r.rc()).as(r.toString()).isEqualTo(2);
        assertThat(r.stderr()).isEqualTo("davit: error: " + line + "\n");
    }

    @Test
    void tlsFlagsGivenWrongAreOneLine() throws Exception {
        Path cert = Files.writeString(home.resolve("tls.crt"), "not a certificate\n");
        Path key = Files.writeString(home.resolve("tls.key"), "not a key\n");
        refused("--tls-cert is for --http; stdio needs no TLS", "mcp", "serve", "--tls-cert", cert.toString(),
                "--tls-key", key.toString());
        refused("--tls-cert needs --tls-key, the certificate's private key", "mcp", "serve", "--http", "127.0.0.1:0",
                "--tls-cert", cert.toString());
        refused("--tls-key needs --tls-cert, the certificate it is the key of", "mcp", "serve", "--http",
                "127.0.0.1:0", "--tls-key", key.toString());
        refused("--tls-cert " + cert + " holds no PEM certificate; give the server's certificate chain, leaf first (a"
                + " TLS Secret's tls.crt)", "mcp", "serve", "--http", "127.0.0.1:0", "--allow-unlimited", "--tls-cert",
                cert.toString(), "--tls-key", key.toString());
    }
}
