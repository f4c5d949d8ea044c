package dev.davit.oci.manifest;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.manifest.ManifestJson;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ManifestParserTest {

    private static final String CFG = "sha256:8aef71d39eae813e8496c5dc3d1b178d344a1330a9f5c2fa8bb295e71975845b";
    private static final String L1 = "sha256:090478cc1046d746c34c2ea861402834dff0579adbb771e86b5b8f658670b23d";
    private static final String M1 = "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51";
    private static final String EMPTY_JSON = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    // ---- realistic documents ------------------------------------------------------------------------------

    @Test
    void dockerHubManifestList() {
        byte[] bytes = fixture("alpine-manifest-list.json");
        Manifest m = ManifestParser.parse(bytes, MediaTypes.DOCKER_MANIFEST_LIST);
        assertExactBytes(m, bytes);
        assertThat(m).isInstanceOf(ImageIndex.class);
        ImageIndex idx = (ImageIndex) m;
        assertThat(idx.mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST_LIST);
        assertThat(idx.manifests()).hasSize(7).allSatisfy(d -> {
            assertThat(d.mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
            assertThat(d.size()).isEqualTo(528);
            assertThat(d.urls()).isEmpty();
            assertThat(d.annotations()).isEmpty();
            assertThat(d.artifactType()).isNull();
        });
        assertThat(idx.platforms()).map(Platform::toString).containsExactly("linux/amd64", "linux/arm/v6",
                "linux/arm/v7", "linux/arm64/v8", "linux/386", "linux/ppc64le", "linux/s390x");
        assertThat(idx.manifests().get(0).digest()).hasToString(M1);
        assertThat(idx.children()).isEqualTo(idx.manifests());
        assertThat(idx.artifactType()).isNull();
        assertThat(idx.subject()).isNull();
        assertThat(idx.annotations()).isEmpty();
        // choosing a platform from it
        Platform want = Platform.parse("linux/arm/v7");
        assertThat(idx.manifests().stream().filter(d -> want.accepts(d.platform())).toList())
                .singleElement().extracting(Descriptor::digest).hasToString(
                        "sha256:5ba6c8710dd1369ce61603ab9b7a81b25f92d4a9f74956ab72a7ea75884f07ee");
    }

    @Test
    void dockerHubOciIndexWithAttestations() {
        byte[] bytes = fixture("alpine-oci-index.json");
        Manifest m = ManifestParser.parse(bytes, MediaTypes.OCI_INDEX);
        assertExactBytes(m, bytes);
        ImageIndex idx = (ImageIndex) m;
        assertThat(idx.mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
        assertThat(idx.manifests()).hasSize(4);
        assertThat(idx.platforms()).map(Platform::toString)
                .containsExactly("linux/amd64", "unknown/unknown", "linux/arm64/v8", "unknown/unknown");
        Descriptor amd64 = idx.manifests().get(0);
        assertThat(amd64.annotation("org.opencontainers.image.version")).isEqualTo("3.20.3");
        assertThat(amd64.annotations()).hasSize(7);
        Descriptor att = idx.manifests().get(1);
        assertThat(att.annotation("vnd.docker.reference.type")).isEqualTo("attestation-manifest");
        assertThat(att.annotation("vnd.docker.reference.digest")).isEqualTo(M1);
        assertThat(att.size()).isEqualTo(841);
        assertThat(Platform.parse("linux/amd64").accepts(att.platform())).isFalse();
    }

    @Test
    void dockerV2Schema2Manifest() {
        byte[] bytes = fixture("alpine-docker-manifest.json");
        Manifest m = ManifestParser.parse(bytes, MediaTypes.DOCKER_MANIFEST);
        assertExactBytes(m, bytes);
        ImageManifest im = (ImageManifest) m;
        assertThat(im.mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
        assertThat(im.config().mediaType()).isEqualTo(MediaTypes.DOCKER_CONFIG);
        assertThat(im.config().size()).isEqualTo(1471);
        assertThat(im.layers()).singleElement().satisfies(l -> {
            assertThat(l.mediaType()).isEqualTo(MediaTypes.DOCKER_LAYER_GZIP);
            assertThat(l.size()).isEqualTo(3623807);
            assertThat(l.digest()).hasToString(
                    "sha256:dac1d7cfa95021764849fd102524e141488c5e3a90f861dbb5a12d9ac8584f85");
            assertThat(l.platform()).isNull();
        });
        assertThat(im.children()).containsExactly(im.config(), im.layers().get(0));
        assertThat(im.contentSize()).isEqualTo(1471 + 3623807);
        assertThat(im.effectiveArtifactType()).isNull();
        assertThat(im.artifactType()).isNull();
        assertThat(im.subject()).isNull();
    }

    @Test
    void ociImageManifestWithUrlsAndAnnotations() {
        byte[] bytes = fixture("oci-image-manifest.json");
        ImageManifest im = (ImageManifest) ManifestParser.parse(bytes, MediaTypes.OCI_MANIFEST);
        assertExactBytes(im, bytes);
        assertThat(im.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(im.config().digest()).hasToString(CFG);
        assertThat(im.layers()).hasSize(2);
        assertThat(im.layers().get(0).digest()).hasToString(L1);
        Descriptor zstd = im.layers().get(1);
        assertThat(zstd.mediaType()).isEqualTo(MediaTypes.OCI_LAYER_ZSTD);
        assertThat(zstd.urls()).containsExactly("https://mirror.example.com/blobs/22819153db5c");
        assertThat(zstd.annotation("org.opencontainers.image.title")).isEqualTo("layer2.tar.zst");
        assertThat(im.annotations()).containsExactlyInAnyOrderEntriesOf(
                Map.of("com.example.key1", "value1", "com.example.key2", "value2"));
        assertThat(im.effectiveArtifactType()).isNull();
        assertThat(im.contentSize()).isEqualTo(7023 + 32654 + 16724);
    }

    @Test
    void ociArtifactManifestWithSubject() {
        byte[] bytes = fixture("oci-artifact-manifest.json");
        ImageManifest im = (ImageManifest) ManifestParser.parse(bytes, MediaTypes.OCI_MANIFEST);
        assertExactBytes(im, bytes);
        assertThat(im.artifactType()).isEqualTo("application/spdx+json");
        assertThat(im.effectiveArtifactType()).isEqualTo("application/spdx+json");
        assertThat(im.config().mediaType()).isEqualTo(MediaTypes.OCI_EMPTY);
        assertThat(im.config().digest()).isEqualTo(Digest.sha256("{}".getBytes(StandardCharsets.US_ASCII)))
                .hasToString(EMPTY_JSON);
        assertThat(im.config().size()).isEqualTo(2);
        assertThat(im.subject()).isNotNull();
        assertThat(im.subject().mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
        assertThat(im.subject().size()).isEqualTo(1609);
        assertThat(im.annotations()).containsEntry("org.opencontainers.image.created", "2024-09-06T12:05:36Z");
        assertThat(im.descriptor().artifactType()).isEqualTo("application/spdx+json");
        assertThat(im.descriptor().mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(im.descriptor().size()).isEqualTo(bytes.length);
    }

    @Test
    void artifactTypeFallsBackToTheConfigMediaType() {
        String helm = j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_MANIFEST + "',"
                + "'config':{'mediaType':'application/vnd.cncf.helm.config.v1+json','digest':'" + CFG + "','size':117},"
                + "'layers':[{'mediaType':'application/vnd.cncf.helm.chart.content.v1.tar+gzip','digest':'" + L1
                + "','size':3710}]}");
        ImageManifest im = (ImageManifest) parse(helm, null);
        assertThat(im.artifactType()).isNull();
        assertThat(im.effectiveArtifactType()).isEqualTo("application/vnd.cncf.helm.config.v1+json");
    }

    @Test
    void indexWithArtifactTypeSubjectAndAnnotations() {
        String doc = j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "',"
                + "'artifactType':'application/vnd.example.bundle',"
                + "'manifests':[{'mediaType':'" + MediaTypes.OCI_MANIFEST + "','digest':'" + M1 + "','size':10,"
                + "'artifactType':'application/vnd.example.part'}],"
                + "'subject':{'mediaType':'" + MediaTypes.OCI_MANIFEST + "','digest':'" + CFG + "','size':5},"
                + "'annotations':{'a':'1','b':''}}");
        ImageIndex idx = (ImageIndex) parse(doc, MediaTypes.OCI_INDEX);
        assertThat(idx.artifactType()).isEqualTo("application/vnd.example.bundle");
        assertThat(idx.subject().digest()).hasToString(CFG);
        assertThat(idx.annotations()).containsEntry("a", "1").containsEntry("b", "");
        assertThat(idx.manifests()).singleElement().satisfies(d -> {
            assertThat(d.artifactType()).isEqualTo("application/vnd.example.part");
            assertThat(d.platform()).isNull();
        });
        assertThat(idx.platforms()).isEmpty();
    }

    @Test
    void emptyIndexAndManifestWithoutLayers() {
        assertThat(((ImageIndex) parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX
                + "','manifests':[]}"), null)).manifests()).isEmpty();
        ImageManifest noLayers = (ImageManifest) parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_MANIFEST
                + "','config':" + desc(MediaTypes.OCI_EMPTY, EMPTY_JSON, "2") + "}"), null);
        assertThat(noLayers.layers()).isEmpty();
        ImageManifest nullLayers = (ImageManifest) parse(j("{'schemaVersion':2,'mediaType':'"
                + MediaTypes.DOCKER_MANIFEST + "','config':" + desc(MediaTypes.DOCKER_CONFIG, CFG, "1")
                + ",'layers':null}"), null);
        assertThat(nullLayers.layers()).isEmpty();
    }

    @Test
    void unknownFieldsAreIgnored() {
        ImageManifest im = (ImageManifest) parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_MANIFEST
                + "','config':{'mediaType':'" + MediaTypes.OCI_CONFIG + "','digest':'" + CFG
                + "','size':1,'data':'e30=','x-future':[1,{'a':null}]},'x-extension':{'nested':[true,false,null]}}"),
                null);
        assertThat(im.config().size()).isEqualTo(1);
    }

    // ---- the exact bytes -----------------------------------------------------------------------------------

    @Test
    void keepsTheExactBytesAndDigestsThem() throws IOException {
        // CRLF, tabs, odd key order, escapes and a trailing newline: re-serialising would change every one
        String doc = "{\r\n\t\"layers\" : [ ],\r\n\t\"config\":{\"size\":1,\"digest\":\"" + CFG
                + "\",\"mediaType\":\"application\\/vnd.oci.image.config.v1+json\"},\r\n"
                + "\t\"annotations\":{\"t\":\"caf\\u00e9 \u00e9\"},\"schemaVersion\":2,"
                + "\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\"   }\n";
        byte[] bytes = doc.getBytes(StandardCharsets.UTF_8);
        ImageManifest im = (ImageManifest) ManifestParser.parse(bytes, null);
        assertExactBytes(im, bytes);
        assertThat(im.annotations()).containsEntry("t", "caf\u00e9 \u00e9");
        assertThat(im.config().mediaType()).isEqualTo(MediaTypes.OCI_CONFIG);
        byte[] reserialised = Json.bytes(Json.mapper().readTree(bytes));
        assertThat(im.digest()).isNotEqualTo(Digest.sha256(reserialised));
    }

    @Test
    void manifestDoesNotShareTheCallersArray() {
        byte[] bytes = fixture("alpine-docker-manifest.json");
        byte[] copy = bytes.clone();
        Manifest m = ManifestParser.parse(bytes, null);
        Arrays.fill(bytes, (byte) ' ');
        assertThat(m.bytes()).isEqualTo(copy);
        assertThat(m.digest()).isEqualTo(Digest.sha256(copy));
    }

    @Test
    void everyFixtureDigestIsTheSha256OfItsBytes() throws Exception {
        for (String name : List.of("alpine-manifest-list.json", "alpine-oci-index.json", "alpine-docker-manifest.json",
                "oci-image-manifest.json", "oci-artifact-manifest.json")) {
            byte[] bytes = fixture(name);
            Manifest m = ManifestParser.parse(bytes, null);
            String expected = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            assertThat(m.digest()).as(name).hasToString(expected);
            assertThat(m.descriptor().digest()).isEqualTo(m.digest());
            assertThat(m.descriptor().size()).isEqualTo(bytes.length);
        }
    }

    // ---- content type fallback -----------------------------------------------------------------------------

    private static final String UNTYPED_MANIFEST = "{'schemaVersion':2,'config':{'mediaType':'" + MediaTypes.OCI_CONFIG
            + "','digest':'" + CFG + "','size':1},'layers':[]}";
    private static final String UNTYPED_INDEX = "{'schemaVersion':2,'manifests':[]}";

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            MANIFEST | NULL                                                                      | application/vnd.oci.image.manifest.v1+json
            MANIFEST | application/json                                                          | application/vnd.oci.image.manifest.v1+json
            MANIFEST | application/vnd.oci.image.manifest.v1+json                                | application/vnd.oci.image.manifest.v1+json
            MANIFEST | application/vnd.docker.distribution.manifest.v2+json                      | application/vnd.docker.distribution.manifest.v2+json
            MANIFEST | ' application/vnd.docker.distribution.manifest.v2+json ; charset=utf-8'   | application/vnd.docker.distribution.manifest.v2+json
            MANIFEST | application/vnd.oci.image.config.v1+json                                  | application/vnd.oci.image.manifest.v1+json
            INDEX    | NULL                                                                      | application/vnd.oci.image.index.v1+json
            INDEX    | text/plain; charset=utf-8                                                 | application/vnd.oci.image.index.v1+json
            INDEX    | application/vnd.oci.image.index.v1+json                                   | application/vnd.oci.image.index.v1+json
            INDEX    | application/vnd.docker.distribution.manifest.list.v2+json                 | application/vnd.docker.distribution.manifest.list.v2+json
            """)
    void mediaTypeFallsBackToContentTypeThenToShape(String shape, String contentType, String expected) {
        String doc = shape.equals("INDEX") ? UNTYPED_INDEX : UNTYPED_MANIFEST;
        Manifest m = parse(j(doc), contentType);
        assertThat(m.mediaType()).isEqualTo(expected);
        assertThat(m).isInstanceOf(shape.equals("INDEX") ? ImageIndex.class : ImageManifest.class);
    }

    @Test
    void theDocumentsMediaTypeWinsOverTheContentType() {
        String doc = j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "','manifests':[]}");
        assertThat(parse(doc, MediaTypes.OCI_MANIFEST).mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
        assertThat(parse(doc, MediaTypes.DOCKER_MANIFEST_LIST).mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
    }

    @Test
    void contentTypeMustFitTheShape() {
        assertDavitError(() -> parse(j(UNTYPED_MANIFEST), MediaTypes.OCI_INDEX), Kind.VERIFICATION,
                "malformed manifest: an index must not have config or layers");
        assertDavitError(() -> parse(j(UNTYPED_INDEX), MediaTypes.DOCKER_MANIFEST), Kind.VERIFICATION,
                "malformed manifest: an image manifest must not have manifests");
    }

    @Test
    void noMediaTypeAndNoShape() {
        assertDavitError(() -> parse("{\"schemaVersion\":2}", null), Kind.VERIFICATION,
                "malformed manifest: it has no mediaType and is neither an index nor an image manifest");
        assertDavitError(() -> parse("{\"schemaVersion\":2}", "application/json"), Kind.VERIFICATION,
                "it has no mediaType");
    }

    // ---- rejected documents --------------------------------------------------------------------------------

    @Test
    void rejectsDockerSchema1() {
        assertDavitError(() -> ManifestParser.parse(fixture("docker-schema1-signed.json"), null), Kind.VERIFICATION,
                "unsupported manifest: Docker schema 1 is deprecated");
        assertDavitError(() -> ManifestParser.parse(fixture("docker-schema1-signed.json"),
                MediaTypes.DOCKER_SCHEMA1_SIGNED), Kind.VERIFICATION, "Docker schema 1");
        // served as schema 1, whatever the body claims
        assertDavitError(() -> ManifestParser.parse(fixture("alpine-docker-manifest.json"),
                MediaTypes.DOCKER_SCHEMA1), Kind.VERIFICATION, "Docker schema 1");
        assertDavitError(() -> ManifestParser.parse(fixture("alpine-docker-manifest.json"),
                MediaTypes.DOCKER_SCHEMA1_SIGNED + "; charset=utf-8"), Kind.VERIFICATION, "Docker schema 1");
    }

    @Test
    void rejectsTheWithdrawnOciArtifactManifest() {
        String doc = j("{'schemaVersion':2,'mediaType':'application/vnd.oci.artifact.manifest.v1+json',"
                + "'artifactType':'application/vnd.example','blobs':[]}");
        assertDavitError(() -> parse(doc, null), Kind.VERIFICATION,
                "unsupported mediaType 'application/vnd.oci.artifact.manifest.v1+json'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"{}", "{'schemaVersion':3,'manifests':[]}", "{'schemaVersion':'2','manifests':[]}",
        "{'schemaVersion':2.0,'manifests':[]}", "{'schemaVersion':null,'manifests':[]}",
        "{'schemaVersion':[2],'manifests':[]}", "{'schemaVersion':0,'manifests':[]}",
        "{'schemaVersion':-2,'manifests':[]}", "{'schemaVersion':4294967298,'manifests':[]}"})
    void schemaVersionMustBe2(String doc) {
        assertDavitError(() -> parse(j(doc), null), Kind.VERIFICATION, "malformed manifest: schemaVersion must be 2");
    }

    @Test
    void sizeLimitIs4MiB() {
        assertThat(ManifestParser.MAX_MANIFEST_BYTES).isEqualTo(4 * 1024 * 1024);
        byte[] doc = fixture("alpine-docker-manifest.json");
        byte[] max = new byte[ManifestParser.MAX_MANIFEST_BYTES];
        Arrays.fill(max, (byte) ' ');
        System.arraycopy(doc, 0, max, 0, doc.length);
        Manifest m = ManifestParser.parse(max, null);
        assertThat(m.bytes()).hasSize(ManifestParser.MAX_MANIFEST_BYTES);
        assertThat(m.digest()).isEqualTo(Digest.sha256(max));

        byte[] over = Arrays.copyOf(max, max.length + 1);
        over[over.length - 1] = ' ';
        assertDavitError(() -> ManifestParser.parse(over, null), Kind.VERIFICATION,
                "malformed manifest: it is 4194305 bytes, over the 4194304-byte limit");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{'schemaVersion':2,'schemaVersion':2,'manifests':[]}",
        "{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "','manifests':[],'mediaType':'"
                + MediaTypes.OCI_MANIFEST + "'}",
        "{'schemaVersion':2,'manifests':[{'mediaType':'x','digest':'" + M1 + "','digest':'" + CFG + "','size':1}]}",
        "{'schemaVersion':2,'manifests':[],'annotations':{'a':'1','b':'2','a':'3'}}",
        "{'schemaVersion':2,'manifests':[{'mediaType':'x','digest':'" + M1
                + "','size':1,'platform':{'os':'linux','architecture':'amd64','os':'windows'}}]}",
    })
    void rejectsDuplicateKeys(String doc) {
        assertDavitError(() -> parse(j(doc), null), Kind.VERIFICATION, "malformed manifest: it is not valid JSON",
                "Duplicate field");
    }

    /**
     * Go's encoding/json matches keys case-insensitively (with Unicode folding), so for a Go registry or client
     * these keys are duplicates of the real field: the document would mean different things on either side.
     */
    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            {'schemaVersion':2,'config':CFG,'Manifests':[]}                       | key 'Manifests' differs from 'manifests' only in case
            {'schemaVersion':2,'manifests':[],'MEDIATYPE':'x'}                    | key 'MEDIATYPE' differs from 'mediaType' only in case
            {'schemaVersion':2,'SchemaVersion':1,'manifests':[]}                  | key 'SchemaVersion' differs from 'schemaVersion' only in case
            {'schemaVersion':2,'manifests':[],'\u017fubject':CFG}                 | key '\u017fubject' differs from 'subject' only in case
            {'schemaVersion':2,'config':{'mediaType':'a/b','digest':'DIG','size':1,'Size':2}} | config: key 'Size' differs from 'size' only in case
            {'schemaVersion':2,'config':{'mediaType':'a/b','digest':'DIG','size':1,'Digest':'x'}} | config: key 'Digest' differs from 'digest' only in case
            {'schemaVersion':2,'manifests':[{'mediaType':'a/b','digest':'DIG','size':1,'platform':{'os':'linux','architecture':'amd64','OS':'windows'}}]} | manifests[0].platform: key 'OS' differs from 'os' only in case
            {'schemaVersion':2,'manifests':[{'mediaType':'a/b','digest':'DIG','size':1,'platform':{'os':'linux','architecture':'amd64','os.feature\u017f':[]}}]} | manifests[0].platform: key 'os.feature\u017f' differs from 'os.features' only in case
            """)
    void rejectsKeysThatDifferOnlyInCase(String doc, String fragment) {
        String json = j(doc.replace("CFG", "{'mediaType':'a/b','digest':'" + CFG + "','size':1}").replace("DIG", CFG));
        assertDavitError(() -> parse(json, null), Kind.VERIFICATION, "malformed manifest: " + fragment);
    }

    @Test
    void unrelatedKeysWithOtherCasesAreFine() {
        ImageManifest im = (ImageManifest) parse(manifest(GOOD_CONFIG, GOOD_LAYER,
                ",'Annotation':'x','configs':1,'layer':2,'x-mediaType':3"), null);
        assertThat(im.layers()).hasSize(1);
        ImageIndex idx = (ImageIndex) parse(j("{'schemaVersion':2,'manifests':[],'annotations':{'MediaType':'a',"
                + "'mediatype':'b','Size':'c'}}"), null);
        assertThat(idx.annotations()).hasSize(3);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "\n", "{", "}", "{'schemaVersion':2", "{'schemaVersion':2,}",
        "{'schemaVersion':2} {}", "{'schemaVersion':2}x", "{schemaVersion:2}", "{'a':01}", "{'a':NaN}",
        "{'a':'\u0001'}", "{'a':'\\x41'}", "// comment\n{}", "{'a':1}/* c */"})
    void rejectsInvalidJson(String doc) {
        assertDavitError(() -> parse(j(doc), null), Kind.VERIFICATION, "malformed manifest: it is not valid JSON");
    }

    @Test
    void rejectsInvalidUtf8() {
        byte[] doc = j("{'schemaVersion':2,'annotations':{'a':'X'},'manifests':[]}").getBytes(StandardCharsets.UTF_8);
        int at = new String(doc, StandardCharsets.ISO_8859_1).indexOf('X');
        List<byte[]> bad = List.of(
                new byte[] {(byte) 0xff},                                  // never valid
                new byte[] {(byte) 0x80},                                  // continuation without a start
                new byte[] {(byte) 0xc3},                                  // truncated sequence
                new byte[] {(byte) 0xc0, (byte) 0xaf},                     // overlong '/'
                new byte[] {(byte) 0xc0, (byte) 0xa2},                     // overlong '"'
                new byte[] {(byte) 0xe0, (byte) 0x80, (byte) 0xaf},        // overlong '/'
                new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80},        // encoded surrogate
                new byte[] {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}); // beyond U+10FFFF
        for (byte[] b : bad) {
            byte[] input = splice(doc, "X", b);
            assertDavitError(() -> ManifestParser.parse(input, null), Kind.VERIFICATION,
                    "malformed manifest: it is not valid UTF-8 (at byte " + at + ")");
        }
        // Jackson alone would read the overlong '/' as '/'; a Go registry reads U+FFFD
        byte[] overlongDigest = splice(j("{'schemaVersion':2,'manifests':[{'mediaType':'a/b','digest':'sha256X"
                + M1.substring(7) + "','size':1}]}").getBytes(StandardCharsets.UTF_8), "X",
                new byte[] {(byte) 0xc0, (byte) 0xba});
        assertDavitError(() -> ManifestParser.parse(overlongDigest, null), Kind.VERIFICATION, "not valid UTF-8");
    }

    @Test
    void acceptsMultiByteUtf8() {
        String doc = j("{'schemaVersion':2,'annotations':{'t':'caf\u00e9 \u20ac \ud83d\udc33 \u4e2d'},'manifests':[]}");
        ImageIndex idx = (ImageIndex) parse(doc, null);
        assertThat(idx.annotations()).containsEntry("t", "caf\u00e9 \u20ac \ud83d\udc33 \u4e2d");
        assertThat(idx.bytes()).isEqualTo(doc.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void rejectsAByteOrderMark() {
        byte[] doc = j("{'schemaVersion':2,'manifests':[]}").getBytes(StandardCharsets.UTF_8);
        byte[] withBom = new byte[doc.length + 3];
        withBom[0] = (byte) 0xef;
        withBom[1] = (byte) 0xbb;
        withBom[2] = (byte) 0xbf;
        System.arraycopy(doc, 0, withBom, 3, doc.length);
        assertDavitError(() -> ManifestParser.parse(withBom, null), Kind.VERIFICATION,
                "malformed manifest: it is not valid JSON");
    }

    @Test
    void rejectsOtherEncodingsThanUtf8() {
        String doc = j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "','manifests':[]}");
        for (var cs : List.of(StandardCharsets.UTF_16, StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE,
                java.nio.charset.Charset.forName("UTF-32"))) {
            assertDavitError(() -> ManifestParser.parse(doc.getBytes(cs), null), Kind.VERIFICATION,
                    "malformed manifest: it is not ");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"null", "[]", "[{'schemaVersion':2,'manifests':[]}]", "'x'", "2", "true", "1.5"})
    void rejectsNonObjects(String doc) {
        assertDavitError(() -> parse(j(doc), null), Kind.VERIFICATION, "malformed manifest: it is not a JSON object");
    }

    @Test
    void rejectsNullBytes() {
        assertDavitError(() -> ManifestParser.parse(null, null), Kind.VERIFICATION, "malformed manifest:");
    }

    @Test
    void rejectsDeepNesting() {
        String deep = "[".repeat(200) + "]".repeat(200);
        assertDavitError(() -> parse("{\"schemaVersion\":2,\"manifests\":[],\"x\":" + deep + "}", null),
                Kind.VERIFICATION, "malformed manifest: it is not valid JSON", "nesting depth");
        String deepObjects = "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_000);
        assertDavitError(() -> parse(deepObjects, null), Kind.VERIFICATION, "not valid JSON");
    }

    @Test
    void indexMustNotHaveConfigOrLayers() {
        assertDavitError(() -> parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX
                + "','manifests':[],'config':" + desc(MediaTypes.OCI_CONFIG, CFG, "1") + "}"), null),
                Kind.VERIFICATION, "an index must not have config or layers");
        assertDavitError(() -> parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.DOCKER_MANIFEST_LIST
                + "','manifests':[],'layers':[]}"), null), Kind.VERIFICATION, "an index must not have config or layers");
    }

    @Test
    void manifestMustNotHaveManifests() {
        assertDavitError(() -> parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_MANIFEST + "','config':"
                + desc(MediaTypes.OCI_CONFIG, CFG, "1") + ",'manifests':[]}"), null), Kind.VERIFICATION,
                "an image manifest must not have manifests");
    }

    /** A valid OCI manifest with one layer; each case below breaks one part of it. */
    private static String manifest(String config, String layer, String extra) {
        return j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_MANIFEST + "','config':" + config
                + ",'layers':[" + layer + "]" + extra + "}");
    }

    private static final String GOOD_CONFIG = "{'mediaType':'" + MediaTypes.OCI_CONFIG + "','digest':'" + CFG
            + "','size':7023}";
    private static final String GOOD_LAYER = "{'mediaType':'" + MediaTypes.OCI_LAYER_GZIP + "','digest':'" + L1
            + "','size':32654}";

    @Test
    void theBaseCaseIsValid() {
        ImageManifest im = (ImageManifest) parse(manifest(GOOD_CONFIG, GOOD_LAYER, ""), null);
        assertThat(im.layers()).hasSize(1);
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            {'mediaType':'application/vnd.oci.image.config.v1+json','size':1}           | config.digest is missing
            {'mediaType':'application/vnd.oci.image.config.v1+json','digest':null,'size':1} | config.digest is missing
            {'digest':'sha256:8aef71d39eae813e8496c5dc3d1b178d344a1330a9f5c2fa8bb295e71975845b','size':1} | config.mediaType is missing
            {'mediaType':'','digest':'sha256:8aef71d39eae813e8496c5dc3d1b178d344a1330a9f5c2fa8bb295e71975845b','size':1} | config.mediaType is missing
            {'mediaType':'a/b','digest':'sha256:8aef71d39eae813e8496c5dc3d1b178d344a1330a9f5c2fa8bb295e71975845b'} | config.size must be a non-negative integer
            {}                                                                           | config.mediaType is missing
            'config'                                                                     | config is not a descriptor object
            []                                                                           | config is not a descriptor object
            null                                                                         | config is not a descriptor object
            {'mediaType':7,'digest':'sha256:8aef71d39eae813e8496c5dc3d1b178d344a1330a9f5c2fa8bb295e71975845b','size':1} | config.mediaType must be a string
            {'mediaType':'a/b','digest':42,'size':1}                                     | config.digest must be a string
            {'mediaType':'a/b','digest':'sha256:abc','size':1}                           | config.digest: invalid digest 'sha256:abc'
            {'mediaType':'a/b','digest':'md5:abc','size':1}                              | config.digest: invalid digest 'md5:abc': unsupported algorithm
            """)
    void rejectsBadConfig(String config, String fragment) {
        assertDavitError(() -> parse(manifest(config, GOOD_LAYER, ""), null), Kind.VERIFICATION,
                "malformed manifest: " + fragment);
    }

    @ParameterizedTest(name = "size {0}")
    @ValueSource(strings = {"-1", "1.5", "1.0", "1e3", "'5'", "null", "true", "[1]", "{}", "9223372036854775808",
        "-9223372036854775809", "123456789012345678901234567890"})
    void rejectsBadSizes(String size) {
        String layer = "{'mediaType':'a/b','digest':'" + L1 + "','size':" + size + "}";
        assertDavitError(() -> parse(manifest(GOOD_CONFIG, layer, ""), null), Kind.VERIFICATION,
                "malformed manifest: layers[0].size must be a non-negative integer");
    }

    @Test
    void acceptsSizesUpToLongMax() {
        for (String size : List.of("0", "9223372036854775807")) {
            String layer = "{'mediaType':'a/b','digest':'" + L1 + "','size':" + size + "}";
            ImageManifest im = (ImageManifest) parse(manifest(GOOD_CONFIG, layer, ""), null);
            assertThat(im.layers().get(0).size()).isEqualTo(Long.parseLong(size));
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            ,'layers':{}                            | layers must be an array
            ,'layers':'x'                           | layers must be an array
            ,'layers':[1]                           | layers[0] is not a descriptor object
            ,'annotations':[]                       | annotations must be an object of strings
            ,'annotations':'a=b'                    | annotations must be an object of strings
            ,'annotations':{'a':1}                  | annotations must be an object of strings
            ,'annotations':{'a':null}               | annotations must be an object of strings
            ,'annotations':{'a':{'b':'c'}}          | annotations must be an object of strings
            ,'artifactType':['a']                   | artifactType must be a string
            ,'mediaType':5                          | mediaType must be a string
            ,'subject':'sha256:x'                   | subject is not a descriptor object
            ,'subject':{}                           | subject.mediaType is missing
            ,'subject':{'mediaType':'a/b','digest':'sha256:x','size':1} | subject.digest: invalid digest
            """)
    void rejectsWrongTypesAtTopLevel(String extra, String fragment) {
        // the extra field comes last, so a duplicated key like mediaType would trip duplicate detection first
        String doc = extra.startsWith(",'layers'") || extra.startsWith(",'mediaType'")
                ? j("{'schemaVersion':2,'config':" + GOOD_CONFIG + extra + "}")
                : manifest(GOOD_CONFIG, GOOD_LAYER, extra);
        assertDavitError(() -> parse(doc, null), Kind.VERIFICATION, "malformed manifest: " + fragment);
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            ,'urls':'https://x'                     | layers[0].urls must be an array
            ,'urls':[1]                             | layers[0].urls must hold strings
            ,'urls':[null]                          | layers[0].urls must hold strings
            ,'annotations':{'a':true}               | layers[0].annotations must be an object of strings
            ,'artifactType':1                       | layers[0].artifactType must be a string
            ,'platform':'linux/amd64'               | layers[0].platform must be an object
            """)
    void rejectsWrongTypesInDescriptors(String extra, String fragment) {
        String layer = "{'mediaType':'a/b','digest':'" + L1 + "','size':1" + extra + "}";
        assertDavitError(() -> parse(manifest(GOOD_CONFIG, layer, ""), null), Kind.VERIFICATION,
                "malformed manifest: " + fragment);
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            'linux'                                                        | manifests[0].platform must be an object
            []                                                             | manifests[0].platform must be an object
            {}                                                             | manifests[0].platform needs os and architecture
            {'os':'linux'}                                                 | manifests[0].platform needs os and architecture
            {'architecture':'amd64'}                                       | manifests[0].platform needs os and architecture
            {'os':'linux','architecture':''}                               | manifests[0].platform needs os and architecture
            {'os':'','architecture':'amd64'}                               | manifests[0].platform needs os and architecture
            {'os':1,'architecture':'amd64'}                                | manifests[0].platform.os must be a string
            {'os':'linux','architecture':['amd64']}                        | manifests[0].platform.architecture must be a string
            {'os':'linux','architecture':'arm','variant':7}                | manifests[0].platform.variant must be a string
            {'os':'windows','architecture':'amd64','os.version':10}        | manifests[0].platform.os.version must be a string
            {'os':'windows','architecture':'amd64','os.features':'win32k'} | manifests[0].platform.os.features must be an array of strings
            {'os':'windows','architecture':'amd64','os.features':[1]}      | manifests[0].platform.os.features must be an array of strings
            {'os':'windows','architecture':'amd64','os.features':[{}]}     | manifests[0].platform.os.features must be an array of strings
            """)
    void rejectsBadPlatforms(String platform, String fragment) {
        String doc = j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "','manifests':[{'mediaType':'"
                + MediaTypes.OCI_MANIFEST + "','digest':'" + M1 + "','size':1,'platform':" + platform + "}]}");
        assertDavitError(() -> parse(doc, null), Kind.VERIFICATION, "malformed manifest: " + fragment);
    }

    @Test
    void reportsTheIndexOfTheBadEntry() {
        String good = "{'mediaType':'a/b','digest':'" + M1 + "','size':1}";
        String doc = j("{'schemaVersion':2,'manifests':[" + good + "," + good + ",{'mediaType':'a/b','size':1}]}");
        assertDavitError(() -> parse(doc, null), Kind.VERIFICATION, "malformed manifest: manifests[2].digest is missing");
        assertDavitError(() -> parse(j("{'schemaVersion':2,'manifests':{}}"), null), Kind.VERIFICATION,
                "manifests must be an array");
        assertDavitError(() -> parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "'}"), null),
                Kind.VERIFICATION, "manifests is missing");
        assertDavitError(() -> parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "','manifests':null}"),
                null), Kind.VERIFICATION, "manifests is missing");
        assertDavitError(() -> parse(j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_MANIFEST + "'}"), null),
                Kind.VERIFICATION, "config is missing");
    }

    @Test
    void nullOptionalFieldsAreAbsent() {
        String doc = j("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "','artifactType':null,"
                + "'subject':null,'annotations':null,'manifests':[{'mediaType':'a/b','digest':'" + M1 + "','size':1,"
                + "'urls':null,'annotations':null,'platform':null,'artifactType':null}]}");
        ImageIndex idx = (ImageIndex) parse(doc, null);
        assertThat(idx.artifactType()).isNull();
        assertThat(idx.subject()).isNull();
        assertThat(idx.annotations()).isEmpty();
        Descriptor d = idx.manifests().get(0);
        assertThat(d.urls()).isEmpty();
        assertThat(d.annotations()).isEmpty();
        assertThat(d.platform()).isNull();
        assertThat(d.artifactType()).isNull();
    }

    @Test
    void hostileStringsStayOnOneLineInMessages() {
        String doc = "{\"schemaVersion\":2,\"mediaType\":\"evil\\n\\r\\u001b[2J\\u2028\\u202e" + "x".repeat(300)
                + "\",\"manifests\":[]}";
        var e = assertDavitError(() -> parse(doc, null), Kind.VERIFICATION, "unsupported mediaType 'evil");
        assertThat(e.getMessage()).doesNotContain("\u001b").contains("...'");
        var bad = assertDavitError(() -> parse("{\"a\":\"\n\"}", null), Kind.VERIFICATION, "not valid JSON");
        assertThat(bad.getMessage()).doesNotContain("\n");
    }

    @Test
    void digestErrorsInDescriptorsKeepOneLine() {
        String layer = "{'mediaType':'a/b','digest':'sha256:\\n" + "0".repeat(200) + "','size':1}";
        var e = assertDavitError(() -> parse(manifest(GOOD_CONFIG, layer, ""), null), Kind.VERIFICATION,
                "layers[0].digest: invalid digest 'sha256:?000");
        assertThat(e.getMessage()).contains("64 lower-case hex characters");
    }

    // ---- descriptors and toJson ----------------------------------------------------------------------------

    @Test
    void descriptorRoundTripsThroughToJson() {
        Descriptor d = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.parse(M1), 1234, List.of("https://a", "https://b"),
                Map.of("b", "2", "a", "1"),
                new Platform("windows", "amd64", null, "10.0.17763.6189", List.of("win32k")), "application/x");
        ObjectNode json = ManifestJson.toJson(d);
        assertThat(json.get("platform").get("os.version").textValue()).isEqualTo("10.0.17763.6189");
        assertThat(json.get("annotations").fieldNames()).toIterable().containsExactly("a", "b");
        assertThat(ManifestReader.descriptor(json, "index.json manifests[0]")).isEqualTo(d);

        Descriptor plain = new Descriptor(MediaTypes.OCI_LAYER, Digest.parse(L1), 0);
        JsonNode p = ManifestJson.toJson(plain);
        assertThat(p.fieldNames()).toIterable().containsExactlyInAnyOrder("mediaType", "digest", "size");
        assertThat(ManifestReader.descriptor(p, "x")).isEqualTo(plain);

        Descriptor arm = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.parse(M1), 1, List.of(), Map.of(),
                new Platform("linux", "arm", "v7"), null);
        assertThat(ManifestReader.descriptor(ManifestJson.toJson(arm), "x")).isEqualTo(arm);
    }

    @Test
    void descriptorNamesWhereItWasFound() {
        assertDavitError(() -> ManifestReader.descriptor(Json.object(), "index.json manifests[3]"), Kind.VERIFICATION,
                "malformed manifest: index.json manifests[3].mediaType is missing");
        assertDavitError(() -> ManifestReader.descriptor(null, "x"), Kind.VERIFICATION, "x is not a descriptor object");
    }

    @Test
    void layoutIndexReadsTheManifestsAndNamesABadEntry() {
        byte[] index = j("{'schemaVersion':2,'manifests':[{'mediaType':'a/b','digest':'" + M1 + "','size':1,"
                + "'annotations':{'org.opencontainers.image.ref.name':'x'}}]}").getBytes(StandardCharsets.UTF_8);
        assertThat(ManifestParser.layoutIndex(index)).singleElement().satisfies(d -> {
            assertThat(d.digest()).isEqualTo(Digest.parse(M1));
            assertThat(d.annotations()).containsEntry("org.opencontainers.image.ref.name", "x");
        });
        assertThat(ManifestParser.layoutIndex(j("{'schemaVersion':2}").getBytes(StandardCharsets.UTF_8))).isEmpty();
        assertThat(ManifestParser.layoutIndex(j("{'manifests':null}").getBytes(StandardCharsets.UTF_8))).isEmpty();
        assertDavitError(() -> ManifestParser.layoutIndex("{".getBytes(StandardCharsets.UTF_8)), Kind.VERIFICATION,
                "it is not valid JSON");
        assertDavitError(() -> ManifestParser.layoutIndex(j("{'manifests':{}}").getBytes(StandardCharsets.UTF_8)),
                Kind.VERIFICATION, "manifests is not an array");
        assertDavitError(() -> ManifestParser.layoutIndex(j("{'manifests':[{'mediaType':'a/b','digest':'" + M1
                + "','size':1},{}]}").getBytes(StandardCharsets.UTF_8)), Kind.VERIFICATION,
                "index.json manifests[1].mediaType is missing");
        for (String notAnObject : List.of("[]", "\"x\"", "1", "null")) {
            assertDavitError(() -> ManifestParser.layoutIndex(notAnObject.getBytes(StandardCharsets.UTF_8)),
                    Kind.VERIFICATION, "it is not a JSON object");
        }
        assertDavitError(() -> ManifestParser.layoutIndex(j("{'manifests':[],'Manifests':{}}")
                .getBytes(StandardCharsets.UTF_8)), Kind.VERIFICATION, "'Manifests' differs from 'manifests' only");
        assertDavitError(() -> ManifestParser.layoutIndex(j("{'manifests':[],'manifests':[]}")
                .getBytes(StandardCharsets.UTF_8)), Kind.VERIFICATION, "not valid JSON");
        byte[] bom = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '{', '}'};
        assertDavitError(() -> ManifestParser.layoutIndex(bom), Kind.VERIFICATION, "not valid JSON");
        byte[] latin1 = {'{', '"', (byte) 0xe9, '"', ':', '1', '}'};
        assertDavitError(() -> ManifestParser.layoutIndex(latin1), Kind.VERIFICATION, "not valid UTF-8 (at byte 2)");
        assertDavitError(() -> ManifestParser.layoutIndex(null), Kind.VERIFICATION, "there is no document");
    }

    @Test
    void descriptorKeepsPlatformFieldsAsWritten() {
        String doc = j("{'schemaVersion':2,'manifests':[{'mediaType':'a/b','digest':'" + M1 + "','size':1,"
                + "'platform':{'os':'Windows','architecture':'x86_64','variant':'','os.version':'10.0.20348.2700',"
                + "'os.features':['win32k']}}]}");
        Platform p = ((ImageIndex) parse(doc, null)).manifests().get(0).platform();
        assertThat(p).isEqualTo(new Platform("Windows", "x86_64", null, "10.0.20348.2700", List.of("win32k")));
        assertThat(Platform.normalize(p)).hasToString("windows/amd64");
    }

    @Test
    void errorsAreVerificationErrors() {
        DavitException e = assertDavitError(() -> parse("[]", null), Kind.VERIFICATION);
        assertThat(e.kind().exitCode()).isEqualTo(6);
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private static Manifest parse(String doc, String contentType) {
        return ManifestParser.parse(doc.getBytes(StandardCharsets.UTF_8), contentType);
    }

    /** JSON with single quotes for readability. */
    private static String j(String s) {
        return s.replace('\'', '"');
    }

    private static String desc(String mediaType, String digest, String size) {
        return "{'mediaType':'" + mediaType + "','digest':'" + digest + "','size':" + size + "}";
    }

    private static byte[] splice(byte[] doc, String marker, byte[] replacement) {
        String s = new String(doc, StandardCharsets.ISO_8859_1);
        int at = s.indexOf(marker);
        byte[] out = new byte[doc.length - marker.length() + replacement.length];
        System.arraycopy(doc, 0, out, 0, at);
        System.arraycopy(replacement, 0, out, at, replacement.length);
        System.arraycopy(doc, at + marker.length(), out, at + replacement.length, doc.length - at - marker.length());
        return out;
    }

    private static void assertExactBytes(Manifest m, byte[] bytes) {
        assertThat(m.bytes()).isEqualTo(bytes);
        try {
            String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            assertThat(m.digest()).hasToString("sha256:" + hex);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] fixture(String name) {
        try (InputStream in = ManifestParserTest.class.getResourceAsStream(name)) {
            assertThat(in).as("fixture %s", name).isNotNull();
            return in.readAllBytes();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
