package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Network;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link UrlFetch} against a server on loopback, for what an attack review found: an address deny rule holds for a
 * name the policy allows (as the gate holds it); a server that trickles bytes cannot hold a fetch past its deadline;
 * only strict address forms are addresses (an all-digit name is a name, never handed to the system's resolver); a
 * path beyond ASCII is sent percent-encoded, never as a '?'.
 */
class UrlFetchTest {
    @TempDir
    Path tmp;

    HttpServer server;
    int port;
    final List<String> requests = new CopyOnWriteArrayList<>();
    HostResolver resolver;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        port = server.getAddress().getPort();
        server.createContext("/", ex -> {
            requests.add(ex.getRequestURI().getRawPath());
            if (ex.getRequestURI().getPath().equals("/slow")) {
                ex.sendResponseHeaders(200, 0);
                try (OutputStream out = ex.getResponseBody()) {
                    for (int i = 0; i < 20; i++) {
                        out.write('x');
                        out.flush();
                        Thread.sleep(500);
                    }
                } catch (Exception gone) {
                    // the client left
                }
                return;
            }
            byte[] b = "ok\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        });
        server.start();
        Path hosts = Files.writeString(tmp.resolve("hosts"), "127.0.0.1 evil.test\n");
        // no name server is asked: every name here is in the hosts file
        Path resolv = Files.writeString(tmp.resolve("resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1"
                + " attempts:1\n");
        resolver = new HostResolver(hosts, resolv);
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private static Network policy(List<String> hosts, List<String> cidrs, List<String> denyCidrs) {
        return Network.policy(EgressPolicy.parse(hosts, cidrs, List.of(), List.of(), denyCidrs));
    }

    @Test
    void anAddressDenyRuleHoldsForANameThePolicyAllows() throws Exception {
        Network allowed = policy(List.of("evil.test"), List.of("127.0.0.1/32:" + port), List.of());
        new UrlFetch(allowed, resolver, null).fetch(URI.create("http://evil.test:" + port + "/a"),
                tmp.resolve("a"), 1 << 20);
        assertThat(requests).containsExactly("/a");
        Network denied = policy(List.of("evil.test"), List.of("127.0.0.1/32:" + port), List.of("127.0.0.0/8"));
        assertThatThrownBy(() -> new UrlFetch(denied, resolver, null).fetch(URI.create("http://evil.test:" + port
                + "/b"), tmp.resolve("b"), 1 << 20)).isInstanceOf(UrlFetch.FetchException.class)
                .hasMessageContaining("denied");
        assertThat(requests).containsExactly("/a");
    }

    @Test
    void aTricklingServerCannotHoldAFetchPastItsDeadline() {
        Network n = policy(List.of(), List.of("127.0.0.1/32:" + port), List.of());
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> new UrlFetch(n, resolver, null, Duration.ofSeconds(2)).fetch(URI.create(
                "http://127.0.0.1:" + port + "/slow"), tmp.resolve("slow"), 1 << 20))
                .isInstanceOf(UrlFetch.FetchException.class).hasMessageContaining("was not fetched within 2 s");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
        assertThat(tmp.resolve("slow")).doesNotExist();
    }

    @Test
    void onlyStrictFormsAreAddressesAndPathsAreSentPercentEncoded() throws Exception {
        assertThat(UrlFetch.literal("127.0.0.1")).isNotNull();
        assertThat(UrlFetch.literal("[::1]")).isNotNull();
        for (String name : List.of("4294967296", "99999999999", "0177.0.0.1", "127.1", "1.2.3.256", "1.2.3.4.5",
                "::1", "[evil.test]", "0x7f.0.0.1")) {
            assertThat(UrlFetch.literal(name)).as(name).isNull();
        }
        Network n = policy(List.of(), List.of("127.0.0.1/32:" + port), List.of());
        new UrlFetch(n, resolver, null).fetch(new URI("http", null, "127.0.0.1", port, "/a\u0100b", null, null),
                tmp.resolve("u"), 1 << 20);
        assertThat(requests).containsExactly("/a%C4%80b");
        assertThat(UrlFetch.shown("https://user:pw@example.com/x?token=s3cr3t#frag")).isEqualTo(
                "https://example.com/x?…");
    }
}
