package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.management.ManagementFactory;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Fuzzes the egress gate's parsers with whatever a sandbox could send. Whatever the bytes: no exception, a result
 * whose name is in the form the policy compares, the same answer for a prefix (or "need more") once a prefix has
 * decided, and no more memory than the input and the parsers' caps allow (so no loop runs away either: each step of
 * each loop allocates or consumes input).
 *
 * <p>Without {@code JAZZER_FUZZ} it runs the seeds in
 * {@code src/test/resources/dev/davit/sandbox/network/NetworkFuzzTestInputs/<method>/}. To fuzz one method:
 * {@code JAZZER_FUZZ=1 mvn -pl davit-network -am test -Dtest='NetworkFuzzTest#fuzzDns'
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class NetworkFuzzTest {
    /** A host name in the policy's form. */
    private static final String HOSTNAME = "(?=.{1,253}$)[a-z0-9_-]{1,63}(\\.[a-z0-9_-]{1,63})*";
    private static final Inet4Address ADDRESS;

    static {
        try {
            ADDRESS = (Inet4Address) InetAddress.getByAddress(new byte[] {(byte) 192, 0, 2, 1});
        } catch (UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
        // the first calls load classes, which allocates: not the input's doing
        byte[] q = DnsBytes.digQuery(1, "a.test", 1);
        dns(q);
        dns(DnsMessage.answerA(DnsMessage.parseQuery(q, q.length), q, List.of(ADDRESS), 1));
        for (byte[] hello : List.of(new byte[] {22, 3}, new byte[] {23}, TlsClientHelloTest.handHello(),
                TlsClientHelloTest.handHello(0, TlsClientHelloTest.serverNames(0, "a.test")),
                TlsClientHelloTest.handHello(0, TlsClientHelloTest.serverNames(0, "a..test")),
                TlsClientHelloTest.records(TlsClientHelloTest.handHelloHandshake(), 9))) {
            tls(hello);
        }
        for (String head : List.of("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: [::1]:1\r\n\r\n", "GET / HTTP/1.0\r\n\r\n", "G", "X",
                "CONNECT a:1 HTTP/1.1\r\n\r\n")) {
            http(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static void dns(byte[] in) {
        DnsMessage.Question q = DnsMessage.parseQuery(in, in.length);
        if (q != null) {
            assertThat(DnsMessage.name(q.name())).isEqualTo(q.name());
            assertThat(q.questionEnd()).isBetween(DnsMessage.HEADER + 6, in.length);
            byte[] a = DnsMessage.answerA(q, in, List.of(ADDRESS, ADDRESS), 60);
            assertThat(DnsMessage.parseQuery(a, a.length)).as("an answer is no query").isNull();
            DnsMessage.Answer back = DnsMessage.parseAnswer(a, a.length, q.id(), q.name());
            if (q.type() == DnsMessage.TYPE_A && q.qclass() == DnsMessage.CLASS_IN) {
                assertThat(back.addresses()).hasSize(2);
            }
            assertThat(DnsMessage.error(q, in, DnsMessage.NXDOMAIN)).hasSize(q.questionEnd());
        } else {
            byte[] f = DnsMessage.formErr(in, in.length);
            if (f != null) {
                assertThat(f).hasSize(DnsMessage.HEADER);
            }
        }
        int id = in.length >= 2 ? DnsMessage.u16(in, 0) : 0;
        for (String name : new String[] {"a.test", q == null ? "b.test" : q.name()}) {
            DnsMessage.Answer a = DnsMessage.parseAnswer(in, in.length, id, name);
            if (a != null) {
                assertThat(a.rcode()).isBetween(0, 15);
                assertThat(a.minTtl()).isNotNegative();
                assertThat(a.addresses().size()).isLessThanOrEqualTo(in.length / 14);
            }
        }
    }

    private static TlsClientHello.Result tls(byte[] in) {
        TlsClientHello.Result r = TlsClientHello.sni(in, in.length);
        assertThat(r).isNotNull();
        if (r instanceof TlsClientHello.Sni s) {
            assertThat(s.name()).matches(HOSTNAME);
        }
        return r;
    }

    private static HttpRequestHead.Result http(byte[] in) {
        HttpRequestHead.Result r = HttpRequestHead.host(in, in.length);
        assertThat(r).isNotNull();
        if (r instanceof HttpRequestHead.Host h) {
            assertThat(h.port()).isBetween(-1, 65535).isNotZero();
            assertThat(h.name()).matches(h.name().contains(":") ? "[0-9a-f:.]+" : HOSTNAME);
        }
        return r;
    }

    @DictionaryEntries({"\u0000\u0001\u0000\u0001", "\u0000\u0005\u0000\u0001", "\u0000\u0000\u0029", "\u00c0\u000c",
        "\u0081\u0080", "\u0001\u0000\u0000\u0001", "\u0004test", "\u0007allowed"})
    @FuzzTest(maxDuration = "60s")
    void fuzzDns(byte[] input) {
        long a0 = allocated();
        dns(input);
        // each name read is at most 253 characters and each record takes at least 11 bytes of input
        assertThat(allocated() - a0).as("bytes allocated").isLessThan((1L << 20) + 256L * input.length);
    }

    @DictionaryEntries({"\u0016\u0003\u0001", "\u0016\u0003\u0003", "\u0000\u0000", "\u0000\u0010", "\u002b",
        "allowed.test", "\u0013\u0001"})
    @FuzzTest(maxDuration = "60s")
    void fuzzTlsClientHello(byte[] input) {
        long a0 = allocated();
        TlsClientHello.Result r = tls(input);
        assertThat(allocated() - a0).as("bytes allocated").isLessThan(4L * TlsClientHello.MAX_HELLO + 16L * input.length);
        if (!(r instanceof TlsClientHello.NotTls) && !(r instanceof TlsClientHello.NeedMore)) {
            TlsClientHello.Result half = TlsClientHello.sni(input, input.length / 2);
            assertThat(half).isIn(r, new TlsClientHello.NeedMore());
        }
    }

    @DictionaryEntries({"GET ", "CONNECT ", " HTTP/1.1", "Host: ", "host:", "http://", "[::1]", ":443", "@"})
    @FuzzTest(maxDuration = "60s")
    void fuzzHttpRequestHead(byte[] input) {
        long a0 = allocated();
        HttpRequestHead.Result r = http(input);
        assertThat(allocated() - a0).as("bytes allocated").isLessThan((64L << 10) + 16L * input.length);
        int end = HttpRequestHead.headEnd(input, input.length);
        if (r instanceof HttpRequestHead.Host || r instanceof HttpRequestHead.NoHost) {
            assertThat(end).isPositive();
            assertThat(HttpRequestHead.host(input, end - 1)).isEqualTo(new HttpRequestHead.NeedMore());
            assertThat(HttpRequestHead.host(input, end)).isEqualTo(r);
        }
    }
}
