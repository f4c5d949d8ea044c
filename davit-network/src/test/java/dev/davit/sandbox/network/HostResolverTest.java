package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The resolver against real name servers on loopback addresses (DnsFixture: UDP and TCP), real hosts and resolv.conf
 * files: answers, caches, silence, spoofed replies, truncation, CNAME chains.
 */
@Timeout(120) // a guard against a hang only: no timing is asserted
class HostResolverTest {
    @TempDir
    Path dir;

    static Inet4Address ip(String s) throws IOException {
        return (Inet4Address) InetAddress.getByName(s);
    }

    HostResolver resolver(int timeoutMillis, DnsFixture... servers) throws IOException {
        Path hosts = dir.resolve("hosts");
        if (!Files.exists(hosts)) {
            Files.writeString(hosts, "127.0.0.1 localhost\n");
        }
        List<InetSocketAddress> ns = new ArrayList<>();
        for (DnsFixture f : servers) {
            ns.add(f.address);
        }
        return new HostResolver(hosts, ns, timeoutMillis, 2);
    }

    static DnsFixture.Handler answering(long ttl, int lastOctet) {
        return (q, query, client, tcp) -> List.of(DnsFixture.answer(q, query, ttl, lastOctet));
    }

    static DnsFixture.Handler code(int rcode) {
        return (q, query, client, tcp) -> List.of(DnsServer.error(q, query, rcode));
    }

    @Test
    void resolvesThroughTheServerAndCachesTheAnswer() throws IOException {
        try (DnsFixture f = DnsFixture.start(answering(60, 1))) {
            HostResolver r = resolver(2000, f);
            HostResolver.Result got = r.resolve("Allowed.Test.");
            assertThat(got.error()).isNull();
            assertThat(got.addresses()).containsExactly(ip("192.0.2.1"));
            assertThat(got.ttlSeconds()).isBetween(1, 60);
            assertThat(got.nxdomain()).isFalse();
            assertThat(r.resolve("allowed.test").addresses()).containsExactly(ip("192.0.2.1"));
            assertThat(f.udpQueries).hasValue(1);
        }
    }

    @Test
    void ttlsAreCappedAndFloored() throws IOException {
        try (DnsFixture big = DnsFixture.start(answering(100_000, 1));
                DnsFixture zero = DnsFixture.start(answering(0, 2))) {
            assertThat(resolver(2000, big).resolve("a.test").ttlSeconds()).isEqualTo(HostResolver.MAX_TTL);
            assertThat(resolver(2000, zero).resolve("a.test").ttlSeconds()).isEqualTo(1);
        }
    }

    @Test
    void nxdomainAndNodataAreCachedNegatively() throws IOException {
        try (DnsFixture nx = DnsFixture.start(code(DnsMessage.NXDOMAIN));
                DnsFixture nodata = DnsFixture.start((q, query, client, tcp) ->
                        List.of(DnsServer.answerA(q, query, List.of(), 60)))) {
            HostResolver r = resolver(2000, nx);
            for (int i = 0; i < 3; i++) {
                HostResolver.Result got = r.resolve("denied.test");
                assertThat(got.nxdomain()).isTrue();
                assertThat(got.error()).isNull();
                assertThat(got.addresses()).isEmpty();
                assertThat(got.ttlSeconds()).isBetween(1, HostResolver.NEGATIVE_TTL);
            }
            assertThat(nx.udpQueries).hasValue(1);
            HostResolver r2 = resolver(2000, nodata);
            assertThat(r2.resolve("v6.test")).isEqualTo(new HostResolver.Result(List.of(), 30, false, null));
            r2.resolve("v6.test");
            assertThat(nodata.udpQueries).hasValue(1);
        }
    }

