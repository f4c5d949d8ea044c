package dev.davit.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.davit.oci.digest.Digest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * The training workload for the JDK's AOT cache ({@code ./davit} runs it once per jar with
 * {@code -XX:AOTCacheOutput}): it serves a small synthetic image from an in-process registry on 127.0.0.1 and
 * runs the usual commands against it (pull, inspect, unpack, ...), so the cache holds the classes and method
 * profiles of a real pull and unpack, not just those of {@code --help}. Not a user command; it touches nothing
 * outside a temp directory.
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws Exception {
        Path tmp = Files.createTempDirectory("davit-aot-");
        Map<String, byte[]> blobs = new HashMap<>();
        Random random = new Random(42);
        StringBuilder layers = new StringBuilder();
        StringBuilder diffIds = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            byte[] data = new byte[8 << 20];
            random.nextBytes(data);
            byte[] tar = tar("layer" + i + "/data.bin", data);
            byte[] layer = gzip(tar);
            String d = put(blobs, layer);
            layers.append(i == 0 ? "" : ",").append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                    + "\"digest\":\"").append(d).append("\",\"size\":").append(layer.length).append('}');
            diffIds.append(i == 0 ? "\"" : ",\"").append(Digest.sha256(tar)).append('"');
        }
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + diffIds + "]}}").getBytes(StandardCharsets.UTF_8);
        String configDigest = put(blobs, config);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest
                + "\",\"size\":" + config.length + "},\"layers\":[" + layers + "]}").getBytes(StandardCharsets.UTF_8);
        String manifestDigest = put(blobs, manifest);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/v2/", ex -> serve(ex, blobs, manifest, manifestDigest));
        server.start();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try {
            String ref = "127.0.0.1:" + server.getAddress().getPort() + "/train/image:1";
            Map<String, String> env = Map.of("DAVIT_HOME", tmp.toString(), "DAVIT_PROGRESS", "lines");
            for (String[] cmd : new String[][] {
                    {"--help"}, {"--version"}, {"pull", ref}, {"pull", "--json", ref}, {"images"}, {"--json", "images"},
                    {"inspect", ref}, {"--json", "inspect", ref}, {"digest", ref}, {"tags", ref.replace(":1", "")},
                    {"fsck"}, {"unpack", ref, tmp.resolve("rootfs").toString()},
                    {"--json", "unpack", "--rootless", ref, tmp.resolve("rootfs2").toString()},
                    {"run", "-q", ref, "--", "/bin/true"}, {"--json", "run", ref, "--", "/bin/true"},
                    {"env", "list"}, {"--json", "env", "resolve", ref},
                    {"rm", ref}, {"gc"}, {"pull", "not a reference"}, {"--json", "pull", "-q", ref}}) {
                Main.execute(cmd, quiet, quiet, env);
            }
        } finally {
            server.stop(0);
            ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** A tar of one regular file (what {@code unpack} trains on). */
    private static byte[] tar(String name, byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length + 4096);
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(out)) {
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setSize(data.length);
            t.putArchiveEntry(e);
            t.write(data);
            t.closeArchiveEntry();
        }
        return out.toByteArray();
    }

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length + 4096);
        try (GZIPOutputStream z = new GZIPOutputStream(out, 1 << 16) {
            {
                def.setLevel(Deflater.BEST_SPEED);
            }
        }) {
            z.write(data);
        }
        return out.toByteArray();
    }

    private static String put(Map<String, byte[]> blobs, byte[] data) {
        String d = Digest.sha256(data).toString();
        blobs.put(d, data);
        return d;
    }

    private static void serve(HttpExchange ex, Map<String, byte[]> blobs, byte[] manifest, String manifestDigest)
            throws IOException {
        String path = ex.getRequestURI().getPath();
        byte[] body;
        String type = "application/octet-stream";
        if (path.equals("/v2/")) {
            body = "{}".getBytes(StandardCharsets.UTF_8);
        } else if (path.contains("/manifests/")) {
            body = manifest;
            type = "application/vnd.oci.image.manifest.v1+json";
            ex.getResponseHeaders().add("Docker-Content-Digest", manifestDigest);
        } else if (path.contains("/blobs/")) {
            body = blobs.get(path.substring(path.lastIndexOf('/') + 1));
        } else if (path.endsWith("/tags/list")) {
            body = "{\"name\":\"train/image\",\"tags\":[\"1\"]}".getBytes(StandardCharsets.UTF_8);
        } else {
            body = null;
        }
        if (body == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        ex.getResponseHeaders().add("Content-Type", type);
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(200, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        ex.close();
    }

}
