package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** DNS queries as dig sends them (and broken or hostile ones), davit's answers, and name servers' answers. */
class DnsMessageTest {
    static final int OK_FLAGS = 0x8180; // QR RD RA

    static Inet4Address ip(String s) throws Exception {
        return (Inet4Address) InetAddress.getByName(s);
    }

    static DnsServer.Question parse(byte[] q) {
        return DnsServer.parseQuery(q, q.length);
    }

    @Test
    void digsQueryIsRead() {
        byte[] q = DnsBytes.digQuery(0xbeef, "Allowed.TEST", DnsMessage.TYPE_A);
        DnsServer.Question got = parse(q);
        assertThat(got).isNotNull();
        assertThat(got.id()).isEqualTo(0xbeef);
        assertThat(got.name()).isEqualTo("allowed.test");
        assertThat(got.type()).isEqualTo(DnsMessage.TYPE_A);
        assertThat(got.qclass()).isEqualTo(DnsMessage.CLASS_IN);
        assertThat(got.questionEnd()).isEqualTo(12 + 14 + 4);
        assertThat(parse(DnsBytes.digQuery(1, "a.test", DnsMessage.TYPE_AAAA)).type()).isEqualTo(28);
        byte[] any = DnsBytes.header(1, 0, 1, 0, 0, 0).name("a.test").u16(255).u16(255).toBytes();
        assertThat(parse(any).qclass()).isEqualTo(DnsMessage.CLASS_ANY);
        String longest = ("a".repeat(63) + ".").repeat(3) + "a".repeat(61); // 253 characters, 255 bytes on the wire
        assertThat(parse(DnsBytes.digQuery(1, longest, 1)).name()).isEqualTo(longest);
        assertThat(parse(DnsBytes.digQuery(1, "_svc._tcp.a-b.test", 1)).name()).isEqualTo("_svc._tcp.a-b.test");
    }

