package dev.davit.oci.registry;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.BlobIngest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The distribution API, one small method per endpoint: manifest GET and HEAD, blob GET (resumable), tag list
 * and the {@code /v2/} ping. Thread-safe; build one per set of options and reuse it.
 */
public final class RegistryClient implements AutoCloseable {
    private static final String ACCEPT = String.join(", ", MediaTypes.ACCEPTED_MANIFESTS);
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern LINK_NEXT = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");

    private final Transport transport;
    private final Semaphore permits;
    private final RegistryOptions options;

    /**
     * A client with its own transport; close it when done.
     *
     * @param options the transport settings, including how many requests may be in flight at once
     * @param auth supplies credentials and answers challenges; {@link Authenticator#ANONYMOUS} for none
     * @param retryListener receives a line per retried request; may be null
     */
    public RegistryClient(RegistryOptions options, Authenticator auth, Consumer<String> retryListener) {
        this.options = options;
        this.transport = new Transport(options, auth, retryListener);
        this.permits = new Semaphore(options.maxConcurrentRequests(), true);
    }

    /** {@return the transport settings this client was built with} */
    public RegistryOptions options() {
        return options;
    }

    /** {@return the transport this client sends through, for the endpoints it lacks (e.g. uploads)} */
    public Transport transport() {
        return transport;
    }

    static String pullScope(Reference repo) {
        return "repository:" + repo.repository() + ":pull";
    }

    /**
     * A manifest as served, with the Content-Type it came with.
     *
     * @param manifest the parsed manifest, holding the exact bytes served
     * @param digest the verified digest of those bytes
     * @param contentType the response's Content-Type, or null when there was none
     */
    public record FetchedManifest(Manifest manifest, Digest digest, String contentType) {
        /** {@return a descriptor that points at the manifest, with its media type, size and artifact type} */
        public Descriptor descriptor() {
            return new Descriptor(manifest.mediaType(), digest, manifest.bytes().length, List.of(), Map.of(), null,
                    manifest.artifactType());
        }
    }

    /**
     * GETs the manifest {@code ref} names (its digest if it has one, else its tag) and verifies it: against the
     * requested digest, else against {@code Docker-Content-Digest} when the registry sends one.
     *
     * @param ref the manifest to fetch
     * @return the parsed, verified manifest
     * @throws DavitException of kind NOT_FOUND (404), AUTH (401, 403), NETWORK (unreachable or another status) or
     *     VERIFICATION (digest mismatch, over {@link ManifestParser#MAX_MANIFEST_BYTES}, or malformed)
     */
    public FetchedManifest fetchManifest(Reference ref) {
        return fetchManifest(ref, ref.identifier(), ref.digest(), -1);
    }

    /**
     * GETs a manifest by descriptor (a child of an index) and verifies digest and size.
     *
     * @param repo the repository; its tag and digest are ignored
     * @param d the manifest's descriptor
     * @return the parsed, verified manifest
     * @throws DavitException of kind NOT_FOUND, AUTH, NETWORK or VERIFICATION, as {@link #fetchManifest(Reference)}
     */
    public FetchedManifest fetchManifest(Reference repo, Descriptor d) {
        return fetchManifest(repo, d.digest().toString(), d.digest(), d.size());
    }

