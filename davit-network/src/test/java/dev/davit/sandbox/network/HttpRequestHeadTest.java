package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.network.HttpRequestHead.Host;
import dev.davit.sandbox.network.HttpRequestHead.Invalid;
import dev.davit.sandbox.network.HttpRequestHead.NeedMore;
import dev.davit.sandbox.network.HttpRequestHead.NoHost;
import dev.davit.sandbox.network.HttpRequestHead.NotHttp;
import dev.davit.sandbox.network.HttpRequestHead.Result;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The host read from HTTP/1.x request heads: the usual ones, proxies' forms, and those that try to mislead. */
class HttpRequestHeadTest {

    static Result host(String head) {
        byte[] b = head.getBytes(StandardCharsets.ISO_8859_1);
        return HttpRequestHead.host(b, b.length);
    }

    @Test
    void curlsRequestNamesItsHostAndEachPrefixNeedsMore() {
        String head = "GET /simple/jq/ HTTP/1.1\r\nHost: allowed.test\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
        byte[] b = (head + "body").getBytes(StandardCharsets.US_ASCII);
        assertThat(HttpRequestHead.host(b, b.length)).isEqualTo(new Host("allowed.test", -1));
        assertThat(HttpRequestHead.headEnd(b, b.length)).isEqualTo(head.length());
        for (int i = 0; i < head.length(); i++) {
            assertThat(HttpRequestHead.host(b, i)).as("first %d bytes", i).isEqualTo(new NeedMore());
            assertThat(HttpRequestHead.headEnd(b, i)).isEqualTo(-1);
        }
    }

    @Test
    void hostVariants() {
        assertThat(host("GET / HTTP/1.1\r\nhOsT:   Allowed.Test.:8080 \t\r\n\r\n"))
                .isEqualTo(new Host("allowed.test", 8080));
        assertThat(host("GET / HTTP/1.1\r\nHost:allowed.test\r\n\r\n")).isEqualTo(new Host("allowed.test", -1));
        assertThat(host("HEAD / HTTP/1.0\r\nHost: [2001:DB8::1]:443\r\n\r\n")).isEqualTo(new Host("2001:db8::1", 443));
        assertThat(host("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n")).isEqualTo(new Host("::1", -1));
        assertThat(host("GET / HTTP/1.1\r\nHost: 203.0.113.7\r\n\r\n")).isEqualTo(new Host("203.0.113.7", -1));
        assertThat(host("OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n")).isEqualTo(new Host("a.test", -1));
        assertThat(host("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n")).isEqualTo(new NoHost());
        assertThat(host("GET / HTTP/1.0\r\n\r\n")).isEqualTo(new NoHost());
        assertThat(host("GET / HTTP/1.1\r\nX-Host: denied.test\r\nHostile: denied.test\r\n\r\n"))
                .isEqualTo(new NoHost());
        assertThat(host("POST /x HTTP/1.1\r\nX: \u00e9\r\nHost: a.test\r\n\r\n")).as("obs-text in another field")
                .isEqualTo(new Host("a.test", -1));
    }

    @Test
    void badHostsAreInvalid() {
        for (String bad : new String[] {"", "a..test", "a.test:", "a.test:0", "a.test:65536", "a.test:123456",
            "a.test:8o", "a test", "user@a.test", "[::1", "[::1]x", "[fe80::1%25eth0]", "[a.test]", "a.test:80:81",
            "d\u00e9nied.test", "x".repeat(64) + ".test"}) {
            assertThat(host("GET / HTTP/1.1\r\nHost: " + bad + "\r\n\r\n")).as(bad).isInstanceOf(Invalid.class);
        }
    }

    @Test
    void twoHostFieldsConflict() {
        assertThat(host("GET / HTTP/1.1\r\nHost: allowed.test\r\nHost: denied.test\r\n\r\n"))
                .isInstanceOf(Invalid.class);
        assertThat(host("GET / HTTP/1.1\r\nHost: allowed.test\r\nhost: allowed.test\r\n\r\n"))
                .isInstanceOf(Invalid.class);
    }

