package dev.davit.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.fasterxml.jackson.databind.JsonNode;
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
 * <p>Three kinds, as {@code ./davit} picks them per command: {@code full} (push, copy, build, unpack, fsck, ...: the
 * commands that move and hash many bytes), {@code pull} (a pull alone) and {@code quick} ({@code run},
 * {@code sandbox exec}, {@code workspace exec}, listings: the short commands). The JVM loads every class of a cache
 * at start-up, so a smaller cache starts sooner: with the quick one a one-shot run maps ~2,400 classes instead of
 * ~3,100 (~10 ms), with the pull one a pull ~2,700 instead of ~3,300 (~17 ms; docs/reference/BENCHMARKS.md).
 * What the recorded commands need but should not record (pulling and unpacking the image, creating and removing the
 * sandbox and the workspace) is done by a child JVM ({@code prepare}, {@code cleanup}), whose classes are not
 * recorded.
 */
public final class AotTraining {
    private AotTraining() {
    }

    /** The system property by which {@code ./davit} asks {@link Main} to run this training: its value is the kind. */
    static final String PROPERTY = "davit.aot.training";
    private static final String REF_FILE = "aot-training-ref";
    private static final String SANDBOX_FILE = "aot-training-sandbox";
    private static final String WORKSPACE = "aot";

