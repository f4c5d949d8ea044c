package dev.davit.oci.unpack;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.store.OciStore;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks an image from the store into a root filesystem directory, safely.
 *
 * <pre>{@code
 * Unpacker u = new Unpacker(store, UnpackOptions.defaults());
 * UnpackResult r = u.unpack(store.entry("docker.io/library/alpine:3.20").orElseThrow().descriptor(),
 *         PlatformSelector.host(), Path.of("rootfs"));
 * }</pre>
 *
 * <p>An index is resolved to one platform's manifest with the {@link PlatformSelector}. The layers are applied in
 * order (gzip, zstd or uncompressed; see {@link LayerApplier} for whiteouts, links and special files), each
 * layer's uncompressed stream is checked against the config's {@code diff_ids}, and the tree appears at the
 * target only when everything succeeded (see {@link TargetDir}). A rootless unpack records the owners it cannot
 * give beside the tree ({@link Owners}). Nothing else is ever written outside the target: names with {@code ..} are
 * refused, leading {@code /} stripped, and no symbolic link is followed (see {@link RootFs}).
 *
 * <p>Thread-safe: each call works on its own state.
 */
public final class Unpacker {
    private static final int MAX_CONFIG_BYTES = 8 * 1024 * 1024;
    private static final int MAX_INDEX_DEPTH = 3;

    private final OciStore store;
    private final UnpackOptions options;

    /**
     * An unpacker reading from one store.
     *
     * @param store the store holding the images and their blobs
     * @param options the limits and privileges
     */
    public Unpacker(OciStore store, UnpackOptions options) {
        this.store = store;
        this.options = options;
    }

    /**
     * Unpacks the image {@code image} (a manifest or index in the store, e.g. a store entry's descriptor) into
     * {@code dir}, which must not exist or be empty.
     *
     * @param image the descriptor of a manifest or index in the store
     * @param dir the target directory; created if missing
     * @param platforms picks the manifest from an index (must name one platform; null means this machine's); for a
     *                  single manifest it is only compared with the config's platform (a mismatch is a note)
     * @throws DavitException VERIFICATION for unsafe or corrupt content and exceeded limits, USAGE for a bad target
     *                        or a non-image, NOT_FOUND for missing content, STORE when the target cannot be written
     * @return what was written, skipped and noted
     */
    public UnpackResult unpack(Descriptor image, PlatformSelector platforms, Path dir) {
        return unpackOver(image, platforms, dir, null, 0);
    }

    /**
     * Unpacks the image {@code image} into {@code dir} as {@link #unpack(Descriptor, PlatformSelector, Path)} does,
     * starting from {@code lower}: an unpacked tree of exactly the image's first {@code lowerLayers} layers (an
     * earlier unpack's target, whose manifest's layers the caller compared). Its files are linked into the new tree,
     * never copied or written ({@link LinkedTree}; a layer on top replaces a file by a new one), its owners record
     * is taken over, and only the layers above are read and checked. What a build does for each step it runs.
     *
     * @param image       the descriptor of a manifest or index in the store
     * @param platforms   as {@link #unpack(Descriptor, PlatformSelector, Path)}
     * @param dir         the target directory; created if missing
     * @param lower       the unpacked tree of the image's first {@code lowerLayers} layers, or null for none
     * @param lowerLayers how many of the image's layers {@code lower} holds (0 with no {@code lower})
     * @return what was written (of the layers above), skipped and noted
     * @throws DavitException as {@link #unpack(Descriptor, PlatformSelector, Path)}; USAGE when the image has fewer
     *                        layers than {@code lowerLayers}
     */
    public UnpackResult unpackOver(Descriptor image, PlatformSelector platforms, Path dir, Path lower,
                                   int lowerLayers) {
        long t0 = System.nanoTime();
        if (platforms == null) {
            platforms = PlatformSelector.host();
        }
        Path target = TargetDir.check(dir);
        PlatformSelector chosen = platforms;
        return inSession(target, () -> {
            Descriptor md = resolve(image, chosen);
            if (!(store.readManifest(md) instanceof ImageManifest manifest)) {
                throw new DavitException(Kind.VERIFICATION, Message.of("manifest " + md.digest() + " is not an image manifest"
                        + " although its media type says so; the store is corrupt (run ", Action.FSCK.fix(), ")"));
            }
            return unpackManifest(md, manifest, chosen, target, lower, lowerLayers, Arrivals.STORED, t0);
        });
    }

