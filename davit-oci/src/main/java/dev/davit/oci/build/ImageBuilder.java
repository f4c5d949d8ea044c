package dev.davit.oci.build;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds an OCI image from a directory into the store: one new layer ({@link LayerBuilder}) on top of an optional
 * base image already in the store, a new config (the base's plus the {@link BuildOptions} settings), an OCI image
 * manifest, and an {@code index.json} entry naming it.
 *
 * <p>Config and manifest are canonical JSON (keys sorted, no insignificant whitespace) with no timestamps unless
 * {@link BuildOptions#created()} is set, so the same directory, base and options give the same manifest digest.
 * The base's layers are reused as they are (Docker layer media types become their OCI equivalents, the bytes are
 * the same); its config keeps everything davit does not set, except {@code created}.
 */
public final class ImageBuilder {
    /** The {@code created_by} of the history entry of a davit-built layer. */
    public static final String CREATED_BY = "davit build";
    /** OCI annotation: the base image's reference. */
    public static final String BASE_NAME = "org.opencontainers.image.base.name";
    /** OCI annotation: the base image's manifest digest. */
    public static final String BASE_DIGEST = "org.opencontainers.image.base.digest";
    /** OCI annotation: when the image was created (only with {@link BuildOptions#created()}). */
    public static final String CREATED = "org.opencontainers.image.created";
    private static final int MAX_CONFIG_BYTES = 8 * 1024 * 1024;

    private final OciStore store;

    /**
     * A builder working on one store.
     *
     * @param store the store that holds the base image and receives the new blobs and name
     */
    public ImageBuilder(OciStore store) {
        this.store = store;
    }

    /** The base image as found in the store. */
    private record Base(Reference reference, Descriptor descriptor, ImageManifest manifest, ObjectNode config) {
    }

    /**
     * Builds {@code dir} and names the image {@code name} in the store (replacing an entry of that name).
     *
     * @param dir the directory whose content becomes the new layer
     * @param name the name to give the image, with a tag; not a digest
     * @param options the build settings
     * @param progress receives progress events
     * @return what was built
     * @throws DavitException USAGE for a missing directory, a digest reference or a base that does not fit;
     *         NOT_FOUND when the base is not in the store
     */
    public BuildResult build(Path dir, Reference name, BuildOptions options, ProgressListener progress) {
        long t0 = System.nanoTime();
        if (name.digest() != null) {
            throw new DavitException(Kind.USAGE, "cannot name a built image by digest (" + name + "); give a"
                    + " name with a tag, e.g. " + name.repositoryName() + ":latest");
        }
        Path root = LayerBuilder.directory(dir);
        try (AutoCloseable session = store.session()) {
            Base base = options.base() == null ? null : base(options);
            progress.onEvent(new ProgressEvent.Phase("building layer", root + " (" + options.compression().id()
                    + ")"));
            LayerBuilder.Layer layer = new LayerBuilder(options).build(root, store, progress);
            return image(base, layer, name, options, Map.of(), CREATED_BY, progress, t0);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "build of " + name + " failed: " + e, e);
        }
    }

    /**
     * Names {@code name} an image of base {@code baseManifest} (an image manifest in the store, called
     * {@code baseName}) with {@code layer} (in the store already) on top: the base's config with {@code options}'
     * settings applied, a history entry saying {@code createdBy}, and {@code annotations} on the manifest beside the
     * base's name and digest. What a commit of a sandbox's changes does with the layer it wrote.
     *
     * @param baseManifest the base image's manifest (not an index), in the store; null for none (an image from
     *                     scratch: this platform's empty config, no base annotations)
     * @param baseName     the base's reference, for {@value #BASE_NAME}; not used without a base
     * @param layer        the new layer, whose blob is in the store; null: none (only the config changes, and the
     *                     history entry says {@code empty_layer})
     * @param name         the name to give the image, with a tag; not a digest
     * @param options      the config settings (env, working directory, created, labels, ...); its base, compression
     *                     and owner settings are not used
     * @param annotations  more manifest annotations; empty for none
     * @param createdBy    the new history entry's {@code created_by}
     * @return what was made
     * @throws DavitException USAGE for a digest name or a base that is not an image; VERIFICATION for a base whose
     *                        config does not match its layers; NOT_FOUND when the base or the layer is not in the store
     */
    public BuildResult image(Descriptor baseManifest, Reference baseName, LayerBuilder.Layer layer, Reference name,
                             BuildOptions options, Map<String, String> annotations, String createdBy) {
        long t0 = System.nanoTime();
        if (name.digest() != null) {
            throw new DavitException(Kind.USAGE, "cannot name an image by digest (" + name + "); give a name with a"
                    + " tag, e.g. " + name.repositoryName() + ":latest");
        }
        if (layer != null && !store.hasBlob(layer.descriptor().digest())) {
            throw new DavitException(Kind.NOT_FOUND, "the layer " + layer.descriptor().digest() + " is not in the"
                    + " store");
        }
        try (AutoCloseable session = store.session()) {
            Base base = baseManifest == null ? null : base(baseName, baseManifest, options.platform());
            return image(base, layer, name, options, annotations, createdBy, ProgressListener.NONE, t0);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "the image " + name + " could not be made: " + e, e);
        }
    }

    /** Config, manifest and name of an image of {@code base} (or none) and {@code layer}. */
    private BuildResult image(Base base, LayerBuilder.Layer layer, Reference name, BuildOptions options,
                              Map<String, String> more, String createdBy, ProgressListener progress, long t0) {
        progress.onEvent(new ProgressEvent.Phase("writing config and manifest", null));
        ObjectNode config = config(base, options, layer == null ? null : layer.diffId(), createdBy);
        byte[] configBytes = Json.bytes(canonical(config));
        Descriptor configDesc = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(configBytes),
                configBytes.length);
        store.putBlob(configDesc, configBytes);

        List<Descriptor> layers = new ArrayList<>();
        if (base != null) {
            base.manifest().layers().forEach(l -> layers.add(ociLayer(l)));
        }
        if (layer != null) {
            layers.add(layer.descriptor());
        }
        ObjectNode m = Json.object();
        m.put("schemaVersion", 2);
        m.put("mediaType", MediaTypes.OCI_MANIFEST);
        m.set("config", ManifestJson.toJson(configDesc));
        ArrayNode ls = m.putArray("layers");
        layers.forEach(l -> ls.add(ManifestJson.toJson(l)));
        Map<String, String> annotations = new TreeMap<>(more);
        if (base != null) {
            annotations.put(BASE_NAME, base.reference().toString());
            annotations.put(BASE_DIGEST, base.descriptor().digest().toString());
        }
        if (options.created() != null) {
            annotations.put(CREATED, options.created().toString());
        }
        if (!annotations.isEmpty()) {
            ObjectNode a = m.putObject("annotations");
            annotations.forEach(a::put);
        }
        byte[] manifestBytes = Json.bytes(canonical(m));
        Manifest parsed = ManifestParser.parse(manifestBytes, MediaTypes.OCI_MANIFEST);
        store.putBlob(parsed.descriptor(), manifestBytes);

        Platform platform = platformOf(config);
        Descriptor entry = new Descriptor(MediaTypes.OCI_MANIFEST, parsed.digest(), manifestBytes.length)
                .withPlatform(platform);
        store.setEntry(name.toString(), entry, Map.of());
        progress.onEvent(new ProgressEvent.Phase("done", null));

        List<Digest> diffIds = new ArrayList<>();
        config.path("rootfs").path("diff_ids").forEach(d -> diffIds.add(Digest.parse(d.asText())));
        return new BuildResult(name, entry.withPlatform(null), configDesc, layers, diffIds, layer,
                platform == null ? null : platform.toString(), base == null ? null : base.reference(),
                base == null ? null : base.descriptor(), Duration.ofNanos(System.nanoTime() - t0));
    }

    // ---------------------------------------------------------------- base

    private Base base(BuildOptions o) {
        Reference ref = o.base();
        StoreEntry e = store.entry(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                Message.of("base image " + ref + " is not in the store; pull it first (", Action.PULL.fix(ref.toString()),
                ")")));
        return base(ref, e.descriptor(), o.platform());
    }

    /** The base {@code ref} whose manifest (or index, resolved to {@code platform}: null, this host's) is {@code d}. */
    private Base base(Reference ref, Descriptor d, Platform platform) {
        Manifest m = store.readManifest(d);
        if (m instanceof ImageIndex idx) {
            Platform want = platform != null ? platform : Platform.host();
            d = PlatformSelector.of(want).select(idx, "base image " + ref).get(0);
            if (!store.hasBlob(d.digest())) {
                throw new DavitException(Kind.NOT_FOUND, Message.of("the " + want + " image of base " + ref + " is not"
                        + " in the store; pull it with ", Action.PLATFORM_OF.fix(want.toString())));
            }
            m = store.readManifest(d);
        }
        if (!(m instanceof ImageManifest im)) {
            throw new DavitException(Kind.USAGE, "base " + ref + " is an index of indexes; give a reference to an"
                    + " image");
        }
        String ct = im.config().mediaType();
        if (!ct.equals(MediaTypes.OCI_CONFIG) && !ct.equals(MediaTypes.DOCKER_CONFIG)) {
            throw new DavitException(Kind.USAGE, "base " + ref + " is not a container image (its config is "
                    + dev.davit.oci.internal.Text.shorten(ct, 80) + "); choose an image as base");
        }
        JsonNode config;
        try {
            config = Json.read(store.readBlob(im.config().digest(), MAX_CONFIG_BYTES));
        } catch (IOException ex) {
            throw new DavitException(Kind.VERIFICATION, "the config of base " + ref + " is not valid JSON; pull it"
                    + " again or choose another base");
        }
        if (!(config instanceof ObjectNode obj)) {
            throw new DavitException(Kind.VERIFICATION, "the config of base " + ref + " is not a JSON object;"
                    + " choose another base");
        }
        JsonNode diffIds = obj.path("rootfs").path("diff_ids");
        int n = diffIds.isArray() ? diffIds.size() : 0;
        if (n != im.layers().size()) {
            throw new DavitException(Kind.VERIFICATION, "base " + ref + " has " + im.layers().size() + " layers but"
                    + " its config lists " + n + " diff_ids; choose another base");
        }
        Platform have = platformOf(obj);
        if (platform != null && (have == null || !platform.accepts(have))) {
            throw new DavitException(Kind.USAGE, Message.of("base " + ref + " is " + (have == null ? "of no"
                    + " platform" : have) + ", not " + platform + "; pull it for that platform (",
                    Action.PULL_PLATFORM.fix(ref.toString(), platform.toString()), ") or drop ", Input.PLATFORM));
        }
        return new Base(ref, new Descriptor(d.mediaType(), d.digest(), d.size()), im, obj);
    }

    /** Docker layer media types as their OCI equivalents (same bytes); others unchanged. */
    private static Descriptor ociLayer(Descriptor l) {
        String mt = switch (l.mediaType()) {
            case MediaTypes.DOCKER_LAYER_GZIP -> MediaTypes.OCI_LAYER_GZIP;
            case "application/vnd.docker.image.rootfs.diff.tar" -> MediaTypes.OCI_LAYER;
            default -> l.mediaType();
        };
        return new Descriptor(mt, l.digest(), l.size(), l.urls(), l.annotations(), null, null);
    }

    private static Platform platformOf(JsonNode config) {
        if (!config.path("os").isTextual() || !config.path("architecture").isTextual()) {
            return null;
        }
        String variant = config.path("variant").isTextual() ? config.get("variant").asText() : null;
        try {
            return Platform.normalize(new Platform(config.get("os").asText(), config.get("architecture").asText(),
                    variant));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    // ---------------------------------------------------------------- config

    /** The new config: the base's (or a fresh one) with the options applied and the new layer appended. */
    private static ObjectNode config(Base base, BuildOptions o, Digest diffId, String createdBy) {
        ObjectNode c;
        if (base != null) {
            c = base.config().deepCopy();
        } else {
            Platform p = o.platform() != null ? o.platform() : Platform.host();
            c = Json.object();
            c.put("architecture", p.architecture());
            c.put("os", p.os());
            if (p.variant() != null) {
                c.put("variant", p.variant());
            }
            c.putObject("config");
            c.putObject("rootfs").put("type", "layers").putArray("diff_ids");
            c.putArray("history");
        }
        if (o.created() != null) {
            c.put("created", o.created().toString());
        } else {
            c.remove("created");
        }
        ObjectNode cc = c.get("config") instanceof ObjectNode existing ? existing : c.putObject("config");

        if (!o.env().isEmpty()) {
            Map<String, String> env = new LinkedHashMap<>();
            for (JsonNode e : cc.path("Env")) {
                String kv = e.asText();
                int eq = kv.indexOf('=');
                env.put(eq < 0 ? kv : kv.substring(0, eq), kv);
            }
            o.env().forEach((k, v) -> env.put(k, k + "=" + v));
            ArrayNode a = cc.putArray("Env");
            env.values().forEach(a::add);
        }
        if (o.entrypoint() != null) {
            setArgs(cc, "Entrypoint", o.entrypoint());
            if (o.cmd() == null) {
                cc.remove("Cmd");
            }
        }
        if (o.cmd() != null) {
            setArgs(cc, "Cmd", o.cmd());
        }
        if (o.workdir() != null) {
            cc.put("WorkingDir", o.workdir());
        }
        if (o.user() != null) {
            cc.put("User", o.user());
        }
        if (!o.labels().isEmpty()) {
            ObjectNode labels = cc.get("Labels") instanceof ObjectNode l ? l : cc.putObject("Labels");
            o.labels().forEach(labels::put);
        }
        if (!o.exposedPorts().isEmpty()) {
            ObjectNode ports = cc.get("ExposedPorts") instanceof ObjectNode p ? p : cc.putObject("ExposedPorts");
            o.exposedPorts().forEach(p -> ports.putObject(p));
        }
        if (!o.volumes().isEmpty()) {
            ObjectNode volumes = cc.get("Volumes") instanceof ObjectNode v ? v : cc.putObject("Volumes");
            o.volumes().forEach(v -> volumes.putObject(v));
        }
        if (o.stopSignal() != null) {
            cc.put("StopSignal", o.stopSignal());
        }
        if (o.healthcheck() != null) {
            BuildOptions.Healthcheck h = o.healthcheck();
            ObjectNode hc = cc.putObject("Healthcheck");
            ArrayNode test = hc.putArray("Test");
            h.test().forEach(test::add);
            for (Object[] d : new Object[][] {{"Interval", h.interval()}, {"Timeout", h.timeout()},
                {"StartPeriod", h.startPeriod()}, {"StartInterval", h.startInterval()}}) {
                if (d[1] != null) {
                    hc.put((String) d[0], ((java.time.Duration) d[1]).toNanos()); // Docker's: nanoseconds
                }
            }
            if (h.retries() != null) {
                hc.put("Retries", h.retries());
            }
        }
        if (o.onBuild() != null) {
            setArgs(cc, "OnBuild", o.onBuild());
        }

        ObjectNode rootfs = c.get("rootfs") instanceof ObjectNode r ? r : c.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode diffIds = rootfs.get("diff_ids") instanceof ArrayNode d ? d : rootfs.putArray("diff_ids");
        if (diffId != null) {
            diffIds.add(diffId.toString());
        }

        // A base without history keeps none: one entry for our layer alone would not match its layers.
        if (base == null || c.get("history") instanceof ArrayNode) {
            ArrayNode history = c.get("history") instanceof ArrayNode h ? h : c.putArray("history");
            ObjectNode entry = history.addObject();
            if (o.created() != null) {
                entry.put("created", o.created().toString());
            }
            entry.put("created_by", createdBy);
            if (diffId == null) {
                entry.put("empty_layer", true);
            }
        }
        return c;
    }

    private static void setArgs(ObjectNode cc, String key, List<String> args) {
        if (args.isEmpty()) {
            cc.remove(key);
        } else {
            ArrayNode a = cc.putArray(key);
            args.forEach(a::add);
        }
    }

    /** A copy of {@code n} with every object's keys in sorted order. */
    static JsonNode canonical(JsonNode n) {
        if (n instanceof ObjectNode o) {
            ObjectNode out = Json.object();
            List<String> keys = new ArrayList<>();
            for (Iterator<String> it = o.fieldNames(); it.hasNext();) {
                keys.add(it.next());
            }
            keys.sort(null);
            for (String k : keys) {
                out.set(k, canonical(o.get(k)));
            }
            return out;
        }
        if (n instanceof ArrayNode a) {
            ArrayNode out = Json.array();
            a.forEach(x -> out.add(canonical(x)));
            return out;
        }
        return n;
    }
}
