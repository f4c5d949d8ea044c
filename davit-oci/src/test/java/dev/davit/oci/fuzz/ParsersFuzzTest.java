package dev.davit.oci.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.davit.oci.DavitException;
import dev.davit.oci.ErrorAssert;
import dev.davit.oci.digest.Digest;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.reference.Reference;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Fuzz tests for the parsers of untrusted input. The invariant is the same for each: malformed input produces a
 * {@link DavitException} with a one-line message and nothing else (no NPE, IllegalArgumentException,
 * ClassCastException, ...), and whatever parses round-trips.
 *
 * <p>Without {@code JAZZER_FUZZ} set, each method runs in regression mode over the seeds in
 * {@code src/test/resources/dev/davit/oci/fuzz/ParsersFuzzTestInputs/<method>/} (plus an empty input), one
 * test per seed. To fuzz one method for real (for {@code maxDuration}, one method per run):
 * {@code JAZZER_FUZZ=1 mvn -pl davit-oci test -Dtest='ParsersFuzzTest#fuzzReference'}. Jazzer writes a crashing
 * input into that seed directory as {@code crash-<sha1>}: rename it after what it shows and commit it as a
 * regression seed. The corpus it grows goes to {@code davit-oci/.cifuzz-corpus/} (ignored by git).
 *
 * <p>The text parsers decode their input as UTF-8, so a seed file is simply the text to parse; a manifest seed is
 * the document, parsed once per entry of {@link #CONTENT_TYPES}.
 */
class ParsersFuzzTest {

    /** Content types every manifest input is parsed with; the parser must cope with all of them. */
    private static final List<String> CONTENT_TYPES = List.of(
            "",
            MediaTypes.OCI_MANIFEST,
            MediaTypes.OCI_INDEX,
            MediaTypes.DOCKER_MANIFEST + "; charset=utf-8",
            MediaTypes.DOCKER_MANIFEST_LIST,
            MediaTypes.DOCKER_SCHEMA1_SIGNED,
            "application/json",
            ";");

    @DictionaryEntries({"sha256:", "sha512:", "0123456789abcdef"})
    @FuzzTest(maxDuration = "60s")
    void fuzzDigest(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        Digest d;
        try {
            d = Digest.parse(text);
        } catch (DavitException e) {
            assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
            assertThat(e.getMessage()).startsWith("invalid digest '");
            ErrorAssert.assertOneLine(e.getMessage());
            assertThat(Digest.isValid(text)).isFalse();
            return;
        }
        assertThat(d.toString()).isEqualTo(text);
        assertThat(Digest.isValid(text)).isTrue();
        assertThat(Digest.parse(d.toString())).isEqualTo(d);
        assertThat(d.hex()).hasSize(d.algorithm().hexLength()).matches("[0-9a-f]+");
        assertThat(Digest.fromBytes(d.algorithm(), HexFormat.of().parseHex(d.hex()))).isEqualTo(d);
        assertThat(d.shortHex()).hasSize(12);
    }

    @DictionaryEntries({"docker.io/", "index.docker.io/", "registry-1.docker.io/", "library/", "localhost",
        ":5000/", "[::1]", "@sha256:", "@sha512:", ":latest", "__", "--"})
    @FuzzTest(maxDuration = "60s")
    void fuzzReference(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        Reference r;
        try {
            r = Reference.parse(text);
        } catch (DavitException e) {
            assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
            assertThat(e.getMessage()).startsWith("invalid reference '");
            ErrorAssert.assertOneLine(e.getMessage());
            // parseRepository shares the name rules; it may only fail the same way
            try {
                Reference.parseRepository(text);
            } catch (DavitException e2) {
                assertThat(e2.kind()).isEqualTo(DavitException.Kind.USAGE);
                ErrorAssert.assertOneLine(e2.getMessage());
            }
            return;
        }
        assertThat(r.registry()).isNotEmpty();
        assertThat(r.repository()).isNotEmpty().doesNotStartWith("/").doesNotEndWith("/");
        assertThat(r.repository()).isEqualTo(r.repository().toLowerCase(java.util.Locale.ROOT));
        assertThat(r.tag() != null || r.digest() != null).isTrue();
        assertThat(r.repositoryName().length()).isLessThanOrEqualTo(255);
        assertThat(r.registry()).isNotIn("index.docker.io", Reference.DOCKER_HUB_API);
        if (r.registry().equals(Reference.DOCKER_HUB)) {
            assertThat(r.repository()).contains("/");
            assertThat(r.apiHost()).isEqualTo(Reference.DOCKER_HUB_API);
        } else {
            assertThat(r.apiHost()).isEqualTo(r.registry());
        }
        // the normalised form is a fixed point
        String normal = r.toString();
        assertThat(Reference.parse(normal)).isEqualTo(r);
        assertThat(Reference.parse(normal).toString()).isEqualTo(normal);
        assertThat(r.identifier()).isEqualTo(r.digest() != null ? r.digest().toString() : r.tag());
        Reference repo = Reference.parseRepository(text);
        assertThat(repo.repositoryName()).isEqualTo(r.repositoryName());
        assertThat(repo.tag()).isEqualTo(Reference.DEFAULT_TAG);
        assertThat(repo.digest()).isNull();
    }

    @DictionaryEntries({"linux/", "amd64", "x86_64", "arm64", "aarch64", "arm", "armhf", "/v", "macos"})
    @FuzzTest(maxDuration = "60s")
    void fuzzPlatform(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        Platform p;
        try {
            p = Platform.parse(text);
        } catch (DavitException e) {
            assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
            assertThat(e.getMessage()).startsWith("invalid platform '");
            ErrorAssert.assertOneLine(e.getMessage());
            return;
        }
        // parse normalises, and normalising is idempotent
        assertThat(Platform.normalize(p)).isEqualTo(p);
        assertThat(Platform.parse(p.toString())).isEqualTo(p);
        assertThat(p.os()).isEqualTo(p.os().toLowerCase(java.util.Locale.ROOT));
        assertThat(p.architecture()).isEqualTo(p.architecture().toLowerCase(java.util.Locale.ROOT));
        assertThat(p.architecture()).isNotIn("x86_64", "aarch64", "armhf", "armel");
        if (p.architecture().equals("arm64") || p.architecture().equals("arm")) {
            assertThat(p.variant()).isNotNull();
        }
        assertThat(p.accepts(p)).as("%s accepts itself", p).isTrue();
        assertThat(p.score(p)).isPositive();
        // a platform accepts the plain form of its architecture only where that is a subset of it
        Platform plain = new Platform(p.os(), p.architecture(), null);
        if (p.architecture().equals("amd64")) {
            assertThat(p.accepts(plain)).isTrue();
        }
    }

    @DictionaryEntries({"\"schemaVersion\":2", "\"mediaType\":", "\"manifests\":[", "\"config\":{",
        "\"layers\":[", "\"digest\":\"sha256:", "\"size\":", "\"urls\":[", "\"annotations\":{",
        "\"platform\":{", "\"os\":", "\"architecture\":", "\"variant\":", "\"os.version\":",
        "\"os.features\":[", "\"subject\":{", "\"artifactType\":", "null", "\\u",
        "\"application/vnd.oci.image.manifest.v1+json\"", "\"application/vnd.oci.image.index.v1+json\"",
        "\"application/vnd.docker.distribution.manifest.v2+json\"",
        "\"application/vnd.docker.distribution.manifest.list.v2+json\""})
    @FuzzTest(maxDuration = "60s")
    void fuzzManifest(byte[] input) {
        byte[] original = input.clone();
        String sha256 = "sha256:" + HexFormat.of().formatHex(sha256(input));
        Manifest withoutType = null;
        for (String ct : CONTENT_TYPES) {
            Manifest m;
            try {
                m = ManifestParser.parse(input, ct.isEmpty() ? null : ct);
            } catch (DavitException e) {
                assertThat(e.kind()).isEqualTo(DavitException.Kind.VERIFICATION);
                assertThat(e.getMessage()).matches("(malformed|unsupported) manifest: .*");
                ErrorAssert.assertOneLine(e.getMessage());
                assertThat(input).as("input must not be modified").isEqualTo(original);
                continue;
            }
            assertThat(ct).isNotEqualTo(MediaTypes.DOCKER_SCHEMA1_SIGNED);
            checkManifest(m, input, sha256);
            if (ct.isEmpty()) {
                withoutType = m;
            } else if (withoutType != null) {
                // a content type only fills in a missing mediaType; it never changes what the document says
                assertThat(m.getClass()).isEqualTo(withoutType.getClass());
                assertThat(m.children()).isEqualTo(withoutType.children());
            }
        }
    }

    private static void checkManifest(Manifest m, byte[] input, String sha256) {
        assertThat(m.bytes()).isEqualTo(input).isNotSameAs(input);
        assertThat(m.digest().toString()).isEqualTo(sha256);
        assertThat(MediaTypes.isManifest(m.mediaType())).as(m.mediaType()).isTrue();
        assertThat(m.annotations()).isNotNull();
        assertThat(m.descriptor().size()).isEqualTo(input.length);
        assertThat(m.descriptor().digest()).isEqualTo(m.digest());
        switch (m) {
            case ImageIndex idx -> {
                assertThat(MediaTypes.isIndex(m.mediaType())).isTrue();
                assertThat(idx.platforms()).hasSizeLessThanOrEqualTo(idx.manifests().size());
            }
            case ImageManifest im -> {
                assertThat(MediaTypes.isImageManifest(m.mediaType())).isTrue();
                assertThat(im.config()).isNotNull();
                assertThat(im.contentSize()).isNotNegative();
                im.effectiveArtifactType();
            }
        }
        if (m.subject() != null) {
            checkDescriptor(m.subject());
        }
        for (Descriptor d : m.children()) {
            checkDescriptor(d);
        }
    }

    /** A parsed descriptor is well-formed and survives {@link ManifestJson#toJson} unchanged. */
    private static void checkDescriptor(Descriptor d) {
        assertThat(d.mediaType()).isNotEmpty();
        assertThat(d.size()).isNotNegative();
        assertThat(Digest.isValid(d.digest().toString())).isTrue();
        if (d.platform() != null) {
            assertThat(d.platform().os()).isNotEmpty();
            assertThat(d.platform().architecture()).isNotEmpty();
            Platform.normalize(d.platform());
        }
        ObjectNode index = Json.object();
        index.putArray("manifests").add(ManifestJson.toJson(d));
        assertThat(ManifestParser.layoutIndex(Json.bytes(index))).containsExactly(d);
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Jackson's mapper as davit's reading was configured before {@link dev.davit.oci.internal.Json} had its own reader. */
    private static final com.fasterxml.jackson.databind.ObjectMapper JACKSON = jackson();

    private static com.fasterxml.jackson.databind.ObjectMapper jackson() {
        var m = com.fasterxml.jackson.databind.json.JsonMapper.builder()
                .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
        m.getFactory().setStreamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                .maxNestingDepth(64).maxStringLength(4 * 1024 * 1024).build());
        return m;
    }

    /**
     * davit's JSON reader accepts exactly the text Jackson's mapper accepts, as the same tree, and refuses the rest
     * with an IOException (text, not bytes: the byte-level differences, a byte-order mark and strict UTF-8, are
     * JsonTest's).
     */
    @DictionaryEntries({"{\"", "\":", "[", "]", "}", ",", "true", "false", "null", "\\u", "1e", "-0.", "\\"})
    @FuzzTest(maxDuration = "60s")
    void fuzzJson(byte[] input) throws Exception {
        String text = new String(input, StandardCharsets.UTF_8);
        if (text.startsWith("\uFEFF")) {
            return;
        }
        com.fasterxml.jackson.databind.JsonNode expected;
        try {
            expected = JACKSON.readTree(text);
            if (expected != null && expected.isMissingNode()) {
                expected = null;
            }
        } catch (java.io.IOException e) {
            expected = null;
        }
        if (expected == null) {
            try {
                dev.davit.oci.internal.Json.read(text);
            } catch (java.io.IOException e) {
                ErrorAssert.assertOneLine(e.getMessage());
                return;
            }
            throw new AssertionError("Jackson refuses, davit accepts: " + text);
        }
        assertThat(dev.davit.oci.internal.Json.read(text)).isEqualTo(expected);
    }
}
