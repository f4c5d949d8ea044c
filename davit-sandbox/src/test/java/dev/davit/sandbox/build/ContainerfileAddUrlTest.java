package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import dev.davit.sandbox.target.RunTargets;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.network.HostResolver;
import dev.davit.sandbox.network.UrlFetch;
import dev.davit.sandbox.testnet.TestInternet;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ADD URL}: fetched from a real HTTP server on loopback through the build's network, judged as the egress
 * gate judges a sandbox's connections: allowed by an explicit address entry it lands in the image (0600, the
 * server's time, {@code --chown}, {@code --checksum} checked, redirects and chunked bodies followed); with no network,
 * a name that resolves to loopback, a redirect to an address the policy does not allow, NAT towards loopback, a wrong
 * checksum or a URL with credentials it is a one-line error, and the server never sees a request it should not.
 * HTTPS: the certificate is checked against the URL's name while the connection goes to the checked address.
 */
class ContainerfileAddUrlTest {
    private static final String BASE = "localhost/test/add-url-base:1";
    private static final String HELLO = "hello from the web\n";

    @TempDir
    Path tmp;

    Path home;
    DavitClient client;
    Sandboxes sandboxes;
    HttpServer server;
    HttpServer other;
    int port;
    final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
    final AtomicInteger otherHits = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        home = tmp.resolve("home");
        Path src = dev.davit.sandbox.BusyboxRootfs.createFor(tmp.resolve("base"), "bwrap");
        Files.createSymbolicLink(src.resolve("bin/stat"), Path.of("busybox"));
        client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")));
        client.build(src, BASE, BuildOptions.defaults(), ProgressListener.NONE);
        sandboxes = new Sandboxes(SandboxOptions.under(home));

        other = HttpServer.create(new InetSocketAddress("127.0.0.2", 0), 0);
        other.createContext("/", ex -> {
            otherHits.incrementAndGet();
            reply(ex, 200, "not for the build\n", false);
        });
        other.start();
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        port = server.getAddress().getPort();
        server.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            hits.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
            switch (path) {
                case "/files/hello.txt" -> {
                    ex.getResponseHeaders().add("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT");
                    reply(ex, 200, HELLO, false);
                }
                case "/chunked" -> reply(ex, 200, HELLO.repeat(5000), true);
                case "/redirect" -> {
                    ex.getResponseHeaders().add("Location", "/files/hello.txt");
                    reply(ex, 302, "", false);
                }
                case "/away" -> {
                    ex.getResponseHeaders().add("Location", "http://127.0.0.2:" + other.getAddress().getPort()
                            + "/secret");
                    reply(ex, 302, "", false);
                }
                default -> reply(ex, 404, "no\n", false);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
        if (other != null) {
            other.stop(0);
        }
    }

    private static void reply(HttpExchange ex, int status, String body, boolean chunked) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, chunked ? 0 : b.length == 0 ? -1 : b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    /** A policy that allows the test server's address and port explicitly (loopback needs an address entry). */
    private Network allowServer() {
        return Network.policy(EgressPolicy.parse(List.of(), List.of("127.0.0.1/32:" + port), List.of(), List.of(),
                List.of()));
    }

    private ContainerfileBuilder.Result build(String text, Network network, List<String> said) {
        return new ContainerfileBuilder(client, sandboxes, home, said::add).build(Containerfile.parse(text,
                "Containerfile"), Files.isDirectory(tmp.resolve("ctx")) ? tmp.resolve("ctx") : tmp,
                "localhost/test/add-url:1", ContainerfileBuilder.Options.defaults().withNetwork(network));
    }