    @Test
    void aServerThatNeverAnswersEndsInAnErrorAndTheNextServerIsAsked() throws IOException {
        try (DnsFixture silent = DnsFixture.start((q, query, client, tcp) -> List.of());
                DnsFixture ok = DnsFixture.start(answering(60, 3))) {
            HostResolver.Result got = resolver(200, silent).resolve("allowed.test");
            assertThat(got.addresses()).isEmpty();
            assertThat(got.nxdomain()).isFalse();
            assertThat(got.error()).startsWith("no answer from 127.0.0.1:" + silent.address.getPort());
            assertThat(silent.udpQueries).as("attempts:2").hasValue(2);
            assertThat(resolver(200, silent).resolve("allowed.test").error()).as("failures are not cached")
                    .isNotNull();

            assertThat(resolver(200, silent, ok).resolve("allowed.test").addresses())
                    .containsExactly(ip("192.0.2.3"));
        }
    }

    @Test
    void servfailAndRefusedGoOnToTheNextServer() throws IOException {
        try (DnsFixture fail = DnsFixture.start(code(DnsMessage.SERVFAIL));
                DnsFixture refuse = DnsFixture.start(code(DnsMessage.REFUSED));
                DnsFixture ok = DnsFixture.start(answering(60, 4))) {
            assertThat(resolver(2000, fail, refuse, ok).resolve("allowed.test").addresses())
                    .containsExactly(ip("192.0.2.4"));
            HostResolver.Result got = resolver(2000, fail, refuse).resolve("allowed.test");
            assertThat(got.error()).contains("response code 5");
            assertThat(got.nxdomain()).isFalse();
        }
    }

    @Test
    void spoofedRepliesAreIgnored() throws IOException {
        try (DatagramChannel spoofer = DatagramChannel.open(StandardProtocolFamily.INET);
                DnsFixture f = DnsFixture.start((q, query, client, tcp) -> {
                    // another ID, another question, a reply from another port with the right ID: then the answer
                    byte[] wrongId = DnsFixture.answer(q, query, 60, 66);
                    wrongId[1] ^= 1;
                    byte[] other = DnsMessage.queryA(q.id(), "denied.test");
                    DnsServer.Question oq = DnsServer.parseQuery(other, other.length);
                    byte[] wrongQuestion = DnsFixture.answer(oq, other, 60, 67);
                    spoofer.send(ByteBuffer.wrap(DnsFixture.answer(q, query, 60, 68)), client);
                    return List.of(wrongId, wrongQuestion, DnsFixture.answer(q, query, 60, 5));
                })) {
            spoofer.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            for (int i = 0; i < 5; i++) {
                assertThat(resolver(2000, f).resolve("allowed" + i + ".test").addresses())
                        .containsExactly(ip("192.0.2.5"));
            }
        }
    }

    @Test
    void aTruncatedAnswerIsAskedAgainOverTcp() throws IOException {
        try (DnsFixture f = DnsFixture.start((q, query, client, tcp) -> {
            if (tcp) {
                return List.of(DnsFixture.answer(q, query, 60, 6, 7));
            }
            byte[] tc = DnsServer.error(q, query, 0);
            tc[2] |= 0x02;
            return List.of(tc);
        })) {
            HostResolver.Result got = resolver(2000, f).resolve("many.test");
            assertThat(got.addresses()).containsExactly(ip("192.0.2.6"), ip("192.0.2.7"));
            assertThat(f.tcpQueries).hasValue(1);
        }
    }

    @Test
    void aTcpServerThatHangsEndsInAnErrorToo() throws IOException {
        try (DnsFixture f = DnsFixture.start((q, query, client, tcp) -> {
            if (tcp) {
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return List.of();
            }
            byte[] tc = DnsServer.error(q, query, 0);
            tc[2] |= 0x02;
            return List.of(tc);
        })) {
            HostResolver.Result got = resolver(300, f).resolve("many.test");
            assertThat(got.addresses()).isEmpty();
            assertThat(got.error()).startsWith("no answer over TCP from 127.0.0.1:" + f.address.getPort());
        }
    }

