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
            "X / http/1.1\r\n"}) {
            assertThat(hides(s)).as(s).isNotNull().contains("HTTP");
        }
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