    @Test
    void whatIsNotOneStandardQueryIsRefused() {
        byte[] ok = DnsBytes.header(7, 0x0100, 1, 0, 0, 0).name("a.test").u16(1).u16(1).toBytes();
        assertThat(parse(ok)).isNotNull();
        assertThat(DnsServer.parseQuery(ok, ok.length - 1)).as("cut short").isNull();
        assertThat(DnsServer.parseQuery(ok, ok.length + 1)).as("len past the buffer").isNull();
        assertThat(DnsServer.parseQuery(null, 0)).isNull();
        assertThat(DnsServer.parseQuery(ok, 11)).isNull();
        for (byte[] bad : List.of(
                DnsBytes.header(7, 0x8100, 1, 0, 0, 0).name("a.test").u16(1).u16(1).toBytes(), // a response
                DnsBytes.header(7, 0x2800, 1, 0, 0, 0).name("a.test").u16(1).u16(1).toBytes(), // UPDATE
                DnsBytes.header(7, 0x0800, 1, 0, 0, 0).name("a.test").u16(1).u16(1).toBytes(), // IQUERY
                DnsBytes.header(7, 0x0100, 2, 0, 0, 0).name("a.test").u16(1).u16(1).name("b.test").u16(1).u16(1)
                        .toBytes(),
                DnsBytes.header(7, 0x0100, 0, 0, 0, 0).toBytes(),
                DnsBytes.header(7, 0x0100, 1, 1, 0, 0).name("a.test").u16(1).u16(1).toBytes(),
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).name("a.test").u16(1).u16(3).toBytes(), // CHAOS
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).name("").u16(2).u16(1).toBytes(), // the root
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).labels("a").pointer(12).u16(1).u16(1).toBytes(),
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).name("a.test").u16(1).toBytes(),
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).u8(3).u8('a').u8('.').u8('b').u8(0).u16(1).u16(1).toBytes(),
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).u8(3).u8('a').u8(' ').u8('b').u8(0).u16(1).u16(1).toBytes(),
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).u8(1).u8(0xe9).u8(0).u16(1).u16(1).toBytes(),
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).u8(0x40).toBytes(), // an extended label type
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).u8(5).u8('a').toBytes(), // a label past the end
                DnsBytes.header(7, 0x0100, 1, 0, 0, 0).labels(("a".repeat(63) + ".").repeat(4)
                        .substring(0, 255)).u8(0).u16(1).u16(1).toBytes())) { // 257 bytes on the wire
            assertThat(parse(bad)).as(Arrays.toString(bad)).isNull();
        }
    }

    @Test
    void answersEchoTheQuestionAndCarryTheAddresses() throws Exception {
        byte[] q = DnsBytes.digQuery(0x4242, "Allowed.test", 1);
        DnsServer.Question question = parse(q);
        byte[] r = DnsServer.answerA(question, q, List.of(ip("192.0.2.1"), ip("192.0.2.2")), 60);
        byte[] want = DnsBytes.header(0x4242, 0x8180, 1, 2, 0, 0).name("Allowed.test").u16(1).u16(1)
                .pointer(12).a(60, 192, 0, 2, 1).pointer(12).a(60, 192, 0, 2, 2).toBytes();
        assertThat(r).isEqualTo(want);
        // and a stub resolver reads it back
        DnsMessage.Answer back = DnsMessage.parseAnswer(r, r.length, 0x4242, "allowed.test");
        assertThat(back.addresses()).containsExactly(ip("192.0.2.1"), ip("192.0.2.2"));
        assertThat(back.minTtl()).isEqualTo(60);

        byte[] nodata = DnsServer.answerA(question, q, List.of(), 60);
        assertThat(nodata).isEqualTo(DnsBytes.header(0x4242, 0x8180, 1, 0, 0, 0).name("Allowed.test").u16(1).u16(1)
                .toBytes());
        byte[] noRd = DnsBytes.header(9, 0, 1, 0, 0, 0).name("a.test").u16(1).u16(1).toBytes();
        assertThat(DnsServer.error(parse(noRd), noRd, DnsMessage.NXDOMAIN)).isEqualTo(
                DnsBytes.header(9, 0x8083, 1, 0, 0, 0).name("a.test").u16(1).u16(1).toBytes());
        assertThat(DnsServer.error(question, q, DnsMessage.REFUSED)[3]).isEqualTo((byte) 0x85);

        Inet4Address[] many = new Inet4Address[100];
        Arrays.fill(many, ip("192.0.2.9"));
        byte[] big = DnsServer.answerA(question, q, List.of(many), -5);
        assertThat(big.length).isLessThanOrEqualTo(DnsMessage.MAX_UDP);
        DnsMessage.Answer capped = DnsMessage.parseAnswer(big, big.length, 0x4242, "allowed.test");
        assertThat(capped.addresses()).hasSize((512 - 30) / 16);
        assertThat(capped.minTtl()).isZero();
    }

    @Test
    void formErrAnswersWhatCannotBeRead() {
        byte[] junk = {0x12, 0x34, 0x01, 0x00, 9, 9, 9, 9, 9, 9, 9, 9, 9};
        assertThat(DnsServer.formErr(junk, junk.length))
                .isEqualTo(DnsBytes.header(0x1234, 0x8181, 0, 0, 0, 0).toBytes());
        assertThat(DnsServer.formErr(junk, 11)).isNull();
        byte[] response = junk.clone();
        response[2] = (byte) 0x81;
        assertThat(DnsServer.formErr(response, response.length)).as("never answer an answer").isNull();
    }

    @Test
    void aCnameChainIsFollowedAndUnrelatedRecordsAreIgnored() throws Exception {
        // www.allowed.test CNAME cdn.allowed.test CNAME edge.cdn.test A 192.0.2.7; the rest is poison
        DnsBytes m = DnsBytes.header(77, OK_FLAGS, 1, 6, 1, 1).name("www.allowed.test").u16(1).u16(1);
        m.pointer(12).a(9, 203, 0, 113, 66); // an address beside a CNAME: not where the chain ends
        m.pointer(12).cname(300, "cdn.allowed.test");
        int cdn = m.size();
        m.labels("cdn").pointer(16).rr(5, 120, new DnsBytes().labels("edge").labels("cdn").labels("test").u8(0)
                .toBytes());
        m.labels("denied").pointer(24).a(3600, 198, 51, 100, 1); // denied.test A: unrelated
        m.labels("edge").labels("cdn").labels("test").u8(0).a(60, 192, 0, 2, 7);
        m.pointer(cdn).a(30, 198, 51, 100, 2); // cdn.allowed.test A: a name in the chain, not its end
        m.name("allowed.test").a(1, 6, 6, 6, 6); // authority
        m.pointer(12).a(1, 7, 7, 7, 7); // additional, for the very name asked
        byte[] b = m.toBytes();
        DnsMessage.Answer a = DnsMessage.parseAnswer(b, b.length, 77, "WWW.allowed.test.");
        assertThat(a).isNotNull();
        assertThat(a.rcode()).isZero();
        assertThat(a.addresses()).containsExactly(ip("192.0.2.7"));
        assertThat(a.minTtl()).isEqualTo(60);
        assertThat(a.truncated()).isFalse();
    }

    @Test
    void cnameLoopsAndLongChainsEndWithoutAddresses() {
        byte[] loop = DnsBytes.header(1, OK_FLAGS, 1, 3, 0, 0).name("a.test").u16(1).u16(1)
                .name("a.test").cname(60, "b.test").name("b.test").cname(60, "a.test").name("a.test").a(60, 1, 2, 3, 4)
                .toBytes();
        DnsMessage.Answer a = DnsMessage.parseAnswer(loop, loop.length, 1, "a.test");
        assertThat(a).isNotNull();
        assertThat(a.addresses()).isEmpty();

        DnsBytes chain = DnsBytes.header(1, OK_FLAGS, 1, 21, 0, 0).name("c0.test").u16(1).u16(1);
        for (int i = 0; i < 20; i++) {
            chain.name("c" + i + ".test").cname(60, "c" + (i + 1) + ".test");
        }
        chain.name("c20.test").a(60, 1, 2, 3, 4);
        byte[] b = chain.toBytes();
        assertThat(DnsMessage.parseAnswer(b, b.length, 1, "c0.test").addresses()).as("longer than MAX_CHAIN")
                .isEmpty();
    }

    @Test
    void compressionLoopsAndPointersOutOfRangeAreMalformed() {
        // a label then a pointer back to it: the name goes round until the bounds stop it
        DnsBytes loop = DnsBytes.header(1, OK_FLAGS, 1, 1, 0, 0).name("a.test").u16(1).u16(1);
        int at = loop.size();
        loop.labels("x").pointer(at).a(60, 1, 2, 3, 4);
        byte[] b = loop.toBytes();
        assertThat(DnsMessage.parseAnswer(b, b.length, 1, "a.test")).isNull();

        byte[] self = DnsBytes.header(1, OK_FLAGS, 1, 1, 0, 0).name("a.test").u16(1).u16(1).pointer(24)
                .a(60, 1, 2, 3, 4).toBytes();
        assertThat(DnsMessage.parseAnswer(self, self.length, 1, "a.test")).as("a pointer to itself").isNull();
        byte[] forward = DnsBytes.header(1, OK_FLAGS, 1, 1, 0, 0).name("a.test").u16(1).u16(1).pointer(200)
                .a(60, 1, 2, 3, 4).toBytes();
        assertThat(DnsMessage.parseAnswer(forward, forward.length, 1, "a.test")).as("out of range").isNull();
        byte[] header = DnsBytes.header(1, OK_FLAGS, 1, 1, 0, 0).name("a.test").u16(1).u16(1).pointer(2)
                .a(60, 1, 2, 3, 4).toBytes();
        assertThat(DnsMessage.parseAnswer(header, header.length, 1, "a.test")).as("into the header").isNull();
        byte[] cut = DnsBytes.header(1, OK_FLAGS, 1, 1, 0, 0).name("a.test").u16(1).u16(1).u8(0xc0).toBytes();
        assertThat(DnsMessage.parseAnswer(cut, cut.length, 1, "a.test")).as("half a pointer").isNull();
        byte[] rdata = DnsBytes.header(1, OK_FLAGS, 1, 1, 0, 0).name("a.test").u16(1).u16(1).pointer(12)
                .u16(1).u16(1).u32(60).u16(400).u32(0).toBytes();
        assertThat(DnsMessage.parseAnswer(rdata, rdata.length, 1, "a.test")).as("rdata past the end").isNull();
        byte[] count = DnsBytes.header(1, OK_FLAGS, 1, 65535, 0, 0).name("a.test").u16(1).u16(1).pointer(12)
                .a(60, 1, 2, 3, 4).toBytes();
        assertThat(DnsMessage.parseAnswer(count, count.length, 1, "a.test")).as("a count the message cannot hold")
                .isNull();
    }

    @Test
    void anAnswerToAnotherQueryIsRefused() throws Exception {
        byte[] ok = DnsBytes.header(5, OK_FLAGS, 1, 1, 0, 0).name("a.test").u16(1).u16(1).pointer(12)
                .a(0x80000000L, 1, 2, 3, 4).toBytes();
        DnsMessage.Answer a = DnsMessage.parseAnswer(ok, ok.length, 5, "a.test");
        assertThat(a.addresses()).containsExactly(ip("1.2.3.4"));
        assertThat(a.minTtl()).as("a TTL with the top bit set is 0").isZero();
        assertThat(DnsMessage.parseAnswer(ok, ok.length, 6, "a.test")).as("another ID").isNull();
        assertThat(DnsMessage.parseAnswer(ok, ok.length, 5, "b.test")).as("another name").isNull();
        assertThat(DnsMessage.parseAnswer(ok, ok.length - 1, 5, "a.test")).as("cut short").isNull();
        byte[] query = ok.clone();
        query[2] = 0x01;
        assertThat(DnsMessage.parseAnswer(query, query.length, 5, "a.test")).as("QR 0").isNull();
        byte[] aaaa = DnsBytes.header(5, OK_FLAGS, 1, 0, 0, 0).name("a.test").u16(28).u16(1).toBytes();
        assertThat(DnsMessage.parseAnswer(aaaa, aaaa.length, 5, "a.test")).as("another type").isNull();

        byte[] nx = DnsBytes.header(5, 0x8183, 1, 0, 0, 0).name("a.test").u16(1).u16(1).toBytes();
        assertThat(DnsMessage.parseAnswer(nx, nx.length, 5, "a.test"))
                .isEqualTo(new DnsMessage.Answer(3, List.of(), 0, false));
        byte[] tc = DnsBytes.header(5, 0x8380, 1, 0, 0, 0).name("a.test").u16(1).u16(1).toBytes();
        assertThat(DnsMessage.parseAnswer(tc, tc.length, 5, "a.test").truncated()).isTrue();
        byte[] wrongLength = DnsBytes.header(5, OK_FLAGS, 1, 1, 0, 0).name("a.test").u16(1).u16(1).pointer(12)
                .rr(1, 60, new byte[16]).toBytes();
        assertThat(DnsMessage.parseAnswer(wrongLength, wrongLength.length, 5, "a.test").addresses())
                .as("an A record of 16 bytes").isEmpty();
    }

    @Test
    void queriesAndTcpFrames() {
        byte[] q = DnsMessage.queryA(0x1234, "Allowed.Test.");
        assertThat(q).isEqualTo(DnsBytes.header(0x1234, 0x0100, 1, 0, 0, 0).name("allowed.test").u16(1).u16(1)
                .toBytes());
        assertThat(parse(q).name()).isEqualTo("allowed.test");
        assertThatThrownBy(() -> DnsMessage.queryA(1, "a..test")).isInstanceOf(IllegalArgumentException.class);
        assertThat(DnsMessage.tcpFrame(new byte[] {1, 2, 3})).containsExactly(0, 3, 1, 2, 3);
        assertThat(DnsMessage.tcpFrameLength(new byte[] {1, 2}, 0, 2)).isEqualTo(258);
        assertThat(DnsMessage.tcpFrameLength(new byte[] {1, 2}, 0, 1)).isEqualTo(-1);
        assertThatThrownBy(() -> DnsMessage.tcpFrame(new byte[65536])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void names() {
        assertThat(DnsMessage.name("A.Test.")).isEqualTo("a.test");
        assertThat(DnsMessage.name("*.test")).isEqualTo("*.test");
        for (String bad : new String[] {"", ".", "a..b", ".a", "a b", "a\u00e9", "x".repeat(64), "a.".repeat(128)}) {
            assertThat(DnsMessage.name(bad)).as(bad).isNull();
        }
        assertThat(DnsMessage.name(null)).isNull();
    }
}