    private FetchedManifest fetchManifest(Reference repo, String identifier, Digest expected, long expectedSize) {
        String path = "/v2/" + repo.repository() + "/manifests/" + identifier;
        try (Transport.Response r = transport.send(Transport.Request.get(repo.apiHost(), path, pullScope(repo),
                Map.of("Accept", ACCEPT)))) {
            if (r.status() != 200) {
                throw statusError(r, repo, "manifest " + identifier);
            }
            String len = r.header("Content-Length");
            if (len != null && parseLong(len) > ManifestParser.MAX_MANIFEST_BYTES) {
                throw new DavitException(Kind.VERIFICATION, "manifest " + identifier + " of " + repo.repositoryName()
                        + " is " + len + " bytes, over the " + ManifestParser.MAX_MANIFEST_BYTES + "-byte limit");
            }
            byte[] bytes;
            try {
                bytes = r.readBody(ManifestParser.MAX_MANIFEST_BYTES);
            } catch (IOException e) {
                throw new DavitException(Kind.NETWORK, "reading manifest " + identifier + " from "
                        + repo.registry() + " failed: " + Transport.describe(e) + "; try again", e);
            }
            Digest check = expected;
            if (check == null) {
                String dcd = r.header("Docker-Content-Digest");
                if (dcd != null && Digest.isValid(dcd.trim())) {
                    check = Digest.parse(dcd.trim());
                }
            }
            Digest actual = check == null ? Digest.sha256(bytes) : Digest.of(check.algorithm(), bytes);
            if (check != null && !actual.equals(check)) {
                throw new DavitException(Kind.VERIFICATION, "manifest " + identifier + " of " + repo.repositoryName()
                        + " hashes to " + actual + ", expected " + check + "; the registry or a proxy altered it");
            }
            if (expectedSize >= 0 && bytes.length != expectedSize) {
                throw new DavitException(Kind.VERIFICATION, "manifest " + identifier + " is " + bytes.length
                        + " bytes, its descriptor says " + expectedSize);
            }
            String ct = r.header("Content-Type");
            Manifest m = ManifestParser.parse(bytes, ct);
            return new FetchedManifest(m, actual, ct);
        }
    }

    /**
     * HEADs a manifest: its digest, media type and size without downloading it. Falls back to a GET when the
     * registry does not send {@code Docker-Content-Digest}.
     *
     * @param ref the manifest to look up, by tag or digest
     * @return its descriptor (media type, digest, size), with no platform or annotations
     * @throws DavitException of kind NOT_FOUND, AUTH, NETWORK, or VERIFICATION when the registry reports a digest
     *     other than {@code ref}'s
     */
    public Descriptor headManifest(Reference ref) {
        String path = "/v2/" + ref.repository() + "/manifests/" + ref.identifier();
        try (Transport.Response r = transport.send(Transport.Request.head(ref.apiHost(), path, pullScope(ref),
                Map.of("Accept", ACCEPT)))) {
            if (r.status() != 200) {
                throw statusError(r, ref, "manifest " + ref.identifier());
            }
            String dcd = r.header("Docker-Content-Digest");
            String ct = r.header("Content-Type");
            String len = r.header("Content-Length");
            if (dcd != null && Digest.isValid(dcd.trim()) && ct != null && len != null && parseLong(len) >= 0) {
                Digest d = Digest.parse(dcd.trim());
                if (ref.digest() != null && !d.equals(ref.digest())) {
                    throw new DavitException(Kind.VERIFICATION, "registry reports digest " + d + " for " + ref);
                }
                return new Descriptor(ct.split(";", 2)[0].trim(), d, parseLong(len));
            }
        }
        return fetchManifest(ref).descriptor();
    }

