package dev.davit.oci.registry;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The layered HTTP transport: auth (challenge -> token, retried once) -> retry (connection errors, 408, 429,
 * 5xx, with backoff and {@code Retry-After}) -> redirects (followed by hand; {@code Authorization} is dropped
 * when a redirect leaves the registry's host) -> logging (method, URL path, status; never header values).
 * PATCH (a chunk of an upload) is never retried here: the upload code asks the registry where the session stands
 * and resumes from there. Bodies are streamed: callers read and close {@link Response#body()}. The idle-read timeout is the socket's
 * read timeout, so a stalled body fails (and is retried or resumed) instead of hanging.
 */
public final class Transport implements AutoCloseable {
    /** SLF4J starts with the first request (5-10 ms in a fresh JVM): a command that sends none never pays it. */
    private static final class Log {
        static final Logger LOG = LoggerFactory.getLogger(Transport.class);
    }
    private static final int MAX_REDIRECTS = 5;

    private final RegistryOptions options;
    private final Authenticator auth;
    private final Consumer<String> retryListener;

    /**
     * A transport with the given settings and auth.
     *
     * @param options the timeouts, retry policy, User-Agent and plain-HTTP registries
     * @param auth supplies {@code Authorization} headers and answers 401 challenges
     * @param retryListener receives a line per retried request; may be null
     */
    public Transport(RegistryOptions options, Authenticator auth, Consumer<String> retryListener) {
        this.options = options;
        this.auth = auth;
        this.retryListener = retryListener == null ? s -> { } : retryListener;
    }

    /** {@return the settings this transport was built with} */
    public RegistryOptions options() {
        return options;
    }

    /**
     * {@return the base URI of a registry's API, {@code http://} only for loopback and insecure registries}
     *
     * @param registry the registry's API host[:port]
     */
    public URI baseUri(String registry) {
        return URI.create((options.isPlainHttp(registry) ? "http://" : "https://") + registry);
    }

    /**
     * A request to send. {@code scope} may be null (e.g. for {@code /v2/}).
     *
     * @param method the HTTP method, e.g. {@code GET}, {@code PUT}, {@code PATCH}
     * @param registry the registry's API host[:port], e.g. {@code registry-1.docker.io}
     * @param path the path and query, e.g. {@code /v2/library/alpine/manifests/3.20}
     * @param headers extra request headers (not {@code Authorization} or {@code User-Agent}, which are added)
     * @param scope the token scope the request needs, e.g. {@code repository:library/alpine:pull}; or null
     * @param body the body to send, or null for none
     */
    public record Request(String method, String registry, String path, Map<String, String> headers, String scope,
                          RequestBody body) {
        /**
         * Copies the headers.
         *
         * @param method the HTTP method
         * @param registry the registry's API host[:port]
         * @param path the path and query
         * @param headers extra request headers, not null
         * @param scope the token scope, or null
         * @param body the body, or null
         */
        public Request {
            headers = Map.copyOf(headers);
        }

        /**
         * {@return a GET request without a body}
         *
         * @param registry the registry's API host[:port]
         * @param path the path and query
         * @param scope the token scope, or null
         * @param headers extra request headers, not null
         */
        public static Request get(String registry, String path, String scope, Map<String, String> headers) {
            return new Request("GET", registry, path, headers, scope, null);
        }

        /**
         * {@return a HEAD request}
         *
         * @param registry the registry's API host[:port]
         * @param path the path and query
         * @param scope the token scope, or null
         * @param headers extra request headers, not null
         */
        public static Request head(String registry, String path, String scope, Map<String, String> headers) {
            return new Request("HEAD", registry, path, headers, scope, null);
        }
    }

    /**
     * A response whose body must be closed.
     *
     * @param status the HTTP status of the final response (after redirects)
     * @param headers the response headers, keyed by lower-case name
     * @param body the response body, streamed; closed by {@link #close()}
     * @param uri the URI that answered, after redirects
     */
    public record Response(int status, Map<String, List<String>> headers, InputStream body, URI uri)
            implements AutoCloseable {
        /**
         * {@return the first value of header {@code name} (case-insensitive), or null}
         *
         * @param name the header name
         */
        public String header(String name) {
            List<String> v = headers.get(name.toLowerCase(java.util.Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        /**
         * {@return all values of header {@code name} (case-insensitive); empty when it is absent}
         *
         * @param name the header name
         */
        public List<String> headerValues(String name) {
            List<String> v = headers.get(name.toLowerCase(java.util.Locale.ROOT));
            return v == null ? List.of() : v;
        }

        /**
         * Reads at most {@code max} bytes of the body; more is an error.
         *
         * @param max the largest body accepted, in bytes
         * @return the whole body
         * @throws IOException if reading fails or the body is over {@code max} bytes
         */
        public byte[] readBody(int max) throws IOException {
            byte[] b = body.readNBytes(max + 1);
            if (b.length > max) {
                throw new IOException("response body is larger than " + max + " bytes");
            }
            return b;
        }

        @Override
        public void close() {
            try {
                body.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    /**
     * Sends a request with auth, retries and redirects. Returns any final status (including 4xx) for the caller
     * to interpret, except that a 401 which the authenticator cannot satisfy becomes an AUTH error.
     *
     * @param req the request
     * @return the final response, whose body the caller closes
     * @throws DavitException of kind AUTH for an unsatisfied 401, NETWORK when the registry cannot be reached after
     *     the retries (or the thread is interrupted while waiting to retry)
     */
    public Response send(Request req) {
        String authorization = auth.authorization(req.registry(), req.scope());
        boolean challenged = false;
        int attempt = 0;
        while (true) {
            Response resp;
            try {
                resp = sendFollowingRedirects(req, authorization);
            } catch (IOException e) {
                if (attempt < options.maxRetries() && isRetryable(e) && !req.method().equals("PATCH")) {
                    Duration delay = backoff(attempt);
                    retryListener.accept(req.method() + " " + req.path() + ": " + describe(e) + "; retrying in "
                            + delay.toMillis() + " ms");
                    sleep(delay);
                    attempt++;
                    continue;
                }
                throw networkError(req.registry(), e);
            }
            int status = resp.status();
            if (status == 401 && !challenged) {
                List<String> challenges = resp.headerValues("WWW-Authenticate");
                resp.close();
                authorization = auth.challenge(req.registry(), req.scope(), challenges);
                challenged = true;
                if (authorization == null) {
                    throw new DavitException(Kind.AUTH, Message.of("registry " + req.registry() + " requires"
                            + " authentication and no credentials were found; run ", Action.LOGIN.fix(req.registry()))
                            .about(Subject.Type.REGISTRY, req.registry()));
                }
                continue;
            }
            if (status == 401) {
                resp.close();
                throw new DavitException(Kind.AUTH, Message.of("registry " + req.registry() + " rejected the credentials"
                        + " for " + describeScope(req.scope()) + "; check them with ", Action.LOGIN.fix(req.registry()))
                        .about(Subject.Type.REGISTRY, req.registry()));
            }
            if ((status == 408 || status == 429 || status >= 500) && attempt < options.maxRetries()
                    && !req.method().equals("PATCH")) {
                Duration delay = retryAfter(resp.header("Retry-After")).orElse(backoff(attempt));
                resp.close();
                retryListener.accept(req.method() + " " + req.path() + ": HTTP " + status + "; retrying in "
                        + delay.toMillis() + " ms");
                sleep(delay);
                attempt++;
                continue;
            }
            return resp;
        }
    }

    private Response sendFollowingRedirects(Request req, String authorization) throws IOException {
        URI base = baseUri(req.registry());
        URI uri = base.resolve(req.path());
        String originalAuthority = uri.getRawAuthority();
        for (int hop = 0; ; hop++) {
            Map<String, String> headers = new java.util.LinkedHashMap<>(req.headers());
            headers.put("User-Agent", options.userAgent());
            boolean sameHost = Objects.equals(uri.getRawAuthority(), originalAuthority);
            if (authorization != null && sameHost) {
                headers.put("Authorization", authorization);
            }
            Http.Response r = Http.exchange(req.method(), uri, headers, req.body(), options.connectTimeout(),
                    options.idleTimeout());
            int status = r.status();
            Log.LOG.debug("{} {} -> {}{}", req.method(), redact(uri), status, sameHost ? "" : " (other host, no credentials)");
            if (isRedirect(status)) {
                String location = r.header("Location");
                r.close();
                if (location == null) {
                    throw new IOException("redirect " + status + " without Location");
                }
                if (hop >= MAX_REDIRECTS) {
                    throw new IOException("too many redirects");
                }
                URI next = uri.resolve(location);
                if ("https".equals(uri.getScheme()) && !"https".equals(next.getScheme())) {
                    throw new IOException("refusing a redirect from https to " + next.getScheme());
                }
                uri = next;
                continue;
            }
            return new Response(status, r.headers(), r.body(), uri);
        }
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    /** A URL without its query string (pre-signed URLs carry credentials there). */
    static String redact(URI uri) {
        return uri.getScheme() + "://" + uri.getRawAuthority() + uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?...");
    }

    static boolean isRetryable(IOException e) {
        if (e instanceof SSLException || e instanceof java.net.UnknownHostException) {
            return false; // a name that does not resolve stays so for the seconds a retry would wait
        }
        if (e instanceof java.net.SocketTimeoutException || e instanceof ConnectException) {
            return true;
        }
        return !(e instanceof InterruptedIOException) || e instanceof java.net.SocketTimeoutException;
    }

    /** Exponential backoff with full jitter in [d/2, d]. */
    Duration backoff(int attempt) {
        long base = options.initialBackoff().toMillis() << Math.min(attempt, 16);
        long capped = Math.min(base, options.maxBackoff().toMillis());
        long jittered = capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1);
        return Duration.ofMillis(jittered);
    }

    /** Parses {@code Retry-After} (seconds or HTTP-date), capped by {@code maxBackoff}. */
    java.util.Optional<Duration> retryAfter(String value) {
        if (value == null || value.isBlank()) {
            return java.util.Optional.empty();
        }
        Duration d;
        try {
            d = Duration.ofSeconds(Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime when = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME);
                d = Duration.between(ZonedDateTime.now(), when);
            } catch (RuntimeException e2) {
                return java.util.Optional.empty();
            }
        }
        if (d.isNegative()) {
            d = Duration.ZERO;
        }
        return java.util.Optional.of(d.compareTo(options.maxBackoff()) > 0 ? options.maxBackoff() : d);
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while waiting to retry");
        }
    }

    static String describe(IOException e) {
        String m = e.getMessage();
        String kind = e.getClass().getSimpleName();
        return m == null || m.isBlank() ? kind : Text.shorten(m, 160);
    }

    static DavitException networkError(String registry, IOException e) {
        Message fix = e instanceof SSLException
                ? Message.of("if the registry serves plain HTTP, pass ", Action.INSECURE_REGISTRY_OF.fix(registry))
                : Message.of("check the address and your network");
        if (e instanceof ConnectException) {
            return new DavitException(Kind.NETWORK, Message.of("cannot connect to registry " + registry + " (connection"
                    + " refused); ", fix).about(Subject.Type.REGISTRY, registry), e);
        }
        return new DavitException(Kind.NETWORK, Message.of("cannot reach registry " + registry + ": " + describe(e)
                + "; ", fix).about(Subject.Type.REGISTRY, registry), e);
    }

    private static String describeScope(String scope) {
        return scope == null ? "this request" : scope;
    }

    /** Whether error messages quote what a registry's error body says (see {@link #quoteErrorBodies}). */
    private static volatile boolean quoteBodies = true;

    /**
     * Whether messages quote registry error bodies (default: yes, for a person at a terminal). A server whose caller
     * is not trusted (the MCP server) turns it off: a registry's words then never reach that caller, only an error
     * code of the distribution spec's form ({@code MANIFEST_UNKNOWN}).
     *
     * @param quote true to quote error bodies, false to give only the error code; applies to the whole JVM
     */
    public static void quoteErrorBodies(boolean quote) {
        quoteBodies = quote;
    }

    /** Reads a registry error body ({"errors":[{"code","message"}]}) into a short text, for messages. */
    static String errorSummary(Response resp) {
        try {
            byte[] b = resp.readBody(16 * 1024);
            String s = new String(b, StandardCharsets.UTF_8);
            var n = dev.davit.oci.internal.Json.read(b);
            var errs = n.path("errors");
            if (!quoteBodies) {
                String code = errs.isArray() && !errs.isEmpty() ? errs.get(0).path("code").asText("") : "";
                return code.matches("[A-Z_]{1,40}") ? code : "";
            }
            if (errs.isArray() && !errs.isEmpty()) {
                var e = errs.get(0);
                return Text.shorten(e.path("code").asText("") + (e.hasNonNull("message") ? " " + e.path("message").asText() : ""), 160).trim();
            }
            return Text.shorten(s, 120);
        } catch (IOException | RuntimeException e) {
            return "";
        } finally {
            resp.close();
        }
    }

    @Override
    public void close() {
        // connections are pooled by the JDK's keep-alive cache
    }
}
