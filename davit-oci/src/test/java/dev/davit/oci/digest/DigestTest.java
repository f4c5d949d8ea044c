package dev.davit.oci.digest;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DigestTest {

    /** sha256 of the empty string, a value every implementation agrees on. */
    private static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    /** sha512 of the empty string. */
    private static final String EMPTY_SHA512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            + "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    /** sha256 of "{}", the OCI empty descriptor's digest. */
    private static final String EMPTY_JSON_SHA256 = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    @Test
    void parsesSha256() {
        Digest d = Digest.parse("sha256:" + EMPTY_SHA256);
        assertThat(d.algorithm()).isEqualTo(Digest.Algorithm.SHA256);
        assertThat(d.hex()).isEqualTo(EMPTY_SHA256);
        assertThat(d).hasToString("sha256:" + EMPTY_SHA256);
        assertThat(d.shortHex()).isEqualTo("e3b0c44298fc");
        assertThat(Digest.isValid(d.toString())).isTrue();
    }

    @Test
    void parsesSha512() {
        Digest d = Digest.parse("sha512:" + EMPTY_SHA512);
        assertThat(d.algorithm()).isEqualTo(Digest.Algorithm.SHA512);
        assertThat(d.algorithm().id()).isEqualTo("sha512");
        assertThat(d.algorithm().hexLength()).isEqualTo(128);
        assertThat(d).hasToString("sha512:" + EMPTY_SHA512);
    }

    @Test
    void computesDigestsOfContent() {
        assertThat(Digest.sha256(new byte[0])).hasToString("sha256:" + EMPTY_SHA256);
        assertThat(Digest.of(Digest.Algorithm.SHA512, new byte[0])).hasToString("sha512:" + EMPTY_SHA512);
        assertThat(Digest.sha256("{}".getBytes(StandardCharsets.US_ASCII))).hasToString("sha256:" + EMPTY_JSON_SHA256);
    }

    @Test
    void fromBytesMatchesAFinishedMessageDigest() throws Exception {
        byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
        MessageDigest md = Digest.Algorithm.SHA256.newMessageDigest();
        Digest d = Digest.fromBytes(Digest.Algorithm.SHA256, md.digest(data));
        assertThat(d).isEqualTo(Digest.sha256(data));
        assertThat(d.hex()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)));
        assertThat(d.newMessageDigest().getAlgorithm()).isEqualTo("SHA-256");
    }

    @Test
    void equalityIsByValue() {
        assertThat(Digest.parse("sha256:" + EMPTY_SHA256)).isEqualTo(Digest.sha256(new byte[0]))
                .hasSameHashCodeAs(Digest.sha256(new byte[0]));
        assertThat(Digest.parse("sha256:" + EMPTY_SHA256)).isNotEqualTo(Digest.parse("sha256:" + EMPTY_JSON_SHA256));
    }

    @Test
    void algorithmLookup() {
        assertThat(Digest.Algorithm.of("sha256")).isEqualTo(Digest.Algorithm.SHA256);
        assertThat(Digest.Algorithm.of("sha512")).isEqualTo(Digest.Algorithm.SHA512);
        assertThat(Digest.Algorithm.of("SHA256")).isNull();
        assertThat(Digest.Algorithm.of("sha384")).isNull();
        assertThat(Digest.Algorithm.of(null)).isNull();
    }

    @Test
    void rejectsNullAndEmpty() {
        assertDavitError(() -> Digest.parse(null), Kind.USAGE, "invalid digest ''", "sha256:<64 hex characters>");
        assertDavitError(() -> Digest.parse(""), Kind.USAGE, "invalid digest ''");
        assertThat(Digest.isValid(null)).isFalse();
        assertThat(Digest.isValid("")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
    void rejectsMissingAlgorithmOrSeparator(String text) {
        assertDavitError(() -> Digest.parse(text), Kind.USAGE, "invalid digest '", "a digest looks like sha256:");
    }

    @ParameterizedTest
    @ValueSource(strings = {"sha384", "md5", "SHA256", "Sha256", "sha-256", "sha256+b64u", "blake3", " sha256"})
    void rejectsUnregisteredAlgorithms(String alg) {
        assertDavitError(() -> Digest.parse(alg + ":" + EMPTY_SHA256), Kind.USAGE,
                "unsupported algorithm '" + alg + "'", "use sha256 or sha512");
    }

    @Test
    void shortensAHugeAlgorithmInTheMessage() {
        String alg = "x".repeat(10_000);
        var e = assertDavitError(() -> Digest.parse(alg + ":" + EMPTY_SHA256), Kind.USAGE, "unsupported algorithm");
        assertThat(e.getMessage()).contains("'" + "x".repeat(32) + "...'").hasSizeLessThan(300);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "sha256:",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",    // 63
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",  // 65
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",   // upper case
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",   // not hex
        "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
        "sha256:sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  // sha256 length
    })
    void rejectsBadHex(String text) {
        String alg = text.substring(0, 6);
        int len = alg.equals("sha256") ? 64 : 128;
        assertDavitError(() -> Digest.parse(text), Kind.USAGE, "invalid digest '",
                "the " + alg + " part must be " + len + " lower-case hex characters");
        assertThat(Digest.isValid(text)).isFalse();
    }

    @Test
    void rejectsSha256HexUnderSha512() {
        assertDavitError(() -> Digest.parse("sha512:" + EMPTY_SHA256 + EMPTY_SHA256.toUpperCase()), Kind.USAGE,
                "sha512 part must be 128 lower-case hex characters");
    }

    @Test
    void messagesStayOnOneLineForHostileInput() {
        String hostile = "sha256:\n\r\u001b[31mred\u0085" + "a".repeat(500);
        var e = assertDavitError(() -> Digest.parse(hostile), Kind.USAGE, "invalid digest 'sha256:???");
        assertThat(e.getMessage()).doesNotContain("\u001b").contains("...'");
    }

    @Test
    void constructorValidates() {
        assertDavitError(() -> new Digest(Digest.Algorithm.SHA256, "abc"), Kind.USAGE,
                "invalid digest 'sha256:abc'", "64 lower-case hex characters");
        assertThat(new Digest(Digest.Algorithm.SHA256, EMPTY_SHA256)).isEqualTo(Digest.sha256(new byte[0]));
    }
}
