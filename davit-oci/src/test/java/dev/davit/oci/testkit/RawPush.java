package dev.davit.oci.testkit;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Plain-HTTP pushes and reads against a {@link TestRegistry} with {@link java.net.http.HttpClient}, independent of
 * davit's own client: monolithic blob upload ({@code POST /v2/<name>/blobs/uploads/} then {@code PUT ?digest=}) and
 * manifest {@code PUT}/{@code GET}. Credentials come from {@link TestRegistry#authorization(String, String)}.
 * Every method throws {@link IllegalStateException} (with the registry's answer) on an unexpected status.
 *
 * <pre>{@code
 * RawPush raw = new RawPush(registry, "things");
 * String blob = raw.pushBlob("hello".getBytes(UTF_8));
 * String digest = raw.pushManifest("v1", MediaTypes.OCI_MANIFEST, manifestBytes);
 * }</pre>
 */
public final class RawPush {
    /** An Accept header value listing the OCI and Docker schema 2 manifest and index media types. */
    public static final String ACCEPT_MANIFESTS = String.join(", ",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json");

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NEVER).build();

    /**
     * A manifest as the registry serves it.
     *
     * @param body the exact bytes
     * @param mediaType the {@code Content-Type}
     * @param digest the {@code Docker-Content-Digest} header (checked against the body's sha256)
     */
    public record FetchedManifest(byte[] body, String mediaType, String digest) {
    }

    private final TestRegistry registry;
    private final String repository;
    private final String baseUrl;

    /** Talks to {@code registry} directly. */
    public RawPush(TestRegistry registry, String repository) {
        this(registry, repository, registry.baseUrl());
    }

    /** Talks to {@code baseUrl} (e.g. a {@link FaultProxy} in front of {@code registry}) with its credentials. */
    public RawPush(TestRegistry registry, String repository, String baseUrl) {
        this.registry = registry;
        this.repository = repository;
        this.baseUrl = baseUrl;
    }

    /** Uploads a blob (monolithic) and returns its digest {@code sha256:...}. */
    public String pushBlob(byte[] content) {
        String digest = FileTree.digest(content);
        upload(digest, HttpRequest.BodyPublishers.ofByteArray(content));
        return digest;
    }

    /** Uploads a file as a blob, streamed, and returns its digest. */
    public String pushBlob(Path file) {
        String digest = FileTree.digest(file);
        try {
            upload(digest, HttpRequest.BodyPublishers.ofFile(file));
        } catch (FileNotFoundException e) {
            throw new UncheckedIOException(e);
        }
        return digest;
    }

    private void upload(String digest, HttpRequest.BodyPublisher body) {
        HttpResponse<String> start = send(request("/v2/" + repository + "/blobs/uploads/")
                .POST(HttpRequest.BodyPublishers.noBody()), 202);
        String location = start.headers().firstValue("Location")
                .orElseThrow(() -> new IllegalStateException("upload start without Location"));
        URI uri = URI.create(baseUrl + "/").resolve(location);
        String put = uri + (uri.getRawQuery() == null ? "?" : "&") + "digest=" + digest;
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(put)).timeout(Duration.ofMinutes(2))
                .header("Content-Type", "application/octet-stream").PUT(body);
        registry.authorization(repository, "pull,push").ifPresent(a -> b.header("Authorization", a));
        send(b, 201);
    }

    /**
     * PUTs a manifest under a tag or digest and returns the digest the registry reports.
     *
     * @param reference a tag, or the manifest's own digest
     */
    public String pushManifest(String reference, String mediaType, byte[] manifest) {
        HttpResponse<String> r = send(request("/v2/" + repository + "/manifests/" + reference)
                .header("Content-Type", mediaType).PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)), 201);
        String expected = FileTree.digest(manifest);
        String reported = r.headers().firstValue("Docker-Content-Digest").orElse(expected);
        if (!reported.equals(expected)) {
            throw new IllegalStateException("registry reports " + reported + " for a manifest of digest " + expected);
        }
        return reported;
    }

    /** GETs a manifest with {@link #ACCEPT_MANIFESTS}; empty on 404. */
    public Optional<FetchedManifest> getManifest(String reference) {
        HttpRequest.Builder b = request("/v2/" + repository + "/manifests/" + reference)
                .header("Accept", ACCEPT_MANIFESTS).GET();
        HttpResponse<byte[]> r = sendBytes(b);
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET manifest " + repository + ":" + reference + " -> " + r.statusCode()
                    + " " + new String(r.body(), StandardCharsets.UTF_8));
        }
        String digest = FileTree.digest(r.body());
        String reported = r.headers().firstValue("Docker-Content-Digest").orElse(digest);
        if (!reported.equals(digest)) {
            throw new IllegalStateException("Docker-Content-Digest " + reported + " but body hashes to " + digest);
        }
        return Optional.of(new FetchedManifest(r.body(),
                r.headers().firstValue("Content-Type").orElse(""), digest));
    }

    /** GETs a blob's bytes (for small blobs in tests); empty on 404. */
    public Optional<byte[]> getBlob(String digest) {
        HttpResponse<byte[]> r = sendBytes(request("/v2/" + repository + "/blobs/" + digest).GET());
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET blob " + digest + " -> " + r.statusCode());
        }
        return Optional.of(r.body());
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofMinutes(2));
        registry.authorization(repository, "pull,push").ifPresent(a -> b.header("Authorization", a));
        return b;
    }

    private static HttpResponse<String> send(HttpRequest.Builder b, int expected) {
        HttpRequest req = b.build();
        try {
            HttpResponse<String> r = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != expected) {
                throw new IllegalStateException(req.method() + " " + req.uri().getPath() + " -> " + r.statusCode()
                        + " (expected " + expected + "): " + r.body());
            }
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(req.method() + " " + req.uri(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static HttpResponse<byte[]> sendBytes(HttpRequest.Builder b) {
        HttpRequest req = b.build();
        try {
            return HTTP.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(req.method() + " " + req.uri(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
