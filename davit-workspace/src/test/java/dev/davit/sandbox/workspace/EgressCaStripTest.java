package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@link Secrets#withoutEgressCa}: what a commit makes of a trust store davit appended its egress CA to (as its
 * TRUST_SCRIPT does: {@code echo; echo "# davit egress CA MARK"; cat ca.pem} appended to the store).
 */
class EgressCaStripTest {
    private static final String PEM = "-----BEGIN CERTIFICATE-----\nMIIBdavitEGRESSfake0000\nQUJDREVG\n"
            + "-----END CERTIFICATE-----\n";
    private static final String OTHER = "-----BEGIN CERTIFICATE-----\nMIIBrealROOT1111\n-----END CERTIFICATE-----\n";

    private static String appended(String store, String mark) {
        return store + "\n" + "# davit egress CA " + mark + "\n" + PEM;
    }

    private static String strip(String s) {
        return new String(Secrets.withoutEgressCa(s.getBytes(StandardCharsets.ISO_8859_1)),
                StandardCharsets.ISO_8859_1);
    }

    @Test
    void aStoreDavitAppendedToIsGivenBackAsItWas() {
        String store = OTHER + OTHER.replace("1111", "2222");
        assertThat(strip(appended(store, "1a2b3c"))).isEqualTo(store);
    }

    @Test
    void aStoreWithoutTheMarkIsTheSameArray() {
        byte[] b = OTHER.getBytes(StandardCharsets.US_ASCII);
        assertThat(Secrets.withoutEgressCa(b)).isSameAs(b);
    }

    @Test
    void aStoreDavitMadeIsLeftOut() {
        // the script's "made" branch: no blank line before the mark
        assertThat(Secrets.withoutEgressCa(("# davit egress CA 77\n" + PEM).getBytes(StandardCharsets.US_ASCII)))
                .isEmpty();
    }

    @Test
    void everyWorkspacesBlockGoesEvenTwoOfThem() {
        // an image committed before (its CA left in) and this workspace's own
        String store = OTHER;
        String twice = appended(appended(store, "aaaa"), "bbbb");
        assertThat(strip(twice)).isEqualTo(store).doesNotContain("davitEGRESS", "davit egress CA");
    }

    @Test
    void crlfStoresAndCertificatesAfterTheBlockAreKept() {
        String crlf = OTHER.replace("\n", "\r\n");
        String s = appended(crlf, "c0ffee") + OTHER.replace("1111", "3333");
        String out = strip(s);
        assertThat(out).doesNotContain("davitEGRESS", "davit egress CA").contains("MIIBrealROOT1111",
                "MIIBrealROOT3333");
    }

    @Test
    void aStoreWithoutALastNewlineKeepsItsCertificates() {
        String store = OTHER.substring(0, OTHER.length() - 1); // no final newline: the script's echo ends its line
        String out = strip(appended(store, "99"));
        assertThat(out).doesNotContain("davitEGRESS").startsWith(store);
    }
}
