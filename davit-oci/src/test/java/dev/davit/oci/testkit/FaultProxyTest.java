package dev.davit.oci.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every {@link Fault} observably happens, and without faults the proxy is transparent. */
class FaultProxyTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();
    private static final int SIZE = 300_000;

    static TestRegistry registry;
    static PushedImage large;
    static String layer;
    static byte[] layerBytes;
    FaultProxy proxy;

    @BeforeAll
    static void up() throws IOException {
        registry = TestRegistry.start();
        large = Fixtures.pushLargeImage(registry, "big", "v1", SIZE, 7);
        layer = large.layerDigests().getFirst();
        layerBytes = Files.readAllBytes(FileTree.blobPath(large.layoutDir(), layer));
    }

    @AfterAll
    static void down() {
        if (registry != null) {
            registry.close();
        }
    }

    @BeforeEach
    void startProxy() {
        proxy = FaultProxy.start(registry);
    }

    @AfterEach
    void stopProxy() {
        proxy.close();
    }

    private String blobUrl() {
        return proxy.baseUrl() + "/v2/big/blobs/" + layer;
    }

    private static HttpResponse<byte[]> get(String url, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void withoutFaultsTheProxyIsTransparentAndRecordsRequests() throws Exception {
        HttpResponse<byte[]> manifest = get(proxy.baseUrl() + "/v2/big/manifests/v1", "Accept",
                RawPush.ACCEPT_MANIFESTS);
        assertThat(manifest.statusCode()).isEqualTo(200);
        assertThat(manifest.headers().firstValue("Docker-Content-Digest")).hasValue(large.manifestDigest());
        assertThat(manifest.body()).isEqualTo(large.manifest());

        HttpResponse<byte[]> blob = get(blobUrl(), "Authorization", "Bearer not-logged");
        assertThat(blob.statusCode()).isEqualTo(200);
        assertThat(blob.body()).isEqualTo(layerBytes);

        HttpResponse<byte[]> head = HTTP.send(HttpRequest.newBuilder(URI.create(blobUrl()))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(layerBytes.length);

        assertThat(proxy.requests()).extracting(FaultProxy.Request::method).containsExactly("GET", "GET", "HEAD");
        FaultProxy.Request blobGet = proxy.requests().get(1);
        assertThat(blobGet.path()).isEqualTo("/v2/big/blobs/" + layer);
        assertThat(blobGet.authorization()).isTrue();
        assertThat(blobGet.toString()).doesNotContain("not-logged");
        assertThat(blobGet.faults()).isEmpty();
        assertThat(proxy.requests("GET", Fault.BLOB_PATH)).hasSize(1);
    }

    @Test
    void uploadsGoThroughTheProxy() {
        RawPush raw = new RawPush(registry, "via-proxy", proxy.baseUrl());
        byte[] content = "pushed through the proxy".getBytes(StandardCharsets.UTF_8);
        String digest = raw.pushBlob(content);
        assertThat(new RawPush(registry, "via-proxy").getBlob(digest)).hasValue(content);
        // the PUT followed the registry's Location, which pointed back at the proxy
        assertThat(proxy.requests()).extracting(FaultProxy.Request::method).containsExactly("POST", "PUT");
        assertThat(proxy.requests().get(1).path()).startsWith("/v2/via-proxy/blobs/uploads/");
        assertThat(proxy.requests().get(1).query()).contains("digest=" + digest);
    }

    @Test
    void skopeoCopiesThroughTheProxy(@TempDir Path dir) {
        Tools.assumeAvailable(Tools.SKOPEO);
        Tools.run(null, List.of(Tools.SKOPEO, "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
                "docker://" + proxy.hostPort() + "/big:v1", "dir:" + dir.resolve("copy")));
        // the dir: transport keeps layers as they came, named by their hex digest
        assertThat(dir.resolve("copy").resolve(layer.substring("sha256:".length()))).hasBinaryContent(layerBytes);
        assertThat(dir.resolve("copy").resolve("manifest.json")).hasBinaryContent(large.manifest());
        assertThat(proxy.requests("GET", Fault.BLOB_PATH)).isNotEmpty();
    }

    @Test
    void flipByteCorruptsExactlyOneByteOnce() throws Exception {
        Fault flip = proxy.add(Fault.flipByte(1000).onBlobGet());
        byte[] first = get(blobUrl()).body();
        assertThat(first).hasSameSizeAs(layerBytes).isNotEqualTo(layerBytes);
        assertThat(first[1000]).isEqualTo((byte) ~layerBytes[1000]);
        first[1000] = layerBytes[1000];
        assertThat(first).isEqualTo(layerBytes);
        assertThat(get(blobUrl()).body()).isEqualTo(layerBytes);
        assertThat(flip.fired()).isEqualTo(1);
        assertThat(proxy.requests().getFirst().faults()).containsExactly(flip.toString());
    }

    @Test
    void cutAfterEndsTheConnectionAndARangeRequestResumes() throws Exception {
        Fault cut = proxy.add(Fault.cutAfter(100_000).onBlob(layer));
        HttpRequest req = HttpRequest.newBuilder(URI.create(blobUrl())).GET().build();
        // read the streamed body ourselves: exactly the first 100000 bytes arrive, then the stream fails
        HttpResponse<java.io.InputStream> r = HTTP.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        byte[] got = new byte[SIZE * 2];
        int total = 0;
        try (java.io.InputStream in = r.body()) {
            for (int n; (n = in.read(got, total, got.length - total)) > 0;) {
                total += n;
            }
            org.assertj.core.api.Assertions.fail("the body should have failed after " + total + " bytes");
        } catch (IOException expected) {
            // premature end of the body
        }
        assertThat(total).isEqualTo(100_000);
        assertThat(Arrays.copyOf(got, total)).isEqualTo(Arrays.copyOf(layerBytes, total));

        HttpResponse<byte[]> rest = get(blobUrl(), "Range", "bytes=100000-");
        assertThat(rest.statusCode()).isEqualTo(206);
        assertThat(rest.body()).isEqualTo(Arrays.copyOfRange(layerBytes, 100_000, layerBytes.length));
        assertThat(cut.fired()).isEqualTo(1);
        assertThat(proxy.requests("GET", Fault.BLOB_PATH)).extracting(FaultProxy.Request::range)
                .containsExactly(null, "bytes=100000-");
    }

    @Test
    void cutSendsExactlyTheBytesOnTheWire() throws Exception {
        proxy.add(Fault.cutAfter(12_345).onBlobGet());
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write(("GET /v2/big/blobs/" + layer + " HTTP/1.1\r\nHost: " + proxy.hostPort()
                    + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            byte[] all = s.getInputStream().readAllBytes();
            String text = new String(all, StandardCharsets.ISO_8859_1);
            int bodyStart = text.indexOf("\r\n\r\n") + 4;
            assertThat(text).startsWith("HTTP/1.1 200 ").contains("Content-Length: " + layerBytes.length);
            assertThat(Arrays.copyOfRange(all, bodyStart, all.length))
                    .isEqualTo(Arrays.copyOf(layerBytes, 12_345));
        }
    }

    @Test
    void cutWithHttpClientByteArrayFails() {
        proxy.add(Fault.cutAfter(10).onBlobGet());
        assertThatThrownBy(() -> get(blobUrl())).isInstanceOf(IOException.class);
    }

    @Test
    void serviceUnavailableOnceThenNormal() throws Exception {
        Fault f = proxy.add(Fault.serviceUnavailable().onManifestGet());
        String url = proxy.baseUrl() + "/v2/big/manifests/v1";
        HttpResponse<byte[]> first = get(url, "Accept", RawPush.ACCEPT_MANIFESTS);
        assertThat(first.statusCode()).isEqualTo(503);
        assertThat(new String(first.body(), StandardCharsets.UTF_8)).contains("\"errors\"");
        assertThat(get(url, "Accept", RawPush.ACCEPT_MANIFESTS).statusCode()).isEqualTo(200);
        assertThat(f.fired()).isEqualTo(1);
        assertThat(proxy.requests()).extracting(FaultProxy.Request::status).containsExactly(503, 200);
    }

    @Test
    void tooManyRequestsCarriesRetryAfter() throws Exception {
        proxy.add(Fault.tooManyRequests(1).onBlobGet());
        HttpResponse<byte[]> first = get(blobUrl());
        assertThat(first.statusCode()).isEqualTo(429);
        assertThat(first.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(get(blobUrl()).statusCode()).isEqualTo(200);
    }

    @Test
    void timesAndAlwaysAndMethodTargeting() throws Exception {
        Fault twice = proxy.add(Fault.status(500).onBlobGet().times(2));
        Fault postOnly = proxy.add(Fault.status(502).on("POST", Fault.UPLOAD_PATH).always());
        assertThat(get(blobUrl()).statusCode()).isEqualTo(500);
        assertThat(get(blobUrl()).statusCode()).isEqualTo(500);
        assertThat(get(blobUrl()).statusCode()).isEqualTo(200);
        assertThat(get(proxy.baseUrl() + "/v2/").statusCode()).isEqualTo(200);
        assertThat(twice.fired()).isEqualTo(2);
        assertThat(postOnly.fired()).isZero();
    }

    @Test
    void ignoreRangeServesTheWholeBody() throws Exception {
        Fault f = proxy.add(Fault.ignoreRange().onBlobGet().always());
        for (int i = 0; i < 2; i++) {
            HttpResponse<byte[]> r = get(blobUrl(), "Range", "bytes=5000-");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(layerBytes);
        }
        assertThat(f.fired()).isEqualTo(2);
        assertThat(proxy.requests()).extracting(FaultProxy.Request::range).containsOnly("bytes=5000-");
    }

    @Test
    void redirectGoesToAnotherHostThatRecordsAuthorization() throws Exception {
        try (TestRegistry secured = TestRegistry.builder().basicAuth().start();
                FaultProxy p = FaultProxy.start(secured)) {
            PushedImage img = Fixtures.pushLargeImage(secured, "big", "v1", SIZE, 7);
            String url = p.baseUrl() + "/v2/big/blobs/" + img.layerDigests().getFirst();
            String auth = secured.authorization("big", "pull").orElseThrow();

            // the proxy passes the registry's challenge through
            HttpResponse<byte[]> challenge = get(url);
            assertThat(challenge.statusCode()).isEqualTo(401);
            assertThat(challenge.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
                    v -> assertThat(v).startsWith("Basic"));

            p.add(Fault.redirectToOtherHost().onBlobGet().always());
            HttpResponse<byte[]> redirect = get(url, "Authorization", auth);
            assertThat(redirect.statusCode()).isEqualTo(307);
            String location = redirect.headers().firstValue("Location").orElseThrow();
            assertThat(location).startsWith(p.otherHostBaseUrl() + "/v2/big/blobs/sha256:");
            assertThat(URI.create(location).getHost()).isNotEqualTo("127.0.0.1");

            // a careful client drops the credentials for the other host; the kit's own reach the registry
            HttpResponse<byte[]> clean = get(location);
            assertThat(clean.statusCode()).isEqualTo(200);
            assertThat(clean.body()).isEqualTo(layerBytes);
            // a careless one leaks them, and the other host notices
            assertThat(get(location, "Authorization", auth).statusCode()).isEqualTo(200);

            List<FaultProxy.Request> other = p.requests().stream().filter(FaultProxy.Request::otherHost).toList();
            assertThat(other).extracting(FaultProxy.Request::authorization).containsExactly(false, true);
            assertThat(other).extracting(FaultProxy.Request::status).containsOnly(200);
        }
    }
}
