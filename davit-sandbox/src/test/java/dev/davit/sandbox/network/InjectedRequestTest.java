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
                + "Authorization: Bearer real\r\n\r\n");
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
            "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
            assertThat(rewrite(bad)).as(bad).isInstanceOfSatisfying(InjectedRequest.Refused.class,
                    no -> assertThat(no.status()).isEqualTo(400));
        }
        assertThat(((InjectedRequest.Rewritten) rewrite("GET / HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\n\r\n")).upgrade()).isTrue();
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
            "GET / HTTP/1.1\r\nHost: api.test\r\n folded\r\n\r\n", "CONNECT api.test:443 HTTP/1.1\r\nHost: api.test\r\n\r\n",
            "\u0016\u0003\u0001"}) {
            assertThat(rewrite(bad)).as(bad).isInstanceOf(InjectedRequest.Refused.class);
        }
    }
}
