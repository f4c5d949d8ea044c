package dev.davit.sandbox.network;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * The secrets the gate adds to a sandbox's HTTPS requests (see docs/reference/SANDBOX.md, "Secrets injected by the gate"): per
 * host, a header and its value. The sandbox holds only a placeholder; for a TLS connection whose SNI is such a host
 * (port 443), the gate is the server, with a certificate for that host signed by the workspace's own CA (which
 * davit put into the sandbox's trust store; its key stays with davit, the gate gets only the leaf's), and opens its
 * own TLS connection to the real host, checked against the host's trust store, to send the requests on with the
 * header set ({@link InjectedRequest}). Given by davit through the control socket after each start, kept in memory
 * only: nothing of it is on disk where the gate runs.
 *
 * <p>The control message's lines: {@code keystore BASE64} (a PKCS#12 key store holding the leaf's key and chain,
 * password {@link Gate#STORE_PASSWORD}: it is a container, never a file), then {@code rule HOST HEADER BASE64-VALUE} per
 * host; the lines {@code chain} and {@code key} (the same leaf as DER, for davit-agent's gate) are skipped.
 */
final class Injections {
    /** No secrets to add. */
    static final Injections NONE = new Injections(Map.of(), null);
    static final String STORE_PASSWORD = Gate.STORE_PASSWORD;
    private static final int CONNECT_MILLIS = 10_000;

    /** A host's header and its value (bytes as ISO-8859-1 characters). */
    record Rule(String header, String value) {
        @Override
        public String toString() {
            return "Rule[" + header + "]"; // never the value
        }
    }

    private final Map<String, Rule> rules;
    private final SSLContext server;

    private Injections(Map<String, Rule> rules, SSLContext server) {
        this.rules = rules;
        this.server = server;
    }

    /** The rule of {@code host}, or null. */
    Rule rule(String host) {
        return rules.get(host);
    }

    /** Reads the control message's lines (after its first). */
    static Injections parse(List<String> lines) throws IOException, GeneralSecurityException {
        Map<String, Rule> rules = new HashMap<>();
        byte[] store = null;
        for (String l : lines) {
            String[] f = l.split(" ");
            if (f.length == 2 && f[0].equals("keystore")) {
                store = Base64.getDecoder().decode(f[1]);
            } else if (f.length == 4 && f[0].equals("rule")) {
                String value = new String(Base64.getDecoder().decode(f[3]), StandardCharsets.ISO_8859_1);
                if (value.chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0)) {
                    throw new IOException("a header value with CR, LF or NUL");
                }
                rules.put(f[1].toLowerCase(Locale.ROOT), new Rule(f[2], value));
            } else if (f[0].equals("chain") || f[0].equals("key")) {
                continue; // the same leaf as DER, for davit-agent's gate
            } else if (!l.isBlank()) {
                throw new IOException("unknown line in the secrets' message");
            }
        }
        if (rules.isEmpty()) {
            return NONE;
        }
        if (store == null) {
            throw new IOException("no key store for the hosts' certificates");
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(new ByteArrayInputStream(store), STORE_PASSWORD.toCharArray());
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, STORE_PASSWORD.toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return new Injections(Map.copyOf(rules), ctx);
    }

    /** A server engine for the sandbox's side: TLS 1.3 (no renegotiation), HTTP/1.1 only (ALPN), the leaf. */
    SSLEngine serverEngine() {
        SSLEngine e = server.createSSLEngine();
        e.setUseClientMode(false);
        e.setEnabledProtocols(new String[] {"TLSv1.3"});
        SSLParameters p = e.getSSLParameters();
        p.setApplicationProtocols(new String[] {"http/1.1"});
        e.setSSLParameters(p);
        return e;
    }

    /**
     * The client's side to the real host: a TLS connection to {@code to} for {@code host} (SNI), HTTP/1.1, the
     * server's certificate checked for that name against {@code trust}, its handshake within {@code handshakeMillis}
     * (the socket's read timeout, which the caller sets again for what follows).
     */
    static SSLSocket connect(SSLContext trust, InetSocketAddress to, String host, int handshakeMillis)
            throws IOException {
        Socket plain = new Socket();
        try {
            plain.connect(to, CONNECT_MILLIS);
            plain.setSoTimeout(handshakeMillis); // a server that stalls the handshake holds no thread for long
            plain.setTcpNoDelay(true);
            SSLSocket s = (SSLSocket) trust.getSocketFactory().createSocket(plain, host, to.getPort(), true);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(host)));
            p.setEndpointIdentificationAlgorithm("HTTPS");
            p.setApplicationProtocols(new String[] {"http/1.1"});
            s.setSSLParameters(p);
            s.startHandshake();
            return s;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    /**
     * What the gate trusts for the real hosts: the Java runtime's CA certificates and those of the PEM file
     * {@code extra} (the host's bundle, or a test's CA), when there is one.
     */
    static SSLContext trust(Path extra) throws IOException, GeneralSecurityException {
        TrustManagerFactory def = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        def.init((KeyStore) null);
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int i = 0;
        for (var tm : def.getTrustManagers()) {
            if (tm instanceof javax.net.ssl.X509TrustManager x) {
                for (X509Certificate c : x.getAcceptedIssuers()) {
                    ks.setCertificateEntry("jdk-" + i++, c);
                }
            }
        }
        if (extra != null && Files.isReadable(extra)) {
            try (InputStream in = Files.newInputStream(extra)) {
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    ks.setCertificateEntry("extra-" + i++, c);
                }
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
