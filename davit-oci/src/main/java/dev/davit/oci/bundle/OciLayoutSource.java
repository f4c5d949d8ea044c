package dev.davit.oci.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.ContentSource;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.store.BlobIngest;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * An OCI image layout directory ({@code oci-layout}, {@code index.json}, {@code blobs/<alg>/<hex>}) as a
 * {@link ContentSource}, e.g. one written by {@code skopeo copy ... oci:DIR:name} or {@code umoci}, or davit's own
 * store. Names resolve through the {@code org.opencontainers.image.ref.name} annotations of {@code index.json};
 * digests resolve to an entry or to any manifest blob. Manifests are checked against their digest and size before
 * they are parsed; blobs are streamed into the ingest (which verifies them on commit), resuming at its offset.
 *
 * <p>Use {@code new Copier(store).copy(OciLayoutSource.open(dir), name, ref, ref.toString(), selector, progress)} to copy an image
 * from a layout into the store.
 */
public final class OciLayoutSource implements ContentSource {
    private static final int BUF = 1 << 16;

    private final Path root;
    private final List<Descriptor> entries;
    private final String description;

    private OciLayoutSource(Path root, List<Descriptor> entries, String description) {
        this.root = root;
        this.entries = List.copyOf(entries);
        this.description = description;
    }

    /**
     * Opens the layout in {@code dir}: checks {@code oci-layout} (version 1.x) and reads {@code index.json} (at most
     * {@link ManifestParser#MAX_MANIFEST_BYTES}, parsed as strictly as a manifest).
     *
     * @param dir the layout's directory
     * @return a source over the layout
     * @throws DavitException NOT_FOUND when {@code dir} is not a directory, VERIFICATION when it is not a valid layout
     */
    public static OciLayoutSource open(Path dir) {
        Path root = dir.toAbsolutePath().normalize();
        String what = "oci:" + Text.shorten(root.toString(), 120);
        if (!Files.isDirectory(root)) {
            throw new DavitException(Kind.NOT_FOUND, "OCI layout " + what + " does not exist or is not a directory");
        }
        byte[] layout = readSmall(root.resolve(LayoutPaths.OCI_LAYOUT), BundleReader.MAX_LAYOUT_BYTES, what);
        if (layout == null) {
            throw new DavitException(Kind.VERIFICATION, what + " has no oci-layout file; it is not an OCI image layout");
        }
        checkLayoutVersion(layout, what);
        byte[] index = readSmall(root.resolve(LayoutPaths.INDEX_JSON), ManifestParser.MAX_MANIFEST_BYTES, what);
        if (index == null) {
            throw new DavitException(Kind.VERIFICATION, what + " has no index.json; it is not an OCI image layout");
        }
        return new OciLayoutSource(root, parseIndex(index, what).manifests(), what);
    }

    /**
     * A layout whose {@code index.json} entries are {@code entries} and whose blobs are under {@code root}; used to
     * walk a bundle's graphs over blobs already verified into the store.
     */
    static OciLayoutSource over(Path root, List<Descriptor> entries, String description) {
        return new OciLayoutSource(root, entries, description);
    }

    /** Checks an {@code oci-layout} document: JSON with {@code imageLayoutVersion} 1.x. */
    static void checkLayoutVersion(byte[] layout, String what) {
        JsonNode n;
        try {
            n = Json.read(layout);
        } catch (IOException | RuntimeException e) {
            throw new DavitException(Kind.VERIFICATION, what + ": oci-layout is not valid JSON; it is not an OCI"
                    + " image layout");
        }
        JsonNode v = n.path("imageLayoutVersion");
        if (!v.isTextual()) {
            throw new DavitException(Kind.VERIFICATION, what + ": oci-layout has no imageLayoutVersion; it is not an"
                    + " OCI image layout");
        }
        if (!v.asText().startsWith("1.")) {
            throw new DavitException(Kind.VERIFICATION, what + ": unsupported OCI layout version '"
                    + Text.shorten(v.asText(), 20) + "'; davit reads version 1.x");
        }
    }

    /** Parses an {@code index.json}: an OCI image index, strictly (the manifest parser's rules and limits). */
    static ImageIndex parseIndex(byte[] bytes, String what) {
        Manifest m;
        try {
            m = ManifestParser.parse(bytes, null);
        } catch (DavitException e) {
            throw new DavitException(Kind.VERIFICATION, what + ": index.json is invalid: "
                    + e.getMessage().replaceFirst("^malformed manifest: ", ""));
        }
        if (!(m instanceof ImageIndex idx)) {
            throw new DavitException(Kind.VERIFICATION, what + ": index.json is not an image index");
        }
        return idx;
    }

