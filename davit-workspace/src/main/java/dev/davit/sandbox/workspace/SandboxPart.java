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
import dev.davit.sandbox.engine.Sandboxes;
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
    /** The most bytes one entry's headers may take as the layer is read (as an unpack's). */
    private static final long MAX_HEADER = 1 << 20;
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
                dev.davit.sandbox.backend.Machinery.of(sandboxes).lifecycle().savedChanges(sandboxId, saved, w, rewrite);
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
     * digest as it came) on top, named {@value #RESTORED}{@code :<the artifact's digest>}. The layer must be what a
     * push writes, a gzip-compressed tar: it is read once first, for its diff ID, and its entries' sizes are added
     * up as they are met: more than {@code caps} allows (bytes, entries), or a sparse entry (whose written size is not
     * its tar size), is refused before anything is named or unpacked.
     *
     * @return the image's name
     */
    static String environment(OciStore store, Descriptor environment, String environmentName, Descriptor layer,
                              Digest artifact, Instant created, dev.davit.oci.unpack.TarExtractor.Limits caps,
                              String reference, List<String> named) {
        String what = "the sandbox layer of snapshot " + reference;
        if (!dev.davit.oci.manifest.MediaTypes.OCI_LAYER_GZIP.equals(layer.mediaType())) {
            throw new DavitException(Kind.VERIFICATION, what + " is not a gzip-compressed tar (" + dev.davit.oci
                    .internal.Text.shorten(String.valueOf(layer.mediaType()), 80) + "); push the snapshot again");
        }
        Digest diffId;
        long tarSize;
        try (InputStream raw = new java.io.BufferedInputStream(store.openBlob(layer.digest()), 1 << 16)) {
            raw.mark(2);
            if (raw.read() != 0x1f || raw.read() != 0x8b) {
                throw new DavitException(Kind.VERIFICATION, what + " is not gzip-compressed; push the snapshot"
                        + " again");
            }
            raw.reset();
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            long[] read = {0};
            long[] headerEnd = {-1}; // while an entry's headers are read: the tar reader holds them in memory
            InputStream hashed = new java.io.FilterInputStream(new java.util.zip.GZIPInputStream(raw, 1 << 16)) {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    int n = read(one, 0, 1);
                    return n < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] buf, int off, int len) throws IOException {
                    int n = super.read(buf, off, len);
                    if (n > 0) {
                        sha.update(buf, off, n);
                        read[0] += n;
                        if (headerEnd[0] >= 0 && read[0] > headerEnd[0]) {
                            throw new DavitException(Kind.VERIFICATION, what + " has a tar header over "
                                    + (MAX_HEADER >> 20) + " MiB (a long name or PAX records); push the snapshot"
                                    + " again");
                        }
                    }
                    return n;
                }

                @Override
                public long skip(long n) throws IOException { // read, so that every byte is hashed
                    byte[] buf = new byte[8192];
                    long left = n;
                    for (int r; left > 0 && (r = read(buf, 0, (int) Math.min(buf.length, left))) > 0; ) {
                        left -= r;
                    }
                    return n - left;
                }
            };
            long bytes = 0;
            long entries = 0;
            var tar = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(hashed);
            while (true) {
                headerEnd[0] = read[0] + MAX_HEADER;
                var e = tar.getNextEntry();
                headerEnd[0] = -1;
                if (e == null) {
                    break;
                }
                if (e.isSparse()) {
                    throw new DavitException(Kind.VERIFICATION, what + " holds a sparse file (" + dev.davit.oci
                            .internal.Text.printable(dev.davit.oci.internal.Text.shorten(e.getName(), 80)) + "),"
                            + " which a push never writes; push the snapshot again");
                }
                bytes += Math.max(0, e.getSize());
                if (bytes > caps.maxBytes() || ++entries > caps.maxEntries()) {
                    throw new DavitException(Kind.USAGE, what + " holds more than the new workspace's disk ("
                            + (caps.maxBytes() >> 20) + " MiB, " + caps.maxEntries() + " entries); give the new"
                            + " workspace a larger disk, or push a smaller snapshot");
                }
            }
            hashed.transferTo(java.io.OutputStream.nullOutputStream()); // the tar's end blocks: all of it is hashed
            diffId = Digest.parse("sha256:" + java.util.HexFormat.of().formatHex(sha.digest()));
            tarSize = read[0];
        } catch (IOException e) {
            throw new DavitException(Kind.VERIFICATION, what + " cannot be read (" + e.getMessage() + "); push the"
                    + " snapshot again");
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