    public static void main(String[] args) throws Exception {
        String kind = args.length > 0 ? args[0] : "full";
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        if (kind.equals("prepare") || kind.equals("cleanup")) {
            Path home = Path.of(args[1]);
            Map<String, String> env = Map.of("DAVIT_HOME", home.toString(), "DAVIT_PROGRESS", "lines");
            if (kind.equals("prepare")) {
                prepare(home, env, quiet);
            } else {
                train(new String[][] {{"sandbox", "remove", sandbox(home)}, {"workspace", "remove", WORKSPACE}}, env, quiet);
            }
            return;
        }
        Path tmp = Files.createTempDirectory("davit-aot-");
        Map<String, String> env = Map.of("DAVIT_HOME", tmp.toString(), "DAVIT_PROGRESS", "lines");
        HttpServer server = null;
        try {
            if (kind.equals("pull")) {
                // a pull alone: into a fresh store, warm, as JSON, and refused
                server = serve(image());
                String ref = "127.0.0.1:" + server.getAddress().getPort() + "/train/image:1";
                train(new String[][] {{"pull", ref}, {"pull", ref}, {"pull", "-q", ref}, {"--json", "pull", ref},
                    {"--json", "pull", "-q", ref}, {"pull", "not a reference"},
                    {"pull", "127.0.0.1:" + server.getAddress().getPort() + "/train/absent:1"}}, env, quiet);
            } else if (kind.equals("full")) {
                server = serve(image());
                String ref = "127.0.0.1:" + server.getAddress().getPort() + "/train/image:1";
                // a Containerfile build, run then taken from the build cache (a rebuild loads what the cold one did
                // not: the cache's lookups, the layers' indexes)
                Path ctx = Files.createDirectories(tmp.resolve("aot-build"));
                Files.writeString(ctx.resolve("f.txt"), "f\n");
                Files.writeString(ctx.resolve("Containerfile"), "FROM " + ref + "\nENV A=1\nWORKDIR /app\n"
                        + "COPY f.txt /app/\nRUN echo built > /app/out\nUSER 0\nRUN echo again >> /app/out\n"
                        + "CMD [\"cat\", \"/app/out\"]\n");
                String[] build = {"build", "-q", "--file", ctx.resolve("Containerfile").toString(), ctx.toString(),
                    "localhost/train/built:1"};
                train(new String[][] {{"pull", ref}, build, build, build, {"--json", "build", "--file",
                    ctx.resolve("Containerfile").toString(), ctx.toString(), "localhost/train/built:1"}}, env, quiet);
                train(new String[][] {
                    {"--help"}, {"--version"}, {"pull", ref}, {"pull", "--json", ref}, {"images"}, {"--json", "images"},
                    {"inspect", ref}, {"--json", "inspect", ref}, {"digest", ref}, {"tags", ref.replace(":1", "")},
                    {"fsck"}, {"unpack", ref, tmp.resolve("rootfs").toString()},
                    {"--json", "unpack", "--rootless", ref, tmp.resolve("rootfs2").toString()},
                    {"run", "-q", ref, "--", "/bin/true"}, {"--json", "run", ref, "--", "/bin/true"},
                    {"environment", "list"}, {"--json", "environment", "resolve", ref},
                    {"remove", ref}, {"gc"}, {"pull", "not a reference"}, {"--json", "pull", "-q", ref}}, env, quiet);
            } else {
                child("prepare", tmp);
                // without the prepared image (the child failed) the commands still train their error paths
                Path refFile = tmp.resolve(REF_FILE);
                String ref = Files.exists(refFile) ? Files.readString(refFile).strip() : "127.0.0.1:9/train/image:1";
                String id = sandbox(tmp);
                train(new String[][] {
                    {"run", "-q", ref, "--", "/bin/true"}, {"run", "-q", ref, "--", "/bin/true"},
                    {"--json", "run", ref, "--", "/bin/sh", "-c", "echo out; echo err >&2"},
                    {"run", "-q", "no such:image", "--", "true"},
                    {"sandbox", "exec", id, "--", "/bin/true"},
                    {"--json", "sandbox", "exec", id, "--", "/bin/sh", "-c", "echo x"},
                    {"workspace", "exec", WORKSPACE, "--", "/bin/true"},
                    {"--json", "workspace", "exec", WORKSPACE, "--", "/bin/sh", "-c", "echo x > f"},
                    {"images"}, {"--json", "images"}, {"inspect", ref}, {"--json", "inspect", ref},
                    {"environment", "list"}, {"--json", "environment", "resolve", ref}, {"sandbox", "ls"}, {"--json", "sandbox", "ls"},
                    {"workspace", "ls"}, {"workspace", "diff", WORKSPACE}, {"sandbox", "status", id}}, env, quiet);
                child("cleanup", tmp);
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

    /** Runs this class with {@code what} and {@code home} in another JVM (not recorded) and waits for it. */
    private static void child(String what, Path home) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        new ProcessBuilder(java, "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                AotTraining.class.getName(), what, home.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor();
    }

    private static void train(String[][] commands, Map<String, String> env, PrintStream quiet) {
        for (String[] cmd : commands) {
            Main.execute(cmd, quiet, quiet, env);
        }
    }

    /** The id of the sandbox {@code prepare} created, or a name that is none. */
    private static String sandbox(Path home) throws IOException {
        Path f = home.resolve(SANDBOX_FILE);
        return Files.exists(f) ? Files.readString(f).strip() : "sb-000000000000";
    }

    /**
     * The child before the recorded commands: pulls and unpacks the image into {@code home}, creates a long-lived
     * sandbox and a workspace on it (they start when the image has a shell: the host's static busybox), and writes
     * the image's reference and the sandbox's id there.
     */
    private static void prepare(Path home, Map<String, String> env, PrintStream quiet) throws Exception {
        HttpServer server = serve(image());
        try {
            String ref = "127.0.0.1:" + server.getAddress().getPort() + "/train/image:1";
            train(new String[][] {{"pull", ref}, {"run", "-q", ref, "--", "/bin/true"},
                {"workspace", "create", ref, "--name", WORKSPACE}}, env, quiet);
            Files.writeString(home.resolve(REF_FILE), ref);
            ByteArrayOutputStream created = new ByteArrayOutputStream();
            if (Main.execute(new String[] {"--json", "sandbox", "create", ref}, created, quiet, env) == 0) {
                JsonNode doc = dev.davit.oci.internal.Json.read(created.toByteArray());
                Files.writeString(home.resolve(SANDBOX_FILE), doc.path("id").asText());
            }
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
        // with a history, as images built by davit, buildah or docker have (a run reads it: its class belongs in the
        // cache, else the class loader reads the jar's index for it)
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + diffIds + "]},\"history\":[{\"created\":"
                + "\"2024-01-01T00:00:00Z\",\"created_by\":\"davit aot training\"}]}").getBytes(StandardCharsets.UTF_8);
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
