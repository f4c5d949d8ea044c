package dev.davit.oci.reference;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ReferenceTest {

    private static final String HEX = "5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51";
    private static final String SHA256 = "sha256:" + HEX;
    private static final String SHA512 = "sha512:" + HEX + HEX;

    /** Docker's normalisation, as {@code docker pull} and containerd's reference.ParseNormalizedNamed apply it. */
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            alpine                                  | docker.io/library/alpine:latest
            alpine:3.20                             | docker.io/library/alpine:3.20
            library/alpine                          | docker.io/library/alpine:latest
            library/alpine:edge                     | docker.io/library/alpine:edge
            docker.io/alpine                        | docker.io/library/alpine:latest
            docker.io/library/alpine:3.20           | docker.io/library/alpine:3.20
            index.docker.io/alpine                  | docker.io/library/alpine:latest
            index.docker.io/library/alpine:3        | docker.io/library/alpine:3
            index.docker.io/bitnami/redis           | docker.io/bitnami/redis:latest
            registry-1.docker.io/alpine             | docker.io/library/alpine:latest
            bitnami/redis:7.2                       | docker.io/bitnami/redis:7.2
            foo/bar/baz                             | docker.io/foo/bar/baz:latest
            ghcr.io/owner/repo:v1.2.3               | ghcr.io/owner/repo:v1.2.3
            ghcr.io/alpine                          | ghcr.io/alpine:latest
            quay.io/org/team/sub/image:tag_1        | quay.io/org/team/sub/image:tag_1
            registry.example.com:443/a/b            | registry.example.com:443/a/b:latest
            localhost/foo                           | localhost/foo:latest
            localhost/foo/bar:dev                   | localhost/foo/bar:dev
            localhost:5000/x                        | localhost:5000/x:latest
            localhost:5000/a/b:tag                  | localhost:5000/a/b:tag
            myregistry:5000/x                       | myregistry:5000/x:latest
            127.0.0.1:5000/test/tiny                | 127.0.0.1:5000/test/tiny:latest
            [::1]:5000/x                            | [::1]:5000/x:latest
            [::1]/x:t                               | [::1]/x:t
            [2001:db8::1]:65535/a/b:c               | [2001:db8::1]:65535/a/b:c
            Registry/x                              | Registry/x:latest
            localhost                               | docker.io/library/localhost:latest
            localhost:5000                          | docker.io/library/localhost:5000
            example.com                             | docker.io/library/example.com:latest
            a_b/c__d/e-f/g---h/i.j                  | docker.io/a_b/c__d/e-f/g---h/i.j:latest
            0/1                                     | docker.io/0/1:latest
            alpine:_x                               | docker.io/library/alpine:_x
            alpine:X.Y-Z_                           | docker.io/library/alpine:X.Y-Z_
            """)
    void normalisesLikeDocker(String input, String expected) {
        Reference r = Reference.parse(input);
        assertThat(r).hasToString(expected);
        assertThat(Reference.parse(expected)).isEqualTo(r);
    }

    @Test
    void splitsIntoParts() {
        Reference r = Reference.parse("alpine");
        assertThat(r.registry()).isEqualTo("docker.io");
        assertThat(r.repository()).isEqualTo("library/alpine");
        assertThat(r.tag()).isEqualTo("latest");
        assertThat(r.digest()).isNull();
        assertThat(r.repositoryName()).isEqualTo("docker.io/library/alpine");
        assertThat(r.identifier()).isEqualTo("latest");

        Reference l = Reference.parse("localhost:5000/a/b:tag");
        assertThat(l.registry()).isEqualTo("localhost:5000");
        assertThat(l.repository()).isEqualTo("a/b");
        assertThat(l.tag()).isEqualTo("tag");
        assertThat(l.repositoryName()).isEqualTo("localhost:5000/a/b");

        Reference v6 = Reference.parse("[::1]:5000/x");
        assertThat(v6.registry()).isEqualTo("[::1]:5000");
        assertThat(v6.repository()).isEqualTo("x");
    }

    @Test
    void digestOnlyHasNoTag() {
        Reference r = Reference.parse("alpine@" + SHA256);
        assertThat(r.tag()).isNull();
        assertThat(r.digest()).isEqualTo(Digest.parse(SHA256));
        assertThat(r.identifier()).isEqualTo(SHA256);
        assertThat(r).hasToString("docker.io/library/alpine@" + SHA256);
        assertThat(Reference.parse(r.toString())).isEqualTo(r);
    }

    @Test
    void tagAndDigestKeepsBothAndFetchesByDigest() {
        Reference r = Reference.parse("alpine:3.20@" + SHA256);
        assertThat(r.tag()).isEqualTo("3.20");
        assertThat(r.digest()).hasToString(SHA256);
        assertThat(r.identifier()).isEqualTo(SHA256);
        assertThat(r).hasToString("docker.io/library/alpine:3.20@" + SHA256);
        assertThat(Reference.parse(r.toString())).isEqualTo(r);
    }

    @Test
    void digestsWithRegistryPortsAndSha512() {
        Reference r = Reference.parse("localhost:5000/a/b@" + SHA512);
        assertThat(r.registry()).isEqualTo("localhost:5000");
        assertThat(r.repository()).isEqualTo("a/b");
        assertThat(r.tag()).isNull();
        assertThat(r.digest().algorithm()).isEqualTo(Digest.Algorithm.SHA512);

        Reference v6 = Reference.parse("[::1]:5000/x:t@" + SHA256);
        assertThat(v6.registry()).isEqualTo("[::1]:5000");
        assertThat(v6.tag()).isEqualTo("t");
        assertThat(v6.digest()).hasToString(SHA256);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            alpine                          | registry-1.docker.io
            docker.io/library/alpine        | registry-1.docker.io
            index.docker.io/library/alpine  | registry-1.docker.io
            ghcr.io/o/r                     | ghcr.io
            localhost:5000/x                | localhost:5000
            [::1]:5000/x                    | [::1]:5000
            docker.io:443/x                 | docker.io:443
            """)
    void apiHostServesDockerHubFromRegistry1(String input, String host) {
        assertThat(Reference.parse(input).apiHost()).isEqualTo(host);
    }

    @Test
    void withDigestAndWithTag() {
        Reference r = Reference.parse("ghcr.io/o/r:v1");
        Digest d = Digest.parse(SHA256);
        assertThat(r.withDigest(d)).hasToString("ghcr.io/o/r:v1@" + SHA256);
        assertThat(r.withDigest(d).withTag("v2")).hasToString("ghcr.io/o/r:v2");
        assertDavitError(() -> r.withTag("-bad"), Kind.USAGE, "invalid reference '-bad'", "invalid tag");
        assertDavitError(() -> r.withTag(null), Kind.USAGE, "invalid tag");
        assertDavitError(() -> r.withTag(""), Kind.USAGE, "invalid tag");
    }

    @Test
    void parseRepositoryIgnoresTagAndDigest() {
        assertThat(Reference.parseRepository("alpine:3.20").repositoryName()).isEqualTo("docker.io/library/alpine");
        assertThat(Reference.parseRepository("127.0.0.1:5000/test/tiny").repositoryName())
                .isEqualTo("127.0.0.1:5000/test/tiny");
        Reference r = Reference.parseRepository("ghcr.io/o/r:v1@" + SHA256);
        assertThat(r).hasToString("ghcr.io/o/r:latest");
        assertDavitError(() -> Reference.parseRepository("UPPER/Case"), Kind.USAGE, "lower-case");
    }

    @Test
    void rejectsEmpty() {
        assertDavitError(() -> Reference.parse(null), Kind.USAGE, "invalid reference ''", "it is empty");
        assertDavitError(() -> Reference.parse(""), Kind.USAGE, "invalid reference ''", "it is empty");
    }

    @ParameterizedTest
    @ValueSource(strings = {" alpine", "alpine ", "al pine", "alpine\n", "alpine\t:3", "alpin\u00e9", "alpine\u2028",
        "alpine\u0000", "alpine\u007f", "alp\u202eine"})
    void rejectsWhitespaceControlAndNonAscii(String input) {
        assertDavitError(() -> Reference.parse(input), Kind.USAGE, "it contains whitespace or non-ASCII characters");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Alpine", "docker.io/Library/alpine", "alpine/Foo", "ghcr.io/Owner/repo:v1",
        "localhost:5000/X", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"})
    void rejectsUpperCaseInRepository(String input) {
        assertDavitError(() -> Reference.parse(input), Kind.USAGE, "repository names must be lower-case");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a..b", "a___b", "a-", "-a", "_a", "a.", "a_", ".a", "a/", "/a", "a//b", "a/-b",
        "ghcr.io/o/r-", "ghcr.io/o//r", "ghcr.io/o/.r", "a+b", "a%b", "a*b", "a\\b", "a,b", "a_.b", "a._b", "a-.b"})
    void rejectsBadPathComponents(String input) {
        assertDavitError(() -> Reference.parse(input), Kind.USAGE,
                "repository path components are lower-case letters and digits");
    }

    @ParameterizedTest
    @ValueSource(strings = {"alpine:", "alpine:.x", "alpine:-x", "alpine:a+b", "alpine:a@b",
        "alpine:\u00e4"})
    void rejectsBadTags(String input) {
        Kind kind = Kind.USAGE;
        String fragment = input.endsWith("\u00e4") ? "non-ASCII" : "' must be 1-128 characters of letters, digits";
        if (input.contains("@")) {
            fragment = "not a valid digest";
        }
        assertDavitError(() -> Reference.parse(input), kind, fragment);
    }

    @Test
    void tagsUpTo128Characters() {
        String tag = "t".repeat(128);
        assertThat(Reference.parse("alpine:" + tag).tag()).isEqualTo(tag);
        var e = assertDavitError(() -> Reference.parse("alpine:" + tag + "t"), Kind.USAGE, "must be 1-128 characters");
        assertThat(e.getMessage()).contains("the tag '" + "t".repeat(40) + "...'");
    }

    @Test
    void rejectsImageIds() {
        assertDavitError(() -> Reference.parse(HEX), Kind.USAGE, "a 64-character hex string is an image ID",
                "use name@sha256:" + HEX);
        // like Docker, only the bare 64-hex string is refused; with a tag, a path or fewer digits it is a name
        assertThat(Reference.parse(HEX + ":1")).hasToString("docker.io/library/" + HEX + ":1");
        assertThat(Reference.parse("docker.io/" + HEX)).hasToString("docker.io/library/" + HEX + ":latest");
        assertThat(Reference.parse("me/" + HEX)).hasToString("docker.io/me/" + HEX + ":latest");
        assertThat(Reference.parse(HEX.substring(1)).repository()).isEqualTo("library/" + HEX.substring(1));
        assertThat(Reference.parse(HEX + "0").repository()).isEqualTo("library/" + HEX + "0");
    }

    @Test
    void nameLengthLimitCountsTheNormalisedName() {
        String host = "example.com/";
        String ok = host + "a".repeat(255 - host.length());
        assertThat(Reference.parse(ok).repositoryName()).hasSize(255);
        assertDavitError(() -> Reference.parse(ok + "a"), Kind.USAGE, "the name is longer than 255 characters");
        // docker.io/library/ counts too
        String hub = "a".repeat(255 - "docker.io/library/".length());
        assertThat(Reference.parse(hub).repositoryName()).hasSize(255);
        var e = assertDavitError(() -> Reference.parse(hub + "a"), Kind.USAGE, "longer than 255 characters");
        assertThat(e.getMessage()).contains("...'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"exa_mple.com/x", "-example.com/x", "example-.com/x", "example..com/x", ".example.com/x",
        "example.com./x", "example.com:0/x", "example.com:65536/x", "example.com:123456/x", "example.com:abc/x",
        "example.com:/x", "example.com:-1/x", ":5000/x", "example.com:5000:5000/x", "[::1/x", "[]:5000/x",
        "[g::1]/x", "[::1]5000/x", "[::1]:/x", "[::1]:99999/x", "[::1]]:5000/x", "a.b:+80/x"})
    void rejectsBadRegistries(String input) {
        assertDavitError(() -> Reference.parse(input), Kind.USAGE, "is not a valid registry host[:port]");
    }

    @Test
    void registryLabelsUpTo63Characters() {
        String label = "a".repeat(63);
        assertThat(Reference.parse(label + ".com/x").registry()).isEqualTo(label + ".com");
        assertDavitError(() -> Reference.parse(label + "a.com/x"), Kind.USAGE, "is not a valid registry");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            @sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51 | the repository name before '@' is missing
            :tag                    | the repository name before ':' is missing
            localhost/              | the repository name is missing
            localhost:5000/         | the repository name is missing
            localhost:5000/:tag     | the repository name is missing
            alpine@                 | the part after '@' is not a valid digest
            alpine@sha256:abc       | the part after '@' is not a valid digest
            alpine@sha384:abc       | the part after '@' is not a valid digest
            alpine@@sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51 | not a valid digest
            a@b@sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51 | not a valid digest
            [::1]                   | the tag '1]' must be
            /                       | repository path components
            :                       | the tag '' must be
            @                       | not a valid digest
            """)
    void rejectsMissingParts(String input, String fragment) {
        assertDavitError(() -> Reference.parse(input), Kind.USAGE, "invalid reference '", fragment);
    }

    @Test
    void messagesQuoteTheInputShortened() {
        String input = "UPPER/" + "x".repeat(1000) + "/Y";
        var e = assertDavitError(() -> Reference.parse(input), Kind.USAGE, "invalid reference 'UPPER/xxx", "...'");
        assertThat(e.getMessage()).hasSizeLessThan(300);
    }
}
