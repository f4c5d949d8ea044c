package dev.davit.sandbox.testnet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.testnet.TestInternet.Connection;
import dev.davit.sandbox.testnet.TestInternet.DnsQuery;
import dev.davit.sandbox.testnet.TestInternet.HttpRequest;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The test Internet itself, from the host's namespace (this JVM): its HTTP, HTTPS, DNS and echo servers answer as
 * {@link TestInternet} documents and keep their records; two instances run at once on different subnets; closing
 * one leaves no veth, route or process behind, and neither does the death of its processes.
 */
class TestInternetTest {
    private static final int TIMEOUT_MS = 30_000;
    private static TestInternet net;

    @BeforeAll
    static void start() throws IOException {
        TestInternet.assumeAvailable();
        net = TestInternet.start();
    }

    @AfterAll
    static void stop() {
        if (net != null) {
            net.close();
        }
    }

    @Test
    void httpEchoesWhatItWasSent() throws IOException {
        net.clearRecords();
        String response = http(net.allowedAddress(), 80, "GET /a/path?q=1 HTTP/1.1\r\nHost: allowed.test\r\n"
                + "Authorization: Bearer secret-1\r\nX-Two: a\r\nX-Two: b\r\nConnection: close\r\n\r\n");
        assertThat(response).startsWith("HTTP/1.1 200");
        JsonNode body = Json.read(body(response));
        assertThat(body.path("scheme").asText()).isEqualTo("http");
        assertThat(body.path("host").asText()).isEqualTo(TestInternet.ALLOWED);
        assertThat(body.path("server").asText()).isEqualTo(net.allowedAddress());
        assertThat(body.path("port").asInt()).isEqualTo(80);
        assertThat(body.path("client").asText()).isEqualTo(net.hostSideAddress());
        assertThat(body.path("sni").isNull()).isTrue();
        assertThat(body.path("path").asText()).isEqualTo("/a/path?q=1");
        assertThat(body.path("headers").path("authorization").asText()).isEqualTo("Bearer secret-1");
        assertThat(body.path("headers").path("x-two").asText()).isEqualTo("a, b");

        List<HttpRequest> requests = net.httpRequests();
        assertThat(requests).hasSize(1);
        HttpRequest r = requests.getFirst();
        assertThat(r.scheme()).isEqualTo("http");
        assertThat(r.host()).isEqualTo(TestInternet.ALLOWED);
        assertThat(r.sni()).isNull();
        assertThat(r.server()).isEqualTo(net.allowedAddress());
        assertThat(r.method()).isEqualTo("GET");
        assertThat(r.path()).isEqualTo("/a/path?q=1");
        assertThat(r.header("Authorization")).isEqualTo("Bearer secret-1");
        assertThat(net.connections()).containsExactly(
                new Connection("http", net.allowedAddress(), 80, net.hostSideAddress()));
    }

    @Test
    void httpsPresentsTheTestCasCertificateAndReportsTheServerName() throws Exception {
        net.clearRecords();
        String response = https(net.allowedAddress(), TestInternet.CDN, TestInternet.CDN, "/tls");
        JsonNode body = Json.read(body(response));
        assertThat(body.path("scheme").asText()).isEqualTo("https");
        assertThat(body.path("sni").asText()).isEqualTo(TestInternet.CDN);
        assertThat(body.path("host").asText()).isEqualTo(TestInternet.CDN);
        assertThat(body.path("server").asText()).isEqualTo(net.allowedAddress());
        assertThat(body.path("port").asInt()).isEqualTo(443);

        // fronting as a test will try it: the allowed name's address and SNI, a denied Host; the server only reports
        Json.read(body(https(net.allowedAddress(), TestInternet.ALLOWED, TestInternet.DENIED, "/front")));
        // the denied name's own address, with the certificate checked for that name
        JsonNode denied = Json.read(body(https(net.deniedAddress(), TestInternet.DENIED, TestInternet.DENIED, "/")));
        assertThat(denied.path("server").asText()).isEqualTo(net.deniedAddress());

        assertThat(net.httpRequests()).extracting(HttpRequest::server, HttpRequest::sni, HttpRequest::host,
                HttpRequest::path).containsExactly(
                        tuple(net.allowedAddress(), TestInternet.CDN, TestInternet.CDN,
                                "/tls"),
                        tuple(net.allowedAddress(), TestInternet.ALLOWED,
                                TestInternet.DENIED, "/front"),
                        tuple(net.deniedAddress(), TestInternet.DENIED,
                                TestInternet.DENIED, "/"));
    }

