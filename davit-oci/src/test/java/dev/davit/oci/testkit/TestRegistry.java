package dev.davit.oci.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real CNCF distribution registry ({@code docker-registry serve}, 2.8) as a child process on a free port of
 * 127.0.0.1, with filesystem storage and its configuration in a fresh temporary directory.
 *
 * <pre>{@code
 * static TestRegistry registry;
 *
 * @BeforeAll static void up() { registry = TestRegistry.start(); }          // anonymous
 * @AfterAll static void down() { registry.close(); }
 *
 * TestRegistry basic = TestRegistry.builder().basicAuth().start();          // htpasswd, random password
 * TestRegistry token = TestRegistry.builder().tokenAuth().start();          // Bearer tokens from TokenServer
 * Fixtures.pushImage(basic, "app", "v1");                                   // the kit handles the credentials
 * }</pre>
 *
 * <p>Deletes are enabled, the debug server and storage health checks are off, log level is {@code warn}; the
 * registry's output goes to {@link #logFile()} (its text is in failure messages of the kit). Starting takes well
 * under a second: share one registry per test class and use distinct repository names per test.
 *
 * <p>{@link Builder#start()} skips the calling test when {@code -Ddavit.it.skip=true} or {@code docker-registry}
 * is missing (see {@link Tools#assumeAvailable(String...)}). Processes still running at JVM exit are killed.
 */
public final class TestRegistry implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TestRegistry.class);
    private static final Set<TestRegistry> LIVE = ConcurrentHashMap.newKeySet();
    /** Where start() takes ports from; tests of the retry replace it. */
    static volatile PortSource ports = TestRegistry::freePort;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(TestRegistry::close),
                "davit-test-registry-reaper"));
    }

    @FunctionalInterface
    interface PortSource {
        int next() throws IOException;
    }

    /** How clients must authenticate. */
    public enum Auth {
        /** Anonymous access to everything. */
        NONE,
        /** HTTP Basic against an htpasswd (bcrypt) file. */
        BASIC,
        /** Docker token protocol: Bearer challenge, JWTs from {@link #tokenServer()}. */
        TOKEN
    }

    private final Auth auth;
    private final String username;
    private final String password;
    private final Path dir;
    private final Path storage;
    private final Path logFile;
    private final TokenServer tokenServer;
    private final Process process;
    private final int port;

    private TestRegistry(Builder b, Path dir, TokenServer tokenServer, Process process, int port) {
        this.auth = b.auth;
        this.username = b.username;
        this.password = b.password;
        this.dir = dir;
        this.storage = dir.resolve("storage");
        this.logFile = dir.resolve("registry.log");
        this.tokenServer = tokenServer;
        this.process = process;
        this.port = port;
    }

    /** Starts an anonymous registry (same as {@code builder().start()}). */
    public static TestRegistry start() {
        return builder().start();
    }

    /** A builder; without an auth method the registry is anonymous. */
    public static Builder builder() {
        return new Builder();
    }

    /** Configures and starts a {@link TestRegistry}. */
    public static final class Builder {
        private Auth auth = Auth.NONE;
        private String username;
        private String password;
        private Duration tokenLifetime = Duration.ofMinutes(5);
        private TokenServer.ResponseStyle responseStyle = TokenServer.ResponseStyle.BOTH;
        private boolean anonymousPull;

        private Builder() {
        }

        /** HTTP Basic auth for user {@code davit} with a random password. */
        public Builder basicAuth() {
            return basicAuth("davit", randomPassword());
        }

        /** HTTP Basic auth (htpasswd file, bcrypt) for one user; needs {@code htpasswd}. */
        public Builder basicAuth(String user, String pass) {
            return credentials(Auth.BASIC, user, pass);
        }

        /** Token auth for user {@code davit} with a random password. */
        public Builder tokenAuth() {
            return tokenAuth("davit", randomPassword());
        }

        /** Token auth: the registry answers 401 with a Bearer challenge pointing at {@link #tokenServer()}. */
        public Builder tokenAuth(String user, String pass) {
            return credentials(Auth.TOKEN, user, pass);
        }

        /** Token auth only: {@code expires_in} of issued tokens (default 5 minutes; the registry allows 60 s leeway). */
        public Builder tokenLifetime(Duration lifetime) {
            this.tokenLifetime = lifetime;
            return this;
        }

        /** Token auth only: which fields carry the token (default {@link TokenServer.ResponseStyle#BOTH}). */
        public Builder tokenResponse(TokenServer.ResponseStyle style) {
            this.responseStyle = style;
            return this;
        }

        /** Token auth only: a token request without credentials is granted {@code pull} (like Docker Hub). */
        public Builder anonymousPull(boolean allow) {
            this.anonymousPull = allow;
            return this;
        }

        private Builder credentials(Auth a, String user, String pass) {
            if (user == null || user.isEmpty() || user.contains(":") || pass == null || pass.isEmpty()) {
                throw new IllegalArgumentException("a non-empty user without ':' and a non-empty password are needed");
            }
            this.auth = a;
            this.username = user;
            this.password = pass;
            return this;
        }

        /**
         * Writes the configuration, starts the registry and waits until {@code GET /v2/} answers (200, or 401 with
         * auth). Retries on another port when the chosen one was taken meanwhile.
         *
         * @throws org.opentest4j.TestAbortedException (skip) when the tools are unavailable, see {@link Tools}
         * @throws IllegalStateException when the registry does not come up; the message holds its log
         */
        public TestRegistry start() {
            Tools.assumeAvailable(auth == Auth.BASIC ? new String[] {Tools.REGISTRY, Tools.HTPASSWD}
                    : new String[] {Tools.REGISTRY});
            Path dir = null;
            TokenServer ts = null;
            try {
                dir = Files.createTempDirectory("davit-registry-");
                Files.createDirectories(dir.resolve("storage"));
                String authYaml = switch (auth) {
                    case NONE -> "";
                    case BASIC -> {
                        String line = Tools.run(null, List.of(Tools.HTPASSWD, "-Bbn", username, password)).strip();
                        Files.writeString(dir.resolve("htpasswd"), line + "\n");
                        yield "auth:\n  htpasswd:\n    realm: davit-test\n    path: " + dir.resolve("htpasswd") + "\n";
                    }
                    case TOKEN -> {
                        ts = new TokenServer(dir, username, password, tokenLifetime, responseStyle, anonymousPull);
                        yield "auth:\n  token:\n    realm: " + ts.realm() + "\n    service: " + ts.service()
                                + "\n    issuer: " + ts.issuer() + "\n    rootcertbundle: " + ts.certificatePem()
                                + "\n";
                    }
                };
                for (int attempt = 1;; attempt++) {
                    int port = ports.next();
                    Files.writeString(dir.resolve("config.yml"), config(dir, port, authYaml));
                    Path log = dir.resolve("registry.log");
                    Process p = new ProcessBuilder(Tools.REGISTRY, "serve", dir.resolve("config.yml").toString())
                            .redirectErrorStream(true).redirectOutput(log.toFile()).start();
                    TestRegistry r = new TestRegistry(this, dir, ts, p, port);
                    LIVE.add(r);
                    if (r.awaitReady()) {
                        LOG.debug("registry {} up ({} auth), dir {}", r.hostPort(), auth, dir);
                        return r;
                    }
                    String text = r.log();
                    r.stopProcess();
                    LIVE.remove(r);
                    if (attempt < 5 && text.contains("address already in use")) {
                        continue;
                    }
                    throw new IllegalStateException("docker-registry did not come up on 127.0.0.1:" + port
                            + "; log:\n" + text);
                }
            } catch (IOException e) {
                cleanup(ts, dir);
                throw new UncheckedIOException(e);
            } catch (RuntimeException | Error e) {
                cleanup(ts, dir);
                throw e;
            }
        }

        private static void cleanup(TokenServer ts, Path dir) {
            if (ts != null) {
                ts.close();
            }
            FileTree.deleteQuietly(dir);
        }

        private static String config(Path dir, int port, String authYaml) {
            byte[] secret = new byte[16];
            new SecureRandom().nextBytes(secret);
            return """
                    version: 0.1
                    log:
                      level: warn
                      formatter: text
                      accesslog:
                        disabled: true
                    storage:
                      filesystem:
                        rootdirectory: %s
                      delete:
                        enabled: true
                      maintenance:
                        uploadpurging:
                          enabled: false
                    http:
                      addr: 127.0.0.1:%d
                      secret: %s
                    health:
                      storagedriver:
                        enabled: false
                    """.formatted(dir.resolve("storage"), port, HexFormat.of().formatHex(secret)) + authYaml;
        }
    }

    private boolean awaitReady() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        HttpRequest req = HttpRequest.newBuilder(URI.create(baseUrl() + "/v2/")).timeout(Duration.ofSeconds(2))
                .GET().build();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                return false;
            }
            try {
                int status = HTTP.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status == 200 || status == 401) {
                    return true;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private static String randomPassword() {
        byte[] b = new byte[12];
        new SecureRandom().nextBytes(b);
        return "pw-" + HexFormat.of().formatHex(b);
    }

    /** {@code http://127.0.0.1:PORT}, no trailing slash. */
    public String baseUrl() {
        return "http://" + hostPort();
    }

    /** {@code 127.0.0.1:PORT}: the registry part of references, e.g. {@code hostPort() + "/app:v1"}. */
    public String hostPort() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public Auth auth() {
        return auth;
    }

    /** The user for {@link Auth#BASIC} and {@link Auth#TOKEN}; null when anonymous. */
    public String username() {
        return username;
    }

    /** The password for {@link Auth#BASIC} and {@link Auth#TOKEN}; null when anonymous. */
    public String password() {
        return password;
    }

    /** {@code user:password} as skopeo's {@code --creds} wants it; null when anonymous. */
    public String credentials() {
        return auth == Auth.NONE ? null : username + ":" + password;
    }

    /**
     * The token server of a {@link Auth#TOKEN} registry.
     *
     * @throws IllegalStateException for other registries
     */
    public TokenServer tokenServer() {
        if (tokenServer == null) {
            throw new IllegalStateException("registry " + hostPort() + " does not use token auth");
        }
        return tokenServer;
    }

    /**
     * An {@code Authorization} header value granting {@code actions} (e.g. {@code "pull"} or {@code "pull,push"}) on
     * a repository, for raw HTTP in tests: empty when anonymous, {@code Basic ...}, or {@code Bearer <jwt>} minted
     * directly by the token server (not counted in {@link TokenServer#tokenRequests()}).
     */
    public Optional<String> authorization(String repository, String actions) {
        return switch (auth) {
            case NONE -> Optional.empty();
            case BASIC -> Optional.of("Basic " + Base64.getEncoder()
                    .encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8)));
            case TOKEN -> Optional.of("Bearer " + tokenServer.mint(username, Duration.ofMinutes(5),
                    List.of("repository:" + repository + ":" + actions)));
        };
    }

    /** The registry's filesystem storage root (blobs under {@code docker/registry/v2/blobs/sha256/..}). */
    public Path storageDir() {
        return storage;
    }

    /** Where the registry stores the bytes of a blob, e.g. to corrupt it in place for a test. */
    public Path blobDataPath(String digest) {
        int colon = digest.indexOf(':');
        String hex = digest.substring(colon + 1);
        return storage.resolve("docker/registry/v2/blobs").resolve(digest.substring(0, colon))
                .resolve(hex.substring(0, 2)).resolve(hex).resolve("data");
    }

    /** The file holding the registry's stdout and stderr. */
    public Path logFile() {
        return logFile;
    }

    /** The registry's output so far (for failure messages). */
    public String log() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e.getMessage() + ")";
        }
    }

    /** Whether the registry process is still running. */
    public boolean isRunning() {
        return process.isAlive();
    }

    private void stopProcess() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Kills the registry, stops the token server and deletes the temporary directory. Idempotent. */
    @Override
    public void close() {
        LIVE.remove(this);
        stopProcess();
        if (tokenServer != null) {
            tokenServer.close();
        }
        FileTree.deleteQuietly(dir);
    }

    @Override
    public String toString() {
        return "TestRegistry[" + hostPort() + ", auth=" + auth + ", log=" + logFile + "]";
    }
}
