package dev.davit.oci.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test images made with tools independent of davit ({@code umoci}, {@code skopeo}, plain HTTP), pushed into a
 * {@link TestRegistry}. Each method pushes to {@code registry/repository:tag} (with the registry's credentials if it
 * has auth) and returns what the registry then serves: digests, manifest bytes, the expected files, and the OCI
 * image layout the content came from.
 *
 * <p>The layouts are built once per JVM, in a temporary directory removed at exit, and shared: treat them as
 * read-only (copy one before changing it). Pushing an already built layout takes a fraction of a second.
 *
 * <ul>
 *   <li>{@link #pushImage} — an amd64 image of three gzip layers: {@value #HELLO_PATH} ({@link #HELLO_TEXT}) and
 *       {@value #REMOVED_PATH}; {@value #DATA_PATH} ({@value #DATA_SIZE} bytes of {@link #randomBytes(int, long)
 *       randomBytes(DATA_SIZE, DATA_SEED)}); a whiteout removing {@value #REMOVED_PATH}. As OCI or, converted by
 *       skopeo, Docker schema 2.</li>
 *   <li>{@link #pushMultiArch} — an OCI index of linux/amd64, linux/arm64/v8 and linux/arm/v7 images, each with
 *       {@value #HELLO_PATH} and {@value #ARCH_PATH} holding its platform.</li>
 *   <li>{@link #pushArtifact} — an OCI artifact with two custom-media-type layers and an optional subject.</li>
 *   <li>{@link #pushLargeImage} — one uncompressed tar layer holding {@value #LARGE_PATH} of N seeded random bytes,
 *       for fault and resume tests; digests are stable for a given size and seed.</li>
 * </ul>
 */
public final class Fixtures {
    private Fixtures() {
    }

    /** A file of the {@link #pushImage} and {@link #pushMultiArch} images. */
    public static final String HELLO_PATH = "hello.txt";
    /** The content of {@link #HELLO_PATH}. */
    public static final String HELLO_TEXT = "hello from davit\n";
    /** A file of {@link #pushImage} images, {@link #DATA_SIZE} random bytes from {@link #DATA_SEED}. */
    public static final String DATA_PATH = "data/random.bin";
    public static final int DATA_SIZE = 200_000;
    public static final long DATA_SEED = 42;
    /** Added by the first layer of {@link #pushImage} images and removed by a whiteout in the third: absent. */
    public static final String REMOVED_PATH = "etc/removed.txt";
    /** In {@link #pushMultiArch} images: the platform, e.g. {@code "linux/arm/v7\n"}. */
    public static final String ARCH_PATH = "arch.txt";
    /** The one file of {@link #pushLargeImage} images. */
    public static final String LARGE_PATH = "large.bin";
    /** The platforms of {@link #pushMultiArch}, in index order. */
    public static final List<String> PLATFORMS = List.of("linux/amd64", "linux/arm64/v8", "linux/arm/v7");
    /** The {@code artifactType} of {@link #pushArtifact}. */
    public static final String ARTIFACT_TYPE = "application/vnd.davit.test.artifact.v1";
    public static final String EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json";
    /** The digest of {@code {}}, the OCI empty descriptor's content. */
    public static final String EMPTY_CONFIG_DIGEST =
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
    private static final String REF_NAME = "org.opencontainers.image.ref.name";
    private static final String TITLE = "org.opencontainers.image.title";
    private static final FileTime FIXED_TIME = FileTime.from(Instant.parse("2024-01-01T00:00:00Z"));

    /** The manifest format to push {@link #pushImage} as. */
    public enum Format {
        /** OCI image manifest, as umoci made it. */
        OCI,
        /** Docker image manifest v2 schema 2, converted by {@code skopeo copy --format v2s2}. */
        DOCKER_V2S2
    }

    private static Path root;
    private static Path imageLayout;
    private static Path multiArchLayout;
    private static final Map<String, Path> LARGE_LAYOUTS = new HashMap<>();
    private static final AtomicInteger ARTIFACTS = new AtomicInteger();

    /** {@link #pushImage(TestRegistry, String, String, Format)} as OCI. */
    public static PushedImage pushImage(TestRegistry registry, String repository, String tag) {
        return pushImage(registry, repository, tag, Format.OCI);
    }

    /** Builds (once) the three-layer image with umoci and pushes it with {@code skopeo copy}. */
    public static PushedImage pushImage(TestRegistry registry, String repository, String tag, Format format) {
        Tools.assumeAvailable(Tools.SKOPEO, Tools.UMOCI);
        Path layout = imageLayout();
        List<String> extra = format == Format.DOCKER_V2S2 ? List.of("--format", "v2s2") : List.of();
        skopeoCopy(registry, "oci:" + layout + ":image", repository, tag, extra);
        Map<String, String> files = new LinkedHashMap<>();
        files.put(HELLO_PATH, FileTree.digest(HELLO_TEXT.getBytes(StandardCharsets.UTF_8)));
        files.put(DATA_PATH, FileTree.digest(randomBytes(DATA_SIZE, DATA_SEED)));
        return describe(registry, repository, tag, tag, files, layout, "image");
    }

    /**
     * Builds (once) images for {@link #PLATFORMS} with umoci, writes an OCI index over them into the same layout,
     * and pushes the whole with {@code skopeo copy --all}.
     */
    public static PushedIndex pushMultiArch(TestRegistry registry, String repository, String tag) {
        Tools.assumeAvailable(Tools.SKOPEO, Tools.UMOCI);
        Path layout = multiArchLayout();
        skopeoCopy(registry, "oci:" + layout + ":index", repository, tag, List.of("--all"));
        RawPush raw = new RawPush(registry, repository);
        RawPush.FetchedManifest index = raw.getManifest(tag)
                .orElseThrow(() -> new IllegalStateException("index " + repository + ":" + tag + " not found"));
        List<PushedIndex.PlatformImage> images = new ArrayList<>();
        for (JsonNode m : read(index.body()).path("manifests")) {
            JsonNode p = m.path("platform");
            String variant = p.hasNonNull("variant") ? p.get("variant").asText() : null;
            String os = p.path("os").asText();
            String arch = p.path("architecture").asText();
            String platform = os + "/" + arch + (variant == null ? "" : "/" + variant);
            Map<String, String> files = new LinkedHashMap<>();
            files.put(HELLO_PATH, FileTree.digest(HELLO_TEXT.getBytes(StandardCharsets.UTF_8)));
            files.put(ARCH_PATH, FileTree.digest((platform + "\n").getBytes(StandardCharsets.UTF_8)));
            PushedImage image = describe(registry, repository, null, m.path("digest").asText(), files, layout,
                    layoutTag(platform));
            images.add(new PushedIndex.PlatformImage(os, arch, variant, image));
        }
        return new PushedIndex(registry.hostPort(), repository, tag, index.digest(), index.mediaType(),
                index.body(), List.copyOf(images), layout, "index");
    }

    /**
     * Pushes an OCI artifact with plain HTTP: {@code artifactType} {@link #ARTIFACT_TYPE}, the empty config
     * {@code {}}, layers {@code README.md} ({@code application/vnd.davit.test.readme.v1+markdown}) and
     * {@code data.bin} ({@code application/vnd.davit.test.data.v1}, 4096 random bytes) with
     * {@code org.opencontainers.image.title} annotations, and a {@code subject} when {@code subject} is not null
     * (push the artifact to the subject's repository for the relation to mean something).
     */
    public static PushedArtifact pushArtifact(TestRegistry registry, String repository, String tag,
            PushedImage subject) {
        List<PushedArtifact.File> files = List.of(
                file("README.md", "application/vnd.davit.test.readme.v1+markdown",
                        "# davit test artifact\n".getBytes(StandardCharsets.UTF_8)),
                file("data.bin", "application/vnd.davit.test.data.v1", randomBytes(4096, 7)));
        ObjectNode manifest = Json.object();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", OCI_MANIFEST);
        manifest.put("artifactType", ARTIFACT_TYPE);
        manifest.set("config", descriptor(EMPTY_CONFIG_TYPE, EMPTY_CONFIG_DIGEST, 2).put("data", "e30="));
        ArrayNode layers = manifest.putArray("layers");
        for (PushedArtifact.File f : files) {
            ObjectNode d = descriptor(f.mediaType(), f.digest(), f.content().length);
            d.putObject("annotations").put(TITLE, f.title());
            layers.add(d);
        }
        if (subject != null) {
            manifest.set("subject", descriptor(subject.manifestMediaType(), subject.manifestDigest(),
                    subject.manifestSize()));
        }
        manifest.putObject("annotations").put("org.opencontainers.image.created", "2024-01-01T00:00:00Z");
        byte[] manifestBytes = Json.bytes(manifest);

        Path layout;
        synchronized (Fixtures.class) {
            layout = root().resolve("artifact-" + ARTIFACTS.incrementAndGet());
        }
        writeBlob(layout, "{}".getBytes(StandardCharsets.UTF_8));
        files.forEach(f -> writeBlob(layout, f.content()));
        String digest = writeBlob(layout, manifestBytes);
        writeIndex(layout, List.of(descriptor(OCI_MANIFEST, digest, manifestBytes.length)
                .set("annotations", Json.object().put(REF_NAME, "artifact"))));

        RawPush raw = new RawPush(registry, repository);
        raw.pushBlob("{}".getBytes(StandardCharsets.UTF_8));
        files.forEach(f -> raw.pushBlob(f.content()));
        String served = raw.pushManifest(tag, OCI_MANIFEST, manifestBytes);
        return new PushedArtifact(registry.hostPort(), repository, tag, served, manifestBytes, ARTIFACT_TYPE, files,
                subject == null ? null : subject.manifestDigest(), layout, "artifact");
    }

    /**
     * Pushes (plain HTTP) a cosign-style signature of the manifest {@code signedDigest} into {@code repository}: an
     * OCI manifest with the config {@code {}} and one {@code application/vnd.dev.cosign.simplesigning.v1+json} layer,
     * {@code payload}, carrying {@code annotations} (the signature, and any certificate, chain or Rekor bundle),
     * tagged {@code sha256-<hex>.sig} as cosign tags it.
     *
     * @return the signature manifest's digest
     */
    public static String pushSigstoreSignature(TestRegistry registry, String repository, String signedDigest,
            byte[] payload, Map<String, String> annotations) {
        byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
        ObjectNode manifest = Json.object();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", OCI_MANIFEST);
        manifest.set("config", descriptor(OCI_CONFIG, FileTree.digest(config),
                config.length));
        ObjectNode layer = descriptor("application/vnd.dev.cosign.simplesigning.v1+json", FileTree.digest(payload),
                payload.length);
        ObjectNode a = layer.putObject("annotations");
        annotations.forEach(a::put);
        manifest.putArray("layers").add(layer);
        RawPush raw = new RawPush(registry, repository);
        raw.pushBlob(config);
        raw.pushBlob(payload);
        return raw.pushManifest(signedDigest.replace(':', '-') + ".sig", OCI_MANIFEST, Json.bytes(manifest));
    }

    /**
     * Pushes (plain HTTP) an OCI image whose single uncompressed tar layer holds {@value #LARGE_PATH}: {@code size}
     * bytes of {@link #randomBytes(int, long) randomBytes(size, seed)}. The layer is about {@code size + 1.5 KiB};
     * a byte offset {@code n} into {@value #LARGE_PATH} is offset {@code 512 + n} in the layer blob. The layout is
     * cached per (size, seed) and its digests are the same in every run.
     */
    public static PushedImage pushLargeImage(TestRegistry registry, String repository, String tag, long size,
            long seed) {
        Path layout = largeLayout(size, seed);
        JsonNode index = read(readFile(layout.resolve("index.json")));
        String manifestDigest = index.path("manifests").get(0).path("digest").asText();
        byte[] manifest = readFile(FileTree.blobPath(layout, manifestDigest));
        JsonNode m = read(manifest);
        RawPush raw = new RawPush(registry, repository);
        raw.pushBlob(FileTree.blobPath(layout, m.path("config").path("digest").asText()));
        for (JsonNode l : m.path("layers")) {
            raw.pushBlob(FileTree.blobPath(layout, l.path("digest").asText()));
        }
        raw.pushManifest(tag, OCI_MANIFEST, manifest);
        String fileDigest = read(readFile(layout.resolve("file-digest.json"))).path("digest").asText();
        return describe(registry, repository, tag, tag, Map.of(LARGE_PATH, fileDigest), layout, "large");
    }

    /**
     * {@code size} pseudo-random bytes from {@code seed} ({@link java.util.Random}, so the same on every JDK);
     * equal to the content {@link #writeRandom(OutputStream, long, long)} writes.
     */
    public static byte[] randomBytes(int size, long seed) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        try {
            writeRandom(out, size, seed);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Streams {@code size} pseudo-random bytes from {@code seed} (the same bytes as {@link #randomBytes}). */
    public static void writeRandom(OutputStream out, long size, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] buf = new byte[64 * 1024];
        for (long left = size; left > 0;) {
            random.nextBytes(buf);
            int n = (int) Math.min(buf.length, left);
            out.write(buf, 0, n);
            left -= n;
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private static PushedImage describe(TestRegistry registry, String repository, String tag, String reference,
            Map<String, String> files, Path layout, String layoutTag) {
        RawPush.FetchedManifest fetched = new RawPush(registry, repository).getManifest(reference)
                .orElseThrow(() -> new IllegalStateException(repository + ":" + reference + " not in registry "
                        + registry.hostPort() + " after push; log:\n" + registry.log()));
        JsonNode m = read(fetched.body());
        List<String> layers = new ArrayList<>();
        m.path("layers").forEach(l -> layers.add(l.path("digest").asText()));
        return new PushedImage(registry.hostPort(), repository, tag, fetched.digest(), fetched.mediaType(),
                fetched.body(), m.path("config").path("digest").asText(), List.copyOf(layers), Map.copyOf(files),
                layout, layoutTag);
    }

    private static void skopeoCopy(TestRegistry registry, String source, String repository, String tag,
            List<String> extra) {
        List<String> cmd = new ArrayList<>(List.of(Tools.SKOPEO, "--insecure-policy", "copy", "--quiet",
                "--dest-tls-verify=false"));
        if (registry.credentials() != null) {
            cmd.addAll(List.of("--dest-creds", registry.credentials()));
        }
        cmd.addAll(extra);
        cmd.add(source);
        cmd.add("docker://" + registry.hostPort() + "/" + repository + ":" + tag);
        try {
            Tools.run(null, cmd);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(e.getMessage() + "\nregistry log:\n" + registry.log(), e);
        }
    }

    private static synchronized Path root() {
        if (root == null) {
            try {
                Path r = Files.createTempDirectory("davit-fixtures-");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> FileTree.deleteQuietly(r),
                        "davit-fixtures-cleanup"));
                root = r;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return root;
    }

    private static void umoci(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Tools.UMOCI);
        cmd.addAll(List.of(args));
        Tools.run(null, cmd);
    }

    private static synchronized Path imageLayout() {
        if (imageLayout != null) {
            return imageLayout;
        }
        Path layout = root().resolve("image");
        Path src = root().resolve("image-src");
        writeSource(src.resolve("l1").resolve(HELLO_PATH), HELLO_TEXT.getBytes(StandardCharsets.UTF_8));
        writeSource(src.resolve("l1").resolve(REMOVED_PATH), "removed by a whiteout\n".getBytes(StandardCharsets.UTF_8));
        writeSource(src.resolve("l2").resolve(DATA_PATH), randomBytes(DATA_SIZE, DATA_SEED));
        String image = layout + ":image";
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", image);
        umoci("config", "--image", image, "--architecture", "amd64", "--os", "linux",
                "--config.env", "DAVIT_FIXTURE=image", "--config.cmd", "/bin/sh", "--config.workingdir", "/",
                "--history.created_by", "davit fixture config");
        umoci("insert", "--rootless", "--image", image, "--history.created_by", "layer 1: hello, removed",
                src.resolve("l1").toString(), "/");
        umoci("insert", "--rootless", "--image", image, "--history.created_by", "layer 2: random data",
                src.resolve("l2").toString(), "/");
        umoci("insert", "--rootless", "--image", image, "--history.created_by", "layer 3: whiteout",
                "--whiteout", "/" + REMOVED_PATH);
        umoci("gc", "--layout", layout.toString());
        imageLayout = layout;
        return layout;
    }

    private static String layoutTag(String platform) {
        return platform.substring(platform.indexOf('/') + 1).replace("/", "-");
    }

    private static synchronized Path multiArchLayout() {
        if (multiArchLayout != null) {
            return multiArchLayout;
        }
        Path layout = root().resolve("multiarch");
        Path src = root().resolve("multiarch-src");
        writeSource(src.resolve("base").resolve(HELLO_PATH), HELLO_TEXT.getBytes(StandardCharsets.UTF_8));
        String base = layout + ":base";
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", base);
        umoci("insert", "--rootless", "--image", base, src.resolve("base").toString(), "/");
        for (String platform : PLATFORMS) {
            String[] p = platform.split("/");
            String tag = layoutTag(platform);
            writeSource(src.resolve(tag).resolve(ARCH_PATH), (platform + "\n").getBytes(StandardCharsets.UTF_8));
            umoci("config", "--image", base, "--tag", tag, "--os", p[0], "--architecture", p[1],
                    "--config.env", "DAVIT_PLATFORM=" + platform);
            umoci("insert", "--rootless", "--image", layout + ":" + tag, src.resolve(tag).toString(), "/");
        }
        umoci("gc", "--layout", layout.toString());

        // umoci has no index command: write the OCI index blob ourselves and tag it "index" in index.json.
        ObjectNode layoutIndex = (ObjectNode) read(readFile(layout.resolve("index.json")));
        Map<String, JsonNode> byTag = new HashMap<>();
        layoutIndex.path("manifests").forEach(d -> byTag.put(d.path("annotations").path(REF_NAME).asText(), d));
        ObjectNode index = Json.object();
        index.put("schemaVersion", 2);
        index.put("mediaType", OCI_INDEX);
        ArrayNode manifests = index.putArray("manifests");
        for (String platform : PLATFORMS) {
            String[] p = platform.split("/");
            JsonNode d = byTag.get(layoutTag(platform));
            ObjectNode entry = descriptor(OCI_MANIFEST, d.path("digest").asText(), d.path("size").asLong());
            ObjectNode plat = entry.putObject("platform");
            plat.put("architecture", p[1]);
            plat.put("os", p[0]);
            if (p.length > 2) {
                plat.put("variant", p[2]);
            }
            manifests.add(entry);
        }
        byte[] indexBytes = Json.bytes(index);
        String digest = writeBlob(layout, indexBytes);
        ((ArrayNode) layoutIndex.path("manifests")).add(descriptor(OCI_INDEX, digest, indexBytes.length)
                .set("annotations", Json.object().put(REF_NAME, "index")));
        writeFile(layout.resolve("index.json"), Json.bytes(layoutIndex));
        multiArchLayout = layout;
        return layout;
    }

    private static synchronized Path largeLayout(long size, long seed) {
        String key = size + "-" + seed;
        Path cached = LARGE_LAYOUTS.get(key);
        if (cached != null) {
            return cached;
        }
        if (size < 0 || size > 8L * 1024 * 1024 * 1024 - 1) {
            throw new IllegalArgumentException("size out of range: " + size);
        }
        Path layout = root().resolve("large-" + key);
        try {
            Files.createDirectories(layout.resolve("blobs/sha256"));
            Path tmp = layout.resolve("layer.tmp");
            MessageDigest layerMd = FileTree.sha256();
            MessageDigest fileMd = FileTree.sha256();
            try (OutputStream out = new DigestOutputStream(new java.io.BufferedOutputStream(
                    Files.newOutputStream(tmp), 1 << 16), layerMd)) {
                out.write(tarHeader(LARGE_PATH, size));
                OutputStream tee = new OutputStream() {
                    @Override
                    public void write(int b) throws IOException {
                        fileMd.update((byte) b);
                        out.write(b);
                    }

                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        fileMd.update(b, off, len);
                        out.write(b, off, len);
                    }
                };
                writeRandom(tee, size, seed);
                out.write(new byte[(int) ((512 - size % 512) % 512) + 1024]);
            }
            String layerDigest = "sha256:" + HexFormat.of().formatHex(layerMd.digest());
            long layerSize = Files.size(tmp);
            Files.move(tmp, FileTree.blobPath(layout, layerDigest), StandardCopyOption.REPLACE_EXISTING);
            writeFile(layout.resolve("file-digest.json"), Json.bytes(Json.object()
                    .put("digest", "sha256:" + HexFormat.of().formatHex(fileMd.digest()))));

            ObjectNode config = Json.object();
            config.put("created", "2024-01-01T00:00:00Z");
            config.put("architecture", "amd64");
            config.put("os", "linux");
            config.putObject("config").putArray("Cmd").add("/bin/sh");
            ObjectNode rootfs = config.putObject("rootfs");
            rootfs.put("type", "layers");
            rootfs.putArray("diff_ids").add(layerDigest);
            byte[] configBytes = Json.bytes(config);
            String configDigest = writeBlob(layout, configBytes);

            ObjectNode manifest = Json.object();
            manifest.put("schemaVersion", 2);
            manifest.put("mediaType", OCI_MANIFEST);
            manifest.set("config", descriptor(OCI_CONFIG, configDigest, configBytes.length));
            manifest.putArray("layers").add(descriptor(OCI_LAYER_TAR, layerDigest, layerSize));
            byte[] manifestBytes = Json.bytes(manifest);
            String manifestDigest = writeBlob(layout, manifestBytes);
            writeIndex(layout, List.of(descriptor(OCI_MANIFEST, manifestDigest, manifestBytes.length)
                    .set("annotations", Json.object().put(REF_NAME, "large"))));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        LARGE_LAYOUTS.put(key, layout);
        return layout;
    }

    /** A ustar header for a regular file owned by 0:0, mode 0644, mtime 2024-01-01. */
    static byte[] tarHeader(String name, long size) {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(n, 0, h, 0, Math.min(n.length, 100));
        octal(h, 100, 8, 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, FIXED_TIME.toInstant().getEpochSecond());
        h[156] = '0';
        System.arraycopy("ustar\u000000".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
        System.arraycopy("root".getBytes(StandardCharsets.US_ASCII), 0, h, 265, 4);
        System.arraycopy("root".getBytes(StandardCharsets.US_ASCII), 0, h, 297, 4);
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        octal(h, 148, 7, sum);
        return h;
    }

    private static void octal(byte[] h, int off, int len, long value) {
        String s = Long.toOctalString(value);
        if (s.length() > len - 1) {
            throw new IllegalArgumentException("value too large for tar field: " + value);
        }
        s = "0".repeat(len - 1 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, off, len - 1);
        h[off + len - 1] = 0;
    }

    private static PushedArtifact.File file(String title, String mediaType, byte[] content) {
        return new PushedArtifact.File(title, mediaType, FileTree.digest(content), content);
    }

    private static ObjectNode descriptor(String mediaType, String digest, long size) {
        ObjectNode d = Json.object();
        d.put("mediaType", mediaType);
        d.put("digest", digest);
        d.put("size", size);
        return d;
    }

    /** Writes a blob into an OCI layout (creating the layout's {@code oci-layout} file) and returns its digest. */
    private static String writeBlob(Path layout, byte[] content) {
        String digest = FileTree.digest(content);
        writeFile(FileTree.blobPath(layout, digest), content);
        return digest;
    }

    private static void writeIndex(Path layout, List<ObjectNode> descriptors) {
        ObjectNode index = Json.object();
        index.put("schemaVersion", 2);
        index.put("mediaType", OCI_INDEX);
        index.putArray("manifests").addAll(descriptors);
        writeFile(layout.resolve("index.json"), Json.bytes(index));
        writeFile(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
    }

    private static void writeSource(Path file, byte[] content) {
        writeFile(file, content);
        try {
            Files.setLastModifiedTime(file, FIXED_TIME);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void writeFile(Path file, byte[] content) {
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] readFile(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode read(byte[] json) {
        try {
            return Json.read(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