    /**
     * Downloads a blob into {@code ingest}, resuming from {@link BlobIngest#offset()} with a closed
     * {@code Range} request and falling back to a full download when the server ignores the range. Retries
     * interrupted bodies (resuming each time); a concurrency permit is held only while a request is in flight.
     * The caller commits the ingest. {@code progress} receives the number of bytes written so far. A blob of
     * {@link RegistryOptions#rangedBlobBytes()} or more whose first bytes arrive slowly (a connection's latency, not
     * the disk or the CPU, is the limit then) has the rest fetched as several ranges at once (hashed in order as they
     * fill in, each range resumed where it was cut), and goes on as one stream when the registry does not serve
     * ranges.
     *
     * @param repo the repository; its tag and digest are ignored
     * @param d the blob's descriptor; its size bounds the download
     * @param ingest where the bytes go, possibly holding a partial download already
     * @param progress receives the ingest's byte count after each write (0 when a download starts over)
     * @param retryListener receives a line per resumed download
     * @throws DavitException of kind NOT_FOUND, AUTH, or NETWORK when the retries
     *     ({@link RegistryOptions#maxRetries()}) are used up
     */
    public void fetchBlob(Reference repo, Descriptor d, BlobIngest ingest, LongConsumer progress,
                          Consumer<String> retryListener) {
        // a large blob starts as one stream; when its first bytes come slowly the rest is asked for as ranges
        boolean probing = RangedFetch.parts(d.size() - ingest.offset(), options) > 1;
        boolean split = false;
        String path = "/v2/" + repo.repository() + "/blobs/" + d.digest();
        int failures = 0;
        byte[] buf = new byte[1 << 17];
        while (ingest.offset() < d.size() || d.size() == 0 && failures == 0) {
            if (split) {
                split = false;
                int parts = RangedFetch.parts(d.size() - ingest.offset(), options);
                if (parts > 1 && RangedFetch.fetch(transport, permits, repo, d, ingest, parts, progress,
                        retryListener)) {
                    return;
                }
                continue;
            }
            long offset = ingest.offset();
            Map<String, String> headers = offset > 0
                    ? Map.of("Range", "bytes=" + offset + "-" + (d.size() - 1)) : Map.of();
            try {
                permits.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted");
            }
            try (Transport.Response r = transport.send(Transport.Request.get(repo.apiHost(), path, pullScope(repo), headers))) {
                int status = r.status();
                if (status == 416 && offset > 0) {
                    ingest.restart();
                    continue;
                }
                if (status != 200 && status != 206) {
                    throw statusError(r, repo, "blob " + d.digest());
                }
                if (status == 206) {
                    long start = rangeStart(r.header("Content-Range"));
                    if (start != offset) {
                        ingest.restart();
                        continue;
                    }
                } else if (offset > 0) {
                    // the server ignored the Range header: start over from byte 0
                    ingest.restart();
                    progress.accept(0);
                }
                long probe = RangedFetch.probeBytes(options);
                long from = ingest.offset();
                long mark = -1;
                long markedAt = 0;
                try (InputStream body = r.body()) {
                    int n;
                    while ((n = body.read(buf)) > 0) {
                        ingest.write(buf, 0, n);
                        progress.accept(ingest.offset());
                        // the rate is taken past the first probe's bytes: those pay for a fresh JVM's first use of
                        // the code, the hasher and the connection, whatever the network
                        if (probing && mark < 0 && ingest.offset() - from >= probe) {
                            mark = ingest.offset();
                            markedAt = System.nanoTime();
                        } else if (probing && mark >= 0 && ingest.offset() - mark >= 2 * probe) {
                            probing = false;
                            if (RangedFetch.slow(ingest.offset() - mark, System.nanoTime() - markedAt)) {
                                split = true;
                                break;
                            }
                        }
                    }
                }
                if (split) {
                    continue;
                }
                if (ingest.offset() < d.size()) {
                    throw new IOException("connection closed after " + ingest.offset() + " of " + d.size() + " bytes");
                }
                if (d.size() == 0) {
                    return;
                }
            } catch (IOException e) {
                var delay = blobRetry(transport, ++failures, repo, d, e);
                retryListener.accept("blob " + d.digest().shortHex() + ": " + Transport.describe(e)
                        + "; resuming at byte " + ingest.offset() + " in " + delay.toMillis() + " ms");
                Transport.sleep(delay);
            } finally {
                permits.release();
            }
        }
    }

    /**
     * Opens a blob for streaming (e.g. to upload it elsewhere). The stream checks size and digest as it is read
     * and fails at its end on a mismatch; the caller closes it.
     *
     * @param repo the repository; its tag and digest are ignored
     * @param d the blob's descriptor
     * @return the blob's bytes, verified as they are read
     * @throws IOException never by this method itself (it reports a failed request as a {@link DavitException} of
     *     kind NOT_FOUND, AUTH or NETWORK); reading the stream may throw it
     */
    public InputStream openBlob(Reference repo, Descriptor d) throws IOException {
        String path = "/v2/" + repo.repository() + "/blobs/" + d.digest();
        Transport.Response r = transport.send(Transport.Request.get(repo.apiHost(), path, pullScope(repo), Map.of()));
        if (r.status() != 200) {
            throw statusError(r, repo, "blob " + d.digest());
        }
        return new dev.davit.oci.digest.VerifyingInputStream(r.body(), d.digest(), d.size());
    }

