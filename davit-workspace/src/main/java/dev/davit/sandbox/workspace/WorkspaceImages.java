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
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
    static final int MAX_MANIFEST = ManifestParser.MAX_MANIFEST_BYTES;

    private final Workspaces workspaces;
    private final DavitClient client;
    private final ProgressListener progress;
    private final SnapshotRestore restore;

    /**
     * The images of {@code workspaces}, made in {@code client}'s store. davit's doors make them through
     * {@code internal.WorkspaceInternals} (the client is davit's own, not the API's).
     *
     * @param workspaces the workspaces (of one davit home)
     * @param client     the registry client over the same home's store, which holds the environments' images
     * @param progress   hears the pulls and pushes, or null
     */
    WorkspaceImages(Workspaces workspaces, DavitClient client, ProgressListener progress) {
        this.workspaces = workspaces;
        this.client = client;
        this.progress = progress == null ? ProgressListener.NONE : progress;
        this.restore = new SnapshotRestore(workspaces, client);
    }

    /**
     * How a commit is made.
     *
     * @param created  the image's creation time (config, history, {@code org.opencontainers.image.created}); null:
     *                 {@code SOURCE_DATE_EPOCH} when set, else the newest modification time among the changes, so
     *                 the same state gives the same image
     * @param push     also push the image to the registry its reference names
     */
    public record CommitOptions(Instant created, boolean push) {
        /**
         * Stored only, its time from the changes.
         *
         * @return the options
         */
        public static CommitOptions defaults() {
            return new CommitOptions(null, false);
        }
    }

    /**
     * What a commit made.
     *
     * @param workspace  the workspace committed
     * @param reference  the image's name, as normalised ({@code docker.io/library/...} for a short name)
     * @param digest     its manifest's digest ({@code sha256:...})
     * @param base       the name of the image it is made on
     * @param baseDigest that image's manifest digest
     * @param layer      the one layer it adds
     * @param changes    what that layer holds
     * @param created    the image's creation time
     * @param pushed     whether it was pushed too (else only stored)
     */
    public record Commit(Workspace workspace, String reference, String digest, String base, String baseDigest,
                         Layer layer, Changes changes, Instant created, boolean pushed) {
        /**
         * The layer a commit adds.
         *
         * @param digest its blob's digest (gzip)
         * @param size   its blob's size in bytes
         * @param diffId the digest of its uncompressed tar ({@code rootfs.diff_ids})
         */
        public record Layer(String digest, long size, String diffId) {
        }
    }

    /**
     * The environment a workspace runs: its image's manifest in the store, and the name it has there.
     *
     * @param name     a reference naming the image (a store entry's, or the environment's source)
     * @param manifest the image manifest's descriptor (never an index)
     */
    record Base(String name, Descriptor manifest) {
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
        // one session from the layer's write to the image's name: no gc meanwhile takes the layer, unnamed till then
        try (AutoCloseable held = store.session()) {
            return commit(ws, sandbox, base, name, o, store);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot commit workspace " + ws.id() + ": " + e.getMessage(), e);
        }
    }

    private Commit commit(Workspace ws, Sandbox sandbox, Base base, Reference name, CommitOptions o, OciStore store) {
        LayerBuilder.Layer layer;
        Changes changes;
        Path tmp = null;
        try (AutoCloseable session = store.session()) {
            tmp = Files.createTempFile(store.tempDir(), "commit-", ".tmp");
            try (OutputStream file = Files.newOutputStream(tmp);
                 OutputStream buffered = new java.io.BufferedOutputStream(file, 1 << 16);
                 LayerWriter w = new LayerWriter(buffered, Compression.GZIP, -1)) {
                changes = dev.davit.sandbox.backend.Machinery.of(workspaces.sandboxes()).lifecycle().changes(sandbox.id(), w, WITHOUT_EGRESS_CA);
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
                    // in the store's temp directory, which its gc empties
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
        if (o.push()) {
            client.push(name.toString(), null, progress);
        }
        LayerBuilder.Layer added = image.layer();
        return new Commit(ws, image.reference().toString(), image.manifest().digest().toString(),
                image.base() == null ? null : image.base().toString(),
                image.baseManifest() == null ? null : image.baseManifest().digest().toString(),
                new Commit.Layer(added.descriptor().digest().toString(), added.descriptor().size(),
                        added.diffId().toString()), changes, created, o.push());
    }

    // ---------------------------------------------------------------- snapshots that travel

    /** The {@code artifactType} of a workspace snapshot artifact ({@link #pushSnapshot}). */
    public static final String SNAPSHOT_ARTIFACT_TYPE = "application/vnd.dev.davit.workspace.snapshot.v1";
    /** The media type of its config: what the snapshot is and what it needs. */
    public static final String SNAPSHOT_CONFIG_TYPE = "application/vnd.dev.davit.workspace.snapshot.config.v1+json";
    /** Annotation of a snapshot artifact: the snapshot's name. */
    public static final String SNAPSHOT_NAME = "dev.davit.workspace.snapshot";
    /** The title of the layer holding the baseline. */
    public static final String PART_BASELINE = "baseline";
    /** The title of the layer holding /workspace as the snapshot has it. */
    public static final String PART_WORKSPACE = "workspace";
    /**
     * The title of the layer holding the rest of the sandbox, in a snapshot of the whole sandbox: what its saved state
     * changed in the environment's image, /workspace left out.
     */
    public static final String PART_SANDBOX = SandboxPart.TITLE;
    /**
     * The repository of the images a restore of a whole-sandbox snapshot makes in the store, each tagged with the
     * snapshot artifact's digest (hex).
     */
    public static final String RESTORED = SandboxPart.RESTORED;

    /**
     * What {@link #pushSnapshot} made.
     *
     * @param reference         the artifact's name
     * @param digest            its manifest's digest
     * @param snapshot          the snapshot it holds
     * @param environment       the name in this store of the image it refers to ({@code subject}): what the
     *                          workspace runs
     * @param environmentDigest that image's manifest digest
     * @param pushed            whether it was pushed (else only stored)
     * @param indexed           whether the registry's tag schema index ({@code sha256-HEX}) was written because it
     *                          has no referrers API
     */
    public record SnapshotPush(String reference, String digest, Workspaces.Snapshot snapshot, String environment,
                               String environmentDigest, boolean pushed, boolean indexed) {
    }

    /** A snapshot stored as an artifact: its manifest, and its environment's. */
    private record Stored(SnapshotPush made, Descriptor environment) {
    }

    /**
     * Makes snapshot {@code snapshot} of workspace {@code ref} an OCI artifact named {@code reference}: artifact type
     * {@value #SNAPSHOT_ARTIFACT_TYPE}, a config saying what it is, one layer per part (the baseline, /workspace as
     * the snapshot has it; tar+gzip, modes and times kept, titled {@value #PART_BASELINE} and
     * {@value #PART_WORKSPACE}) and the environment's manifest as its {@code subject}. Stored in this store; unless
     * {@code local}, pushed with the environment (by digest, into the same repository, so that a machine that never
     * pulled it finds it there) and made findable from the environment through the registry's referrers API or, on
     * a registry without it, the tag schema's index. The same snapshot gives the same digest. A snapshot of the
     * whole sandbox ({@code --all}) has a third part, titled {@value #PART_SANDBOX}: what its saved state changed in
     * the environment's image (packages, files under /opt, deletions as whiteouts; as a commit's layer: no secrets,
     * no /tmp, no davit state or egress CA), /workspace left out. The config also carries the workspace's settings
     * that are not secrets ({@link SnapshotSettings}: network, limits, labels, environment variables).
     *
     * @param ref       the workspace's id or name
     * @param snapshot  the snapshot's name
     * @param reference the artifact's name, with a tag
     * @param local     only store it (e.g. to export it in a bundle), push nothing
     * @return what was made and pushed
     * @throws DavitException NOT_FOUND for a workspace, snapshot or environment image that is not there; USAGE for a
     *                        malformed reference or a snapshot of the whole state of a microVM (or a pod); AUTH or
     *                        NETWORK when a push fails (the artifact stays in the store)
     */
    public SnapshotPush pushSnapshot(String ref, String snapshot, String reference, boolean local) {
        return store(ref, snapshot, reference, local).made();
    }

    private Stored store(String ref, String snapshot, String reference, boolean local) {
        ProgressListener heard = progress;
        Reference name = Reference.parse(dev.davit.oci.internal.Args.reference(reference,
                "WorkspaceImages.pushSnapshot"));
        if (name.digest() != null) {
            throw new DavitException(Kind.USAGE, "cannot name a snapshot by digest (" + name + "); give a name with a"
                    + " tag, e.g. " + name.repositoryName() + ":" + snapshot);
        }
        Workspace ws = workspaces.get(ref);
        WorkspaceSnapshots snaps = workspaces.snapshotStore();
        Path tree = snaps.snapshotTreeOf(ws.id(), snapshot);
        Workspaces.Snapshot snap = workspaces.snapshots(ws.id()).stream().filter(x -> x.name().equals(snapshot))
                .findFirst().orElseThrow(() -> new DavitException(Kind.NOT_FOUND, "workspace " + ws.id() + " has no"
                        + " snapshot " + snapshot));
        Sandbox sandbox = workspaces.sandbox(ws.id());
        if (snap.all() && sandbox.spec().isVm()) {
            throw new DavitException(Kind.USAGE, Message.of("snapshot " + snapshot + " holds the whole state of a"
                    + " microVM, which cannot travel yet; push a snapshot of /workspace (made without ",
                    dev.davit.oci.Input.SNAPSHOT_ALL, ")").about(Subject.Type.SNAPSHOT, snapshot));
        }
        Base env = environment(ws, sandbox);
        OciStore store = client.store();
        Descriptor artifact;
        try (AutoCloseable session = store.session()) {
            BuildOptions parts = BuildOptions.builder().keepMtimes(true).build();
            // under the workspace's lock: no snapshot removed or made again while its tree is read
            LayerBuilder.Layer[] layers = snaps.locked(ws.id(), wid -> {
                if (!snaps.snapshots(wid).contains(snap)) { // removed and made again since it was looked at
                    throw new DavitException(Kind.USAGE, Message.of("snapshot " + snapshot + " of workspace "
                            + ws.id() + " changed while it was being pushed; push it again")
                            .about(Subject.Type.SNAPSHOT, snapshot));
                }
                Path at = snaps.snapshotTreeOf(wid, snapshot);
                try {
                    return new LayerBuilder.Layer[] {
                        new LayerBuilder(parts).build(snaps.baselineTree(wid), store, heard),
                        new LayerBuilder(parts).build(at, store, heard),
                        // the whole sandbox as the snapshot saved it, but /workspace (the part above)
                        snap.all() ? SandboxPart.write(workspaces.sandboxes(), sandbox.id(), at.resolveSibling(
                                WorkspaceSnapshots.STATE), store, WITHOUT_EGRESS_CA) : null};
                } catch (IOException e) {
                    throw new DavitException(Kind.STORE, "cannot write the sandbox of snapshot " + snapshot + ": "
                            + e.getMessage());
                }
            });
            artifact = SnapshotArtifact.store(store, name, ws, sandbox, env, snap, layers);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot store snapshot " + snapshot + " of workspace " + ws.id()
                    + ": " + e.getMessage(), e);
        }
        boolean indexed = false;
        if (!local) {
            client.push(env.manifest(), name.repositoryName() + "@" + env.manifest().digest(), heard);
            // this very manifest (another davit may name another one so meanwhile)
            client.push(new Descriptor(MediaTypes.OCI_MANIFEST, artifact.digest(), artifact.size()), name.toString(),
                    heard);
            indexed = client.artifacts().attachReferrer(name.repositoryName(), env.manifest().digest(), artifact);
        }
        return new Stored(new SnapshotPush(name.toString(), artifact.digest().toString(), snap, env.name(),
                env.manifest().digest().toString(), !local, indexed), env.manifest());
    }

    /**
     * {@link #pushSnapshot} into a bundle instead of a registry, for a machine no registry reaches: the artifact is
     * stored under {@code reference}, its environment under {@code REPOSITORY@DIGEST} (the name
     * {@link #createFrom} looks for, in the artifact's repository), and both are exported to {@code bundle}
     * ({@code davit import} of it on the other machine, then a create from {@code reference}, with no network).
     *
     * @param ref       the workspace's id or name
     * @param snapshot  the snapshot's name
     * @param reference the artifact's name, with a tag
     * @param bundle    the bundle file to write (it must not exist; {@code .tar}, {@code .tar.gz}, {@code .tar.zst})
     * @return what was made (not pushed)
     * @throws DavitException as {@link #pushSnapshot}, and as an export
     */
    public SnapshotPush exportSnapshot(String ref, String snapshot, String reference, Path bundle) {
        Stored stored = store(ref, snapshot, reference, true);
        SnapshotPush made = stored.made();
        String envRef = Reference.parse(made.reference()).repositoryName() + "@" + made.environmentDigest();
        OciStore store = client.store();
        try (AutoCloseable session = store.session()) {
            Manifest m = ManifestParser.parse(store.readBlob(stored.environment().digest(), MAX_MANIFEST),
                    stored.environment().mediaType());
            store.setEntry(envRef, m.descriptor(), Map.of());
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot name the environment " + envRef + ": " + e.getMessage(), e);
        }
        client.bundles().export(List.of(made.reference(), envRef), bundle,
                dev.davit.oci.bundle.ExportOptions.defaults(), progress);
        return made;
    }

    /**
     * What {@link #createFrom} made.
     *
     * @param workspace   the new workspace, at the snapshot
     * @param snapshot    the snapshot, recorded in it under its name
     * @param environment the environment's reference it runs (its repository and digest)
     * @param digest      the snapshot artifact's manifest digest
     * @param settings    the settings the snapshot carried ({@link SnapshotSettings#NONE} for one pushed before davit
     *                    carried them)
     * @param whole       whether it held the whole sandbox (then {@code environment} is an image made in the store:
     *                    the snapshot's environment with the sandbox's changes on top)
     */
    public record Restored(Workspace workspace, Workspaces.Snapshot snapshot, String environment,
                           String digest, SnapshotSettings settings, boolean whole) {
    }

    /**
     * How a restore's door makes the new workspace's sandbox: from the environment, and the settings the snapshot
     * carried, which it takes where its caller gave none of its own, each within its bounds (an MCP server's
     * operator's). The variables and labels carried are merged by the restore itself, under the caller's.
     */
    @FunctionalInterface
    public interface Spec {
        /**
         * The sandbox to make.
         *
         * @param environment what it runs
         * @param carried     the snapshot's settings
         * @return the sandbox's spec
         */
        dev.davit.sandbox.CreateSpec of(dev.davit.sandbox.RunTarget environment, SnapshotSettings carried);
    }

    /**
     * A new workspace from snapshot artifact {@code reference} ({@link #pushSnapshot}; pulled when it is not in the
     * store, or found there after a bundle's import): the environment it names ({@code subject}) is pulled from the
     * same repository by digest when missing, and verified as every pull is; the workspace is made on it with the
     * snapshot's baseline as its baseline, the snapshot recorded under its own name (and creation time), and
     * /workspace reset to it: the same files, baseline and diff as where it was taken. A snapshot of the whole
     * sandbox is restored onto an image made in the store, the environment with its {@value #PART_SANDBOX} layer on
     * top (named {@code localhost/davit/restored:HEX}, HEX the artifact's digest), so that what the sandbox installed
     * outside /workspace is there too; the snapshot is recorded as one of /workspace on that image. The settings the
     * snapshot carries ({@link SnapshotSettings}) go to {@code spec}; its labels and variables are the new
     * workspace's, under {@code labels} and the spec's own.
     *
     * @param reference the snapshot artifact
     * @param spec      the sandbox to make for the environment and the settings carried (limits, network, ttl;
     *                  a door's defaults and bounds)
     * @param name      the workspace's name, or null
     * @param labels    its labels (on top of the carried ones), or null
     * @param secrets   its secrets ({@link Secrets#NONE}: none)
     * @param admit     as {@link WorkspaceSpec#admit}, or null
     * @return the workspace and its snapshot
     * @throws DavitException USAGE when {@code reference} is not a workspace snapshot; NOT_FOUND, AUTH, NETWORK or
     *                        VERIFICATION when a pull fails (a tampered layer among them); what the create throws.
     *                        Nothing is left of the workspace then, nor any name this restore gave in the store
     *                        (the artifact's tag, its environment's {@code REPOSITORY@DIGEST}): a refused snapshot
     *                        is not found there by the next create, nor named by a commit's base; its blobs are
     *                        left, unnamed, to {@code gc}
     */
    public Restored createFrom(String reference, Spec spec, String name, Map<String, String> labels,
                               Secrets secrets, java.util.function.IntConsumer admit) {
        List<String> named = new java.util.ArrayList<>();
        try {
            return restore.createFrom(reference, spec, name, labels, secrets, admit, progress, named);
        } catch (RuntimeException e) {
            for (String n : named) {
                try {
                    client.store().removeEntry(n);
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
    }

    /**
     * {@link #createFrom} of snapshot artifact {@code reference} in bundle {@code bundle} ({@link #exportSnapshot}):
     * of the bundle, only {@code reference} and the entries named by digest in its repository (its environment's
     * {@code REPOSITORY@DIGEST}) are imported, as a bundle import does (verified, held to
     * the signature policy, no name the store gives another image moved); any other entry is left out, unnamed. A
     * failure takes back the names the import added.
     *
     * @param bundle    the bundle file
     * @param reference the snapshot artifact's name in it
     * @param spec      as {@link #createFrom}'s
     * @param name      the workspace's name, or null
     * @param labels    its labels, or null
     * @param secrets   its secrets
     * @param admit     as {@link #createFrom}'s, or null
     * @return the workspace and its snapshot
     * @throws DavitException as a bundle import (NOT_FOUND when the bundle holds no such entry) and
     *                        as {@link #createFrom}
     */
    public Restored createFromBundle(Path bundle, String reference, Spec spec, String name,
                                     Map<String, String> labels, Secrets secrets,
                                     java.util.function.IntConsumer admit) {
        Reference ref = Reference.parse(dev.davit.oci.internal.Args.reference(reference,
                "WorkspaceImages.createFromBundle"));
        dev.davit.oci.bundle.ImportResult imported = client.bundles().importBundle(bundle,
                dev.davit.oci.bundle.ImportOptions
                .defaults().withOnly(n -> n.equals(ref.toString()) || SnapshotRestore.snapshotEnvironment(n, ref)),
                progress);
        try {
            return createFrom(ref.toString(), spec, name, labels, secrets, admit);
        } catch (RuntimeException e) {
            for (dev.davit.oci.bundle.ImportResult.ImportedRef r : imported.refs()) {
                if (r.previous() == null) {
                    client.store().removeEntry(r.reference().toString());
                }
            }
            throw e;
        }
    }

    /**
     * What a commit takes out of files: the egress CA davit appended to the sandbox's trust stores, wherever their
     * links led the append (Fedora's {@code ca-bundle.crt} is a link into {@code /etc/pki/ca-trust}): every changed
     * file under {@code /etc}, or named {@code *.crt}, {@code *.pem}, loses davit's blocks ({@link EgressCaStrip}).
     */
    private static final dev.davit.sandbox.Changes.Rewrite WITHOUT_EGRESS_CA = new dev.davit.sandbox.Changes.Rewrite() {
        @Override
        public boolean wants(String path) {
            return path.startsWith("etc/") || path.endsWith(".crt") || path.endsWith(".pem");
        }

        @Override
        public InputStream apply(InputStream content) {
            return new EgressCaStrip(content);
        }
    };

    /** Moves the layer written to {@code file} into the store as blob {@code d} (verified as it goes in). */
    static void put(OciStore store, Path file, Descriptor d) throws IOException {
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
     * {@code rootfs/DIGEST/}, or the image an installed environment was installed from. What a commit builds on.
     *
     * @param ws      the workspace
     * @param sandbox its sandbox
     * @return the image's name and manifest
     * @throws DavitException USAGE for a microVM workspace; NOT_FOUND when the image is not in the store
     */
    Base base(Workspace ws, Sandbox sandbox) {
        if (sandbox.spec().isVm()) {
            throw new DavitException(Kind.USAGE, Message.of("workspace " + ws.id() + " is a microVM, whose changes"
                    + " cannot be committed to an image yet; commit a container or k8s workspace")
                    .about(Subject.Type.WORKSPACE, ws.id()));
        }
        Base b = environment(ws, sandbox);
        if (!(client.store().readManifest(b.manifest()) instanceof ImageManifest im)
                || !MediaTypes.OCI_CONFIG.equals(im.config().mediaType())
                && !MediaTypes.DOCKER_CONFIG.equals(im.config().mediaType())) {
            throw new DavitException(Kind.USAGE, "the environment of workspace " + ws.id() + " ("
                    + b.manifest().digest() + ") is not a container image");
        }
        return b;
    }

    /**
     * The manifest of what workspace {@code ws} runs, in the store: a container image (unpacked into the home's
     * {@code rootfs/DIGEST/}, or an installed environment's source image) or a microVM environment artifact
     * ({@code vm/DIGEST/}).
     *
     * @param ws      the workspace
     * @param sandbox its sandbox
     * @return its name and manifest
     * @throws DavitException NOT_FOUND when it is not in the store
     */
    Base environment(Workspace ws, Sandbox sandbox) {
        Path rootfs = sandbox.spec().rootfs().toAbsolutePath().normalize();
        String dir = rootfs.getFileName() == null ? "" : rootfs.getFileName().toString();
        Digest digest = null;
        String source = null;
        if (dir.matches("sha256-[0-9a-f]{64}")) {
            digest = Digest.parse(dir.replaceFirst("-", ":"));
        } else {
            Path install = dir.equals("rootfs") ? rootfs.getParent() : rootfs;
            Path manifest = install == null ? null : install.resolve(dev.davit.env.install.InstallManifest.FILE_NAME);
            try {
                dev.davit.env.install.InstallManifest m = dev.davit.env.install.InstallManifest.parse(
                        Files.readAllBytes(manifest));
                if (m.sourceDigest() != null && m.sourceDigest().startsWith("sha256:")) {
                    digest = Digest.parse(m.sourceDigest());
                }
                source = m.source();
            } catch (IOException | RuntimeException e) {
                // not an install of the catalog: no image known
            }
        }
        OciStore store = client.store();
        if (digest == null || !store.hasBlob(digest)) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("the image of workspace " + ws.id() + "'s"
                    + " environment is not in the store (" + rootfs + "); pull the environment's image again (",
                    Action.IMAGES.fix(), ")").about(Subject.Type.WORKSPACE, ws.id()));
        }
        Manifest m = ManifestParser.parse(store.readBlob(digest, MAX_MANIFEST), MediaTypes.OCI_MANIFEST);
        if (!(m instanceof ImageManifest)) {
            throw new DavitException(Kind.USAGE, "the environment of workspace " + ws.id() + " (" + digest + ") is"
                    + " not a manifest of one platform");
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
