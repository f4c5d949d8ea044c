package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.Compression;
import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.build.LayerWriter;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.BlobIngest;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import dev.davit.sandbox.Changes;
import dev.davit.sandbox.Sandbox;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * Workspaces as OCI content in a store: a workspace committed to an image ({@link #commit}). A layer above
 * {@link Workspaces} and the registry client: the sandbox writes its changes as a layer ({@code Sandboxes.changes}),
 * this class puts that layer on the environment's image and names it.
 */
public final class WorkspaceImages {
    /** The {@code created_by} of a committed layer's history entry. */
    public static final String CREATED_BY = "davit workspace commit";
    /** Annotation: the workspace a committed image was made from (its id). */
    public static final String WORKSPACE = "dev.davit.workspace.id";
    /** Annotation: that workspace's name, when it has one. */
    public static final String WORKSPACE_NAME = "dev.davit.workspace.name";
    private static final int MAX_MANIFEST = ManifestParser.MAX_MANIFEST_BYTES;

    private final Workspaces workspaces;
    private final DavitClient client;

    /**
     * The images of {@code workspaces}, made in {@code client}'s store.
     *
     * @param workspaces the workspaces (of one davit home)
     * @param client     the registry client over the same home's store, which holds the environments' images
     */
    public WorkspaceImages(Workspaces workspaces, DavitClient client) {
        this.workspaces = workspaces;
        this.client = client;
    }

    /**
     * How a commit is made.
     *
     * @param created  the image's creation time (config, history, {@code org.opencontainers.image.created}); null:
     *                 {@code SOURCE_DATE_EPOCH} when set, else the newest modification time among the changes, so
     *                 the same state gives the same image
     * @param push     also push the image to the registry its reference names
     * @param progress hears the push, or null
     */
    public record CommitOptions(Instant created, boolean push, ProgressListener progress) {
        /** Stored only, its time from the changes. */
        public static CommitOptions defaults() {
            return new CommitOptions(null, false, null);
        }
    }

    /**
     * What a commit made.
     *
     * @param workspace  the workspace committed
     * @param image      the image's result: its name, manifest, config and layers
     * @param changes    what the new layer holds
     * @param created    the image's creation time
     * @param pushed     the push, or null when it was only stored
     */
    public record Commit(Workspace workspace, BuildResult image, Changes changes, Instant created, PushResult pushed) {
    }

    /**
     * The environment a workspace runs: its image's manifest in the store, and the name it has there.
     *
     * @param name     a reference naming the image (a store entry's, or the environment's source)
     * @param manifest the image manifest's descriptor (never an index)
     */
    public record Base(String name, Descriptor manifest) {
    }

    /**
     * Commits workspace {@code ref} to image {@code reference}: the environment's image with one more layer, what
     * the workspace's sandbox changed ({@code /workspace}, packages installed, files deleted as whiteouts, owners as
     * the sandbox saw them; no secrets, no /tmp, no davit state: the egress CA davit added to the trust stores is
     * taken out again), its config the environment's with {@code WorkingDir} {@value Workspaces#MOUNT} and the
     * sandbox's variables, and annotations saying where it came from (base name and digest, the workspace, the
     * time). The same state gives the same image digest. A running container workspace is held still by its cgroup's
     * freezer while its changes are read, where it has one.
     *
     * @param ref       the workspace's id or name
     * @param reference the image's name, with a tag
     * @param options   the time, and whether to push; null: {@link CommitOptions#defaults}
     * @return what was made
     * @throws DavitException NOT_FOUND when there is no such workspace or its environment's image is not in the store;
     *                        USAGE for a malformed reference, a microVM workspace (not yet) or a failed sandbox;
     *                        STORE when the layer cannot be written; AUTH or NETWORK when the push fails (the image
     *                        stays in the store)
     */
    public Commit commit(String ref, String reference, CommitOptions options) {
        CommitOptions o = options == null ? CommitOptions.defaults() : options;
        Reference name = Reference.parse(dev.davit.oci.internal.Args.reference(reference, "WorkspaceImages.commit"));
        if (name.digest() != null) {
            throw new DavitException(Kind.USAGE, Message.of("cannot name a committed image by digest (" + name
                    + "); give a name with a tag, e.g. " + name.repositoryName() + ":latest"));
        }
        Workspace ws = workspaces.get(ref);
        Sandbox sandbox = workspaces.sandbox(ws.id());
        Base base = base(ws, sandbox);
        OciStore store = client.store();
        LayerBuilder.Layer layer;
        Changes changes;
        Path tmp = null;
        try (AutoCloseable session = store.session()) {
            Files.createDirectories(store.root());
            tmp = Files.createTempFile(store.root(), ".commit-", ".tmp");
            try (OutputStream file = Files.newOutputStream(tmp);
                 OutputStream buffered = new java.io.BufferedOutputStream(file, 1 << 16);
                 LayerWriter w = new LayerWriter(buffered, Compression.GZIP, -1)) {
                changes = workspaces.sandboxes().changes(sandbox.id(), w, rewrites());
                layer = w.finish();
            }
            put(store, tmp, layer.descriptor());
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot write the layer of workspace " + ws.id() + ": "
                    + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temp file the store's gc removes
                }
            }
        }
        Instant created = o.created() != null ? o.created()
                : BuildOptions.sourceDateEpoch(System.getenv()) != null ? BuildOptions.sourceDateEpoch(System.getenv())
                : Instant.ofEpochSecond(changes.newest());
        BuildOptions.Builder b = BuildOptions.builder().workdir(Workspaces.MOUNT).created(created);
        sandbox.spec().env().forEach(b::env);
        Map<String, String> annotations = new TreeMap<>();
        annotations.put(WORKSPACE, ws.id());
        if (ws.name() != null) {
            annotations.put(WORKSPACE_NAME, ws.name());
        }
        BuildResult image = new ImageBuilder(store).image(base.manifest(), Reference.parse(base.name()), layer, name,
                b.build(), annotations, CREATED_BY);
        PushResult pushed = null;
        if (o.push()) {
            pushed = client.push(name.toString(), null, o.progress() == null ? ProgressListener.NONE
                    : o.progress());
        }
        return new Commit(ws, image, changes, created, pushed);
    }

    /** What a commit takes out of files: the egress CA davit appended to the sandbox's trust stores. */
    private static Map<String, UnaryOperator<byte[]>> rewrites() {
        Map<String, UnaryOperator<byte[]>> m = new LinkedHashMap<>();
        for (String store : Secrets.TRUST_STORES) {
            m.put(store.substring(1), Secrets::withoutEgressCa);
        }
        return m;
    }

    /** Moves the layer written to {@code file} into the store as blob {@code d} (verified as it goes in). */
    private static void put(OciStore store, Path file, Descriptor d) throws IOException {
        if (store.hasBlob(d.digest())) {
            store.touch(d.digest());
            return;
        }
        try (BlobIngest in = store.ingest(d); InputStream src = Files.newInputStream(file)) {
            if (!in.present()) {
                in.restart();
                in.writeAll(src);
                in.commit();
            }
        }
    }

    /**
     * The image workspace {@code ws}'s environment came from, in the store: the image unpacked into the home's
     * {@code rootfs/DIGEST/}, or the image an installed environment was installed from.
     *
     * @param ws      the workspace
     * @param sandbox its sandbox
     * @return the image's name and manifest
     * @throws DavitException USAGE for a microVM workspace; NOT_FOUND when the image is not in the store
     */
    public Base base(Workspace ws, Sandbox sandbox) {
        if (sandbox.spec().isVm()) {
            throw new DavitException(Kind.USAGE, Message.of("workspace " + ws.id() + " is a microVM, whose changes"
                    + " cannot be committed to an image yet; commit a container workspace")
                    .about(Subject.Type.WORKSPACE, ws.id()));
        }
        Path rootfs = sandbox.spec().rootfs().toAbsolutePath().normalize();
        String dir = rootfs.getFileName() == null ? "" : rootfs.getFileName().toString();
        Digest digest = null;
        String source = null;
        if (dir.matches("sha256-[0-9a-f]{64}")) {
            digest = Digest.parse(dir.replace('-', ':'));
        } else if (dir.equals("rootfs") && rootfs.getParent() != null) {
            Path manifest = rootfs.getParent().resolve(dev.davit.env.install.InstallManifest.FILE_NAME);
            try {
                dev.davit.env.install.InstallManifest m = dev.davit.env.install.InstallManifest.parse(
                        Files.readAllBytes(manifest));
                if (m.sourceDigest() != null && m.sourceDigest().startsWith("sha256:")) {
                    digest = Digest.parse(m.sourceDigest());
                }
                source = m.source();
            } catch (IOException | RuntimeException e) {
                // not an install of the catalog: no base known
            }
        }
        OciStore store = client.store();
        if (digest == null || !store.hasBlob(digest)) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("the image of workspace " + ws.id() + "'s"
                    + " environment is not in the store (" + rootfs + "), so there is nothing to commit onto; pull"
                    + " the environment's image again (", Action.IMAGES.fix(), ")")
                    .about(Subject.Type.WORKSPACE, ws.id()));
        }
        Manifest m = ManifestParser.parse(store.readBlob(digest, MAX_MANIFEST), MediaTypes.OCI_MANIFEST);
        if (!(m instanceof ImageManifest)) {
            throw new DavitException(Kind.USAGE, "the environment of workspace " + ws.id() + " (" + digest + ") is"
                    + " not an image manifest");
        }
        return new Base(nameOf(store, digest, source), m.descriptor());
    }

    /** A store entry's name for manifest {@code digest} (directly, or through an index), else a digest reference. */
    private static String nameOf(OciStore store, Digest digest, String source) {
        for (StoreEntry e : store.entries()) {
            if (e.descriptor().digest().equals(digest)) {
                return e.name();
            }
        }
        for (StoreEntry e : store.entries()) {
            if (MediaTypes.isIndex(e.descriptor().mediaType()) && store.hasBlob(e.descriptor().digest())) {
                try {
                    if (store.readManifest(e.descriptor()) instanceof ImageIndex idx && idx.manifests().stream()
                            .anyMatch(c -> c.digest().equals(digest))) {
                        return e.name();
                    }
                } catch (RuntimeException ignored) {
                    // an unreadable entry names nothing
                }
            }
        }
        if (source != null) {
            try {
                return Reference.parse(source).repositoryName() + "@" + digest;
            } catch (RuntimeException ignored) {
                // a source that is no reference (an archive)
            }
        }
        return "localhost/davit/environment@" + digest;
    }
}
