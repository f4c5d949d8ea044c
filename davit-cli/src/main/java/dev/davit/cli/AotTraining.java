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
 * The training workload for the JDK's AOT cache ({@code ./davit} runs it once per jar and kind with
 * {@code -XX:AOTCacheOutput}): it serves a small synthetic image from an in-process registry on 127.0.0.1 and
 * runs the usual commands against it, so the cache holds the classes and method profiles of real commands, not
 * just those of {@code --help}. Not a user command; it touches nothing outside a temp directory.
 *
 * <p>Two kinds, as {@code ./davit} picks them per command: {@code full} (pull, inspect, unpack, run, ...: the
 * commands that move and hash many bytes) and {@code quick} (run, sandbox and workspace exec, images, inspect of
 * an image already in the store). The JVM loads every class of a cache at start-up, so a cache made for the quick
 * commands leaves out what only pulls and unpacks use (about a third of the classes: a one-shot {@code run}
 * starts ~20 ms sooner, docs/BENCHMARKS.md): its image is pulled and unpacked by a child JVM ({@code prepare}),
 * whose classes are not recorded.
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws Exception {
        String kind = args.length > 0 ? args[0] : "full";
        if (kind.equals("prepare")) {
            prepare(Path.of(args[1]));
            return;
        }
        Path tmp = Files.createTempDirectory("davit-aot-");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        Map<String, String> env = Map.of("DAVIT_HOME", tmp.toString(), "DAVIT_PROGRESS", "lines");
        HttpServer server = null;
        try {
            if (kind.equals("quick")) {
                String java = ProcessHandle.current().info().command().orElse("java");
                Process child = new ProcessBuilder(java, "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                        AotTraining.class.getName(), "prepare", tmp.toString())
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                child.waitFor();
                // without the prepared image (the child failed) the commands still train their error paths
                Path refFile = tmp.resolve(REF_FILE);
                String ref = Files.exists(refFile) ? Files.readString(refFile).strip() : "127.0.0.1:9/train/image:1";
                train(quick(ref, env, quiet), env, quiet);
            } else {
                server = serve(image());
                String ref = "127.0.0.1:" + server.getAddress().getPort() + "/train/image:1";
                train(new String[][] {
                    {"--help"}, {"--version"}, {"pull", ref}, {"pull", "--json", ref}, {"images"}, {"--json", "images"},
                    {"inspect", ref}, {"--json", "inspect", ref}, {"digest", ref}, {"tags", ref.replace(":1", "")},
                    {"fsck"}, {"unpack", ref, tmp.resolve("rootfs").toString()},
                    {"--json", "unpack", "--rootless", ref, tmp.resolve("rootfs2").toString()},
                    {"run", "-q", ref, "--", "/bin/true"}, {"--json", "run", ref, "--", "/bin/true"},
                    {"env", "list"}, {"--json", "env", "resolve", ref},
                    {"rm", ref}, {"gc"}, {"pull", "not a reference"}, {"--json", "pull", "-q", ref}}, env, quiet);
            }
        } finally {
            if (server != null) {
                server.stop(0);
                ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
            }
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static final String REF_FILE = "aot-training-ref";

    private static void train(String[][] commands, Map<String, String> env, PrintStream quiet) {
        for (String[] cmd : commands) {
            Main.execute(cmd, quiet, quiet, env);
        }
    }

    /**
     * The quick commands on an image already in the store and unpacked: one-shot runs, a long-lived sandbox and a
     * workspace with their execs (when the image has a shell: the host's static busybox), listings, and errors.
     */
    private static String[][] quick(String ref, Map<String, String> env, PrintStream quiet) {
        java.util.List<String[]> cmds = new java.util.ArrayList<>(java.util.List.of(new String[][] {
            {"run", "-q", ref, "--", "/bin/true"}, {"run", "-q", ref, "--", "/bin/true"},
            {"--json", "run", ref, "--", "/bin/sh", "-c", "echo out; echo err >&2"},
            {"images"}, {"--json", "images"}, {"inspect", ref}, {"--json", "inspect", ref},
            {"env", "list"}, {"--json", "env", "resolve", ref}, {"run", "-q", "no such:image", "--", "true"}}));
        ByteArrayOutputStream created = new ByteArrayOutputStream();
        Main.execute(new String[] {"--json", "sandbox", "create", ref}, created, quiet, env);
        String id = created.toString(StandardCharsets.UTF_8).replaceAll("(?s).*\"id\" *: *\"([^\"]+)\".*", "$1");
        cmds.addAll(java.util.List.of(new String[][] {
            {"sandbox", "exec", id, "--", "/bin/true"}, {"--json", "sandbox", "exec", id, "--", "/bin/sh", "-c", "echo x"},
            {"sandbox", "ls"}, {"sandbox", "rm", id},
            {"workspace", "create", ref, "--name", "aot"}, {"workspace", "exec", "aot", "--", "/bin/true"},
            {"--json", "workspace", "exec", "aot", "--", "/bin/sh", "-c", "echo x > f"}, {"workspace", "diff", "aot"},
            {"workspace", "ls"}, {"workspace", "rm", "aot"}}));
        return cmds.toArray(new String[0][]);
    }

    /** The child of the quick kind: pulls and unpacks the image into {@code home} and writes its reference there. */
    private static void prepare(Path home) throws Exception {
        HttpServer server = serve(image());
        try {
            String ref = "127.0.0.1:" + server.getAddress().getPort() + "/train/image:1";
            PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
            train(new String[][] {{"pull", ref}, {"run", "-q", ref, "--", "/bin/true"}},
                    Map.of("DAVIT_HOME", home.toString(), "DAVIT_PROGRESS", "lines"), quiet);
            Files.writeString(home.resolve(REF_FILE), ref);
        } finally {
            server.stop(0);
            ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
        }
    }

    /** The synthetic image: blobs by digest, its manifest and the manifest's digest. */
    private record Image(Map<String, byte[]> blobs, byte[] manifest, String manifestDigest) {
    }

    /**
     * Four layers of random bytes (what unpack and hashing train on) and, when the host has a static busybox, one
     * with {@code /bin/busybox} and its {@code sh}, {@code true} and {@code sleep} links, so sandboxes start.
     */
    private static Image image() throws IOException {
        Map<String, byte[]> blobs = new HashMap<>();
        Random random = new Random(42);
        java.util.List<byte[]> tars = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            byte[] data = new byte[8 << 20];
            random.nextBytes(data);
            tars.add(tar("layer" + i + "/data.bin", data));
        }
        Path busybox = Path.of("/bin/busybox");
        if (Files.isRegularFile(busybox)) {
            tars.add(busyboxTar(Files.readAllBytes(busybox)));
        }
        StringBuilder layers = new StringBuilder();
        StringBuilder diffIds = new StringBuilder();
        for (int i = 0; i < tars.size(); i++) {
            byte[] layer = gzip(tars.get(i));
            String d = put(blobs, layer);
            layers.append(i == 0 ? "" : ",").append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                    + "\"digest\":\"").append(d).append("\",\"size\":").append(layer.length).append('}');
            diffIds.append(i == 0 ? "\"" : ",\"").append(Digest.sha256(tars.get(i))).append('"');
        }
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + diffIds + "]}}").getBytes(StandardCharsets.UTF_8);
        String configDigest = put(blobs, config);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest
                + "\",\"size\":" + config.length + "},\"layers\":[" + layers + "]}").getBytes(StandardCharsets.UTF_8);
        return new Image(blobs, manifest, put(blobs, manifest));
    }

    private static HttpServer serve(Image image) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/v2/", ex -> serve(ex, image.blobs(), image.manifest(), image.manifestDigest()));
        server.start();
        return server;
    }

    /** {@code bin/busybox} (mode 0755) and links to it. */
    private static byte[] busyboxTar(byte[] busybox) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(busybox.length + 8192);
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(out)) {
            TarArchiveEntry dir = new TarArchiveEntry("bin/");
            t.putArchiveEntry(dir);
            t.closeArchiveEntry();
            TarArchiveEntry e = new TarArchiveEntry("bin/busybox");
            e.setMode(0100755);
            e.setSize(busybox.length);
            t.putArchiveEntry(e);
            t.write(busybox);
            t.closeArchiveEntry();
            for (String name : new String[] {"sh", "true", "sleep", "echo"}) {
                TarArchiveEntry l = new TarArchiveEntry("bin/" + name, TarArchiveEntry.LF_SYMLINK);
                l.setLinkName("busybox");
                t.putArchiveEntry(l);
                t.closeArchiveEntry();
            }
        }
        return out.toByteArray();
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
