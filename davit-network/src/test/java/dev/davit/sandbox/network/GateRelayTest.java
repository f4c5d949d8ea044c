package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * What the gate takes for a first flight that hides a name ({@link GateRelay#hidesName}): such a connection may not
 * use an address that only an allowed name's resolution opened, since the server behind it may read a name from it
 * (a lenient HTTP server, a TLS server's default certificate) that the gate never checked.
 */
class GateRelayTest {
    private static String hides(String first) {
        byte[] b = first.getBytes(StandardCharsets.ISO_8859_1);
        return GateRelay.hidesName(b, b.length);
    }

    @Test
    void requestsALenientServerMayTakeHideTheirName() {
        for (String s : new String[] {
            "\r\nGET / HTTP/1.1\r\nHost: denied.test\r\n\r\n", // an empty line first, which servers skip
            "\n\nGET / HTTP/1.1\r\nHost: denied.test\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: denied.test\r\n\r\n", // two spaces
            "GET\t/ HTTP/1.1\r\nHost: denied.test\r\n\r\n",
            "GET / HTTP/1.1\nHost: denied.test\n\n", // bare LF
            "PROPFIND /dav HTTP/1.1\r\nHost: denied.test\r\n\r\n", // a method the strict reader does not take
            "get http://denied.test/ HTTP/1.1\r\n\r\n",
            "GET /\r\n", // HTTP/0.9: no Host, the server's default site
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", // HTTP/2 with prior knowledge
            "X / http/1.1\r\n",
            "\r\n".repeat(2000) + "GET / HTTP/1.1\r\nHost: denied.test\r\n\r\n", // more empty lines than 1 KiB
            "A".repeat(40) + " /x\r\n", // a method of any length
            "GET /" + "a".repeat(9000) + " HTTP/1.1\r\n"}) { // a line over 8 KiB
            assertThat(hides(s)).as(s).isNotNull().contains("HTTP");
        }
    }

    @Test
    void aPrefixOfARequestLineIsReadOn() {
        for (String s : new String[] {"", "\r\n", "\r\n\r\n", "X", "PR", "ge", "GET\t", "PROPFIND"}) {
            byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
            assertThat(GateRelay.mayBecomeRequestLine(b, b.length)).as(s).isTrue();
            assertThat(hides(s)).as(s).isNull(); // nothing to refuse yet: the gate reads on
        }
        for (String s : new String[] {"SSH-2.0-OpenSSH_9.2\r\n", "hello\n", "\u0000\u0001binary", "PING\r\n"}) {
            byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
            assertThat(GateRelay.mayBecomeRequestLine(b, b.length)).as(s).isFalse();
        }
    }

    @Test
    void sslV2HelloHidesAName() {
        assertThat(GateRelay.hidesName(new byte[] {(byte) 0x80, 0x2e, 1, 3, 1}, 5)).contains("SSLv2");
    }

    @Test
    void tlsWithoutAReadableNameHidesOne() {
        assertThat(GateRelay.hidesName(new byte[] {22, 3, 1, 0, 5, 1, 0, 0, 1, 0}, 10)).contains("TLS");
        assertThat(GateRelay.hidesName(new byte[] {22, 3}, 2)).contains("TLS");
    }

    @Test
    void otherProtocolsHideNone() {
        for (String s : new String[] {"SSH-2.0-OpenSSH_9.2\r\n", "hello\n", "\u0000\u0001binary", "*1\r\n$4\r\nPING\r\n",
            "EHLO client.test\r\n", "", "\r\n\r\n", "GETX\r\n"}) {
            assertThat(hides(s)).as(s).isNull();
        }
    }
}
