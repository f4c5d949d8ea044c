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
 * Fuzzes the DNS reader of davit's resolver ({@link HostResolver}) with whatever a name server could send (and the
 * tests' name server's query reader). Whatever the bytes: no exception, a result whose name is in the form the policy
 * compares, and no more memory than the input and the parsers' caps allow (so no loop runs away either: each step of
 * each loop allocates or consumes input). The egress gate's parsers (DNS queries, TLS ClientHello, HTTP request heads)
 * are davit-agent's, fuzzed by cargo-fuzz with their stored corpus (davit-jail/src/main/rust/fuzz; the TLS and HTTP
 * seeds that were here are there).
 *
 * <p>Without {@code JAZZER_FUZZ} it runs the seeds in
 * {@code src/test/resources/dev/davit/sandbox/network/NetworkFuzzTestInputs/<method>/}. To fuzz one method:
 * {@code JAZZER_FUZZ=1 mvn -pl davit-network -am test -Dtest='NetworkFuzzTest#fuzzDns'
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class NetworkFuzzTest {
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
        dns(DnsServer.answerA(DnsServer.parseQuery(q, q.length), q, List.of(ADDRESS), 1));
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static void dns(byte[] in) {
        DnsServer.Question q = DnsServer.parseQuery(in, in.length);
        if (q != null) {
            assertThat(DnsMessage.name(q.name())).isEqualTo(q.name());
            assertThat(q.questionEnd()).isBetween(DnsMessage.HEADER + 6, in.length);
            byte[] a = DnsServer.answerA(q, in, List.of(ADDRESS, ADDRESS), 60);
            assertThat(DnsServer.parseQuery(a, a.length)).as("an answer is no query").isNull();
            DnsMessage.Answer back = DnsMessage.parseAnswer(a, a.length, q.id(), q.name());
            if (q.type() == DnsMessage.TYPE_A && q.qclass() == DnsMessage.CLASS_IN) {
                assertThat(back.addresses()).hasSize(2);
            }
            assertThat(DnsServer.error(q, in, DnsMessage.NXDOMAIN)).hasSize(q.questionEnd());
        } else {
            byte[] f = DnsServer.formErr(in, in.length);
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

    @DictionaryEntries({"\u0000\u0001\u0000\u0001", "\u0000\u0005\u0000\u0001", "\u0000\u0000\u0029", "\u00c0\u000c",
        "\u0081\u0080", "\u0001\u0000\u0000\u0001", "\u0004test", "\u0007allowed"})
    @FuzzTest(maxDuration = "60s")
    void fuzzDns(byte[] input) {
        long a0 = allocated();
        dns(input);
        // each name read is at most 253 characters and each record takes at least 11 bytes of input
        assertThat(allocated() - a0).as("bytes allocated").isLessThan((1L << 20) + 256L * input.length);
    }
}