    @Test
    void bytesAndSlowStreamTheirCount() throws IOException {
        for (String path : List.of("/bytes/300000", "/slow/3000?ms=200")) {
            byte[] all = raw(net.otherAddress(), 80, "GET " + path + " HTTP/1.1\r\nHost: other.test\r\n"
                    + "Connection: close\r\n\r\n");
            int start = indexOf(all, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII)) + 4;
            int expected = path.startsWith("/bytes") ? 300_000 : 3000;
            assertThat(all.length - start).as(path).isEqualTo(expected);
            for (int i = 0; i < expected; i++) {
                if (all[start + i] != (byte) i) {
                    throw new AssertionError(path + ": byte " + i + " is " + all[start + i]);
                }
            }
        }
    }

    @Test
    void dnsAnswersTheZoneOverUdpAndTcp() throws IOException {
        net.clearRecords();
        String server = net.allowedAddress();
        assertThat(udpDns(server, "allowed.test", 1)).isEqualTo(new Answer(0, List.of(net.allowedAddress()), 0));
        assertThat(udpDns(server, "CDN.allowed.test", 1)).isEqualTo(new Answer(0, List.of(net.allowedAddress()), 0));
        assertThat(udpDns(server, "alias.allowed.test", 1))
                .isEqualTo(new Answer(0, List.of(net.allowedAddress()), 1));
        assertThat(udpDns(server, "loopback.test", 1)).isEqualTo(new Answer(0, List.of("127.0.0.1"), 0));
        assertThat(udpDns(server, "hostside.test", 1)).isEqualTo(new Answer(0, List.of(net.hostSideAddress()), 0));
        assertThat(udpDns(server, "metadata.test", 1)).isEqualTo(new Answer(0, List.of("169.254.169.254"), 0));
        assertThat(udpDns(server, "private.test", 1)).isEqualTo(new Answer(0, List.of("10.1.2.3"), 0));
        assertThat(udpDns(server, "allowed.test", 28)).isEqualTo(new Answer(0, List.of(), 0));
        assertThat(udpDns(server, "nowhere.test", 1)).isEqualTo(new Answer(3, List.of(), 0));
        assertThat(tcpDns(server, "denied.test")).isEqualTo(new Answer(0, List.of(net.deniedAddress()), 0));
        assertThat(tcpDns(server, "other.test")).isEqualTo(new Answer(0, List.of(net.otherAddress()), 0));
        // the other addresses answer too, so a query that leaks to them is seen
        assertThat(udpDns(net.otherAddress(), "other.test", 1))
                .isEqualTo(new Answer(0, List.of(net.otherAddress()), 0));

        assertThat(net.dnsQueries()).containsExactly(
                new DnsQuery("allowed.test", "A", "udp", server, net.hostSideAddress()),
                new DnsQuery("CDN.allowed.test", "A", "udp", server, net.hostSideAddress()),
                new DnsQuery("alias.allowed.test", "A", "udp", server, net.hostSideAddress()),
                new DnsQuery("loopback.test", "A", "udp", server, net.hostSideAddress()),
                new DnsQuery("hostside.test", "A", "udp", server, net.hostSideAddress()),
                new DnsQuery("metadata.test", "A", "udp", server, net.hostSideAddress()),
                new DnsQuery("private.test", "A", "udp", server, net.hostSideAddress()),
                new DnsQuery("allowed.test", "AAAA", "udp", server, net.hostSideAddress()),
                new DnsQuery("nowhere.test", "A", "udp", server, net.hostSideAddress()),
                new DnsQuery("denied.test", "A", "tcp", server, net.hostSideAddress()),
                new DnsQuery("other.test", "A", "tcp", server, net.hostSideAddress()),
                new DnsQuery("other.test", "A", "udp", net.otherAddress(), net.hostSideAddress()));
    }

    @Test
    void aRecordChangesWhileItRuns() throws IOException {
        net.dnsRecord("rebind.test", net.allowedAddress());
        assertThat(udpDns(net.allowedAddress(), "rebind.test", 1).addresses()).containsExactly(net.allowedAddress());
        net.dnsRecord("rebind.test", "127.0.0.1");
        assertThat(udpDns(net.allowedAddress(), "rebind.test", 1).addresses()).containsExactly("127.0.0.1");
        net.dnsRecord("rebind.test");
        assertThat(udpDns(net.allowedAddress(), "rebind.test", 1).rcode()).isEqualTo(3);
    }

    @Test
    void echoesTcpAndUdp() throws IOException {
        net.clearRecords();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(net.deniedAddress(), 7), TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(s.getInputStream().readNBytes(5), StandardCharsets.UTF_8)).isEqualTo("ping\n");
        }
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(TIMEOUT_MS);
            byte[] hello = "hello udp".getBytes(StandardCharsets.UTF_8);
            s.send(new DatagramPacket(hello, hello.length, InetAddress.getByName(net.otherAddress()), 7));
            DatagramPacket back = new DatagramPacket(new byte[100], 100);
            s.receive(back);
            assertThat(new String(back.getData(), 0, back.getLength(), StandardCharsets.UTF_8)).isEqualTo("hello udp");
        }
        assertThat(net.udpReceived()).singleElement().satisfies(d -> {
            assertThat(d.text()).isEqualTo("hello udp");
            assertThat(d.server()).isEqualTo(net.otherAddress());
            assertThat(d.client()).isEqualTo(net.hostSideAddress());
        });
        assertThat(net.connections()).containsExactly(
                new Connection("echo", net.deniedAddress(), 7, net.hostSideAddress()));
    }

    @Test
    void theFilesAreThere() throws IOException {
        assertThat(Files.readString(net.resolvConf())).isEqualTo("nameserver " + net.allowedAddress() + "\n");
        net.addHost("198.18.0.9", "a.test", "b.test");
        assertThat(Files.readAllLines(net.hostsFile())).last().isEqualTo("198.18.0.9\ta.test b.test");
        assertThat(Files.readString(net.caCertificate())).startsWith("-----BEGIN CERTIFICATE-----");
    }

    @Test
    void twoRunAtOnceAndCloseLeavesNothingBehind() throws IOException, InterruptedException {
        try (TestInternet second = TestInternet.start()) {
            assertThat(second.subnet()).isNotEqualTo(net.subnet());
            assertThat(second.hostInterface()).isNotEqualTo(net.hostInterface());
            assertThat(udpDns(second.allowedAddress(), "allowed.test", 1).addresses())
                    .containsExactly(second.allowedAddress());
            assertThat(udpDns(net.allowedAddress(), "allowed.test", 1).addresses())
                    .containsExactly(net.allowedAddress());
            String name = second.hostInterface();
            List<ProcessHandle> processes = new ArrayList<>();
            for (long pid : second.pids()) {
                ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
                processes.add(p);
                processes.addAll(p.descendants().toList());
            }
            assertThat(processes).allMatch(ProcessHandle::isAlive);
            Path dir = second.directory();
            assertThat(Tools.run("ip", "-o", "link")).contains(name);
            assertThat(Tools.run("ip", "-4", "route")).contains("198.18." + second.subnet() + ".0/24");

            second.close();
            second.close();
            assertThat(Tools.run("ip", "-o", "link")).doesNotContain(name);
            assertThat(Tools.run("ip", "-4", "route")).doesNotContain("198.18." + second.subnet() + ".");
            for (ProcessHandle p : processes) {
                assertThat(p.isAlive()).as("process " + p.pid() + " " + p.info().commandLine().orElse("")).isFalse();
            }
            assertThat(dir).doesNotExist();
        }
        // the first one is still up
        assertThat(udpDns(net.allowedAddress(), "denied.test", 1).addresses()).containsExactly(net.deniedAddress());
    }

    @Test
    void theVethGoesWithTheProcessesEvenWithoutClose() throws IOException, InterruptedException {
        // what happens when the JVM dies: its processes end, the namespace and with it both veth ends go
        try (TestInternet third = TestInternet.start()) {
            Path link = Path.of("/sys/class/net", third.hostInterface());
            assertThat(link).exists();
            for (long pid : third.pids()) {
                ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
                p.destroyForcibly();
                p.onExit().orTimeout(TIMEOUT_MS, TimeUnit.MILLISECONDS).join();
            }
            for (int i = 0; i < 300 && Files.exists(link); i++) {
                Thread.sleep(100); // the kernel cleans a namespace up asynchronously
            }
            assertThat(link).doesNotExist();
        }
    }

    // ---- clients ----

    /** An HTTPS request over a socket to {@code address}, with {@code sni} and the certificate checked for it. */
    private static String https(String address, String sni, String host, String path) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(net.caCertificate())) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        Socket plain = new Socket();
        plain.connect(new InetSocketAddress(address, 443), TIMEOUT_MS);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, sni, 443, true)) {
            s.setSoTimeout(TIMEOUT_MS);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(sni)));
            p.setEndpointIdentificationAlgorithm("HTTPS");
            s.setSSLParameters(p);
            s.startHandshake();
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String http(String address, int port, String request) throws IOException {
        return new String(raw(address, port, request), StandardCharsets.UTF_8);
    }

    private static byte[] raw(String address, int port, String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            return s.getInputStream().readAllBytes();
        }
    }

    private static String body(String response) {
        return response.substring(response.indexOf("\r\n\r\n") + 4);
    }

    private static int indexOf(byte[] data, byte[] part) {
        outer:
        for (int i = 0; i + part.length <= data.length; i++) {
            for (int j = 0; j < part.length; j++) {
                if (data[i + j] != part[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** A DNS answer: the RCODE, the A records' addresses, the number of CNAME records. */
    record Answer(int rcode, List<String> addresses, int cnames) {
    }

    private static byte[] query(int id, String name, int type) {
        ByteArrayOutputStream q = new ByteArrayOutputStream();
        q.writeBytes(new byte[] {(byte) (id >> 8), (byte) id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}); // RD, 1 question
        for (String label : name.split("\\.")) {
            q.write(label.length());
            q.writeBytes(label.getBytes(StandardCharsets.US_ASCII));
        }
        q.writeBytes(new byte[] {0, (byte) (type >> 8), (byte) type, 0, 1});
        return q.toByteArray();
    }

    private static Answer udpDns(String server, String name, int type) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(TIMEOUT_MS);
            byte[] q = query(0x1234, name, type);
            s.send(new DatagramPacket(q, q.length, InetAddress.getByName(server), 53));
            DatagramPacket p = new DatagramPacket(new byte[1500], 1500);
            s.receive(p);
            return parse(Arrays.copyOf(p.getData(), p.getLength()), 0x1234);
        }
    }

    private static Answer tcpDns(String server, String name) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(server, 53), TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            byte[] q = query(0x4321, name, 1);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(q.length);
            out.write(q);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            return parse(in.readNBytes(in.readUnsignedShort()), 0x4321);
        }
    }

    private static Answer parse(byte[] m, int id) {
        assertThat(((m[0] & 0xff) << 8) | (m[1] & 0xff)).as("DNS id").isEqualTo(id);
        assertThat(m[2] & 0x80).as("QR").isNotZero();
        int answers = ((m[6] & 0xff) << 8) | (m[7] & 0xff);
        int off = skipName(m, 12) + 4;
        List<String> addresses = new ArrayList<>();
        int cnames = 0;
        for (int i = 0; i < answers; i++) {
            off = skipName(m, off);
            int type = ((m[off] & 0xff) << 8) | (m[off + 1] & 0xff);
            int length = ((m[off + 8] & 0xff) << 8) | (m[off + 9] & 0xff);
            off += 10;
            if (type == 1) {
                addresses.add((m[off] & 0xff) + "." + (m[off + 1] & 0xff) + "." + (m[off + 2] & 0xff) + "."
                        + (m[off + 3] & 0xff));
            } else if (type == 5) {
                cnames++;
            }
            off += length;
        }
        return new Answer(m[3] & 0x0f, addresses, cnames);
    }

    private static int skipName(byte[] m, int off) {
        while (true) {
            int len = m[off] & 0xff;
            if (len == 0) {
                return off + 1;
            }
            if ((len & 0xc0) == 0xc0) {
                return off + 2;
            }
            off += 1 + len;
        }
    }
}
