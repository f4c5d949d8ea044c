package dev.davit.oci.registry;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One HTTP exchange over {@link HttpURLConnection}, the bottom of the transport stack. Chosen over
 * {@code java.net.http.HttpClient} by measurement: streaming large blobs it was about three times faster on
 * loopback (see docs/reference/BENCHMARKS.md), it has a native idle-read timeout, and it loads fewer classes at start-up.
 * Redirects are never followed here; the layer above does that, so it controls where credentials go.
 */
final class Http {
    private Http() {
    }

    /** A response; the body must be closed (which returns the connection to the keep-alive pool). */
    record Response(int status, Map<String, List<String>> headers, InputStream body, URI uri) implements AutoCloseable {
        /** The first value of a header (names are case-insensitive), or null. */
        String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        List<String> headers(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null ? List.of() : v;
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

    static Response exchange(String method, URI uri, Map<String, String> headers, RequestBody body,
                             Duration connectTimeout, Duration readTimeout) throws IOException {
        if (method.equals("PATCH")) {
            return PatchClient.exchange(uri, headers, body, connectTimeout, readTimeout);
        }
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setInstanceFollowRedirects(false);
        c.setUseCaches(false);
        c.setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
        c.setReadTimeout((int) Math.min(Integer.MAX_VALUE, readTimeout.toMillis()));
        c.setRequestMethod(method);
        headers.forEach(c::setRequestProperty);
        if (body != null) {
            c.setDoOutput(true);
            c.setFixedLengthStreamingMode(body.length());
            try (InputStream in = body.open(); OutputStream out = c.getOutputStream()) {
                byte[] buf = new byte[1 << 18];
                long copied = 0;
                int n;
                while ((n = in.read(buf)) > 0) {
                    out.write(buf, 0, n);
                    copied += n;
                }
                if (copied != body.length()) {
                    throw new IOException("request body source gave " + copied + " bytes, expected " + body.length());
                }
            } catch (IOException e) {
                c.disconnect();
                throw e;
            }
        }
        int status;
        try {
            status = c.getResponseCode();
        } catch (IOException e) {
            c.disconnect();
            throw e;
        }
        if (status < 0) {
            c.disconnect();
            throw new IOException("the server's response is not valid HTTP");
        }
        Map<String, List<String>> h = new TreeMap<>();
        c.getHeaderFields().forEach((k, v) -> {
            if (k != null) {
                h.put(k.toLowerCase(Locale.ROOT), v);
            }
        });
        InputStream in;
        if (method.equals("HEAD")) {
            in = new ByteArrayInputStream(new byte[0]);
            InputStream drained = status >= 400 ? c.getErrorStream() : c.getInputStream();
            if (drained != null) {
                drained.close();
            }
        } else {
            in = status >= 400 ? c.getErrorStream() : c.getInputStream();
            if (in == null) {
                in = new ByteArrayInputStream(new byte[0]);
            }
        }
        return new Response(status, h, in, uri);
    }

    /**
     * HttpURLConnection cannot send PATCH (chunked blob uploads need it), so PATCH alone goes through
     * {@code java.net.http.HttpClient}, created on first use.
     */
    private static final class PatchClient {
        private static volatile java.net.http.HttpClient client;

        static Response exchange(URI uri, Map<String, String> headers, RequestBody body, Duration connectTimeout,
                                 Duration readTimeout) throws IOException {
            java.net.http.HttpClient c = client;
            if (c == null) {
                synchronized (PatchClient.class) {
                    if (client == null) {
                        client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1)
                                .followRedirects(java.net.http.HttpClient.Redirect.NEVER).connectTimeout(connectTimeout)
                                .build();
                    }
                    c = client;
                }
            }
            java.net.http.HttpRequest.BodyPublisher pub = body == null
                    ? java.net.http.HttpRequest.BodyPublishers.noBody()
                    : java.net.http.HttpRequest.BodyPublishers.fromPublisher(
                            java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> {
                                try {
                                    return body.open();
                                } catch (IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            }), body.length());
            java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(uri).method("PATCH", pub)
                    .timeout(readTimeout);
            headers.forEach((k, v) -> {
                if (!k.equalsIgnoreCase("Content-Length")) {
                    b.header(k, v);
                }
            });
            java.net.http.HttpResponse<InputStream> r;
            try {
                r = c.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted");
            } catch (java.io.UncheckedIOException e) {
                throw e.getCause();
            }
            Map<String, List<String>> h = new TreeMap<>();
            r.headers().map().forEach((k, v) -> h.put(k.toLowerCase(Locale.ROOT), v));
            return new Response(r.statusCode(), h, r.body(), uri);
        }
    }
}
