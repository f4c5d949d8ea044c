package dev.davit.oci.registry;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The push side of the distribution API: blob existence check, cross-repository mount, monolithic and chunked
 * uploads (resumable from the registry's reported {@code Range}), and manifest PUT.
 */
public final class Uploads {
    private static final Pattern RANGE = Pattern.compile("(?:bytes=)?(\\d+)-(\\d+)");

    private final Transport transport;
    private final PushOptions options;

    /**
     * An upload client over a transport.
     *
     * @param transport the registry transport (auth, retries, redirects)
     * @param options   chunking thresholds
     */
    public Uploads(Transport transport, PushOptions options) {
        this.transport = transport;
        this.options = options;
    }

    /**
     * Chunking settings.
     *
     * @param monolithicMax the largest blob sent in one PUT, in bytes; larger ones go in chunks
     * @param chunkSize the size of a PATCH chunk, in bytes (raised to the registry's minimum when it has one)
     */
    public record PushOptions(long monolithicMax, long chunkSize) {
        /**
         * Checks the sizes.
         *
         * @param monolithicMax the largest single-PUT blob in bytes, not negative
         * @param chunkSize the chunk size in bytes, at least 1
         * @throws IllegalArgumentException if a size is out of range
         */
        public PushOptions {
            if (monolithicMax < 0 || chunkSize < 1) {
                throw new IllegalArgumentException("monolithicMax >= 0 and chunkSize >= 1 required");
            }
        }

        /** {@return the defaults: blobs up to 256 MiB in one streamed PUT; larger ones in 64 MiB chunks (resumable)} */
        public static PushOptions defaults() {
            return new PushOptions(256L << 20, 64L << 20);
        }
    }

    static String pushScope(Reference repo) {
        return "repository:" + repo.repository() + ":pull,push";
    }

    /**
     * {@return whether the repository already has the blob} Asked with a HEAD request.
     *
     * @param repo the repository; its tag and digest are ignored
     * @param digest the blob's digest
     * @throws DavitException of kind AUTH or NETWORK when the registry answers neither 200 nor 404
     */
    public boolean exists(Reference repo, Digest digest) {
        try (Transport.Response r = transport.send(Transport.Request.head(repo.apiHost(),
                "/v2/" + repo.repository() + "/blobs/" + digest, pushScope(repo), Map.of()))) {
            if (r.status() == 200) {
                return true;
            }
            if (r.status() == 404) {
                return false;
            }
            throw RegistryClient.statusError(r, repo, "blob " + digest);
        }
    }

    /**
     * Asks the registry to mount {@code digest} from {@code from} (same registry). Returns null when mounted,
     * else the location of an upload session the registry opened instead.
     *
     * @param repo the repository to mount into; its tag and digest are ignored
     * @param digest the blob's digest
     * @param from a repository of the same registry that holds the blob
     * @return null when mounted, else the absolute URL of the upload session opened instead
     * @throws DavitException of kind AUTH, NOT_FOUND or NETWORK when the registry refuses both
     */
    public String mountOrStart(Reference repo, Digest digest, Reference from) {
        String path = "/v2/" + repo.repository() + "/blobs/uploads/?mount=" + enc(digest.toString()) + "&from="
                + enc(from.repository());
        String scope = pushScope(repo) + " repository:" + from.repository() + ":pull";
        try (Transport.Response r = transport.send(new Transport.Request("POST", repo.apiHost(), path, Map.of(),
                scope, RequestBody.of(new byte[0])))) {
            if (r.status() == 201) {
                return null;
            }
            if (r.status() == 202) {
                return location(r, repo);
            }
            throw RegistryClient.statusError(r, repo, "blob mount of " + digest);
        }
    }

    /**
     * Opens an upload session.
     *
     * @param repo the repository to upload into; its tag and digest are ignored
     * @return the session's absolute URL and the registry's minimum chunk size (0 when none)
     * @throws DavitException of kind AUTH, NOT_FOUND or NETWORK when the registry does not open one
     */
    public Session start(Reference repo) {
        try (Transport.Response r = transport.send(new Transport.Request("POST", repo.apiHost(),
                "/v2/" + repo.repository() + "/blobs/uploads/", Map.of(), pushScope(repo), RequestBody.of(new byte[0])))) {
            if (r.status() != 202) {
                throw RegistryClient.statusError(r, repo, "blob upload");
            }
            long min = 0;
            String m = r.header("OCI-Chunk-Min-Length");
            if (m != null) {
                try {
                    min = Long.parseLong(m.trim());
                } catch (NumberFormatException ignored) {
                    // treat as absent
                }
            }
            return new Session(location(r, repo), min);
        }
    }

    /**
     * An upload session.
     *
     * @param location the session's absolute URL, where the content is sent
     * @param minChunk the registry's {@code OCI-Chunk-Min-Length} in bytes, 0 when it named none
     */
    public record Session(String location, long minChunk) {
    }

    /**
     * Uploads a blob. Small blobs, and every blob when the registry refuses chunks, go in one PUT; larger ones
     * in PATCH chunks of at least the registry's {@code OCI-Chunk-Min-Length}. An interrupted chunked upload
     * resumes from the {@code Range} the registry reports for the session.
     *
     * @param repo the repository to upload into; its tag and digest are ignored
     * @param d the blob's descriptor; the content must match its size and digest
     * @param content opens the blob's bytes from the first one, once per attempt
     * @param location an open session (from {@link #start} or a failed mount), or null to open one
     * @param progress receives the number of bytes the registry has so far
     * @param retries receives a line per retried or resumed chunk, or per fallback to one PUT
     * @throws DavitException of kind AUTH or NOT_FOUND as the registry answers, NETWORK when it rejects the
     *     upload (e.g. a digest mismatch) or the retries are used up
     */
    public void upload(Reference repo, Descriptor d, RequestBody.IoSupplier<InputStream> content, String location,
                       LongConsumer progress, Consumer<String> retries) {
        Session s = location == null ? start(repo) : new Session(location, 0);
        if (d.size() <= options.monolithicMax()) {
            putWhole(repo, d, s.location(), content);
            progress.accept(d.size());
            return;
        }
        long chunk = Math.max(options.chunkSize(), s.minChunk());
        try {
            chunked(repo, d, s.location(), content, chunk, progress, retries);
        } catch (ChunksRefused e) {
            retries.accept("blob " + d.digest().shortHex() + ": the registry refused chunked upload (HTTP "
                    + e.status + "); uploading it in one request");
            putWhole(repo, d, start(repo).location(), content);
            progress.accept(d.size());
        }
    }

    private void putWhole(Reference repo, Descriptor d, String location, RequestBody.IoSupplier<InputStream> content) {
        String url = withDigest(location, d.digest());
        Map<String, String> h = Map.of("Content-Type", "application/octet-stream");
        try (Transport.Response r = transport.send(new Transport.Request("PUT", repo.apiHost(), url, h, pushScope(repo),
                RequestBody.of(d.size(), content)))) {
            if (r.status() != 201 && r.status() != 204 && r.status() != 200) {
                throw RegistryClient.statusError(r, repo, "upload of blob " + d.digest());
            }
        }
    }

    private static final class ChunksRefused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;

        ChunksRefused(int status) {
            super(null, null, false, false);
            this.status = status;
        }
    }

    private void chunked(Reference repo, Descriptor d, String location, RequestBody.IoSupplier<InputStream> content,
                         long chunk, LongConsumer progress, Consumer<String> retries) {
        long offset = 0;
        int failures = 0;
        String loc = location;
        while (offset < d.size()) {
            long len = Math.min(chunk, d.size() - offset);
            long start = offset;
            Map<String, String> h = new LinkedHashMap<>();
            h.put("Content-Type", "application/octet-stream");
            h.put("Content-Range", start + "-" + (start + len - 1));
            String failure;
            try (Transport.Response r = transport.send(new Transport.Request("PATCH", repo.apiHost(), loc, h,
                    pushScope(repo), RequestBody.of(len, () -> slice(content, start, len))))) {
                int st = r.status();
                if (st == 202) {
                    loc = location(r, repo);
                    long end = rangeEnd(r.header("Range"));
                    offset = end >= 0 ? end + 1 : start + len;
                    progress.accept(offset);
                    continue;
                }
                if (start == 0 && (st == 400 || st == 405 || st == 415 || st == 501)) {
                    throw new ChunksRefused(st);
                }
                if (st == 401 || st == 403) {
                    throw RegistryClient.statusError(r, repo, "chunk upload of blob " + d.digest());
                }
                failure = "HTTP " + st + " for the chunk at byte " + start;
                r.close();
            } catch (DavitException e) {
                if (e.kind() != Kind.NETWORK) {
                    throw e;
                }
                failure = e.getMessage();
            }
            failures++;
            if (failures > transport.options().maxRetries()) {
                throw new DavitException(Kind.NETWORK, "upload of blob " + d.digest() + " to " + repo.registry()
                        + " failed " + failures + " times (" + failure + "); push again");
            }
            Transport.sleep(transport.backoff(failures - 1));
            Session resumed = status(repo, loc);
            if (resumed != null) {
                loc = resumed.location();
                offset = resumed.minChunk();
                retries.accept("blob " + d.digest().shortHex() + ": " + failure + "; resuming the upload at byte "
                        + offset + " (the registry's Range)");
            } else {
                loc = start(repo).location();
                offset = 0;
                retries.accept("blob " + d.digest().shortHex() + ": " + failure + "; the upload session is gone,"
                        + " restarting it");
            }
            progress.accept(offset);
        }
        // the final PUT closes the session and names the digest
        try (Transport.Response r = transport.send(new Transport.Request("PUT", repo.apiHost(), withDigest(loc, d.digest()),
                Map.of("Content-Type", "application/octet-stream"), pushScope(repo), RequestBody.of(new byte[0])))) {
            if (r.status() != 201 && r.status() != 204 && r.status() != 200) {
                throw RegistryClient.statusError(r, repo, "upload of blob " + d.digest());
            }
        }
    }

    /**
     * Asks the registry how much of an upload session it holds (GET on the session). Returns the session's
     * (possibly new) location with the offset to continue from in {@code minChunk}, or null when the session is
     * gone or holds nothing certain ({@code 0-0} is what an empty session reports too): then start over.
     */
    private Session status(Reference repo, String loc) {
        try (Transport.Response r = transport.send(Transport.Request.get(repo.apiHost(), loc, pushScope(repo), Map.of()))) {
            if (r.status() != 204 && r.status() != 200) {
                return null;
            }
            long end = rangeEnd(r.header("Range"));
            if (end <= 0) {
                return null;
            }
            String next = r.header("Location") == null ? loc : location(r, repo);
            return new Session(next, end + 1);
        } catch (DavitException e) {
            if (e.kind() == Kind.AUTH) {
                throw e;
            }
            return null;
        }
    }

    private static InputStream slice(RequestBody.IoSupplier<InputStream> content, long start, long len) throws IOException {
        InputStream in = content.get();
        in.skipNBytes(start);
        return new java.io.FilterInputStream(in) {
            long left = len;

            @Override
            public int read() throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int b = super.read();
                if (b >= 0) {
                    left--;
                }
                return b;
            }

            @Override
            public int read(byte[] b, int off, int n) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int r = super.read(b, off, (int) Math.min(n, left));
                if (r > 0) {
                    left -= r;
                }
                return r;
            }
        };
    }

    /**
     * PUTs a manifest's exact bytes under a tag or digest.
     *
     * @param repo the repository; its tag and digest are ignored
     * @param tagOrDigest the tag, or the manifest's digest as text
     * @param mediaType the manifest's media type, sent as Content-Type
     * @param bytes the manifest exactly as it is to be stored
     * @return the sha256 digest of {@code bytes}, which the registry confirmed when it reported one
     * @throws DavitException of kind VERIFICATION when the registry reports another digest, else AUTH, NOT_FOUND
     *     or NETWORK when it refuses the manifest
     */
    public Digest putManifest(Reference repo, String tagOrDigest, String mediaType, byte[] bytes) {
        try (Transport.Response r = transport.send(new Transport.Request("PUT", repo.apiHost(),
                "/v2/" + repo.repository() + "/manifests/" + tagOrDigest, Map.of("Content-Type", mediaType),
                pushScope(repo), RequestBody.of(bytes)))) {
            if (r.status() != 201 && r.status() != 200 && r.status() != 204) {
                throw RegistryClient.statusError(r, repo, "manifest " + tagOrDigest);
            }
            Digest sent = Digest.sha256(bytes);
            String dcd = r.header("Docker-Content-Digest");
            if (dcd != null && Digest.isValid(dcd.trim()) && !Digest.parse(dcd.trim()).equals(sent)) {
                throw new DavitException(Kind.VERIFICATION, "registry " + repo.registry() + " stored manifest "
                        + tagOrDigest + " as " + dcd.trim() + ", but davit sent " + sent + "; the registry rewrote it");
            }
            return sent;
        }
    }

    private static String location(Transport.Response r, Reference repo) {
        String loc = r.header("Location");
        if (loc == null || loc.isBlank()) {
            throw new DavitException(Kind.NETWORK, "registry " + repo.registry() + " opened an upload without a"
                    + " Location header; it does not follow the distribution spec");
        }
        return r.uri().resolve(loc.trim()).toString();
    }

    private static String withDigest(String location, Digest d) {
        return location + (location.contains("?") ? "&" : "?") + "digest=" + enc(d.toString());
    }

    private static long rangeEnd(String range) {
        if (range == null) {
            return -1;
        }
        Matcher m = RANGE.matcher(range.trim());
        return m.matches() ? Long.parseLong(m.group(2)) : -1;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
