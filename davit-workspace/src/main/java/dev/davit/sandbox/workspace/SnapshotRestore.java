package dev.davit.sandbox.workspace;

import static dev.davit.sandbox.workspace.WorkspaceImages.MAX_MANIFEST;
import static dev.davit.sandbox.workspace.WorkspaceImages.PART_BASELINE;
import static dev.davit.sandbox.workspace.WorkspaceImages.PART_SANDBOX;
import static dev.davit.sandbox.workspace.WorkspaceImages.PART_WORKSPACE;
import static dev.davit.sandbox.workspace.WorkspaceImages.SNAPSHOT_ARTIFACT_TYPE;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import dev.davit.sandbox.workspace.WorkspaceImages.Restored;
import dev.davit.sandbox.workspace.WorkspaceImages.Spec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The restore of a workspace snapshot artifact into a new workspace, for {@link WorkspaceImages#createFrom}: the
 * artifact found or pulled and checked, its environment pulled and named, the whole sandbox's image made when it
 * holds one, and its parts extracted as untrusted archives within the new workspace's disk before the workspace is
 * made on them.
 */
final class SnapshotRestore {
    private static final int MAX_SNAPSHOT_CONFIG = 1 << 20;

    private final Workspaces workspaces;
    private final DavitClient client;

    SnapshotRestore(Workspaces workspaces, DavitClient client) {
        this.workspaces = workspaces;
        this.client = client;
    }

    /** Whether {@code name} names an image by digest in the repository of snapshot {@code ref}. */
    static boolean snapshotEnvironment(String name, Reference ref) {
        try {
            Reference r = Reference.parse(name);
            return r.digest() != null && r.tag() == null && r.repositoryName().equals(ref.repositoryName());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * {@link WorkspaceImages#createFrom}, adding to {@code named} each name it gives in the store (taken back on a
     * failure).
     */
    Restored createFrom(String reference, Spec spec, String name, Map<String, String> labels,
                         Secrets secrets, java.util.function.IntConsumer admit, ProgressListener progress,
                         List<String> named) {
        ProgressListener heard = progress == null ? ProgressListener.NONE : progress;
        Reference ref = Reference.parse(dev.davit.oci.internal.Args.reference(reference,
                "WorkspaceImages.createFrom"));
        OciStore store = client.store();
        java.util.Optional<StoreEntry> found = client.find(reference);
        if (found.isEmpty()) {
            client.pull(reference, dev.davit.oci.copy.PlatformSelector.host(), heard);
            found = client.find(reference);
            found.ifPresent(e -> named.add(e.name()));
        } else {
            // held to the signature policy on every use, as a cached image's run is (a pull checked it when it came)
            // what was admitted, not a later lookup
            found = java.util.Optional.of(client.signatures().checkTrust(reference));
        }
        Descriptor top = found.orElseThrow(() -> new DavitException(Kind.NOT_FOUND, reference + " is not in the"
                + " store")).descriptor();
        Manifest m = store.readManifest(top);
        if (!(m instanceof ImageManifest im) || !SNAPSHOT_ARTIFACT_TYPE.equals(im.artifactType())
                || im.subject() == null) {
            throw new DavitException(Kind.USAGE, Message.of(dev.davit.oci.internal.Text.printable(reference)
                    + " is not a workspace snapshot (artifact type " + (m.artifactType() == null ? "none"
                    : dev.davit.oci.internal.Text.shorten(m.artifactType(), 80)) + "); give one that ",
                    Action.PUSH_SNAPSHOT.fix(), " made, or create the workspace from an image"));
        }
        com.fasterxml.jackson.databind.JsonNode cfg;
        try {
            cfg = dev.davit.oci.internal.Json.read(store.readBlob(im.config().digest(), MAX_SNAPSHOT_CONFIG));
        } catch (IOException | RuntimeException e) {
            throw new DavitException(Kind.VERIFICATION, "the config of snapshot " + reference + " is not valid"
                    + " JSON; push the snapshot again");
        }
        String snapName = cfg.path("snapshot").path("name").asText("");
        Instant createdAt;
        try {
            createdAt = Instant.parse(cfg.path("snapshot").path("created_at").asText(""));
            WorkspaceState.checkSnapshotName(snapName);
        } catch (RuntimeException e) {
            throw new DavitException(Kind.VERIFICATION, "snapshot " + reference + " is malformed (its name or creation"
                    + " time); push it again");
        }
        SnapshotSettings carried = SnapshotSettings.fromJson(cfg.path("settings"), reference);
        boolean whole = cfg.path("snapshot").path("all").asBoolean(false);
        if (name != null) {
            WorkspaceLabels.checkName(name); // before anything is pulled or extracted
        }
        Map<String, String> allLabels = WorkspaceLabels.check(carried.labelsWith(labels));
        Descriptor baseline = part(im, PART_BASELINE, reference);
        Descriptor work = part(im, PART_WORKSPACE, reference);
        Descriptor sandboxPart = whole ? part(im, PART_SANDBOX, reference) : null;

        Descriptor subject = im.subject();
        String envRef = ref.repositoryName() + "@" + subject.digest();
        boolean envNamed = client.find(envRef).isPresent();
        if (!store.hasBlob(subject.digest()) || !store.isComplete(subject)) {
            client.pull(envRef, dev.davit.oci.copy.PlatformSelector.host(), heard);
        }
        if (client.find(envRef).isEmpty()) { // imported from a bundle under another name
            store.setEntry(envRef, ManifestParser.parse(store.readBlob(subject.digest(), MAX_MANIFEST),
                    subject.mediaType()).descriptor(), Map.of());
        }
        if (!envNamed) {
            client.find(envRef).ifPresent(e -> named.add(e.name()));
        }
        dev.davit.sandbox.RunTarget target = dev.davit.sandbox.target.RunTargets.ofImage(client, workspaces.stateDir()
                .getParent(), envRef, heard, null);
        dev.davit.sandbox.CreateSpec made = spec.of(target, carried);
        String runs = envRef;
        if (whole) {
            // the environment with the sandbox's changes on top, made here as an image and unpacked as every
            // image is; its layer at most what the new sandbox's disk holds
            dev.davit.oci.unpack.TarExtractor.Limits disk = restoreLimits(made.limits().diskMiB());
            runs = SandboxPart.environment(store, subject, envRef, sandboxPart, top.digest(), createdAt, disk,
                    reference, named);
            dev.davit.sandbox.RunTarget t = dev.davit.sandbox.target.RunTargets.ofImage(client, workspaces.stateDir()
                    .getParent(), runs, heard, null);
            made = new dev.davit.sandbox.CreateSpec(t.rootfs(), made.env(), made.workdir(), made.network(), t.image(),
                    made.ttl(), made.backend(), made.vcpus(), made.memoryMiB(), made.publish(), made.limits(),
                    made.scratchInLayer(), made.mounts());
        }
        made = made.withEnv(carried.envWith(made.env()));
        // the parts come from a registry: extracted as untrusted archives are (no setuid bits, owners, devices,
        // fifos or whiteouts; nothing through a link; nested at most TarExtractor.MAX_DEPTH deep), both together
        // bounded by the new sandbox's disk (its bytes, and the inodes a file system of that size has), into a
        // directory of davit's user only
        dev.davit.oci.unpack.TarExtractor.Limits caps = restoreLimits(made.limits() == null ? 0
                : made.limits().diskMiB());
        Path tmp = workspaces.stateDir().resolve(".from-" + java.util.UUID.randomUUID());
        try {
            Files.createDirectories(workspaces.stateDir());
            Files.createDirectory(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
            Path base = Files.createDirectories(tmp.resolve(PART_BASELINE));
            Path tree = Files.createDirectories(tmp.resolve(PART_WORKSPACE));
            dev.davit.oci.unpack.TarExtractor.Used[] used = new dev.davit.oci.unpack.TarExtractor.Used[1];
            extract(store, baseline, base, caps, "the baseline of snapshot " + reference, u -> used[0] = u);
            extract(store, work, tree, caps.less(used[0]), "the /workspace of snapshot " + reference + " beyond its"
                    + " baseline", u -> { });
            // /workspace starts as the snapshot's tree, which is then recorded as the snapshot: no reset, no restart
            Workspace w = workspaces.create(made, name, base, ref + " (snapshot " + snapName + ")", tree, allLabels,
                    secrets == null ? Secrets.NONE : secrets, admit);
            try {
                Workspaces.Snapshot snap = workspaces.snapshotStore().importSnapshot(w.id(), snapName, tree,
                        createdAt);
                return new Restored(w, snap, runs, top.digest().toString(), carried, whole);
            } catch (RuntimeException e) {
                try {
                    workspaces.rm(w.id());
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
                throw e;
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot unpack snapshot " + reference + " into "
                    + workspaces.stateDir() + ": " + e.getMessage() + "; check its free space");
        } finally {
            try {
                dev.davit.oci.internal.Fs.deleteTree(tmp);
            } catch (IOException ignored) {
                // a leftover under the workspaces' state, named .from-*
            }
        }
    }

    /** The bytes of disk per inode of the ext4 a sandbox's disk gets ({@code mkfs.ext4}'s default; "small" ones). */
    private static final long BYTES_PER_INODE = 16 << 10;
    private static final long SMALL_BYTES_PER_INODE = 4 << 10;
    private static final long SMALL_FS_MIB = 512;

    /**
     * What a restore's parts may hold together in a workspace of disk limit {@code diskMiB} (0: none): its bytes,
     * and as many entries as a file system of that size has inodes (as {@code mkfs.ext4} makes them), within the
     * bounds of every copy ({@link dev.davit.sandbox.fs.Budget}).
     */
    static dev.davit.oci.unpack.TarExtractor.Limits restoreLimits(long diskMiB) {
        long bytes = dev.davit.sandbox.fs.Budget.MAX_BYTES;
        long entries = dev.davit.sandbox.fs.Budget.MAX_ENTRIES;
        if (diskMiB > 0) {
            bytes = Math.min(diskMiB << 20, bytes);
            entries = Math.min((diskMiB << 20) / (diskMiB < SMALL_FS_MIB ? SMALL_BYTES_PER_INODE
                    : BYTES_PER_INODE), entries);
        }
        return new dev.davit.oci.unpack.TarExtractor.Limits(bytes, Math.max(1, entries),
                dev.davit.sandbox.fs.Budget.MAX_PATH_CHARS);
    }

    /** Extracts part {@code layer} (a tar, gzip-compressed or plain) into {@code dir}, as an untrusted archive. */
    private static void extract(OciStore store, Descriptor layer, Path dir, dev.davit.oci.unpack.TarExtractor.Limits
            caps, String what, java.util.function.Consumer<dev.davit.oci.unpack.TarExtractor.Used> used)
            throws IOException {
        try (InputStream tar = SandboxPart.tar(store, layer)) {
            dev.davit.oci.unpack.TarExtractor.extractUntrusted(tar, dir, caps, what, "; push the snapshot from a"
                    + " smaller workspace, or give the new workspace a larger disk", used);
        }
    }

    /** The layer of part {@code title} of snapshot {@code m}, which the store must hold. */
    private Descriptor part(ImageManifest m, String title, String reference) {
        for (Descriptor l : m.layers()) {
            if (title.equals(l.annotation(dev.davit.oci.artifact.Artifacts.TITLE))) {
                if (!client.store().hasBlob(l.digest())) {
                    throw new DavitException(Kind.NOT_FOUND, "the " + title + " of snapshot " + reference + " is not"
                            + " in the store; pull it again");
                }
                return l;
            }
        }
        throw new DavitException(Kind.VERIFICATION, "snapshot " + reference + " has no " + title + " layer; push it"
                + " again");
    }
}
