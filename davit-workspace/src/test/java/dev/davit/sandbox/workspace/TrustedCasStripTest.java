package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.TrustedCas;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's CA certificates, as a sandbox's trust store gets them, are what a commit takes out again (the egress
 * CA's mark): the store as the image had it, or nothing when davit made it.
 */
class TrustedCasStripTest {
    @TempDir
    Path tmp;

    @Test
    void aCommitTakesTheOperatorsCertificatesOutAgain() throws Exception {
        Path pem = tmp.resolve("ca.pem");
        // a self-signed CA the egress code makes, as PEM
        Files.writeString(pem, EgressCa.create(List.of("a.test")).pem() + EgressCa.create(List.of("b.test")).pem());
        TrustedCas cas = TrustedCas.parse(List.of(pem.toString()), "--trust-ca");
        assertThat(cas.size()).isEqualTo(2);
        byte[] image = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".getBytes(
                StandardCharsets.US_ASCII);
        byte[] blocks = cas.blocks();
        byte[] appended = new byte[image.length + blocks.length];
        System.arraycopy(image, 0, appended, 0, image.length);
        System.arraycopy(blocks, 0, appended, image.length, blocks.length);
        assertThat(new String(Secrets.withoutEgressCa(appended), StandardCharsets.US_ASCII))
                .isEqualTo(new String(image, StandardCharsets.US_ASCII));
        // a store davit wrote (the image had none): nothing is left
        assertThat(Secrets.withoutEgressCa(blocks)).isEmpty();
    }
}