    private static byte[] readSmall(Path p, int max, String what) {
        try {
            if (!Files.exists(p)) {
                return null;
            }
            long size = Files.size(p);
            if (size > max) {
                throw new DavitException(Kind.VERIFICATION, what + ": " + p.getFileName() + " is " + size
                        + " bytes, over the " + max + "-byte limit");
            }
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + Text.shorten(p.toString(), 120) + ": "
                    + e.getMessage(), e);
        }
    }

    /** {@return the {@code index.json} entries, in order} */
    public List<Descriptor> entries() {
        return entries;
    }

    /** {@return the layout's directory, absolute} */
    public Path root() {
        return root;
    }

    @Override
    public String describe() {
        return description;
    }

    /**
     * Resolves a ref name ({@code org.opencontainers.image.ref.name}), a digest, or the empty string / null when the
     * layout has exactly one entry.
     */
    @Override
    public Resolved resolve(String name) {
        Descriptor d = find(name);
        return new Resolved(fetchManifest(d), d.digest());
    }

    /**
     * Finds the entry {@code name} resolves to (see {@link #resolve}).
     *
     * @param name a ref name, a digest, or null or empty for the only entry
     * @return the entry's descriptor (for a digest of a manifest outside {@code index.json}, one made from the blob)
     * @throws DavitException of kind NOT_FOUND when nothing has that name, USAGE when the name is ambiguous or
     *     missing while there are several entries, STORE when a blob cannot be read
     */
    public Descriptor find(String name) {
        if (name == null || name.isEmpty()) {
            if (entries.size() == 1) {
                return entries.get(0);
            }
            throw new DavitException(Kind.USAGE, description + " has " + entries.size() + " entries; name one of: "
                    + names());
        }
        if (Digest.isValid(name)) {
            Digest digest = Digest.parse(name);
            for (Descriptor d : entries) {
                if (d.digest().equals(digest)) {
                    return d;
                }
            }
            Path p = blobPath(digest);
            try {
                if (Files.isRegularFile(p) && Files.size(p) <= ManifestParser.MAX_MANIFEST_BYTES) {
                    byte[] b = Files.readAllBytes(p);
                    if (Digest.of(digest.algorithm(), b).equals(digest)) {
                        Manifest m = ManifestParser.parse(b, null);
                        return new Descriptor(m.mediaType(), digest, b.length, List.of(), java.util.Map.of(), null,
                                m.artifactType());
                    }
                }
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read " + p + ": " + e.getMessage(), e);
            }
            throw new DavitException(Kind.NOT_FOUND, "no manifest " + digest + " in " + description);
        }
        List<Descriptor> named = entries.stream().filter(d -> name.equals(d.annotation(OciStore.REF_NAME))).toList();
        if (named.isEmpty()) {
            throw new DavitException(Kind.NOT_FOUND, "no image named '" + Text.shorten(name, 80) + "' in " + description
                    + "; it has: " + names());
        }
        if (named.size() > 1) {
            throw new DavitException(Kind.USAGE, description + " has " + named.size() + " entries named '"
                    + Text.shorten(name, 80) + "'; name one by digest");
        }
        return named.get(0);
    }

    private String names() {
        List<String> n = entries.stream().map(d -> d.annotation(OciStore.REF_NAME)).filter(Objects::nonNull)
                .map(s -> Text.shorten(s, 60)).distinct().limit(10).toList();
        return n.isEmpty() ? "(no named entries; use a digest)" : String.join(", ", n)
                + (entries.size() > 10 ? ", ..." : "");
    }

    /**
     * {@return where the layout keeps blob {@code d} (the file may be missing)}
     *
     * @param d the blob's digest
     */
    public Path blobPath(Digest d) {
        return root.resolve("blobs").resolve(d.algorithm().id()).resolve(d.hex());
    }

    @Override
    public Manifest fetchManifest(Descriptor descriptor) {
        Digest digest = descriptor.digest();
        Path p = blobPath(digest);
        byte[] bytes;
        try {
            long size = Files.size(p);
            if (size != descriptor.size()) {
                throw new DavitException(Kind.VERIFICATION, "manifest " + digest + " in " + description + " is " + size
                        + " bytes, its descriptor says " + descriptor.size() + "; the layout is corrupt");
            }
            if (size > ManifestParser.MAX_MANIFEST_BYTES) {
                throw new DavitException(Kind.VERIFICATION, "manifest " + digest + " in " + description + " is "
                        + size + " bytes, over the " + ManifestParser.MAX_MANIFEST_BYTES + "-byte limit");
            }
            bytes = Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw missing(descriptor);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read manifest " + digest + " in " + description + ": "
                    + e.getMessage(), e);
        }
        if (!Digest.of(digest.algorithm(), bytes).equals(digest)) {
            throw new DavitException(Kind.VERIFICATION, "manifest " + digest + " in " + description
                    + " does not match its digest; the layout is corrupt");
        }
        return ManifestParser.parse(bytes, descriptor.mediaType());
    }

    @Override
    public void fetchBlob(Descriptor descriptor, BlobIngest into, LongConsumer progress, Consumer<String> retries) {
        Path p = blobPath(descriptor.digest());
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size != descriptor.size()) {
                throw new DavitException(Kind.VERIFICATION, "blob " + descriptor.digest() + " in " + description
                        + " is " + size + " bytes, its descriptor says " + descriptor.size() + "; the layout is corrupt");
            }
            long pos = into.offset();
            ByteBuffer buf = ByteBuffer.allocate(BUF);
            while (pos < size) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n < 0) {
                    break;
                }
                into.write(buf.array(), 0, n);
                pos += n;
                progress.accept(pos);
            }
        } catch (NoSuchFileException e) {
            throw missing(descriptor);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read blob " + descriptor.digest() + " in " + description
                    + ": " + e.getMessage(), e);
        }
    }

    private DavitException missing(Descriptor d) {
        return new DavitException(Kind.NOT_FOUND, "blob " + d.digest() + " (" + Text.shorten(d.mediaType(), 80)
                + ") is missing from " + description + "; the layout is incomplete");
    }
}