    @Test
    void aTcpServerThatTricklesItsAnswerHasNoMoreTimeThanOneTry() throws IOException {
        try (DnsFixture f = DnsFixture.start((q, query, client, tcp) -> {
            if (tcp) {
                return List.of(DnsFixture.answer(q, query, 60, 11));
            }
            byte[] tc = DnsServer.error(q, query, 0);
            tc[2] |= 0x02;
            return List.of(tc);
        })) {
            f.trickleMillis = 150; // each byte well within the time per try, the whole answer (46 bytes) not
            HostResolver.Result got = new HostResolver(Files.writeString(dir.resolve("hosts"), ""),
                    List.of(f.address), 1000, 1).resolve("many.test");
            assertThat(got.addresses()).isEmpty();
            assertThat(got.error()).startsWith("no answer over TCP from 127.0.0.1:" + f.address.getPort());
        }
    }

    @Test
    void aClosedPortIsAnError() throws IOException {
        InetSocketAddress gone;
        try (DatagramChannel c = DatagramChannel.open(StandardProtocolFamily.INET)) {
            c.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            gone = (InetSocketAddress) c.getLocalAddress();
        }
        Path hosts = Files.writeString(dir.resolve("hosts"), "");
        HostResolver.Result got = new HostResolver(hosts, List.of(gone), 2000, 1).resolve("allowed.test");
        assertThat(got.addresses()).isEmpty();
        assertThat(got.error()).contains("127.0.0.1:" + gone.getPort());
    }

    @Test
    void aCnameChainIsFollowed() throws IOException {
        try (DnsFixture f = DnsFixture.start((q, query, client, tcp) -> List.of(
                DnsBytes.header(q.id(), 0x8180, 1, 3, 0, 0).name(q.name()).u16(1).u16(1)
                        .name("evil.test").a(60, 6, 6, 6, 6)
                        .pointer(12).cname(120, "cdn.test")
                        .name("cdn.test").a(40, 192, 0, 2, 8).toBytes()))) {
            HostResolver.Result got = resolver(2000, f).resolve("www.allowed.test");
            assertThat(got.addresses()).containsExactly(ip("192.0.2.8"));
            assertThat(got.ttlSeconds()).isBetween(1, 40);
        }
    }

