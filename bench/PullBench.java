import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The download pipeline of one pull, in one JVM (issue 13 part 4): JVM start and JIT warm-up apart from the transfer.
 * Usage: java -cp davit-cli/target/davit.jar bench/PullBench.java HOST:PORT/REPO:TAG ROUNDS [STAGES]
 * Each round, in this order: every stage that fetches the image's layers by hand (all layers in parallel, one
 * thread each, unless a stage says otherwise), then a whole {@code DavitClient.pull} into a fresh store. Stages:
 *   read64k / read1m   HttpURLConnection, body drained with a 64 KiB / 1 MiB buffer
 *   raw                a plain socket, one GET written by hand, the body drained (no HTTP library)
 *   hash               read 128 KiB + SHA-256 on the reading thread
 *   write              read + FileChannel write (no hash, no fsync)
 *   hashwrite          read + hash + write (davit's loop, without fsync)
 *   fsync              hashwrite + fsync of each file
 *   par1 / par2        hashwrite with at most 1 / 2 layers at a time
 *   pull               the whole pull into a fresh store (DavitClient, as `davit pull` does)
 * Prints per stage and round the wall time and MB/s over all layers; the first round is the cold JVM.
 */
public class PullBench {
    record Blob(String digest, long size) { }

    public static void main(String[] a) throws Exception {
        String ref = a[0];
        int rounds = Integer.parseInt(a[1]);
        List<String> stages = Arrays.asList((a.length > 2 ? a[2] : "read64k,read1m,raw,hash,write,hashwrite,fsync,par1,par2,pull").split(","));
        int slash = ref.indexOf('/'), colon = ref.lastIndexOf(':');
        String host = ref.substring(0, slash), repo = ref.substring(slash + 1, colon), tag = ref.substring(colon + 1);
        String base = "http://" + host + "/v2/" + repo;
        List<Blob> blobs = layers(base + "/manifests/" + tag);
        long total = blobs.stream().mapToLong(Blob::size).sum();
        System.out.printf("%d layers, %d bytes%n", blobs.size(), total);
        Path tmp = Files.createTempDirectory("pullbench");
        for (int r = 0; r < rounds; r++) {
            StringBuilder line = new StringBuilder("round " + r + ":");
            for (String s : stages) {
                long t0 = System.nanoTime();
                long bytes;
                if (s.equals("pull")) {
                    Path store = tmp.resolve("store-" + r);
                    try (DavitClient c = DavitClient.create(ClientOptions.anonymous(store))) {
                        PullResult p = c.pull(ref, PlatformSelector.host(), ProgressListener.NONE);
                        bytes = p.downloadedBytes();
                    }
                } else {
                    int par = s.equals("par1") ? 1 : s.equals("par2") ? 2 : blobs.size();
                    bytes = fetchAll(base, host, blobs, s, par, tmp.resolve(s + "-" + r));
                }
                long ns = System.nanoTime() - t0;
                if (bytes != total) {
                    throw new IllegalStateException(s + ": " + bytes + " bytes, expected " + total);
                }
                line.append(String.format(" %s %d ms %d MB/s;", s, ns / 1_000_000, total * 1000 / Math.max(1, ns)));
            }
            System.out.println(line);
        }
    }

    static long fetchAll(String base, String host, List<Blob> blobs, String stage, int par, Path dir) throws Exception {
        Files.createDirectories(dir);
        ExecutorService pool = Executors.newFixedThreadPool(par, Thread.ofPlatform().daemon(true).factory());
        try {
            List<Future<Long>> fs = new ArrayList<>();
            for (Blob b : blobs) {
                Callable<Long> job = () -> fetch(base, host, b, stage, dir.resolve(b.digest().substring(7)));
                fs.add(pool.submit(job));
            }
            long n = 0;
            for (Future<Long> f : fs) {
                n += f.get();
            }
            return n;
        } finally {
            pool.shutdown();
        }
    }

    static long fetch(String base, String host, Blob b, String stage, Path file) throws Exception {
        String url = base + "/blobs/" + b.digest();
        if (stage.equals("raw")) {
            return raw(host, URI.create(url).getRawPath());
        }
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        byte[] buf = new byte[stage.equals("read64k") ? 1 << 16 : stage.equals("read1m") ? 1 << 20 : 1 << 17];
        boolean hash = !stage.startsWith("read") && !stage.equals("write");
        boolean write = stage.contains("write") || stage.equals("fsync") || stage.startsWith("par");
        MessageDigest md = hash ? MessageDigest.getInstance("SHA-256") : null;
        long n = 0;
        try (InputStream in = c.getInputStream();
             FileChannel ch = write ? FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE) : null) {
            int r;
            while ((r = in.read(buf)) > 0) {
                if (md != null) {
                    md.update(buf, 0, r);
                }
                if (ch != null) {
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, r);
                    while (bb.hasRemaining()) {
                        ch.write(bb);
                    }
                }
                n += r;
            }
            if (ch != null && stage.equals("fsync")) {
                ch.force(true);
            }
        }
        if (md != null) {
            String hex = java.util.HexFormat.of().formatHex(md.digest());
            if (!b.digest().equals("sha256:" + hex)) {
                throw new IllegalStateException("digest mismatch for " + b.digest());
            }
        }
        return n;
    }

    /** One GET by hand over a plain socket; returns the body's length (Content-Length framing only). */
    static long raw(String host, String path) throws Exception {
        int colon = host.lastIndexOf(':');
        try (SocketChannel s = SocketChannel.open(new InetSocketAddress(host.substring(0, colon),
                Integer.parseInt(host.substring(colon + 1))))) {
            s.write(ByteBuffer.wrap(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            long n = 0;
            long header = -1;
            while (s.read(buf) >= 0) {
                if (header < 0) {
                    byte[] head = new byte[buf.position()];
                    buf.flip().get(head);
                    int end = new String(head, StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n");
                    header = end < 0 ? -1 : end + 4;
                    n += end < 0 ? 0 : head.length - header;
                } else {
                    n += buf.position();
                }
                buf.clear();
            }
            return n;
        }
    }

    static List<Blob> layers(String url) throws Exception {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setRequestProperty("Accept", "application/vnd.oci.image.manifest.v1+json");
        String m;
        try (InputStream in = c.getInputStream()) {
            m = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<Blob> out = new ArrayList<>();
        Matcher x = Pattern.compile("\"size\"\\s*:\\s*(\\d+)\\s*,\\s*\"digest\"\\s*:\\s*\"(sha256:[0-9a-f]{64})\"|"
                + "\"digest\"\\s*:\\s*\"(sha256:[0-9a-f]{64})\"\\s*,\\s*\"size\"\\s*:\\s*(\\d+)").matcher(m);
        while (x.find()) {
            out.add(x.group(2) != null ? new Blob(x.group(2), Long.parseLong(x.group(1)))
                    : new Blob(x.group(3), Long.parseLong(x.group(4))));
        }
        return out;
    }
}