    /**
     * GETs a small blob (a config) into memory, verifying size and digest.
     *
     * @param repo the repository; its tag and digest are ignored
     * @param d the blob's descriptor
     * @param max the largest size accepted, in bytes
     * @return the blob's bytes, exactly {@code d.size()} of them
     * @throws DavitException of kind VERIFICATION when the blob is over {@code max} or does not match, else
     *     NOT_FOUND, AUTH or NETWORK
     */
    public byte[] fetchBlobBytes(Reference repo, Descriptor d, int max) {
        if (d.size() > max) {
            throw new DavitException(Kind.VERIFICATION, "blob " + d.digest() + " is " + d.size()
                    + " bytes, over the " + max + "-byte limit for this kind of content");
        }
        String path = "/v2/" + repo.repository() + "/blobs/" + d.digest();
        try (Transport.Response r = transport.send(Transport.Request.get(repo.apiHost(), path, pullScope(repo), Map.of()))) {
            if (r.status() != 200) {
                throw statusError(r, repo, "blob " + d.digest());
            }
            byte[] b = r.readBody((int) d.size());
            Digest actual = Digest.of(d.digest().algorithm(), b);
            if (b.length != d.size() || !actual.equals(d.digest())) {
                throw new DavitException(Kind.VERIFICATION, "blob " + d.digest() + " failed verification (got "
                        + b.length + " bytes hashing to " + actual + ")");
            }
            return b;
        } catch (IOException e) {
            throw new DavitException(Kind.NETWORK, "reading blob " + d.digest() + " from " + repo.registry()
                    + " failed: " + Transport.describe(e) + "; try again", e);
        }
    }

    /**
     * The wait before the next try after the {@code failures}th failed read of blob {@code d}'s bytes (by
     * {@code transport}'s backoff), or, past its retries, the error that ends the download.
     */
    static java.time.Duration blobRetry(Transport transport, int failures, Reference repo, Descriptor d,
                                        IOException e) {
        if (failures > transport.options().maxRetries()) {
            throw new DavitException(Kind.NETWORK, "downloading blob " + d.digest() + " from "
                    + repo.registry() + " failed " + failures + " times (" + Transport.describe(e)
                    + "); run the pull again to resume", e);
        }
        return transport.backoff(failures - 1);
    }

    private static long rangeStart(String contentRange) {
        long[] range = contentRange(contentRange);
        return range == null ? -1 : range[0];
    }

    /** A {@code Content-Range} header's first and last byte ({@code -1} for a number too large), or null. */
    static long[] contentRange(String header) {
        if (header == null) {
            return null;
        }
        Matcher m = CONTENT_RANGE.matcher(header.trim());
        return m.matches() ? new long[] {parseLong(m.group(1)), parseLong(m.group(2))} : null;
    }

    /**
     * The referrers of manifest {@code subject} in {@code repo} through the OCI 1.1 referrers API
     * ({@code GET /v2/NAME/referrers/DIGEST}, filtered by {@code artifactType} when given); null when the registry
     * does not have the API (404 or 400, as the distribution spec lets such a registry answer), so that the caller
     * reads the tag schema's index ({@code sha256-HEX}) instead.
     *
     * @param repo         the repository; its tag and digest are ignored
     * @param subject      the manifest referred to
     * @param artifactType only these, or null for all
     * @return the descriptors the registry lists (artifact type and annotations included), or null without the API
     * @throws DavitException of kind AUTH or NETWORK, VERIFICATION for an answer that is not an index
     */
    public List<Descriptor> referrers(Reference repo, Digest subject, String artifactType) {
        String path = "/v2/" + repo.repository() + "/referrers/" + subject
                + (artifactType == null ? "" : "?artifactType=" + java.net.URLEncoder.encode(artifactType,
                java.nio.charset.StandardCharsets.UTF_8));
        try (Transport.Response r = transport.send(Transport.Request.get(repo.apiHost(), path, pullScope(repo),
                Map.of("Accept", MediaTypes.OCI_INDEX)))) {
            if (r.status() == 404 || r.status() == 400 || r.status() == 405) {
                return null;
            }
            if (r.status() != 200) {
                throw statusError(r, repo, "referrers of " + subject);
            }
            byte[] bytes = r.readBody(ManifestParser.MAX_MANIFEST_BYTES);
            String ct = r.header("Content-Type");
            if (ct != null && !ct.startsWith(MediaTypes.OCI_INDEX)) {
                return null; // not the API's answer (a registry that serves something else there)
            }
            Manifest m = ManifestParser.parse(bytes, MediaTypes.OCI_INDEX);
            if (!(m instanceof dev.davit.oci.manifest.ImageIndex idx)) {
                throw new DavitException(Kind.VERIFICATION, "the referrers of " + subject + " in "
                        + repo.repositoryName() + " are not an image index");
            }
            List<Descriptor> out = new ArrayList<>();
            for (Descriptor d : idx.manifests()) {
                if (artifactType == null || artifactType.equals(d.artifactType())) {
                    out.add(d);
                }
            }
            return out;
        } catch (IOException e) {
            throw new DavitException(Kind.NETWORK, "reading the referrers of " + subject + " from " + repo.registry()
                    + " failed: " + Transport.describe(e), e);
        }
    }