    private String run(String... cmd) {
        RunTarget t = RunTargets.ofImage(client, home, "localhost/test/add-url:1", null, null);
        ExecResult r = sandboxes.run(RunSpec.builder(t.rootfs()).image(t.image()).command(cmd).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    private static String sha256(String s) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void aUrlTheBuildsNetworkAllowsLandsInTheImage() throws Exception {
        String u = "http://127.0.0.1:" + port;
        List<String> said = new ArrayList<>();
        build("FROM " + BASE + "\n"
                + "ADD " + u + "/files/hello.txt?token=s3cr3t /data/\n"
                + "ADD " + u + "/redirect /data/redirected.txt\n"
                + "ADD --chown=5:6 --checksum=" + sha256(HELLO.repeat(5000)) + " " + u + "/chunked /big.txt\n",
                allowServer(), said);
        assertThat(said).contains("fetching " + u + "/files/hello.txt?…"); // the query is never shown
        assertThat(run("cat", "/data/hello.txt", "/data/redirected.txt")).isEqualTo(HELLO + HELLO);
        // Docker's ADD: 0600, the server's Last-Modified, the --chown owner; never unpacked
        String[] stat = run("stat", "-c", "%a %u:%g %Y %s", "/data/hello.txt", "/big.txt").split("\n");
        assertThat(stat[0]).isEqualTo("600 0:0 1445412480 " + HELLO.length());
        assertThat(stat[1]).startsWith("600 5:6 ").endsWith(" " + HELLO.length() * 5000);
        // the history names each ADD as written, its URL without the query
        var history = client.inspectLocal("localhost/test/add-url:1").config().history().stream()
                .map(h -> h.createdBy()).toList();
        assertThat(history).contains(ContainerfileBuilder.CREATED_BY + "ADD " + u + "/files/hello.txt?… /data/",
                ContainerfileBuilder.CREATED_BY + "ADD --chown=5:6 --checksum=" + sha256(HELLO.repeat(5000)) + " "
                        + u + "/chunked /big.txt");
        assertThat(String.join("\n", history)).doesNotContain("s3cr3t");
    }

    /**
     * What the build's egress policy refuses a RUN is said as it happens and named by the step's error, not left to
     * the tool's own message (wget's "bad address", npm's retries).
     */
    @Test
    void aRunsRefusedDownloadIsNamedInTheBuildsOutput() {
        List<String> said = new ArrayList<>();
        assertThatThrownBy(() -> build("FROM " + BASE + "\nRUN busybox nslookup blocked.example\n", allowServer(),
                said)).isInstanceOf(DavitException.class).hasMessageContaining("Containerfile:2: RUN exited with")
                .hasMessageContaining(" after the build's egress policy refused what it asked for: blocked.example");
        assertThat(said).anyMatch(l -> l.startsWith("egress denied: blocked.example"));
    }

    /**
     * A RUN that silently keeps retrying what the policy refuses is stopped and named: the step fails instead of
     * running for as long as its tool retries (here for ever; the test would hang without the stop). One that prints
     * as it goes (a tool trying a blocked extra repository and carrying on) is not stopped, and ends as it ends.
     */
    @Test
    void aRunSilentlyRetryingARefusedTargetIsStopped() {
        List<String> said = new ArrayList<>();
        assertThatThrownBy(() -> build("FROM " + BASE + "\nRUN while true; do busybox nslookup blocked.example"
                + " >/dev/null 2>&1; sleep 1; done\n", allowServer(), said)).isInstanceOf(DavitException.class)
                .hasMessageStartingWith("Containerfile:2: RUN stopped: the build's egress policy refused"
                        + " blocked.example ").hasMessageContaining("kept retrying").hasMessageNotContaining("\n");
        assertThat(said).anyMatch(l -> l.startsWith("egress denied: blocked.example ") && l.endsWith("stopping it"));
        said.clear();
        build("FROM " + BASE + "\nRUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do busybox nslookup blocked.example"
                + " >/dev/null 2>&1; echo still working $i; sleep 1; done\n", allowServer(), said);
        assertThat(said).anyMatch(l -> l.startsWith("egress denied: blocked.example"))
                .noneMatch(l -> l.endsWith("stopping it")).contains("still working 14");
    }

    @Test
    void whatTheNetworkDoesNotAllowIsNeverRequested() throws Exception {
        String u = "http://127.0.0.1:" + port;
        List<String[]> cases = List.of(
                // no network: a one-line error naming what to give
                new String[] {"ADD " + u + "/files/hello.txt /x", "none", "and the build has none"},
                // a name the policy allows that resolves to loopback: refused as the gate refuses it (rebinding)
                new String[] {"ADD http://localhost:" + port + "/files/hello.txt /x", "localhost",
                    "the address 127.0.0.1 is loopback (127.0.0.0/8)"},
                // an address no entry allows
                new String[] {"ADD " + u + "/files/hello.txt /x", "other", "not in the allow-list"},
                // NAT never reaches the host's loopback
                new String[] {"ADD " + u + "/files/hello.txt /x", "nat", "loopback"});
        for (String[] c : cases) {
            Network n = switch (c[1]) {
                case "none" -> Network.NONE;
                case "nat" -> Network.NAT;
                case "localhost" -> Network.policy(EgressPolicy.parse(List.of("localhost"), List.of(), List.of(),
                        List.of(), List.of()));
                default -> Network.policy(EgressPolicy.parse(List.of(), List.of("127.0.0.3/32:" + port), List.of(),
                        List.of(), List.of()));
            };
            assertThatThrownBy(() -> build("FROM " + BASE + "\n" + c[0] + "\n", n, new ArrayList<>()))
                    .as(c[1]).isInstanceOf(DavitException.class).hasMessageContaining("Containerfile:2: ADD")
                    .hasMessageContaining(c[2]).satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        }
        assertThat(hits).isEmpty();
        // a redirect is judged again: the allowed server's redirect to an address the policy does not allow
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD " + u + "/away /x\n", allowServer(), new ArrayList<>()))
                .hasMessageContaining("127.0.0.2").hasMessageContaining("not in the allow-list");
        assertThat(otherHits).hasValue(0);
        assertThat(hits.get("/away")).hasValue(1);
    }

    /**
     * The host's own address (the host side of the test's veth pair, TestInternet) is fetched from only through an
     * address entry naming exactly it: {@code 0.0.0.0/0}, {@code 128.0.0.0/1} or its /24 are refused before any
     * request.
     */
    @Test
    void anAddUrlOnTheHostsOwnAddressNeedsAnEntryNamingIt() throws Exception {
        TestInternet.assumeAvailable();
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.davit.sandbox.container.Overlay.ROOT,
                "the test Internet needs root");
        try (TestInternet net = TestInternet.start()) {
            AtomicInteger hostHits = new AtomicInteger();
            HttpServer host = HttpServer.create(new InetSocketAddress(net.hostSideAddress(), 0), 0);
            host.createContext("/", ex -> {
                hostHits.incrementAndGet();
                reply(ex, 200, HELLO, false);
            });
            host.start();
            try {
                int p = host.getAddress().getPort();
                String text = "FROM " + BASE + "\nADD http://" + net.hostSideAddress() + ":" + p + "/h.txt /h.txt\n";
                for (String wide : List.of("0.0.0.0/0", "128.0.0.0/1", "198.18." + net.subnet() + ".0/24")) {
                    Network n = Network.policy(EgressPolicy.parse(List.of(), List.of(wide + ":" + p), List.of(),
                            List.of(), List.of()));
                    assertThatThrownBy(() -> build(text, n, new ArrayList<>())).as(wide)
                            .hasMessageContaining("the host's own, which only the address entry "
                                    + net.hostSideAddress() + "/32 opens");
                }
                assertThat(hostHits.get()).as("never requested").isZero();
                build(text, Network.policy(EgressPolicy.parse(List.of(), List.of(net.hostSideAddress() + "/32:" + p),
                        List.of(), List.of(), List.of())), new ArrayList<>());
                assertThat(run("cat", "/h.txt")).isEqualTo(HELLO);
                assertThat(hostHits.get()).isEqualTo(1);
            } finally {
                host.stop(0);
            }
        }
    }

    @Test
    void aWrongChecksumACredentialOrAFailedAnswerIsAnErrorThatKeepsSecretsOut() throws Exception {
        String u = "http://127.0.0.1:" + port;
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD --checksum=sha256:" + "0".repeat(64) + " " + u
                + "/files/hello.txt /x\n", allowServer(), new ArrayList<>()))
                .hasMessageContaining("is " + sha256(HELLO) + ", not the sha256:" + "0".repeat(64));
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD http://user:hunter2@127.0.0.1:" + port
                + "/files/hello.txt /x\n", allowServer(), new ArrayList<>()))
                .hasMessageContaining("a URL with a user name or password is not fetched")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2"));
        List<String> said = new ArrayList<>();
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD " + u + "/missing?token=s3cr3t /x\n", allowServer(),
                said)).hasMessageContaining("answered HTTP 404")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cr3t"));
        assertThat(said).anyMatch(l -> l.contains("ADD " + u + "/missing?…")).noneMatch(l -> l.contains("s3cr3t"));
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD http://user:hunter2@127.0.0.1:" + port
                + "/a{b}#frag /x\n", allowServer(), said)).hasMessageContaining("is not a valid URL")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2").doesNotContain("frag"));
        assertThat(said).noneMatch(l -> l.contains("hunter2"));
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD " + u + "/ /dir/\n", allowServer(), new ArrayList<>()))
                .hasMessageContaining("names no file to put into /dir/");
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD git@example.com:x/y.git /x\n", allowServer(),
                new ArrayList<>())).hasMessageContaining("ADD of a git repository is not supported");
        assertThat(client.find("localhost/test/add-url:1")).isEmpty(); // nothing half-built is named
    }

    @Test
    void httpsChecksTheCertificateAgainstTheNameWhileConnectingToTheCheckedAddress() throws Exception {
        Path store = tmp.resolve("tls.p12");
        char[] pass = "davit-test".toCharArray();
        Tools.run(null, List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "web", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost", "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", new String(pass), "-keypass", new String(pass)));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, pass);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pass);
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(serverTls));
        https.createContext("/", ex -> reply(ex, 200, HELLO, false));
        https.start();
        try {
            int p = https.getAddress().getPort();
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("web", ks.getCertificate("web"));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext clientTls = SSLContext.getInstance("TLS");
            clientTls.init(null, tmf.getTrustManagers(), null);
            HostResolver resolver = new HostResolver(Path.of("/etc/hosts"), Path.of("/etc/resolv.conf"));
            // the name and its loopback address, both explicitly allowed
            Network n = Network.policy(EgressPolicy.parse(List.of("localhost:" + p), List.of("127.0.0.1/32:" + p),
                    List.of(), List.of(), List.of()));
            UrlFetch.Result r = new UrlFetch(n, resolver, clientTls).fetch(URI.create("https://localhost:" + p
                    + "/f"), tmp.resolve("f1"), 1 << 20);
            assertThat(Files.readString(r.file())).isEqualTo(HELLO);
            assertThat(r.sha256()).isEqualTo(sha256(HELLO));
            // the address itself is not the certificate's name: refused, as is a certificate no one trusts
            assertThatThrownBy(() -> new UrlFetch(n, resolver, clientTls).fetch(URI.create("https://127.0.0.1:" + p
                    + "/f"), tmp.resolve("f2"), 1 << 20)).isInstanceOf(UrlFetch.FetchException.class)
                    .hasMessageContaining("TLS with https://127.0.0.1:" + p + "/f failed");
            assertThatThrownBy(() -> new UrlFetch(n).fetch(URI.create("https://localhost:" + p + "/f"),
                    tmp.resolve("f3"), 1 << 20)).isInstanceOf(UrlFetch.FetchException.class)
                    .hasMessageContaining("TLS with https://localhost:" + p + "/f failed");
            assertThat(tmp.resolve("f2")).doesNotExist();
            assertThat(tmp.resolve("f3")).doesNotExist();
            // a body over the bound: refused, nothing left
            assertThatThrownBy(() -> new UrlFetch(n, resolver, clientTls).fetch(URI.create("https://localhost:" + p
                    + "/f"), tmp.resolve("f4"), 5)).hasMessageContaining("over the 5 a fetch may have");
            assertThat(tmp.resolve("f4")).doesNotExist();
        } finally {
            https.stop(0);
        }
    }
}
