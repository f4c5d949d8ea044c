package dev.davit.mcp;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** {@code davit mcp serve}: the server over stdio (until the client closes stdin) or streamable HTTP. */
public final class McpServe {
    /** The HTTP endpoint. */
    public static final String ENDPOINT = "/mcp";
    /**
     * The protocol versions davit speaks: up to 2025-11-25, whose additions (tasks, icons, URL elicitation, sampling
     * with tools) are optional and not used here, so its clients are answered in their own version.
     */
    static final java.util.List<String> PROTOCOL_VERSIONS = java.util.List.of("2024-11-05", "2025-03-26",
            "2025-06-18", "2025-11-25");
    private static final Set<String> LOOPBACK = Set.of("localhost", "127.0.0.1", "[::1]", "::1");

    private McpServe() {
    }

    /**
     * Serves over stdin/stdout until stdin ends; then the calls in flight are cancelled (their commands killed)
     * and the server closes. Anything else printing to System.out goes to stderr, so stdout carries only protocol.
     */
    public static void stdio(DavitMcpServer server, InputStream stdin, OutputStream stdout) throws InterruptedException {
        CountDownLatch ended = new CountDownLatch(1);
        CancelTap in = new CancelTap(stdin, server.offered(), server::cancel, ended::countDown,
                refused -> server.log("answered a message with an error: " + refused),
                error -> StdioTransport.writeLine(stdout, error, server::log));
        // structuredContent and outputSchema are 2025-06-18's; the SDK's stdio transport names only 2024-11-05
        McpSyncServer mcp = server.build(new StdioTransport(server.mapper(), in, stdout, PROTOCOL_VERSIONS,
                server::log));
        // a client that ends the server with SIGTERM (as SDK clients do after closing stdin) gets the same close:
        // calls cancelled, the warm pool's spares removed, --cleanup-on-exit done
        Thread hook = new Thread(server::close, "davit-mcp-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            ended.await();
        } finally {
            server.close();
            mcp.closeGracefully();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs (or ran) the same close
            }
        }
    }

    /** The real stdout, for the protocol, with System.out pointed at stderr. */
    public static OutputStream takeStdout() {
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        System.setOut(System.err);
        return out;
    }

    /** Reads {@code --tls-cert} and {@code --tls-key} as {@link #http} will: a one-line usage error if they are bad. */
    public static void checkTls(Path tlsCert, Path tlsKey) {
        new TlsFiles(tlsCert, tlsKey).read();
    }

    /**
     * Serves over streamable HTTP on {@code host:port} (port 0: any free one) until the process ends. Every request
     * needs {@code Authorization: Bearer TOKEN}; a request with an {@code Origin} header is refused unless the origin
     * is a loopback one. With {@code tlsCert} and {@code tlsKey} (PEM files; both or neither) it serves HTTPS,
     * reloading them when they change. {@code onStarted} gets the bound port.
     */
    public static Server http(DavitMcpServer server, String host, int port, String token, Path tlsCert, Path tlsKey,
                              java.util.function.IntConsumer onStarted) throws Exception {
        TlsFiles tls = tlsCert == null ? null : new TlsFiles(tlsCert, tlsKey);
        org.eclipse.jetty.util.ssl.SslContextFactory.Server ssl = tls == null ? null : tls.server();
        HttpServletStreamableServerTransportProvider transport = HttpServletStreamableServerTransportProvider.builder()
                .jsonMapper(server.mapper()).mcpEndpoint(ENDPOINT).build();
        McpSyncServer mcp = server.build(transport);
        Server jetty = new Server();
        org.eclipse.jetty.server.HttpConfiguration config = new org.eclipse.jetty.server.HttpConfiguration();
        config.setSendServerVersion(false); // no "Server: Jetty(12.…)" on every answer
        ServerConnector connector;
        if (ssl == null) {
            connector = new ServerConnector(jetty, new org.eclipse.jetty.server.HttpConnectionFactory(config));
        } else {
            // the certificate is checked by the client; a request is not refused for the name it reached us by
            org.eclipse.jetty.server.SecureRequestCustomizer secure = new org.eclipse.jetty.server.SecureRequestCustomizer();
            secure.setSniHostCheck(false);
            config.addCustomizer(secure);
            connector = new ServerConnector(jetty, ssl, new org.eclipse.jetty.server.HttpConnectionFactory(config));
        }
        connector.setHost(host);
        connector.setPort(port);
        jetty.addConnector(connector);
        ServletContextHandler ctx = new ServletContextHandler();
        ctx.setContextPath("/");
        ctx.addServlet(new ServletHolder(transport), ENDPOINT);
        ctx.addFilter(new FilterHolder(new Guard(token)), "/*", EnumSet.of(DispatcherType.REQUEST));
        ctx.addFilter(new FilterHolder(new HttpDoor(server)), "/*", EnumSet.of(DispatcherType.REQUEST));
        jetty.setHandler(ctx);
        jetty.setErrorHandler(new HttpDoor.JsonErrors());
        jetty.setStopAtShutdown(true);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            mcp.closeGracefully();
        }, "davit-mcp-shutdown"));
        jetty.start();
        if (tls != null) {
            tls.watch(ssl, server::log);
        }
        onStarted.accept(connector.getLocalPort());
        return jetty;
    }

    /**
     * The bearer token: read from {@code tokenFile}, else generated and written 0600 to {@code defaultFile} (temp
     * file, then an atomic rename). Never printed.
     */
    public static String token(Path tokenFile, Path defaultFile) {
        if (tokenFile != null) {
            try {
                String t = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
                if (t.length() < 16) {
                    throw new DavitException(Kind.USAGE, "the token in " + tokenFile + " is shorter than 16"
                            + " characters; put a longer random one there (e.g. openssl rand -hex 32)");
                }
                return t;
            } catch (IOException e) {
                throw new DavitException(Kind.USAGE, "cannot read --token-file " + tokenFile + ": " + e.getMessage());
            }
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String t = HexFormat.of().formatHex(random);
        try {
            Files.createDirectories(defaultFile.getParent());
            Path tmp = Files.createTempFile(defaultFile.getParent(), ".token-", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                Files.writeString(tmp, t + "\n", StandardCharsets.UTF_8);
                if (!Files.readString(tmp, StandardCharsets.UTF_8).strip().equals(t)) {
                    throw new IOException("the token file reads back differently");
                }
                try {
                    Files.move(tmp, defaultFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, defaultFile, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the token to " + defaultFile + ": " + e.getMessage());
        }
        return t;
    }

    /** The bearer token and Origin checks in front of the endpoint. */
    static final class Guard implements Filter {
        private final byte[] expected;

        Guard(String token) {
            this.expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
                throws IOException, ServletException {
            HttpServletRequest req = (HttpServletRequest) request;
            HttpServletResponse res = (HttpServletResponse) response;
            String origin = req.getHeader("Origin");
            if (origin != null && !loopback(origin)) {
                refuse(res, HttpServletResponse.SC_FORBIDDEN, "the Origin " + origin + " is not a loopback origin;"
                        + " this server answers only local clients");
                return;
            }
            String auth = req.getHeader("Authorization");
            if (auth == null || !MessageDigest.isEqual(expected, auth.getBytes(StandardCharsets.UTF_8))) {
                res.setHeader("WWW-Authenticate", "Bearer");
                refuse(res, HttpServletResponse.SC_UNAUTHORIZED, "missing or wrong bearer token: send"
                        + " 'Authorization: Bearer TOKEN' with the token from the server's token file");
                return;
            }
            chain.doFilter(request, response);
        }

        static boolean loopback(String origin) {
            try {
                String h = URI.create(origin).getHost();
                return h != null && LOOPBACK.contains(h);
            } catch (IllegalArgumentException e) {
                return false;
            }
        }

        private static void refuse(HttpServletResponse res, int status, String message) throws IOException {
            HttpDoor.error(res, status, -32001, message);
        }
    }
}
