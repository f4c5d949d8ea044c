package dev.davit.oci.testkit;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * A fault for {@link FaultProxy#add(Fault)}: what goes wrong, on which requests, how many times.
 *
 * <pre>{@code
 * proxy.add(Fault.cutAfter(10_000).onBlobGet());                 // once, on the first blob GET
 * proxy.add(Fault.flipByte(0).onBlob(layerDigest).times(2));      // the first two GETs of that blob
 * proxy.add(Fault.tooManyRequests(1).on("GET", Fault.MANIFEST_PATH));
 * proxy.add(Fault.ignoreRange().onBlobGet().always());
 * }</pre>
 *
 * <p>Targeting: {@link #on(String, String)} takes a method (null for any) and a regular expression that must match
 * the whole request path (without the query). Without a target a fault matches every request. A fault fires on the
 * first matching requests up to its count: {@link #once()} is the default, {@link #times(int)} or {@link #always()}
 * change it. {@link #fired()} tells how often it fired. Faults are checked in the order they were added; a
 * response-replacing fault ({@link #status}, {@link #serviceUnavailable}, {@link #tooManyRequests},
 * {@link #redirectToOtherHost}) wins over body faults for the same request, and those then do not count it.
 */
public final class Fault {
    /** Blob GETs and HEADs: {@code /v2/<name>/blobs/sha256:<hex>}. */
    public static final String BLOB_PATH = "/v2/.+/blobs/sha256:[0-9a-f]{64}";
    /** Manifests by tag or digest: {@code /v2/<name>/manifests/<reference>}. */
    public static final String MANIFEST_PATH = "/v2/.+/manifests/[^/]+";
    /** Upload sessions: {@code /v2/<name>/blobs/uploads/...}. */
    public static final String UPLOAD_PATH = "/v2/.+/blobs/uploads/.*";

    enum Kind {
        FLIP_BYTE, CUT, STATUS, IGNORE_RANGE, REDIRECT, DROP_RESPONSE, THROTTLE
    }

    final Kind kind;
    final long offset;
    final int status;
    final int retryAfterSeconds;
    private String method;
    private Pattern path = Pattern.compile(".*");
    private boolean rangedOnly;
    private volatile int times = 1;
    private final AtomicInteger skip = new AtomicInteger();
    private final AtomicInteger fired = new AtomicInteger();

    private Fault(Kind kind, long offset, int status, int retryAfterSeconds) {
        this.kind = kind;
        this.offset = offset;
        this.status = status;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** Inverts the response body byte at {@code offset} (0-based); nothing if the body is shorter. */
    public static Fault flipByte(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset < 0");
        }
        return new Fault(Kind.FLIP_BYTE, offset, 0, -1);
    }

    /**
     * Sends the response head and the first {@code bodyBytes} bytes of the body, then, after 100 ms of silence
     * (so the client can consume those bytes first), closes the connection: the client sees a premature end of
     * the body. Nothing happens if the body is not longer.
     */
    public static Fault cutAfter(long bodyBytes) {
        if (bodyBytes < 0) {
            throw new IllegalArgumentException("bodyBytes < 0");
        }
        return new Fault(Kind.CUT, bodyBytes, 0, -1);
    }

    /**
     * Answers with {@code status} and a registry-style JSON error body instead of forwarding (the request body is
     * read and dropped).
     */
    public static Fault status(int status) {
        if (status < 200 || status > 599) {
            throw new IllegalArgumentException("status " + status);
        }
        return new Fault(Kind.STATUS, 0, status, -1);
    }

    /** {@code 503 Service Unavailable}. */
    public static Fault serviceUnavailable() {
        return status(503);
    }

    /** {@code 429 Too Many Requests} with {@code Retry-After: retryAfterSeconds}. */
    public static Fault tooManyRequests(int retryAfterSeconds) {
        return new Fault(Kind.STATUS, 0, 429, retryAfterSeconds);
    }

    /**
     * Forwards the request (the registry processes it) but closes the client's connection instead of sending the
     * response: the client sees a request that may or may not have happened, as after a network cut.
     */
    public static Fault dropResponse() {
        return new Fault(Kind.DROP_RESPONSE, 0, 0, -1);
    }

    /**
     * Sends the response body at about {@code bytesPerSecond} (sleeping between 64 KiB pieces), so a test can act
     * while a download is surely in progress.
     */
    public static Fault throttle(long bytesPerSecond) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("bytesPerSecond must be positive");
        }
        return new Fault(Kind.THROTTLE, bytesPerSecond, 0, -1);
    }

    /** Drops {@code Range} (and {@code If-Range}) before forwarding, so the registry sends the full body with 200. */
    public static Fault ignoreRange() {
        return new Fault(Kind.IGNORE_RANGE, 0, 0, -1);
    }

    /**
     * Answers {@code 307} with a {@code Location} on the proxy's other host ({@link FaultProxy#otherHostBaseUrl()}),
     * which serves the same path from the registry with the kit's own credentials and records whether the client
     * sent an {@code Authorization} header there (it should not: credentials are for the registry's host only).
     */
    public static Fault redirectToOtherHost() {
        return new Fault(Kind.REDIRECT, 0, 0, -1);
    }

    /** Targets requests with this method (null: any) whose path matches {@code pathRegex} entirely. */
    public Fault on(String method, String pathRegex) {
        this.method = method;
        this.path = Pattern.compile(pathRegex);
        return this;
    }

    /** Targets any method on paths matching {@code pathRegex}. */
    public Fault on(String pathRegex) {
        return on(null, pathRegex);
    }

    /** Targets {@code GET}s of any blob. */
    public Fault onBlobGet() {
        return on("GET", BLOB_PATH);
    }

    /** Targets {@code GET}s of one blob, e.g. {@code sha256:ab12...}. */
    public Fault onBlob(String digest) {
        return on("GET", "/v2/.+/blobs/" + Pattern.quote(digest));
    }

    /** Targets {@code GET}s of manifests. */
    public Fault onManifestGet() {
        return on("GET", MANIFEST_PATH);
    }

    /** Fires on the first matching request only (the default). */
    public Fault once() {
        return times(1);
    }

    /** Fires on the first {@code n} matching requests. */
    public Fault times(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n < 1");
        }
        this.times = n;
        return this;
    }

    /** Fires on every matching request. */
    public Fault always() {
        this.times = Integer.MAX_VALUE;
        return this;
    }

    /** How many requests this fault has been applied to. */
    public int fired() {
        return fired.get();
    }

    boolean replacesResponse() {
        return kind == Kind.STATUS || kind == Kind.REDIRECT;
    }

    boolean matches(String requestMethod, String requestPath, String range) {
        return (method == null || method.equalsIgnoreCase(requestMethod)) && path.matcher(requestPath).matches()
                && (!rangedOnly || range != null);
    }

    /** Targets only requests that carry a {@code Range} header (on top of {@link #on}). */
    public Fault onlyRanged() {
        rangedOnly = true;
        return this;
    }

    /** Lets the first {@code n} matching requests through untouched before the fault starts firing. */
    public Fault afterFirst(int n) {
        skip.set(n);
        return this;
    }

    /** Counts one firing if the budget allows (after the requests {@link #afterFirst} lets through). */
    boolean tryFire() {
        while (true) {
            int s = skip.get();
            if (s > 0) {
                if (skip.compareAndSet(s, s - 1)) {
                    return false;
                }
                continue;
            }
            int n = fired.get();
            if (n >= times) {
                return false;
            }
            if (fired.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    @Override
    public String toString() {
        String what = switch (kind) {
            case FLIP_BYTE -> "flipByte(" + offset + ")";
            case CUT -> "cutAfter(" + offset + ")";
            case STATUS -> retryAfterSeconds >= 0 ? "status(" + status + ", Retry-After " + retryAfterSeconds + ")"
                    : "status(" + status + ")";
            case IGNORE_RANGE -> "ignoreRange";
            case REDIRECT -> "redirectToOtherHost";
            case DROP_RESPONSE -> "dropResponse";
            case THROTTLE -> "throttle(" + offset + " B/s)";
        };
        return what + " on " + (method == null ? "*" : method) + " " + path.pattern()
                + (times == Integer.MAX_VALUE ? " always" : " x" + times);
    }
}