    /** An unpack into {@code target}. */
    @FunctionalInterface
    private interface Unpack {
        UnpackResult run() throws IOException, InterruptedException;
    }

    /** Runs {@code unpack} in a store session, its failures worded as davit's errors. */
    private UnpackResult inSession(Path target, Unpack unpack) {
        try (AutoCloseable session = store.session()) {
            return unpack.run();
        } catch (DavitException e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "unpack into " + target + " was cancelled");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "unpack into " + target + " failed: " + e
                    + "; check permissions and free space of the target directory", e);
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "unpack into " + target + " failed: " + e, e);
        }
    }

    /**
     * When the blobs an unpack reads are in the store: {@link #unpackArriving} asks before it reads the config and
     * each layer, so it can run while a pull is still fetching them.
     */
    @FunctionalInterface
    public interface Arrivals {
        /** Every blob is in the store already. */
        Arrivals STORED = blob -> { };

        /**
         * Returns once {@code blob} is in the store, verified; throws when it will not be (the pull failed).
         *
         * @param blob the config or a layer
         * @throws InterruptedException when the unpack is cancelled while it waits
         */
        void await(Descriptor blob) throws InterruptedException;
    }

    /**
     * Unpacks image manifest {@code manifest} (digest {@code md}, this platform's) into {@code dir} as
     * {@link #unpack(Descriptor, PlatformSelector, Path)} does, reading its config and each layer as soon as
     * {@code arrivals} says it is in the store: what {@code run} of an image not yet pulled does while the pull
     * fetches the layers after the first. Every blob is read only once it is in the store, so verified.
     *
     * @param md       the manifest's descriptor
     * @param manifest the manifest (need not be in the store yet)
     * @param dir      the target directory; created if missing
     * @param arrivals when each blob is in the store
     * @return what was written, skipped and noted
     * @throws DavitException as {@link #unpack(Descriptor, PlatformSelector, Path)}; CANCELLED when interrupted
     *                        while waiting; what {@code arrivals} throws
     */
    public UnpackResult unpackArriving(Descriptor md, ImageManifest manifest, Path dir, Arrivals arrivals) {
        long t0 = System.nanoTime();
        Path target = TargetDir.check(dir);
        return inSession(target, () -> unpackManifest(md, manifest, PlatformSelector.host(), target, null, 0, arrivals,
                t0));
    }

    private UnpackResult unpackManifest(Descriptor md, ImageManifest manifest, PlatformSelector platforms, Path target,
                                        Path lower, int lowerLayers, Arrivals arrivals, long t0)
            throws IOException, InterruptedException {
        arrivals.await(manifest.config());
        Report report = new Report();
        JsonNode config = config(manifest, md);
        List<Digest> diffIds = diffIds(config, manifest, md);
        String platform = platformOf(config);
        if (platform != null && !platforms.all() && !platforms.platform().accepts(Platform.parse(platform))) {
            report.note("the image is for " + platform + ", not for " + platforms.platform());
        }
        if (lowerLayers < 0 || lowerLayers > manifest.layers().size() || (lower == null) != (lowerLayers == 0)) {
            throw new DavitException(Kind.USAGE, "the image has " + manifest.layers().size() + " layers, not "
                    + lowerLayers + " below the ones to unpack");
        }
        Path tmp = TargetDir.createTemp(target);
        try {
            Owners owners = new Owners();
            if (lower != null) {
                owners.seed(Owners.read(lower));
            }
            List<UnpackResult.Layer> layers = build(tmp, manifest, diffIds, report, owners, lower, lowerLayers,
                    arrivals);
            TargetDir.publish(tmp, target);
            owners.writeFor(target); // empty as root: a stale record of an earlier rootless unpack goes
            return new UnpackResult(target, md, platform, layers, report.files, report.directories,
                    report.symlinks, report.hardlinks, report.specialFiles, report.whiteouts, report.bytes,
                    report.skipped, report.skippedTotal, report.notes(),
                    Duration.ofNanos(System.nanoTime() - t0));
        } catch (Throwable e) {
            TargetDir.discard(tmp, e);
            throw e;
        }
    }

    /** Applies every layer into {@code tmp} and sets directory metadata. */
    private List<UnpackResult.Layer> build(Path tmp, ImageManifest manifest, List<Digest> diffIds, Report report,
                                           Owners owners, Path lower, int from, Arrivals arrivals)
            throws IOException, InterruptedException {
        boolean root = switch (options.privileges()) {
            case ROOT -> true;
            case ROOTLESS -> false;
            case AUTO -> ((Integer) Files.getAttribute(tmp, "unix:uid")) == 0;
        };
        RootFs fs = new RootFs(tmp, RootFs.probeUmask(tmp)); // in the empty tree: nothing of an image's in the way
        if (lower != null) {
            LinkedTree.link(lower, fs);
        }
        LayerApplier applier = new LayerApplier(fs, report, root, options).recordingOwners(owners);
        List<UnpackResult.Layer> applied = new ArrayList<>();
        long read = 0;
        int n = manifest.layers().size();
        for (int i = from; i < n; i++) {
            Descriptor layer = manifest.layers().get(i);
            if (arrivals != Arrivals.STORED) {
                arrivals.await(layer);
                // an unpack that waits for a pull may take long: its directory is marked as in use before each
                // layer (davit's prune of unpacked images takes partial ones an hour old)
                Files.setLastModifiedTime(tmp, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
            }
            read += applyLayer(applier, layer, diffIds.get(i), "layer " + (i + 1) + "/" + n, read);
            applied.add(new UnpackResult.Layer(layer, diffIds.get(i)));
        }
        applier.finish();
        return applied;
    }

    /** Applies one layer and checks its diff_id; returns the uncompressed bytes read. */
    private long applyLayer(LayerApplier applier, Descriptor layer, Digest diffId, String name, long readBefore)
            throws IOException {
        try (InputStream blob = store.openBlob(layer.digest())) {
            BufferedInputStream in = new BufferedInputStream(blob, 1 << 16);
            Compression c = Compression.detect(layer.mediaType(), in);
            String what = name + " (" + layer.digest().algorithm().id() + ":" + layer.digest().shortHex() + ", "
                    + c.label() + ")";
            InputStream plain;
            try {
                plain = c.decompress(in);
            } catch (IOException e) {
                throw new DavitException(Kind.VERIFICATION, Message.of(what + " cannot be decompressed: " + e.getMessage()
                        + "; the blob may be corrupt (run ", Action.FSCK.fix(), ")"), e);
            }
            LayerStream raw = new LayerStream(new BufferedInputStream(plain, 1 << 17), diffId.algorithm(),
                    options.maxBytes() - readBefore, what);
            TarArchiveInputStream tar = new TarArchiveInputStream(raw, 10240, 512, "UTF-8", false);
            applier.apply(tar, raw, what);
            try {
                raw.drain();
            } catch (IOException e) {
                throw new DavitException(Kind.VERIFICATION, Message.of(what + " is corrupt after the end of its tar archive: "
                        + e.getMessage() + "; the blob may be corrupt (run ", Action.FSCK.fix(), ")"), e);
            }
            Digest actual = raw.digest();
            if (!actual.equals(diffId)) {
                throw new DavitException(Kind.VERIFICATION, what + " uncompresses to " + actual + " but the image"
                        + " config says its diff_id is " + diffId + "; the image is corrupt, nothing was unpacked");
            }
            return raw.count();
        }
    }

    /** The image manifest {@code d} names, picking one platform from an index. */
    private Descriptor resolve(Descriptor d, PlatformSelector platforms) {
        String what = d.annotation(OciStore.REF_NAME) != null ? d.annotation(OciStore.REF_NAME) : d.digest().toString();
        for (int depth = 0; depth <= MAX_INDEX_DEPTH; depth++) {
            if (MediaTypes.isImageManifest(d.mediaType())) {
                return d;
            }
            if (!MediaTypes.isIndex(d.mediaType())) {
                throw new DavitException(Kind.USAGE, Text.shorten(what, 200) + " is not an image (media type "
                        + Text.shorten(d.mediaType(), 100) + "); only images can be unpacked");
            }
            if (platforms.all()) {
                throw new DavitException(Kind.USAGE, Message.of("unpack needs one platform of " + Text.shorten(what,
                        200) + "; give ", Input.ONE_PLATFORM, " instead of ", Input.ALL_PLATFORMS));
            }
            Manifest m = store.readManifest(d);
            List<Descriptor> chosen = platforms.select((ImageIndex) m, what);
            if (chosen.size() != 1) {
                throw new DavitException(Kind.USAGE, Text.shorten(what, 200) + " is an index of " + chosen.size()
                        + " manifests without platforms; unpack one of them by digest");
            }
            Descriptor next = chosen.get(0);
            if (!store.hasBlob(next.digest())) {
                throw new DavitException(Kind.NOT_FOUND, Message.of("the store has the index " + Text.shorten(what, 200)
                        + " but not its manifest for " + platforms + "; pull it with ",
                        Action.PLATFORM_OF.fix(platforms.toString())));
            }
            d = next;
        }
        throw new DavitException(Kind.VERIFICATION, Text.shorten(what, 200) + " nests indexes more than "
                + MAX_INDEX_DEPTH + " deep");
    }

    private JsonNode config(ImageManifest m, Descriptor md) {
        String type = m.config().mediaType();
        if (!type.equals(MediaTypes.OCI_CONFIG) && !type.equals(MediaTypes.DOCKER_CONFIG)) {
            throw new DavitException(Kind.USAGE, "manifest " + md.digest() + " is not a container image (config"
                    + " media type " + Text.shorten(type, 100) + "); only images can be unpacked");
        }
        byte[] bytes = store.readBlob(m.config().digest(), MAX_CONFIG_BYTES);
        try {
            JsonNode n = Json.read(bytes);
            if (n == null || !n.isObject()) {
                throw new IOException("not an object");
            }
            return n;
        } catch (IOException | RuntimeException e) {
            throw new DavitException(Kind.VERIFICATION, "config " + m.config().digest() + " is not valid JSON;"
                    + " the image is corrupt");
        }
    }

    /** The config's {@code rootfs.diff_ids}, one per layer. */
    private static List<Digest> diffIds(JsonNode config, ImageManifest m, Descriptor md) {
        JsonNode ids = config.path("rootfs").path("diff_ids");
        if (!ids.isArray() || ids.size() != m.layers().size()) {
            throw new DavitException(Kind.VERIFICATION, "the config of " + md.digest() + " lists "
                    + (ids.isArray() ? ids.size() : "no") + " diff_ids for " + m.layers().size()
                    + " layers; the image is corrupt");
        }
        List<Digest> out = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            String s = ids.get(i).asText("");
            if (!ids.get(i).isTextual() || !Digest.isValid(s)) {
                throw new DavitException(Kind.VERIFICATION, "the config of " + md.digest() + " has an invalid"
                        + " diff_id at position " + i + "; the image is corrupt");
            }
            out.add(Digest.parse(s));
        }
        return out;
    }

    /** {@code os/arch[/variant]} from the config, or null. */
    private static String platformOf(JsonNode config) {
        if (!config.path("os").isTextual() || !config.path("architecture").isTextual()) {
            return null;
        }
        try {
            String p = config.get("os").asText() + "/" + config.get("architecture").asText()
                    + (config.path("variant").isTextual() ? "/" + config.get("variant").asText() : "");
            return Platform.parse(p).toString();
        } catch (DavitException e) {
            return null;
        }
    }
}