    @Test
    void absoluteFormAndConnectNameTheTargetsHost() {
        assertThat(host("GET http://Allowed.Test/x?y HTTP/1.1\r\n\r\n")).isEqualTo(new Host("allowed.test", -1));
        assertThat(host("GET HTTP://allowed.test:8080 HTTP/1.1\r\nHost: allowed.test\r\n\r\n"))
                .isEqualTo(new Host("allowed.test", 8080));
        assertThat(host("GET https://allowed.test/ HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n"))
                .isEqualTo(new Host("allowed.test", -1));
        assertThat(host("CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n"))
                .isEqualTo(new Host("allowed.test", 443));
        assertThat(host("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n")).isEqualTo(new Host("2001:db8::1", 443));

        assertThat(host("GET http://allowed.test/ HTTP/1.1\r\nHost: denied.test\r\n\r\n")).isInstanceOf(Invalid.class);
        assertThat(host("GET http://allowed.test:80/ HTTP/1.1\r\nHost: allowed.test:8080\r\n\r\n"))
                .isInstanceOf(Invalid.class);
        assertThat(host("CONNECT allowed.test:443 HTTP/1.1\r\nHost: denied.test:443\r\n\r\n"))
                .isInstanceOf(Invalid.class);
        assertThat(host("CONNECT allowed.test HTTP/1.1\r\n\r\n")).as("no port").isInstanceOf(Invalid.class);
        assertThat(host("GET http://allowed.test@denied.test/ HTTP/1.1\r\n\r\n")).isInstanceOf(Invalid.class);
        assertThat(host("GET http:///x HTTP/1.1\r\nHost: a.test\r\n\r\n")).isInstanceOf(Invalid.class);
        assertThat(host("GET ftp://a.test/ HTTP/1.1\r\n\r\n")).isEqualTo(new NotHttp());
    }

    @Test
    void malformedHeadsAreNotHttp() {
        for (String bad : new String[] {
            "GET / HTTP/1.1\nHost: a.test\n\n", // bare LF
            "GET / HTTP/1.1\r\nHost: a.test\n\r\n\r\n", // a bare LF in a field
            "GET / HTTP/1.1\r\nHost: a.test\rX: y\r\n\r\n", // a bare CR
            "GET / HTTP/1.1\r\nHost : denied.test\r\n\r\n", // white space before the colon
            "GET / HTTP/1.1\r\nX: y\r\n Host: denied.test\r\n\r\n", // obs-fold
            "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
            "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\u0000b\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n", // two spaces
            "GET / HTTP/1.1 \r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "get / HTTP/1.1\r\n\r\n",
            "BREW / HTTP/1.1\r\n\r\n",
            "GET /\u007f HTTP/1.1\r\n\r\n",
            "GET\r\n\r\n",
            "\r\n\r\n",
        }) {
            assertThat(host(bad)).as(bad).isEqualTo(new NotHttp());
        }
        // known at once, before the head ends
        assertThat(host("\u0016\u0003\u0001")).isEqualTo(new NotHttp());
        assertThat(host("BREW")).isEqualTo(new NotHttp());
        assertThat(host("GETS")).isEqualTo(new NotHttp());
        assertThat(host("GET / HTTP/1.1\nHost")).isEqualTo(new NotHttp());
        assertThat(host("CONN")).isEqualTo(new NeedMore());
    }

    @Test
    void aHeadOver16KiBIsNotHttp() {
        String start = "GET / HTTP/1.1\r\nHost: a.test\r\nX: ";
        byte[] b = new byte[HttpRequestHead.MAX_HEAD + 10];
        Arrays.fill(b, (byte) 'a');
        System.arraycopy(start.getBytes(StandardCharsets.US_ASCII), 0, b, 0, start.length());
        assertThat(HttpRequestHead.host(b, HttpRequestHead.MAX_HEAD - 1)).isEqualTo(new NeedMore());
        assertThat(HttpRequestHead.host(b, b.length)).isEqualTo(new NotHttp());
        // a head that ends just within the bound is read; one byte later is not
        byte[] end = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(end, 0, b, HttpRequestHead.MAX_HEAD - 4, 4);
        assertThat(HttpRequestHead.host(b, b.length)).isEqualTo(new Host("a.test", -1));
        assertThat(HttpRequestHead.headEnd(b, b.length)).isEqualTo(HttpRequestHead.MAX_HEAD);
        Arrays.fill(b, HttpRequestHead.MAX_HEAD - 4, b.length, (byte) 'a');
        System.arraycopy(end, 0, b, HttpRequestHead.MAX_HEAD - 3, 4);
        assertThat(HttpRequestHead.host(b, b.length)).isEqualTo(new NotHttp());
    }

    @Test
    void badArguments() {
        assertThat(HttpRequestHead.host(null, 0)).isEqualTo(new NotHttp());
        assertThat(HttpRequestHead.host(new byte[2], 3)).isEqualTo(new NotHttp());
        assertThat(HttpRequestHead.host(new byte[0], 0)).isEqualTo(new NeedMore());
        assertThat(HttpRequestHead.headEnd(null, 0)).isEqualTo(-1);
    }
}