    /**
     * Lists all tags of a repository, following {@code Link: <...>; rel="next"} pagination.
     *
     * @param repo the repository; its tag and digest are ignored
     * @return the tags in the order the registry lists them; empty when it has none
     * @throws DavitException of kind NOT_FOUND (no such repository), AUTH or NETWORK
     */
    public List<String> tags(Reference repo) {
        List<String> out = new ArrayList<>();
        String path = "/v2/" + repo.repository() + "/tags/list?n=1000";
        for (int page = 0; path != null && page < 1000; page++) {
            try (Transport.Response r = transport.send(Transport.Request.get(repo.apiHost(), path, pullScope(repo),
                    Map.of("Accept", "application/json")))) {
                if (r.status() != 200) {
                    throw statusError(r, repo, "tag list");
                }
                var n = dev.davit.oci.internal.Json.read(r.readBody(16 * 1024 * 1024));
                var tags = n.path("tags");
                if (tags.isArray()) {
                    tags.forEach(t -> out.add(t.asText()));
                }
                String link = r.header("Link");
                path = null;
                if (link != null) {
                    Matcher m = LINK_NEXT.matcher(link);
                    if (m.find()) {
                        URI next = r.uri().resolve(m.group(1));
                        path = next.getRawPath() + (next.getRawQuery() == null ? "" : "?" + next.getRawQuery());
                    }
                }
            } catch (IOException e) {
                throw new DavitException(Kind.NETWORK, "reading the tag list of " + repo.repositoryName()
                        + " failed: " + Transport.describe(e), e);
            }
        }
        return out;
    }

    /**
     * Checks that the registry answers {@code /v2/} and accepts our credentials (used by login).
     *
     * @param registry the registry as named in references, e.g. {@code docker.io} or {@code localhost:5000}
     * @param scope the scope to ask a token for, e.g. {@code repository:library/alpine:pull}; null for none
     * @throws DavitException of kind AUTH when the credentials are rejected, NETWORK when it is unreachable or
     *     answers anything but 200
     */
    public void ping(String registry, String scope) {
        String api = Reference.DOCKER_HUB.equals(registry) ? Reference.DOCKER_HUB_API : registry;
        try (Transport.Response r = transport.send(Transport.Request.get(api, "/v2/", scope, Map.of()))) {
            if (r.status() != 200) {
                throw new DavitException(r.status() == 403 ? Kind.AUTH : Kind.NETWORK, "registry " + registry
                        + " answered HTTP " + r.status() + " to /v2/; is it an OCI registry?");
            }
        }
    }

    static DavitException statusError(Transport.Response r, Reference repo, String what) {
        int status = r.status();
        String detail = Transport.errorSummary(r);
        String suffix = detail.isEmpty() ? "" : " (" + detail + ")";
        return switch (status) {
            case 404 -> new DavitException(Kind.NOT_FOUND, Message.of(what + " not found in " + repo.repositoryName()
                    + suffix, what.equals("tag list") ? "; check the repository name"
                    : Message.of("; check the name and tag with ", Action.TAGS.fix(repo.repositoryName())))
                    .about(Subject.Type.IMAGE, repo.repositoryName()));
            case 403 -> new DavitException(Kind.AUTH, Message.of("access to " + repo.repositoryName() + " denied"
                    + suffix + "; check your permissions or log in with ", Action.LOGIN.fix(repo.registry()))
                    .about(Subject.Type.IMAGE, repo.repositoryName()));
            case 401 -> new DavitException(Kind.AUTH, Message.of("registry " + repo.registry() + " requires"
                    + " authentication" + suffix + "; run ", Action.LOGIN.fix(repo.registry()))
                    .about(Subject.Type.REGISTRY, repo.registry()));
            default -> new DavitException(Kind.NETWORK,
                    "registry " + repo.registry() + " answered HTTP " + status + " for " + what + suffix
                            + "; try again later or check the registry");
        };
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void close() {
        transport.close();
    }
}
