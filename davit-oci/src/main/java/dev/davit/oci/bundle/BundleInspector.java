package dev.davit.oci.bundle;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a bundle's metadata and references without extracting it: only {@code oci-layout}, {@code index.json},
 * the manifests and the image configs are read (and verified against their digests); layers are skipped, which
 * is a seek in an uncompressed bundle. The archive is checked by the same rules as an import (paths, entry types,
 * limits), so a hostile bundle is reported here too.
 *
 * <p>Compressed bundles are streamed. davit writes parents before children, so one pass finds every manifest;
 * archives by other tools may need another pass per level of nesting they put out of order.
 */
public final class BundleInspector {
    /** The most manifest and config bytes held in memory at once. */
    static final long MAX_HELD_BYTES = 64L << 20;
    private static final int MAX_PASSES = 6;

    private final long maxTotalBytes;
    private final int maxEntries;

    /** With the default import limits. */
    public BundleInspector() {
        this(ImportOptions.DEFAULT_MAX_TOTAL_BYTES, ImportOptions.DEFAULT_MAX_ENTRIES);
    }

    /**
     * With the given limits, as in {@link ImportOptions}.
     *
     * @param maxTotalBytes the most uncompressed bytes read from the bundle per pass
     * @param maxEntries the most tar entries, and the most {@code index.json} entries
     */
    public BundleInspector(long maxTotalBytes, int maxEntries) {
        this.maxTotalBytes = maxTotalBytes;
        this.maxEntries = maxEntries;
    }

    /**
     * Reads what a bundle holds.
     *
     * @param file the bundle file
     * @return its metadata, references and blob counts
     * @throws DavitException of kind NOT_FOUND when the file does not exist, USAGE when it cannot be read,
     *     VERIFICATION when it is malformed, over a limit, or a manifest or config does not match its digest
     */
    public BundleInfo inspect(Path file) {
        String what = BundleReader.describe(file);
        State st = new State(what);
        BundleReader.Summary summary = null;
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            st.first = pass == 0;
            summary = BundleReader.read(file, new BundleReader.Limits(maxTotalBytes, maxEntries,
                    ManifestParser.MAX_MANIFEST_BYTES), st, true);
            if (st.first) {
                if (st.layout == null) {
                    throw new DavitException(Kind.VERIFICATION, what + " has no oci-layout file; it is not an OCI"
                            + " image layout archive");
                }
                if (st.index == null) {
                    throw new DavitException(Kind.VERIFICATION, what + " has no index.json; it is not an OCI image"
                            + " layout archive");
                }
            }
            if (!st.pending()) {
                break;
            }
        }
        Graphs.Lookup lookup = new Graphs.Lookup() {
            @Override
            public boolean has(Descriptor d) {
                Long size = st.sizes.get(d.digest());
                return size != null && size == d.size();
            }

            @Override
            public Manifest manifest(Descriptor d) {
                return st.parsed.get(d.digest());
            }

            @Override
            public byte[] config(Descriptor d) {
                return st.held.get(d.digest());
            }
        };
        List<BundleRef> refs = new ArrayList<>();
        for (Descriptor e : st.index.manifests()) {
            refs.add(Graphs.summarize(e, lookup));
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            size = -1;
        }
        String version = "";
        try {
            version = Json.read(st.layout).path("imageLayoutVersion").asText();
        } catch (IOException e) {
            // checked on the first pass
        }
        long blobBytes = st.sizes.values().stream().mapToLong(Long::longValue).sum();
        return new BundleInfo(file.toAbsolutePath(), summary.compression(), size, version,
                BundleMetadata.fromAnnotations(st.index.annotations()), st.index.annotations(), refs, st.sizes.size(),
                blobBytes);
    }

    /** What the passes collected. */
    private static final class State implements BundleReader.Visitor {
        final String what;
        boolean first;
        byte[] layout;
        ImageIndex index;
        final Map<Digest, Long> sizes = new HashMap<>();
        final Map<Digest, Descriptor> wanted = new HashMap<>();
        final Map<Digest, byte[]> held = new HashMap<>();
        final Map<Digest, Manifest> parsed = new HashMap<>();
        long heldBytes;

        State(String what) {
            this.what = what;
        }

        @Override
        public void layout(byte[] bytes) {
            if (first) {
                OciLayoutSource.checkLayoutVersion(bytes, what);
                layout = bytes;
            }
        }

        @Override
        public void index(byte[] bytes) {
            if (first) {
                index = OciLayoutSource.parseIndex(bytes, what);
                index.manifests().forEach(this::want);
            }
        }

        @Override
        public void blob(Digest digest, long size, InputStream content) throws IOException {
            if (first) {
                sizes.putIfAbsent(digest, size);
            }
            Descriptor w = wanted.get(digest);
            if (w == null || held.containsKey(digest) || w.size() != size) {
                return;
            }
            byte[] bytes = content.readNBytes((int) size);
            if (bytes.length != size || !Digest.of(digest.algorithm(), bytes).equals(digest)) {
                throw new DavitException(Kind.VERIFICATION, what + ": the content of blob " + digest
                        + " does not match its digest; the bundle is corrupt");
            }
            heldBytes += size;
            if (heldBytes > MAX_HELD_BYTES) {
                throw new DavitException(Kind.VERIFICATION, what + " has more than " + MAX_HELD_BYTES
                        + " bytes of manifests and configs; refusing to inspect it");
            }
            held.put(digest, bytes);
            if (!MediaTypes.isManifest(w.mediaType())) {
                return;
            }
            Manifest m;
            try {
                m = ManifestParser.parse(bytes, w.mediaType());
            } catch (DavitException e) {
                return; // shown as incomplete
            }
            parsed.put(digest, m);
            for (Descriptor c : m.children()) {
                if (MediaTypes.isManifest(c.mediaType())) {
                    want(c);
                }
            }
            if (m instanceof ImageManifest im && Graphs.isImageConfig(im.config())) {
                want(im.config());
            }
        }

        private void want(Descriptor d) {
            if (d.size() <= ManifestParser.MAX_MANIFEST_BYTES) {
                wanted.putIfAbsent(d.digest(), d);
            }
        }

        /** Whether a wanted blob is in the archive but was passed before it was wanted. */
        boolean pending() {
            for (Map.Entry<Digest, Descriptor> w : wanted.entrySet()) {
                Long size = sizes.get(w.getKey());
                if (!held.containsKey(w.getKey()) && size != null && size == w.getValue().size()) {
                    return true;
                }
            }
            return false;
        }
    }
}
