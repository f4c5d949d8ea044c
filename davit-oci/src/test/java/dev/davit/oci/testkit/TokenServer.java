package dev.davit.oci.testkit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.davit.oci.internal.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The in-process token server of a {@link TestRegistry} built with {@link TestRegistry.Builder#tokenAuth()}: the
 * "realm" of the Docker token protocol, on 127.0.0.1.
 *
 * <p>{@code GET /token?service=...&scope=repository:NAME:pull,push&scope=...} checks HTTP Basic credentials and
 * answers {@code {"token": JWT, "access_token": JWT, "expires_in": N, "issued_at": "..."}} (which of the two token
 * fields appear is configurable, see {@link ResponseStyle}). The JWT is signed RS256 with a self-signed key the
 * registry trusts through {@code rootcertbundle}; its {@code x5c} header carries the certificate. Every scope asked
 * for is granted in full to the right user; a request without credentials gets {@code pull} only when the registry
 * was built with {@link TestRegistry.Builder#anonymousPull(boolean) anonymousPull(true)}, else 401; wrong
 * credentials always get 401. Other methods (e.g. the OAuth2 POST) get 405, so clients fall back to GET.
 *
 * <p>Every request is recorded (never the credentials) so tests can assert token caching, e.g.
 * {@code assertThat(registry.tokenServer().tokenRequests()).isEqualTo(1)}.
 */
public final class TokenServer implements AutoCloseable {

    /** Which token fields the JSON response carries. Real servers differ; clients must accept all three. */
    public enum ResponseStyle {
        /** {@code token} only (Docker Hub style without OAuth). */
        TOKEN,
        /** {@code access_token} only (OAuth2 style). */
        ACCESS_TOKEN,
        /** Both, with the same JWT (the default). */
        BOTH
    }

    /**
     * One request to the realm.
     *
     * @param method the HTTP method
     * @param scopes the {@code scope} query parameters, in order
     * @param service the {@code service} query parameter, or null
     * @param account the {@code account} query parameter, or null
     * @param credentialsPresent whether an {@code Authorization: Basic} header was sent (its value is never kept)
     * @param status the HTTP status answered (200 when a token was issued)
     * @param at when it arrived
     */
    public record Request(String method, List<String> scopes, String service, String account,
            boolean credentialsPresent, int status, Instant at) {
        /** Whether a token was issued. */
        public boolean granted() {
            return status == 200;
        }
    }

    static final String SERVICE = "davit-test-registry";
    static final String ISSUER = "davit-test-token-issuer";

    private final HttpServer server;
    private final String username;
    private final String password;
    private final Duration lifetime;
    private final ResponseStyle style;
    private final boolean anonymousPull;
    private final Path certificatePem;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger count = new AtomicInteger();

    TokenServer(Path dir, String username, String password, Duration lifetime, ResponseStyle style,
            boolean anonymousPull) throws IOException {
        this.username = username;
        this.password = password;
        this.lifetime = lifetime;
        this.style = style;
        this.anonymousPull = anonymousPull;
        this.certificatePem = dir.resolve("token-cert.pem");
        Files.writeString(certificatePem, KeyMaterial.get().pem());
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 16);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/token", this::handle);
        server.start();
    }

    /** The realm URL, e.g. {@code http://127.0.0.1:40111/token}. */
    public String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    /** The {@code service} the registry announces in its challenge and checks as the JWT audience. */
    public String service() {
        return SERVICE;
    }

    /** The JWT issuer the registry trusts. */
    public String issuer() {
        return ISSUER;
    }

    /** The PEM file of the signing certificate (the registry's {@code rootcertbundle}). */
    public Path certificatePem() {
        return certificatePem;
    }

    /** How many requests reached the realm since start or the last {@link #reset()}, whatever their outcome. */
    public int tokenRequests() {
        return count.get();
    }

    /** The requests since start or the last {@link #reset()}, oldest first. */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Forgets the recorded requests and zeroes {@link #tokenRequests()}. */
    public void reset() {
        requests.clear();
        count.set(0);
    }

    /**
     * Mints a token directly, without an HTTP request (not counted in {@link #tokenRequests()}): for the kit's own
     * raw HTTP and for tests that need a special token, e.g. an already expired one or one with fewer rights.
     *
     * @param subject the {@code sub} claim
     * @param lifetime from now until {@code exp}; may be negative for an expired token
     * @param scopes e.g. {@code repository:library/app:pull,push}; each is granted as written
     */
    public String mint(String subject, Duration lifetime, List<String> scopes) {
        return jwt(subject, grants(scopes, false), Instant.now(), lifetime);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            count.incrementAndGet();
            List<String> scopes = new ArrayList<>();
            String service = null;
            String account = null;
            String query = ex.getRequestURI().getRawQuery();
            if (query != null) {
                for (String pair : query.split("&")) {
                    int eq = pair.indexOf('=');
                    String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                    String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                    switch (k) {
                        case "scope" -> scopes.addAll(List.of(v.split(" ")));
                        case "service" -> service = v;
                        case "account" -> account = v;
                        default -> {
                        }
                    }
                }
            }
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            boolean credentials = auth != null;
            int status;
            if (!"GET".equals(ex.getRequestMethod())) {
                status = 405;
                ex.getResponseHeaders().set("Allow", "GET");
                reply(ex, status, error("UNSUPPORTED", "use GET"));
            } else if (credentials && !validBasic(auth)) {
                status = 401;
                reply(ex, status, error("UNAUTHORIZED", "bad credentials"));
            } else if (!credentials && !anonymousPull) {
                status = 401;
                ex.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"davit-test-token\"");
                reply(ex, status, error("UNAUTHORIZED", "credentials required"));
            } else if (service != null && !SERVICE.equals(service)) {
                status = 400;
                reply(ex, status, error("INVALID_SERVICE", "unknown service"));
            } else {
                status = 200;
                Instant now = Instant.now();
                String token = jwt(credentials ? username : "", grants(scopes, !credentials), now, lifetime);
                ObjectNode body = Json.object();
                if (style != ResponseStyle.ACCESS_TOKEN) {
                    body.put("token", token);
                }
                if (style != ResponseStyle.TOKEN) {
                    body.put("access_token", token);
                }
                body.put("expires_in", lifetime.toSeconds());
                body.put("issued_at", now.truncatedTo(ChronoUnit.SECONDS).toString());
                reply(ex, status, Json.bytes(body));
            }
            requests.add(new Request(ex.getRequestMethod(), List.copyOf(scopes), service, account, credentials,
                    status, Instant.now()));
        }
    }

    private boolean validBasic(String header) {
        if (!header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return false;
        }
        try {
            String decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()),
                    StandardCharsets.UTF_8);
            return decoded.equals(username + ":" + password);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static byte[] error(String code, String message) {
        ObjectNode e = Json.object();
        e.putArray("errors").addObject().put("code", code).put("message", message);
        return Json.bytes(e);
    }

    private static void reply(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
    }

    /** The {@code access} claim for the requested scopes ({@code type:name:actions}, name may contain ':'). */
    private static ArrayNode grants(List<String> scopes, boolean pullOnly) {
        ArrayNode access = Json.array();
        for (String scope : scopes) {
            int first = scope.indexOf(':');
            int last = scope.lastIndexOf(':');
            if (first < 0 || last <= first) {
                continue;
            }
            Set<String> actions = new LinkedHashSet<>();
            for (String a : scope.substring(last + 1).split(",")) {
                if (!a.isEmpty() && (!pullOnly || a.equals("pull"))) {
                    actions.add(a);
                }
            }
            ObjectNode entry = access.addObject();
            entry.put("type", scope.substring(0, first));
            entry.put("name", scope.substring(first + 1, last));
            ArrayNode arr = entry.putArray("actions");
            actions.forEach(arr::add);
        }
        return access;
    }

    private static String jwt(String subject, ArrayNode access, Instant now, Duration lifetime) {
        KeyMaterial km = KeyMaterial.get();
        ObjectNode header = Json.object();
        header.put("typ", "JWT");
        header.put("alg", "RS256");
        header.putArray("x5c").add(km.certificateBase64());
        ObjectNode claims = Json.object();
        long iat = now.getEpochSecond();
        claims.put("iss", ISSUER);
        claims.put("sub", subject);
        claims.put("aud", SERVICE);
        claims.put("exp", iat + lifetime.toSeconds());
        claims.put("nbf", iat - 10);
        claims.put("iat", iat);
        byte[] jti = new byte[12];
        new SecureRandom().nextBytes(jti);
        claims.put("jti", HexFormat.of().formatHex(jti));
        claims.set("access", access);
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString(Json.bytes(header)) + "." + b64.encodeToString(Json.bytes(claims));
        try {
            Signature sig = Signature.getInstance("SHA256withRSA");
            sig.initSign(km.key());
            sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + b64.encodeToString(sig.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stops the server (the owning {@link TestRegistry} does this). */
    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }

    /** One RSA key and self-signed certificate per JVM, made with the JDK's keytool (about a second). */
    private record KeyMaterial(PrivateKey key, X509Certificate certificate) {
        private static KeyMaterial instance;

        static synchronized KeyMaterial get() {
            if (instance == null) {
                instance = generate();
            }
            return instance;
        }

        String certificateBase64() {
            try {
                return Base64.getEncoder().encodeToString(certificate.getEncoded());
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        String pem() {
            return "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                            .encodeToString(Base64.getDecoder().decode(certificateBase64()))
                    + "\n-----END CERTIFICATE-----\n";
        }

        private static KeyMaterial generate() {
            Path dir = null;
            try {
                dir = Files.createTempDirectory("davit-token-key-");
                Path store = dir.resolve("token.p12");
                char[] pass = "davit-test".toCharArray();
                Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
                Tools.run(null, List.of(keytool.toString(), "-genkeypair", "-alias", "token", "-keyalg", "RSA",
                        "-keysize", "2048", "-sigalg", "SHA256withRSA", "-validity", "3650",
                        "-dname", "CN=davit test token issuer", "-storetype", "PKCS12",
                        "-keystore", store.toString(), "-storepass", new String(pass), "-keypass", new String(pass)));
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (InputStream in = Files.newInputStream(store)) {
                    ks.load(in, pass);
                }
                PrivateKey key = (PrivateKey) ks.getKey("token", pass);
                Certificate cert = ks.getCertificate("token");
                return new KeyMaterial(key, (X509Certificate) cert);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            } finally {
                if (dir != null) {
                    FileTree.deleteQuietly(dir);
                }
            }
        }
    }
}
