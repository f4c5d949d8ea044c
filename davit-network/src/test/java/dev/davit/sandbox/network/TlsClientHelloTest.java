package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.network.TlsClientHello.Invalid;
import dev.davit.sandbox.network.TlsClientHello.NeedMore;
import dev.davit.sandbox.network.TlsClientHello.NoSni;
import dev.davit.sandbox.network.TlsClientHello.NotTls;
import dev.davit.sandbox.network.TlsClientHello.Result;
import dev.davit.sandbox.network.TlsClientHello.Sni;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The SNI read from real ClientHellos (the JDK's own TLS client) and from hand-made, broken and hostile ones. */
class TlsClientHelloTest {

    /** The first bytes a JDK TLS client sends with {@code protocol} and these server names. */
    static byte[] jdkHello(String protocol, String... names) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, null, null);
        SSLEngine engine = ctx.createSSLEngine();
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        List<SNIServerName> sni = Arrays.stream(names).<SNIServerName>map(SNIHostName::new).toList();
        p.setServerNames(sni);
        p.setProtocols(new String[] {protocol});
        engine.setSSLParameters(p);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        assertThat(b[0]).as("a handshake record").isEqualTo((byte) 22);
        return b;
    }

    /** The handshake bytes of the records in {@code hello} re-cut into records at {@code cuts} (offsets in them). */
    static byte[] recut(byte[] hello, int... cuts) {
        ByteArrayOutputStream hs = new ByteArrayOutputStream();
        for (int p = 0; p < hello.length;) {
            int len = DnsMessage.u16(hello, p + 3);
            hs.write(hello, p + 5, len);
            p += 5 + len;
        }
        return records(hs.toByteArray(), cuts);
    }

    /** Handshake bytes cut into records at {@code cuts}. */
    static byte[] records(byte[] h, int... cuts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int from = 0;
        for (int i = 0; i <= cuts.length; i++) {
            int to = i < cuts.length ? cuts[i] : h.length;
            out.write(new byte[] {22, 3, 1, (byte) ((to - from) >> 8), (byte) (to - from)}, 0, 5);
            out.write(h, from, to - from);
            from = to;
        }
        return out.toByteArray();
    }

    /** A minimal ClientHello record with these extensions (each: type, then data). */
    static byte[] handHello(Object... typeAndData) {
        return record(handHelloHandshake(typeAndData));
    }

    /** The handshake message of {@link #handHello(Object...)}. */
    static byte[] handHelloHandshake(Object... typeAndData) {
        ByteArrayOutputStream ext = new ByteArrayOutputStream();
        for (int i = 0; i < typeAndData.length; i += 2) {
            byte[] d = (byte[]) typeAndData[i + 1];
            int t = (Integer) typeAndData[i];
            ext.write(new byte[] {(byte) (t >> 8), (byte) t, (byte) (d.length >> 8), (byte) d.length}, 0, 4);
            ext.write(d, 0, d.length);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(new byte[] {3, 3}, 0, 2);
        body.write(new byte[32], 0, 32);
        body.write(new byte[] {0, 0, 2, 0x13, 0x01, 1, 0}, 0, 7); // no session id, one suite, null compression
        byte[] e = ext.toByteArray();
        body.write(new byte[] {(byte) (e.length >> 8), (byte) e.length}, 0, 2);
        body.write(e, 0, e.length);
        return handshake(body.toByteArray());
    }

    static byte[] handshake(byte[] body) {
        byte[] h = new byte[4 + body.length];
        h[0] = 1;
        h[1] = (byte) (body.length >> 16);
        h[2] = (byte) (body.length >> 8);
        h[3] = (byte) body.length;
        System.arraycopy(body, 0, h, 4, body.length);
        return h;
    }

    static byte[] record(byte[] hs) {
        byte[] r = new byte[5 + hs.length];
        r[0] = 22;
        r[1] = 3;
        r[2] = 1;
        r[3] = (byte) (hs.length >> 8);
        r[4] = (byte) hs.length;
        System.arraycopy(hs, 0, r, 5, hs.length);
        return r;
    }

    /** A server_name extension's data listing these (type, name) entries. */
    static byte[] serverNames(Object... typeAndName) {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        for (int i = 0; i < typeAndName.length; i += 2) {
            byte[] n = ((String) typeAndName[i + 1]).getBytes(StandardCharsets.ISO_8859_1);
            list.write(new byte[] {(byte) (int) (Integer) typeAndName[i], (byte) (n.length >> 8), (byte) n.length}, 0, 3);
            list.write(n, 0, n.length);
        }
        byte[] l = list.toByteArray();
        byte[] d = new byte[2 + l.length];
        d[0] = (byte) (l.length >> 8);
        d[1] = (byte) l.length;
        System.arraycopy(l, 0, d, 2, l.length);
        return d;
    }

    static Result sni(byte[] b) {
        return TlsClientHello.sni(b, b.length);
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void theJdkClientsHelloNamesItsServerAndEachPrefixNeedsMore(String protocol) throws Exception {
        byte[] hello = jdkHello(protocol, "allowed.test");
        assertThat(sni(hello)).isEqualTo(new Sni("allowed.test"));
        for (int i = 0; i < hello.length; i++) {
            assertThat(TlsClientHello.sni(hello, i)).as("first %d bytes", i).isEqualTo(new NeedMore());
        }
        // bytes after the hello (as a client would not send, but a buffer may hold) change nothing
        byte[] more = Arrays.copyOf(hello, hello.length + 100);
        assertThat(TlsClientHello.sni(more, more.length)).isEqualTo(new Sni("allowed.test"));
    }

    @Test
    void noServerNameIsNoSni() throws Exception {
        assertThat(sni(jdkHello("TLSv1.3"))).isEqualTo(new NoSni());
        assertThat(sni(jdkHello("TLSv1.2"))).isEqualTo(new NoSni());
        assertThat(sni(handHello())).isEqualTo(new NoSni());
        assertThat(sni(handHello(0, new byte[0]))).as("an empty server_name").isEqualTo(new NoSni());
    }

    @Test
    void aHelloSplitOverRecordsIsReassembled() throws Exception {
        byte[] hello = jdkHello("TLSv1.3", "cdn.allowed.test");
        int hsLen = hello.length - 5;
        for (int cut : new int[] {1, 2, 3, 4, 5, 40, hsLen / 2, hsLen - 1}) {
            byte[] two = recut(hello, cut);
            assertThat(sni(two)).as("cut at %d", cut).isEqualTo(new Sni("cdn.allowed.test"));
            for (int i = 0; i < two.length; i++) {
                assertThat(TlsClientHello.sni(two, i)).as("cut at %d, first %d bytes", cut, i)
                        .isEqualTo(new NeedMore());
            }
        }
        int[] everyByte = new int[hsLen - 1];
        for (int i = 0; i < everyByte.length; i++) {
            everyByte[i] = i + 1;
        }
        assertThat(sni(recut(hello, everyByte))).as("one byte per record").isEqualTo(new Sni("cdn.allowed.test"));
    }

    @Test
    void aLargeHelloOverSeveralRecordsIsReadUpTo64KiB() {
        byte[] pad = new byte[TlsClientHello.MAX_HELLO - 200];
        byte[] hs = handHelloHandshake(21, pad, 0, serverNames(0, "allowed.test"));
        byte[] recs = records(hs, 16384, 32768, 49152);
        assertThat(hs.length - 4).isLessThanOrEqualTo(TlsClientHello.MAX_HELLO);
        assertThat(sni(recs)).isEqualTo(new Sni("allowed.test"));
        assertThat(TlsClientHello.sni(recs, recs.length - 1)).isEqualTo(new NeedMore());

        byte[] tooBig = handHelloHandshake(21, new byte[TlsClientHello.MAX_HELLO], 0, serverNames(0, "allowed.test"));
        assertThat(TlsClientHello.sni(records(tooBig, 16384, 32768, 49152, 65536), 9)).as("known from the handshake header")
                .isEqualTo(new NotTls());
    }

    @Test
    void namesAreLowerCasedAndLoseTheirTrailingDot() {
        assertThat(sni(handHello(0, serverNames(0, "Allowed.TEST.")))).isEqualTo(new Sni("allowed.test"));
        assertThat(sni(handHello(0, serverNames(1, "other-type", 0, "a.test")))).isEqualTo(new Sni("a.test"));
        assertThat(sni(handHello(0, serverNames(1, "other-type")))).isEqualTo(new NoSni());
    }

    @Test
    void badOrSeveralNamesAreInvalid() {
        assertThat(sni(handHello(0, serverNames(0, "allowed.test", 0, "denied.test"))))
                .isInstanceOf(Invalid.class);
        assertThat(sni(handHello(0, serverNames(0, "allowed.test"), 0, serverNames(0, "allowed.test"))))
                .as("two server_name extensions").isInstanceOf(Invalid.class);
        for (String bad : new String[] {"", ".", "a..test", ".a.test", "a b.test", "a.test\u0000.denied.test",
            "allowed.test/x", "[::1]", "x".repeat(64) + ".test", "a.".repeat(127) + "test", "d\u00e9nied.test"}) {
            assertThat(sni(handHello(0, serverNames(0, bad)))).as(bad).isInstanceOf(Invalid.class);
        }
        byte[] d = serverNames(0, "allowed.test");
        d[1]++;
        assertThat(sni(handHello(0, d))).as("list length off by one").isInstanceOf(Invalid.class);
        d = serverNames(0, "allowed.test");
        d[4]++;
        assertThat(sni(handHello(0, d))).as("name length off by one").isInstanceOf(Invalid.class);
    }

    @Test
    void anEncryptedClientHelloHidesItsNameAndIsInvalid() {
        byte[] ech = {0, 1, 0, 1, 7, 0, 0, 0}; // outer, a cipher suite, a config id, empty enc and payload
        Result outerAllowed = sni(handHello(0, serverNames(0, "allowed.test"), 0xfe0d, ech));
        assertThat(outerAllowed).isInstanceOf(Invalid.class);
        assertThat(((Invalid) outerAllowed).reason()).contains("ECH");
        assertThat(sni(handHello(0xfe0d, ech, 0, serverNames(0, "allowed.test")))).as("ECH first")
                .isInstanceOf(Invalid.class);
        assertThat(sni(handHello(0xfe0d, ech))).as("ECH without an outer name").isInstanceOf(Invalid.class);
        assertThat(sni(handHello(0xfe0e, ech, 0, serverNames(0, "allowed.test")))).as("another extension")
                .isEqualTo(new Sni("allowed.test"));
    }

    @Test
    void corruptLengthsAndOtherProtocolsAreNotTls() throws Exception {
        assertThat(sni("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII))).isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[] {0x16, 2}, 2)).as("record version 2.x").isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[] {0x16, 3, 5}, 3)).as("record version 3.5").isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[] {0x16, 3, 1, 0, 0}, 5)).as("empty record").isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[] {0x16, 3, 1, 0x40, 1}, 5)).as("record > 2^14")
                .isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[] {0x16, 3, 1, 0, 4, 2}, 6)).as("a ServerHello")
                .isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[] {0x16, 3, 1, 0, 4, 1, (byte) 0xff, (byte) 0xff, (byte) 0xff}, 9))
                .as("a 16 MiB ClientHello").isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[] {0x16, 3, 1, 0, 4, 1, 0, 0, 0}, 9)).as("an empty ClientHello")
                .isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[] {(byte) 0x80, 0x2e, 1}, 3)).as("SSLv2").isEqualTo(new NotTls());

        byte[] hello = jdkHello("TLSv1.3", "allowed.test");
        byte[] next = recut(hello, 50);
        next[5 + 50] = 23; // the second record is application data
        assertThat(sni(next)).isEqualTo(new NotTls());

        // each length of the hello made one larger or one smaller: never a name, never an exception
        byte[] h = handHello(0, serverNames(0, "allowed.test"));
        for (int i = 0; i + 1 < h.length; i++) {
            for (int delta : new int[] {-1, 1, 0x100}) {
                byte[] c = h.clone();
                c[i] += (byte) delta;
                Result r = sni(c);
                assertThat(r).isNotNull();
                if (r instanceof Sni s) {
                    assertThat(s.name()).as("byte %d changed", i).matches("[a-z0-9._-]+");
                }
            }
        }
        byte[] ext = handHello(0, serverNames(0, "allowed.test"));
        ext[5 + 4 + 2 + 32 + 1 + 2 + 2 + 2 + 1]++; // the extensions' length
        assertThat(sni(ext)).isEqualTo(new NotTls());
    }

    @Test
    void badArgumentsAreNotTls() {
        assertThat(TlsClientHello.sni(null, 0)).isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[2], 3)).isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[2], -1)).isEqualTo(new NotTls());
        assertThat(TlsClientHello.sni(new byte[0], 0)).isEqualTo(new NeedMore());
    }
}
