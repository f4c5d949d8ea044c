package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.Compression;
import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.build.LayerWriter;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.OciStore;
import dev.davit.sandbox.Changes;
import dev.davit.sandbox.Sandboxes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The part of a whole-sandbox snapshot that travels beside /workspace: what the sandbox's saved state changed in its
 * image (packages installed, files under /opt, deletions as whiteouts), as one OCI layer ({@link #write}); and, where
 * it is restored, the environment's image with that layer on top, made in the store ({@link #environment}), which
 * the new workspace then runs. The layer holds what a commit's does (no secrets, no /tmp, no davit state, the egress
 * CA taken out of the trust stores), but not /workspace, which travels as its own part.
 */
final class SandboxPart {
    /** The title of the layer. */
    static final String TITLE = "sandbox";
    /** The repository of the images a restore makes in the store, tagged by the snapshot artifact's digest. */
    static final String RESTORED = "localhost/davit/restored";
    /** The {@code created_by} of such an image's top layer. */
    static final String CREATED_BY = "davit: the sandbox of a whole-sandbox workspace snapshot";

    private SandboxPart() {
    }

    /**
     * Writes the saved state {@code saved} of sandbox {@code sandboxId} as a layer into {@code store} (its session
     * held by the caller), leaving /workspace out.
     */
    static LayerBuilder.Layer write(Sandboxes sandboxes, String sandboxId, Path saved, OciStore store,
                                    Changes.Rewrite egressCa) throws IOException {
        Changes.Rewrite rewrite = new Changes.Rewrite() {
            @Override
            public boolean wants(String path) {
                return egressCa.wants(path);
            }

            @Override
            public InputStream apply(InputStream content) {
                return egressCa.apply(content);
            }

            @Override
            public boolean leaves(String path) {
                return path.equals(Workspaces.MOUNT.substring(1));
            }
        };
        Path tmp = Files.createTempFile(store.tempDir(), "snapshot-", ".tmp");
        try {
            LayerBuilder.Layer layer;
            try (OutputStream file = Files.newOutputStream(tmp);
                 OutputStream buffered = new java.io.BufferedOutputStream(file, 1 << 16);
                 LayerWriter w = new LayerWriter(buffered, Compression.GZIP, -1)) {
                sandboxes.savedChanges(sandboxId, saved, w, rewrite);
                layer = w.finish();
            }
            WorkspaceImages.put(store, tmp, layer.descriptor());
            return layer;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The tar of layer {@code layer} in {@code store}: gunzipped when it is gzip-compressed, else as it is. */
    static InputStream tar(OciStore store, Descriptor layer) throws IOException {
        InputStream raw = new java.io.BufferedInputStream(store.openBlob(layer.digest()), 1 << 16);
        try {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            return b0 == 0x1f && b1 == 0x8b ? new java.util.zip.GZIPInputStream(raw, 1 << 16) : raw;
        } catch (IOException e) {
            raw.close();
            throw e;
        }
    }

    /**
     * The image a restore of a whole-sandbox snapshot runs: {@code environment} (an image manifest in the store,
     * named {@code environmentName}) with the snapshot's layer {@code layer} (in the store, verified against its
     * digest as it came) on top, named {@value #RESTORED}{@code :<the artifact's digest>}. The layer is read once
     * first, for its diff ID: at most {@code maxTar} bytes of tar, else refused before anything is named.
     *
     * @return the image's name
     */
    static String environment(OciStore store, Descriptor environment, String environmentName, Descriptor layer,
                              Digest artifact, Instant created, long maxTar, String reference, List<String> named) {
        Digest diffId;
        long tarSize;
        try (InputStream tar = tar(store, layer)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            long n = 0;
            for (int r; (r = tar.read(buf)) > 0; ) {
                sha.update(buf, 0, r);
                n += r;
                if (n > maxTar) {
                    throw new DavitException(Kind.USAGE, "the sandbox of snapshot " + reference + " holds more"
                            + " than " + (maxTar >> 20) + " MiB, more than the new workspace's disk; give the new"
                            + " workspace a larger disk, or push a smaller snapshot");
                }
            }
            diffId = Digest.parse("sha256:" + java.util.HexFormat.of().formatHex(sha.digest()));
            tarSize = n;
        } catch (IOException e) {
            throw new DavitException(Kind.VERIFICATION, "the sandbox layer of snapshot " + reference + " cannot be"
                    + " read (" + e.getMessage() + "); push the snapshot again");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Descriptor plain = new Descriptor(layer.mediaType(), layer.digest(), layer.size());
        LayerBuilder.Layer top = new LayerBuilder.Layer(plain, diffId, tarSize, 0, List.of(), true);
        Reference name = Reference.parse(RESTORED + ":" + artifact.hex());
        // the same artifact makes the same image: a name another restore gave stays that restore's
        boolean had = store.entry(name.toString()).isPresent();
        BuildResult image = new ImageBuilder(store).image(environment, Reference.parse(environmentName), top, name,
                BuildOptions.builder().created(created).build(), Map.of(WorkspaceImages.SNAPSHOT_NAME + ".artifact",
                artifact.toString()), CREATED_BY);
        if (!had) {
            named.add(name.toString());
        }
        return name.toString();
    }
}
