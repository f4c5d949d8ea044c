package dev.davit.sandbox.testnet;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.jail.Jail;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A small fake Internet for the egress tests, made only of a network namespace this fixture creates: nothing on the
 * host's LAN is touched and no traffic leaves the namespace and the veth pair that leads to it.
 *
 * <p>{@link #start()} (as root) picks a free {@code /24} in 198.18.0.0/15 (RFC 2544's benchmarking range, never on a
 * real LAN): {@code 198.18.N.0/24}, N from {@link #subnet()}, free when no route of the host's overlaps it and no
 * other instance (in this or another JVM, through a byte-range lock on one lock file) holds it. It then starts a
 * holder process, {@code unshare --net}, whose new network namespace lives exactly as long as the holder and the
 * servers inside, and connects the host's namespace to it by a veth pair named {@code dvti} + 6 random hex digits
 * ({@link #hostInterface()}): the host end has {@code 198.18.N.1/24} ({@link #hostSideAddress()}), which brings the
 * only change to the host's network, the connected route of that /24; the inside end ({@code eth0}) has
 * {@code .2} ({@link #allowedAddress()}, allowed.test), {@code .3} ({@link #deniedAddress()}, denied.test) and
 * {@code .4} ({@link #otherAddress()}, other.test), and a default route back through {@code .1}.
 *
 * <p>Inside, one Node.js process ({@code servers.js}, a resource beside this class, started with
 * {@code nsenter --net}) serves, on each of {@code .2}, {@code .3} and {@code .4}:
 * <ul>
 *   <li>DNS on UDP and TCP port 53 ({@link #resolvConf()} names {@code .2}; a query to {@code .3} or {@code .4} is
 *       answered as well and recorded with that server's address): {@value #ALLOWED} and {@value #CDN} are
 *       {@code .2}, {@value #DENIED} {@code .3}, {@value #OTHER} {@code .4}, {@value #ALIAS} is a CNAME of
 *       {@value #ALLOWED}, {@value #LOOPBACK} is 127.0.0.1, {@value #HOSTSIDE} the host's own veth address
 *       {@code .1}, {@value #METADATA} 169.254.169.254, {@value #PRIVATE} 10.1.2.3; other types of these names
 *       have no data (e.g. no AAAA); every other name is NXDOMAIN. TTL 5 seconds. {@link #dnsRecord} changes a
 *       name's A records while it runs (a rebinding name).</li>
 *   <li>HTTP on port 80 and HTTPS on 443, with a leaf certificate for {@value #ALLOWED}, {@value #CDN},
 *       {@value #ALIAS}, {@value #DENIED} and {@value #OTHER} signed by a test CA made with {@code openssl} at
 *       start ({@link #caCertificate()}). A response is JSON: {@code scheme}, {@code server} (the local address the
 *       request came in on), {@code port}, {@code client}, {@code host} (the Host header), {@code sni} (the TLS
 *       server name, null without one or over HTTP), {@code method}, {@code path} and {@code headers} (lower-case
 *       names; repeated headers joined by ", "). {@code GET /bytes/N} answers N bytes (byte i is i mod 256) as fast
 *       as the client reads; {@code GET /slow/N?ms=M} the same N bytes spread over about M milliseconds.</li>
 *   <li>A TCP echo on port 7 and a UDP echo on port 7.</li>
 * </ul>
 * Each DNS query ({@link #dnsQueries()}), accepted TCP connection ({@link #connections()}), HTTP request
 * ({@link #httpRequests()}) and UDP datagram to the echo ({@link #udpReceived()}) is recorded before it is answered,
 * and the record getters first wait until the server has handed over everything before the call, so a test can
 * assert that something did <em>not</em> arrive. {@link #clearRecords()} forgets them.
 *
 * <p>{@link #close()} (idempotent; also run by a JVM shutdown hook) ends the servers, deletes the veth pair
 * (deleting one end deletes both, and with it the connected route), ends the holder (its namespace goes with its
 * last process) and deletes the temporary directory (certificates, resolv.conf, hosts file). If the JVM dies
 * without running it, the servers and the holder read their standard input from the JVM and exit at its end, so
 * the namespace and the veth pair go too; nothing is ever put in {@code /run/netns}. What stays is the empty lock
 * file {@value #LOCK_FILE}.
 *
 * <p>Use: {@code TestInternet.assumeAvailable(); try (TestInternet net = TestInternet.start()) { ... }}, or one
 * instance per class from {@code @BeforeAll}; any number of instances may run at once (up to 254).
 */
public final class TestInternet implements AutoCloseable {
    /** A name that resolves to {@link #allowedAddress()}. */
    public static final String ALLOWED = "allowed.test";
    /** A subdomain of {@value #ALLOWED}, with {@value #ALLOWED}'s address. */
    public static final String CDN = "cdn.allowed.test";
    /** A CNAME of {@value #ALLOWED}. */
    public static final String ALIAS = "alias.allowed.test";
    /** A name that resolves to {@link #deniedAddress()}. */
    public static final String DENIED = "denied.test";
    /** A name that resolves to {@link #otherAddress()}. */
    public static final String OTHER = "other.test";
    /** A name that resolves to 127.0.0.1. */
    public static final String LOOPBACK = "loopback.test";
    /** A name that resolves to the host's own veth address, {@link #hostSideAddress()}. */
    public static final String HOSTSIDE = "hostside.test";
    /** A name that resolves to the link-local metadata address 169.254.169.254. */
    public static final String METADATA = "metadata.test";
    /** A name that resolves to the private address 10.1.2.3. */
    public static final String PRIVATE = "private.test";
    /** The names the test CA's leaf certificate is for. */
    public static final List<String> CERTIFICATE_NAMES = List.of(ALLOWED, CDN, ALIAS, DENIED, OTHER);
    /** The lock file whose byte N is locked while an instance holds 198.18.N.0/24. */
    public static final String LOCK_FILE = "/run/davit-testnet.lock";

    /** The tools {@link #start()} runs. */
    private static final List<String> TOOLS = List.of("ip", "nsenter", "unshare", "node", "openssl");
    private static final long READY_SECONDS = 60;
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The subnets this JVM holds (the byte-range locks are the processes' ones, shared by the JVM's threads). */
    private static final Map<Integer, FileLock> HELD = new ConcurrentHashMap<>();
    private static FileChannel lockChannel;

    /** A DNS query the server received: the name as asked (null if malformed), its type ("A", "AAAA", "TYPE99"),
     *  "udp" or "tcp", the server address it was sent to and the client's address. */
    public record DnsQuery(String name, String type, String protocol, String server, String client) {
    }

    /** A TCP connection a server accepted: "dns", "http", "https" or "echo", the server's address and port, the
     *  client's address. */
    public record Connection(String service, String server, int port, String client) {
    }

    /** An HTTP request: "http" or "https", the server's address and port, the client's address, the Host header
     *  (null without one), the TLS server name (null without one or over HTTP), the method, the path with its query,
     *  the headers (lower-case names). */
    public record HttpRequest(String scheme, String server, int port, String client, String host, String sni,
            String method, String path, Map<String, String> headers) {
        /** The header named {@code name} (any case), or null. */
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** A datagram the UDP echo received: the server's address, the client's address, the bytes. */
    public record Datagram(String server, String client, byte[] data) {
        /** The bytes as UTF-8. */
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    private final int subnet;
    private final String hostInterface;
    private final Path dir;
    private final Process holder;
    private final Process servers;
    private final Thread hook;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final Map<String, CompletableFuture<Void>> syncs = new ConcurrentHashMap<>();
    private final AtomicLong syncIds = new AtomicLong();
    private final StringBuffer serverErrors = new StringBuffer();
    private final List<DnsQuery> dnsQueries = new CopyOnWriteArrayList<>();
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private final List<HttpRequest> httpRequests = new CopyOnWriteArrayList<>();
    private final List<Datagram> udpReceived = new CopyOnWriteArrayList<>();

    /**
     * Skips the calling test (a JUnit assumption) when not root or a tool {@link #start()} needs is missing, and says
     * which on standard error; with {@code CI=true} a missing tool fails instead ({@link Tools#assumeAvailable}), so
     * CI never goes silently green.
     */
    public static void assumeAvailable() {
        List<String> missing = TOOLS.stream().filter(t -> Tools.which(t).isEmpty()).toList();
        if (!missing.isEmpty()) {
            System.err.println("TestInternet: missing " + missing + " (scripts/install-deps.sh installs them)");
        }
        Tools.assumeAvailable(TOOLS.toArray(String[]::new));
        if (!Jail.AS_ROOT) {
            System.err.println("TestInternet: not root: the test Internet needs root (a veth pair), skipped");
        }
        Assumptions.assumeTrue(Jail.AS_ROOT, "the test Internet needs root (a veth pair)");
    }

    /** Builds and starts a test Internet on a free subnet; see the class comment. Needs root. */
    public static TestInternet start() throws IOException {
        int subnet = claimSubnet();
        try {
            return new TestInternet(subnet);
        } catch (IOException | RuntimeException | Error e) {
            releaseSubnet(subnet);
            throw e;
        }
    }

    private TestInternet(int subnet) throws IOException {
        this.subnet = subnet;
        this.hostInterface = "dvti" + HexFormat.of().toHexDigits(RANDOM.nextInt(1 << 24)).substring(2);
        this.dir = Files.createTempDirectory("davit-testnet-");
        Process holderProcess = null;
        Process serverProcess = null;
        boolean started = false;
        try {
            certificates();
            Files.writeString(resolvConf(), "nameserver " + allowedAddress() + "\n");
            Files.writeString(hostsFile(), "# hosts of the davit test Internet 198.18." + subnet + ".0/24\n");
            Path script = dir.resolve("servers.js");
            try (InputStream in = TestInternet.class.getResourceAsStream("servers.js")) {
                if (in == null) {
                    throw new IllegalStateException("servers.js is not on the class path beside TestInternet");
                }
                Files.copy(in, script);
            }
            // the holder: its standard input is this JVM's, so it ends with the JVM at the latest
            holderProcess = new ProcessBuilder("unshare", "--net", "--", "sh", "-c", "echo in; exec cat >/dev/null")
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String line = new BufferedReader(new InputStreamReader(holderProcess.getInputStream(),
                    StandardCharsets.UTF_8)).readLine();
            if (!"in".equals(line)) {
                throw new IllegalStateException("unshare --net did not start (exit " + exitOf(holderProcess) + ")");
            }
            String ns = "--net=/proc/" + holderProcess.pid() + "/ns/net";
            String prefix = "198.18." + subnet + ".";
            Tools.run("ip", "link", "add", hostInterface, "type", "veth", "peer", "name", "eth0", "netns",
                    Long.toString(holderProcess.pid()));
            Tools.run("ip", "addr", "add", hostSideAddress() + "/24", "dev", hostInterface);
            Tools.run("ip", "link", "set", hostInterface, "up");
            Tools.run("nsenter", ns, "--", "ip", "link", "set", "lo", "up");
            for (String a : List.of(allowedAddress(), deniedAddress(), otherAddress())) {
                Tools.run("nsenter", ns, "--", "ip", "addr", "add", a + "/24", "dev", "eth0");
            }
            Tools.run("nsenter", ns, "--", "ip", "link", "set", "eth0", "up");
            Tools.run("nsenter", ns, "--", "ip", "route", "add", "default", "via", prefix + "1");
            serverProcess = new ProcessBuilder("nsenter", ns, "--", "node", script.toString(),
                    Integer.toString(subnet), dir.resolve("leaf.crt").toString(), dir.resolve("leaf.key").toString())
                    .start();
            this.holder = holderProcess;
            this.servers = serverProcess;
            this.hook = new Thread(this::close, "TestInternet " + hostInterface);
            Thread.ofPlatform().daemon().name("TestInternet records " + hostInterface)
                    .start(() -> readRecords(servers.getInputStream()));
            Thread.ofPlatform().daemon().name("TestInternet errors " + hostInterface)
                    .start(() -> readErrors(servers.getErrorStream()));
            awaitReady();
            // until here a failure cleans up below, and a JVM's exit through the end of the processes' input
            Runtime.getRuntime().addShutdownHook(hook);
            started = true;
        } finally {
            if (!started) {
                stop(serverProcess);
                deleteInterface();
                stop(holderProcess);
                deleteTree(dir);
            }
        }
    }

    /** N of this instance's subnet 198.18.N.0/24. */
    public int subnet() {
        return subnet;
    }

    /** The host end of the veth pair, {@code dvti} + 6 hex digits. */
    public String hostInterface() {
        return hostInterface;
    }

    /** The host's own address on the veth pair, 198.18.N.1 ({@value #HOSTSIDE}). */
    public String hostSideAddress() {
        return "198.18." + subnet + ".1";
    }

    /** {@value #ALLOWED}'s (and {@value #CDN}'s) address, 198.18.N.2; the DNS server of {@link #resolvConf()}. */
    public String allowedAddress() {
        return "198.18." + subnet + ".2";
    }

    /** {@value #DENIED}'s address, 198.18.N.3. */
    public String deniedAddress() {
        return "198.18." + subnet + ".3";
    }

    /** {@value #OTHER}'s address, 198.18.N.4. */
    public String otherAddress() {
        return "198.18." + subnet + ".4";
    }

    /** The address a name of the zone resolves to when the fixture starts ({@code null} for an unknown name). */
    public String addressOf(String name) {
        return switch (name) {
            case ALLOWED, CDN, ALIAS -> allowedAddress();
            case DENIED -> deniedAddress();
            case OTHER -> otherAddress();
            case LOOPBACK -> "127.0.0.1";
            case HOSTSIDE -> hostSideAddress();
            case METADATA -> "169.254.169.254";
            case PRIVATE -> "10.1.2.3";
            default -> null;
        };
    }

    /** A resolv.conf with one line, {@code nameserver 198.18.N.2}. */
    public Path resolvConf() {
        return dir.resolve("resolv.conf");
    }

    /** A hosts file: a comment only until {@link #addHost} adds lines. */
    public Path hostsFile() {
        return dir.resolve("hosts");
    }

    /** Appends the line {@code ADDRESS NAME...} to {@link #hostsFile()}. */
    public void addHost(String address, String... names) throws IOException {
        Files.writeString(hostsFile(), address + "\t" + String.join(" ", names) + "\n", StandardOpenOption.APPEND);
    }

    /** The test CA's certificate (PEM), which signed the servers' certificate. */
    public Path caCertificate() {
        return dir.resolve("ca.crt");
    }

    /** The directory of this instance's files (deleted by {@link #close()}). */
    public Path directory() {
        return dir;
    }

    /**
     * From now on the DNS servers answer {@code name} with {@code addresses} as its A records, or, with none, with
     * NXDOMAIN; e.g. a name that rebinds from {@link #allowedAddress()} to 127.0.0.1.
     */
    public void dnsRecord(String name, String... addresses) {
        if (!name.matches("[A-Za-z0-9._-]+") || Stream.of(addresses).anyMatch(a -> !a.matches("[0-9.]+"))) {
            throw new IllegalArgumentException("not a name and IPv4 addresses: " + name + " " + List.of(addresses));
        }
        command("dns " + name + (addresses.length == 0 ? "" : " " + String.join(" ", addresses)));
        sync();
    }

    /** The DNS queries received so far, oldest first. */
    public List<DnsQuery> dnsQueries() {
        sync();
        return List.copyOf(dnsQueries);
    }

    /** The TCP connections accepted so far (DNS over TCP, HTTP, HTTPS, echo), oldest first. */
    public List<Connection> connections() {
        sync();
        return List.copyOf(connections);
    }

    /** The HTTP and HTTPS requests received so far, oldest first. */
    public List<HttpRequest> httpRequests() {
        sync();
        return List.copyOf(httpRequests);
    }

    /** The datagrams the UDP echo received so far, oldest first. */
    public List<Datagram> udpReceived() {
        sync();
        return List.copyOf(udpReceived);
    }

    /** Forgets every record so far. */
    public void clearRecords() {
        sync();
        dnsQueries.clear();
        connections.clear();
        httpRequests.clear();
        udpReceived.clear();
    }

    /** The PIDs of the processes behind this instance: the namespace's holder and the servers. */
    public List<Long> pids() {
        return List.of(holder.pid(), servers.pid());
    }

    /**
     * Ends the servers, deletes the veth pair, ends the holder (and so the namespace) and deletes the files;
     * idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            stop(servers);
            deleteInterface();
            stop(holder);
            deleteTree(dir);
        } finally {
            releaseSubnet(subnet);
            if (Thread.currentThread() != hook) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook runs or has run
                }
            }
        }
    }

    @Override
    public String toString() {
        return "TestInternet[198.18." + subnet + ".0/24 on " + hostInterface + "]";
    }

    // ---- the servers' records ----

    private void readRecords(InputStream out) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(out, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                record(Json.read(line));
            }
        } catch (IOException | RuntimeException | Error e) {
            serverErrors.append("reading the servers' records: ").append(e).append('\n');
        } finally {
            IllegalStateException gone = new IllegalStateException("the test Internet's servers ended: " + errors());
            ready.completeExceptionally(gone);
            syncs.values().forEach(f -> f.completeExceptionally(gone));
        }
    }

    private void record(JsonNode n) {
        switch (n.path("kind").asText()) {
            case "ready" -> ready.complete(null);
            case "sync" -> {
                CompletableFuture<Void> f = syncs.remove(n.path("id").asText());
                if (f != null) {
                    f.complete(null);
                }
            }
            case "dns" -> dnsQueries.add(new DnsQuery(text(n, "name"), text(n, "type"), text(n, "protocol"),
                    text(n, "server"), text(n, "client")));
            case "connection" -> connections.add(new Connection(text(n, "service"), text(n, "server"),
                    n.path("port").asInt(), text(n, "client")));
            case "http" -> {
                Map<String, String> headers = new LinkedHashMap<>();
                n.path("headers").properties().forEach(e -> headers.put(e.getKey(), e.getValue().asText()));
                httpRequests.add(new HttpRequest(text(n, "scheme"), text(n, "server"), n.path("port").asInt(),
                        text(n, "client"), text(n, "host"), text(n, "sni"), text(n, "method"), text(n, "path"),
                        Collections.unmodifiableMap(headers)));
            }
            case "udp" -> udpReceived.add(new Datagram(text(n, "server"), text(n, "client"),
                    Base64.getDecoder().decode(n.path("data").asText())));
            default -> serverErrors.append("unknown record: ").append(n).append('\n');
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private void readErrors(InputStream err) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(err, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                System.err.println("[" + hostInterface + "] " + line);
                if (serverErrors.length() < 8192) {
                    serverErrors.append(line).append('\n');
                }
            }
        } catch (IOException e) {
            // the servers ended
        }
    }

    private String errors() {
        String e = serverErrors.toString().strip();
        return e.isEmpty() ? "(no error output)" : e;
    }

    private void awaitReady() throws IOException {
        try {
            ready.get(READY_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the test Internet's servers did not listen within " + READY_SECONDS + " s: "
                    + errors());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the test Internet", e);
        }
    }

    /** Returns once the servers have written every record of what they received before the call. */
    private void sync() {
        if (closed.get()) {
            return;
        }
        String id = Long.toString(syncIds.incrementAndGet());
        CompletableFuture<Void> f = new CompletableFuture<>();
        syncs.put(id, f);
        command("sync " + id);
        try {
            f.get(READY_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the test Internet's servers did not answer: " + errors());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            syncs.remove(id);
        }
    }

    private void command(String line) {
        if (closed.get()) {
            throw new IllegalStateException(this + " is closed");
        }
        OutputStream in = servers.getOutputStream();
        synchronized (in) {
            try {
                in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                in.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("the test Internet's servers ended: " + errors(), e);
            }
        }
    }

    // ---- set-up and tear-down ----

    /** The test CA and the servers' leaf certificate, made with openssl into {@link #directory()}. */
    private void certificates() throws IOException {
        String d = dir.toString();
        Tools.run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "7",
                "-subj", "/CN=davit test CA 198.18." + subnet + ".0",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        Tools.run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", d + "/leaf.key", "-out", d + "/leaf.csr", "-subj", "/CN=" + ALLOWED);
        Files.writeString(dir.resolve("leaf.ext"), "basicConstraints=critical,CA:FALSE\n"
                + "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName="
                + String.join(",", CERTIFICATE_NAMES.stream().map(n -> "DNS:" + n).toList()) + "\n");
        Tools.run("openssl", "x509", "-req", "-in", d + "/leaf.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-days", "7", "-extfile", d + "/leaf.ext", "-out", d + "/leaf.crt");
    }

    private void deleteInterface() {
        if (Files.exists(Path.of("/sys/class/net", hostInterface))) {
            try {
                Tools.run("ip", "link", "del", hostInterface);
            } catch (IllegalStateException e) {
                // gone meanwhile with the namespace: the pair is deleted either way
                if (Files.exists(Path.of("/sys/class/net", hostInterface))) {
                    throw e;
                }
            }
        }
    }

    /** Closes the process's standard input (it exits at its end), then terminates it, then kills it. */
    private static void stop(Process p) {
        if (p == null) {
            return;
        }
        try {
            p.getOutputStream().close();
        } catch (IOException ignored) {
            // gone
        }
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroy();
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static String exitOf(Process p) {
        try {
            return p.waitFor(5, TimeUnit.SECONDS) ? Integer.toString(p.exitValue()) : "none, still running";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    private static void deleteTree(Path root) {
        try {
            Fs.deleteTree(root);
        } catch (IOException e) {
            System.err.println("TestInternet: cannot delete " + root + ": " + e);
        }
    }

    // ---- subnets ----

    /** Locks a free N (1..254, from a random start) and returns it. */
    private static synchronized int claimSubnet() throws IOException {
        if (lockChannel == null) {
            Path lock = Path.of(LOCK_FILE);
            lockChannel = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        }
        List<int[]> routes = hostRoutes();
        int start = RANDOM.nextInt(254);
        for (int i = 0; i < 254; i++) {
            int n = 1 + (start + i) % 254;
            if (HELD.containsKey(n) || overlaps(routes, n)) {
                continue;
            }
            FileLock l;
            try {
                l = lockChannel.tryLock(n, 1, false);
            } catch (OverlappingFileLockException e) {
                continue;
            }
            if (l != null) {
                HELD.put(n, l);
                return n;
            }
        }
        throw new IllegalStateException("no free /24 in 198.18.1.0/24 to 198.18.254.0/24 for a test Internet: each is held"
                + " by another instance or overlaps a route of the host's");
    }

    private static synchronized void releaseSubnet(int n) {
        FileLock l = HELD.remove(n);
        if (l != null) {
            try {
                l.release();
            } catch (IOException e) {
                // the channel stays open; the lock goes with the JVM
            }
        }
    }

    /** The destinations (address, prefix length) of every IPv4 route of the host, in every table. */
    private static List<int[]> hostRoutes() {
        List<int[]> out = new ArrayList<>();
        for (String line : Tools.run("ip", "-4", "-o", "route", "show", "table", "all").lines().toList()) {
            String[] f = line.trim().split("\\s+");
            String dest = f.length > 1 && List.of("local", "broadcast", "unicast", "anycast", "multicast",
                    "blackhole", "unreachable", "prohibit", "throw", "nat").contains(f[0]) ? f[1] : f[0];
            if (dest.equals("default")) {
                continue;
            }
            String[] parts = dest.split("/");
            if (!parts[0].matches("\\d+\\.\\d+\\.\\d+\\.\\d+")) {
                continue;
            }
            int address = 0;
            for (String o : parts[0].split("\\.")) {
                address = address << 8 | Integer.parseInt(o);
            }
            out.add(new int[] {address, parts.length > 1 ? Integer.parseInt(parts[1]) : 32});
        }
        return out;
    }

    /** Whether a route's destination overlaps 198.18.N.0/24. */
    private static boolean overlaps(List<int[]> routes, int n) {
        int subnet = 198 << 24 | 18 << 16 | n << 8;
        for (int[] r : routes) {
            int common = Math.min(r[1], 24);
            int mask = common == 0 ? 0 : -1 << (32 - common);
            if ((r[0] & mask) == (subnet & mask)) {
                return true;
            }
        }
        return false;
    }
}