    @Test
    void theHostsFileComesFirstAndIsReadAgainWhenItChanges() throws IOException {
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, """
                # a comment
                127.0.0.1\tlocalhost
                192.0.2.10  Host-A.test alias.test   # a trailing comment
                ::1 v6only.test localhost6
                192.0.2.11 host-a.test.
                not-an-address b.test
                192.0.2 c.test
                #192.0.2.12 commented.test
                """);
        try (DnsFixture f = DnsFixture.start(answering(60, 99))) {
            HostResolver r = resolver(2000, f);
            assertThat(r.resolve("HOST-A.test.")).isEqualTo(new HostResolver.Result(
                    List.of(ip("192.0.2.10"), ip("192.0.2.11")), HostResolver.HOSTS_TTL, false, null));
            assertThat(r.resolve("alias.test").addresses()).containsExactly(ip("192.0.2.10"));
            assertThat(r.resolve("localhost").addresses()).containsExactly(ip("127.0.0.1"));
            assertThat(f.udpQueries).hasValue(0);
            assertThat(r.resolve("v6only.test").addresses()).as("an IPv6 entry only: DNS")
                    .containsExactly(ip("192.0.2.99"));
            assertThat(r.resolve("commented.test").addresses()).containsExactly(ip("192.0.2.99"));

            Files.writeString(hosts, "192.0.2.20 new.test host-a.test\n");
            Files.setLastModifiedTime(hosts, FileTime.from(Instant.now().plusSeconds(10)));
            assertThat(r.resolve("host-a.test").addresses()).containsExactly(ip("192.0.2.20"));
            assertThat(r.resolve("new.test").addresses()).containsExactly(ip("192.0.2.20"));
            assertThat(r.resolve("alias.test").addresses()).containsExactly(ip("192.0.2.99"));
        }
    }

    @Test
    void resolvConfIsReadAsGlibcReadsItAndAgainWhenItChanges() throws IOException {
        HostResolver.Servers s = HostResolver.parseResolvConf("""
                # generated
                search corp.example
                nameserver 192.0.2.53 # first
                nameserver 2001:db8::53
                ; a comment
                nameserver\t198.51.100.53
                nameserver not-an-address
                nameserver 203.0.113.53
                nameserver 203.0.113.54
                options ndots:5 timeout:99 attempts:0 rotate
                """);
        assertThat(s.addresses()).containsExactly(new InetSocketAddress(ip("192.0.2.53"), 53),
                new InetSocketAddress(ip("198.51.100.53"), 53), new InetSocketAddress(ip("203.0.113.53"), 53));
        assertThat(s.timeoutMillis()).isEqualTo(30_000);
        assertThat(s.attempts()).isEqualTo(1);
        assertThat(HostResolver.parseResolvConf("")).isEqualTo(new HostResolver.Servers(
                List.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), 53)), 2000, 2));
        assertThat(HostResolver.parseResolvConf("options timeout:3 attempts:4\nnameserver 192.0.2.1\n"))
                .isEqualTo(new HostResolver.Servers(List.of(new InetSocketAddress(ip("192.0.2.1"), 53)), 3000, 4));

        Path conf = dir.resolve("resolv.conf");
        Files.writeString(conf, "nameserver 192.0.2.1\n");
        HostResolver r = new HostResolver(dir.resolve("no-hosts"), conf);
        assertThat(r.servers().addresses()).containsExactly(new InetSocketAddress(ip("192.0.2.1"), 53));
        Files.writeString(conf, "nameserver 192.0.2.2\noptions timeout:1\n");
        Files.setLastModifiedTime(conf, FileTime.from(Instant.now().plusSeconds(10)));
        assertThat(r.servers()).isEqualTo(new HostResolver.Servers(
                List.of(new InetSocketAddress(ip("192.0.2.2"), 53)), 1000, 2));
    }

    @Test
    void theFileBasedResolverAsksTheServerResolvConfNames() throws IOException {
        // resolv.conf has no port: a server on port 53 of a loopback address of its own (binding it needs root)
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        InetSocketAddress at = new InetSocketAddress(
                InetAddress.getByAddress(new byte[] {127, 53, (byte) rnd.nextInt(1, 255), (byte) rnd.nextInt(1, 255)}),
                53);
        DnsFixture f;
        try {
            f = DnsFixture.start(at, answering(60, 9));
        } catch (IOException e) {
            assumeTrue(false, "cannot bind " + at + ": " + e);
            return;
        }
        try (f) {
            Path conf = dir.resolve("resolv.conf");
            Files.writeString(conf, "search example.org\noptions ndots:9\nnameserver "
                    + at.getAddress().getHostAddress() + "\n");
            HostResolver r = new HostResolver(dir.resolve("missing-hosts"), conf);
            assertThat(r.resolve("allowed.test").addresses()).containsExactly(ip("192.0.2.9"));
        }
    }

    @Test
    void badNamesAndManyThreads() throws Exception {
        try (DnsFixture f = DnsFixture.start(answering(60, 10))) {
            HostResolver r = resolver(2000, f);
            assertThat(r.resolve("a..test").error()).isEqualTo("not a DNS name");
            assertThat(r.resolve(null).error()).isEqualTo("not a DNS name");
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<HostResolver.Result>> all = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    String name = "n" + (i % 8) + ".test";
                    all.add(pool.submit(() -> r.resolve(name)));
                }
                for (Future<HostResolver.Result> g : all) {
                    assertThat(g.get().addresses()).containsExactly(ip("192.0.2.10"));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
