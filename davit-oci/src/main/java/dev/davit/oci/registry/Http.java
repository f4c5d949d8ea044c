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
 * loopback (see docs/BENCHMARKS.md), it has a native idle-read timeout, and it loads fewer classes at start-up.
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

    static Response exchange(String method, URI uri, Map<String, String> headers, byte[] body,
                             Duration connectTimeout, Duration readTimeout) throws IOException {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setInstanceFollowRedirects(false);
        c.setUseCaches(false);
        c.setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
        c.setReadTimeout((int) Math.min(Integer.MAX_VALUE, readTimeout.toMillis()));
        c.setRequestMethod(method);
        headers.forEach(c::setRequestProperty);
        if (body != null) {
            c.setDoOutput(true);
            c.setFixedLengthStreamingMode(body.length);
            try (OutputStream out = c.getOutputStream()) {
                out.write(body);
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
}
