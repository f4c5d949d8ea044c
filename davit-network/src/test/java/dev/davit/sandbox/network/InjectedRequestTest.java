package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The request heads the gate rewrites with a secret's header, and those it refuses ({@link InjectedRequest}). */
class InjectedRequestTest {
    private static InjectedRequest.Result rewrite(String head) {
        return InjectedRequest.rewrite(head.getBytes(StandardCharsets.ISO_8859_1), "api.test", "Authorization",
                "Bearer real");
    }

    private static String head(InjectedRequest.Result r) {
        assertThat(r).isInstanceOf(InjectedRequest.Rewritten.class);
        return new String(((InjectedRequest.Rewritten) r).head(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void theClientsHeaderIsReplacedByTheSecrets() {
        InjectedRequest.Result r = rewrite("GET /x HTTP/1.1\r\nHost: api.test\r\nauthorization: Bearer placeholder\r\n"
                + "Accept: */*\r\nAUTHORIZATION: again\r\n\r\n");
        assertThat(head(r)).isEqualTo("GET /x HTTP/1.1\r\nHost: api.test\r\nAccept: */*\r\n"
                + "Connection: close\r\nAuthorization: Bearer real\r\n\r\n");
        // one request per connection to the server: the client's own Connection and Keep-Alive go
        assertThat(head(rewrite("GET /x HTTP/1.1\r\nHost: api.test\r\nConnection: keep-alive\r\nKeep-Alive:"
                + " timeout=5\r\nProxy-Connection: keep-alive\r\n\r\n"))).isEqualTo("GET /x HTTP/1.1\r\n"
                + "Host: api.test\r\nConnection: close\r\nAuthorization: Bearer real\r\n\r\n");
        assertThat(((InjectedRequest.Rewritten) r).contentLength()).isZero();
        assertThat(head(rewrite("GET /x HTTP/1.1\r\nHost: API.test:443\r\n\r\n"))).contains("Bearer real");
        assertThat(head(rewrite("GET https://api.test/x HTTP/1.1\r\nHost: api.test\r\n\r\n"))).contains("Bearer real");
    }

    @Test
    void bodiesAreFramedOneWayOnly() {
        InjectedRequest.Result r = rewrite("POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 12\r\n\r\n");
        assertThat(((InjectedRequest.Rewritten) r).contentLength()).isEqualTo(12);
        r = rewrite("POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n");
        assertThat(((InjectedRequest.Rewritten) r).contentLength()).isEqualTo(-1);
        for (String bad : new String[] {
            "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: +1\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.0\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"}) {
            assertThat(rewrite(bad)).as(bad).isInstanceOfSatisfying(InjectedRequest.Refused.class,
                    no -> assertThat(no.status()).isEqualTo(400));
        }
    }

    @Test
    void methodsThatEchoOrTunnelAreRefused() {
        for (String m : new String[] {"TRACE", "TRACK", "CONNECT"}) {
            String target = m.equals("CONNECT") ? "api.test:443" : "/";
            assertThat(rewrite(m + " " + target + " HTTP/1.1\r\nHost: api.test\r\n\r\n")).as(m)
                    .isInstanceOf(InjectedRequest.Refused.class);
        }
    }

    @Test
    void anotherHostOrAnUnreadableHeadIsRefused() {
        for (String other : new String[] {"GET / HTTP/1.1\r\nHost: other.test\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: api.test:8443\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: api.test.evil.test\r\n\r\n",
            "GET https://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n"}) {
            assertThat(rewrite(other)).as(other).isInstanceOfSatisfying(InjectedRequest.Refused.class,
                    no -> assertThat(no.status()).isEqualTo(403));
        }
        for (String bad : new String[] {"GET / HTTP/1.1\r\nHost: api.test\r\nHost: other.test\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\nHost: api.test\n\n",
            "GET / HTTP/1.1\r\nHost: api.test\r\n folded\r\n\r\n",
            "\u0016\u0003\u0001"}) {
            assertThat(rewrite(bad)).as(bad).isInstanceOf(InjectedRequest.Refused.class);
        }
    }
}
