package dev.davit.oci.artifact;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.internal.Text;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.Hashed;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.BlobIngest;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * ORAS-style artifacts: arbitrary files (a kernel, a rootfs image, a JSON catalog) as the layers of an OCI image
 * manifest with an {@code artifactType}, the empty config, and each file's name in
 * {@code org.opencontainers.image.title}.
 */
public final class Artifacts {
    /** The annotation holding a layer's file name. */
    public static final String TITLE = "org.opencontainers.image.title";
    /** The media type of files given without one. */
    public static final String DEFAULT_FILE_TYPE = "application/octet-stream";
    private static final byte[] EMPTY_CONFIG = "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    private Artifacts() {
    }

    /**
     * One file to put in an artifact.
     *
     * @param path      the file
     * @param mediaType the file's media type
     * @param zstd      store it zstd-compressed (see {@link ArtifactFiles}): the layer's media type gets
     *                  {@value ArtifactFiles#ZSTD_SUFFIX} and the file's digest and size become annotations
     */
    public record FileSpec(Path path, String mediaType, boolean zstd) {
        /**
         * A file stored as it is.
         *
         * @param path the file
         * @param mediaType the file's media type, e.g. {@value Artifacts#DEFAULT_FILE_TYPE}
         */
        public FileSpec(Path path, String mediaType) {
            this(path, mediaType, false);
        }

        /**
         * Parses {@code PATH[:MEDIA/TYPE]} (a media type always contains a '/').
         *
         * @param text the file and optional media type, e.g. {@code vmlinux:application/vnd.example.kernel}
         * @return a file stored as it is, of type {@value Artifacts#DEFAULT_FILE_TYPE} when none is given
         */
        public static FileSpec parse(String text) {
            int colon = text.lastIndexOf(':');
            if (colon > 0 && text.indexOf('/', colon) > colon) {
                return new FileSpec(Path.of(text.substring(0, colon)), text.substring(colon + 1));
            }
            return new FileSpec(Path.of(text), DEFAULT_FILE_TYPE);
        }
    }

    /**
     * Stores the files as blobs and writes the artifact manifest into the store (not yet named). Must run
     * inside {@link OciStore#session()}.
     *
     * @param store the store that receives the blobs and the manifest
     * @param artifactType the manifest's {@code artifactType}, a media type such as
     *                     {@code application/vnd.example.kernel.v1}
     * @param files the files, one layer each, in order; at least one, with distinct file names
     * @param annotations the manifest's annotations; empty for none
     * @return the manifest's descriptor
     * @throws DavitException USAGE for a malformed artifact type, no files, a missing file or two files of one
     *     name; STORE when the store cannot be written
     */
    public static Descriptor create(OciStore store, String artifactType, List<FileSpec> files,
                                    Map<String, String> annotations) {
        return create(store, artifactType, files, annotations, null);
    }

    /**
     * {@link #create(OciStore, String, List, Map)} of an artifact referring to {@code subject}, when not null.
     *
     * @param store the store that receives the blobs and the manifest
     * @param artifactType the manifest's {@code artifactType}
     * @param files the files, one layer each, in order
     * @param annotations the manifest's annotations; empty for none
     * @param subject the manifest it refers to, or null
     * @return the manifest's descriptor
     * @throws DavitException as {@link #create(OciStore, String, List, Map)}
     */
    public static Descriptor create(OciStore store, String artifactType, List<FileSpec> files,
                                    Map<String, String> annotations, Descriptor subject) {
        if (artifactType == null || !artifactType.contains("/")) {
            throw new DavitException(Kind.USAGE, Message.of(Input.ARTIFACT_TYPE, " must be a media type such as"
                    + " application/vnd.example.kernel.v1").value(artifactType));
        }
        if (files.isEmpty()) {
            throw new DavitException(Kind.USAGE, "an artifact needs at least one file");
        }
        Set<String> titles = new HashSet<>();
        List<Descriptor> descriptors = new java.util.ArrayList<>();
        for (FileSpec f : files) {
            if (!Files.isRegularFile(f.path())) {
                throw new DavitException(Kind.USAGE, "file " + f.path() + " does not exist or is not a regular file");
            }
            String title = f.path().getFileName().toString();
            if (!titles.add(title)) {
                throw new DavitException(Kind.USAGE, "two files are named " + Text.printable(title)
                        + "; artifact file names must be unique");
            }
            Descriptor d = f.zstd() ? putCompressed(store, f.path(), f.mediaType())
                    : putFile(store, f.path(), f.mediaType());
            Map<String, String> a = new TreeMap<>(d.annotations());
            a.put(TITLE, title);
            descriptors.add(d.withAnnotations(a));
        }
        return manifest(store, artifactType, descriptors, annotations, subject);
    }

    /**
     * Stores an artifact manifest of type {@code artifactType} over {@code layers} (blobs the store holds already)
     * with the empty config and {@code annotations} (in name order), and returns its descriptor: what
     * {@link #create} does once its files are stored.
     *
     * @param store the store that receives the config and the manifest
     * @param artifactType the manifest's {@code artifactType}
     * @param layers the layers, in order
     * @param annotations the manifest's annotations; empty for none
     * @return the manifest's descriptor
     * @throws DavitException STORE when the store cannot be written
     */
    public static Descriptor manifest(OciStore store, String artifactType, List<Descriptor> layers,
                                      Map<String, String> annotations) {
        return manifest(store, artifactType, layers, annotations, null);
    }

    /**
     * {@link #manifest(OciStore, String, List, Map)} referring to {@code subject} (OCI 1.1's {@code subject}: an
     * attestation, an SBOM, a signature of that manifest), when not null.
     *
     * @param store the store that receives the config and the manifest
     * @param artifactType the manifest's {@code artifactType}
     * @param layers the layers, in order
     * @param annotations the manifest's annotations; empty for none
     * @param subject the manifest it refers to (its media type, digest and size), or null
     * @return the manifest's descriptor
     * @throws DavitException STORE when the store cannot be written
     */
    public static Descriptor manifest(OciStore store, String artifactType, List<Descriptor> layers,
                                      Map<String, String> annotations, Descriptor subject) {
        Descriptor config = new Descriptor(MediaTypes.OCI_EMPTY, Digest.sha256(EMPTY_CONFIG), EMPTY_CONFIG.length);
        store.putBlob(config, EMPTY_CONFIG);
        ObjectNode m = Json.object();
        m.put("schemaVersion", 2);
        m.put("mediaType", MediaTypes.OCI_MANIFEST);
        m.put("artifactType", artifactType);
        m.set("config", ManifestJson.toJson(config));
        ArrayNode ls = m.putArray("layers");
        layers.forEach(l -> ls.add(ManifestJson.toJson(l)));
        if (subject != null) {
            m.set("subject", ManifestJson.toJson(new Descriptor(subject.mediaType(), subject.digest(),
                    subject.size())));
        }
        if (!annotations.isEmpty()) {
            ObjectNode a = m.putObject("annotations");
            new TreeMap<>(annotations).forEach(a::put);
        }
        byte[] bytes = Json.bytes(m);
        Descriptor md = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(bytes), bytes.length, List.of(), Map.of(),
                null, artifactType);
        store.putBlob(md, bytes);
        return md;
    }

    private static Descriptor putFile(OciStore store, Path file, String mediaType) {
        try {
            Hashed h;
            try (InputStream in = Files.newInputStream(file)) {
                h = Hashed.of(in, Digest.Algorithm.SHA256, new byte[1 << 16]);
            }
            Descriptor d = new Descriptor(mediaType, h.digest(), h.size());
            try (BlobIngest in = store.ingest(d); InputStream src = Files.newInputStream(file)) {
                if (!in.present()) {
                    in.restart();
                    in.writeAll(src);
                    in.commit();
                }
            }
            return d;
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + file + ": " + e.getMessage());
        }
    }

    /**
     * Stores {@code file} zstd-compressed in two passes, as layers are built: the first compresses to nowhere to
     * learn both digests, the second (only when the store lacks the blob) compresses into the store, which checks
     * it against the first.
     */
    private static Descriptor putCompressed(OciStore store, Path file, String mediaType) {
        try {
            HashingSink sink = new HashingSink(null);
            Hashed plain;
            try (InputStream in = Files.newInputStream(file)) {
                plain = compress(in, sink);
            }
            Descriptor d = new Descriptor(mediaType + ArtifactFiles.ZSTD_SUFFIX, sink.digest(), sink.size,
                    List.of(), ArtifactFiles.uncompressedAnnotations(plain.digest(), plain.size()), null, null);
            try (BlobIngest in = store.ingest(d)) {
                if (!in.present()) {
                    in.restart();
                    Hashed again;
                    try (InputStream src = Files.newInputStream(file)) {
                        again = compress(src, new HashingSink(in));
                    }
                    if (!again.equals(plain)) {
                        in.discard();
                        throw new DavitException(Kind.VERIFICATION, file + " changed while it was being stored;"
                                + " store it again once it is not being modified");
                    }
                    in.commit();
                }
            }
            return d;
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Compresses {@code in} into {@code out}; the digest and size of what was read. */
    private static Hashed compress(InputStream in, OutputStream out) throws IOException {
        java.security.MessageDigest md = Digest.Algorithm.SHA256.newMessageDigest();
        long n = 0;
        byte[] buf = new byte[1 << 20];
        try (OutputStream z = ArtifactFiles.zstd(out)) {
            int r;
            while ((r = in.read(buf)) > 0) {
                md.update(buf, 0, r);
                z.write(buf, 0, r);
                n += r;
            }
        }
        return new Hashed(Digest.fromBytes(Digest.Algorithm.SHA256, md.digest()), n);
    }

    /** Hashes and counts what passes, into an ingest or nowhere. */
    private static final class HashingSink extends OutputStream {
        private final BlobIngest ingest;
        private final java.security.MessageDigest md = Digest.Algorithm.SHA256.newMessageDigest();
        private long size;

        HashingSink(BlobIngest ingest) {
            this.ingest = ingest;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            md.update(b, off, len);
            size += len;
            if (ingest != null) {
                ingest.write(b, off, len);
            }
        }

        Digest digest() {
            return Digest.fromBytes(Digest.Algorithm.SHA256, md.digest());
        }
    }

    /**
     * A file written by {@link #extract}.
     *
     * @param title the layer's file name ({@value #TITLE})
     * @param path the file written
     * @param descriptor the layer it was written from
     */
    public record Extracted(String title, Path path, Descriptor descriptor) {
    }

    /**
     * Writes the artifact's layers from the store into {@code dir} under their titles (compressed layers
     * decompressed and verified, see {@link ArtifactFiles#materialize}). Only plain file names
     * are accepted (no '/', no '..', nothing hidden behind a link): a name that would escape {@code dir} is
     * refused before anything is written. Layers without a title are skipped.
     *
     * @param store the store holding the layers' blobs
     * @param manifest the artifact's manifest
     * @param dir the directory to write into; created if missing
     * @param mediaTypes when not empty, only layers of these media types (the layer's or its file's) are written
     * @return the files written, in layer order
     * @throws DavitException USAGE for an index or a target that is a link or directory, VERIFICATION for an
     *     unsafe or repeated title or content that does not match, STORE when a file cannot be written
     */
    public static List<Extracted> extract(OciStore store, Manifest manifest, Path dir, Set<String> mediaTypes) {
        if (!(manifest instanceof ImageManifest im)) {
            throw new DavitException(Kind.USAGE, "this reference is an index, not an artifact; pull one platform");
        }
        List<Descriptor> chosen = new ArrayList<>();
        Set<String> titles = new HashSet<>();
        for (Descriptor l : im.layers()) {
            String title = l.annotation(TITLE);
            if (title == null || !mediaTypes.isEmpty() && !mediaTypes.contains(l.mediaType())
                    && !mediaTypes.contains(ArtifactFiles.fileMediaType(l))) {
                continue;
            }
            if (!isSafeName(title)) {
                throw new DavitException(Kind.VERIFICATION, "the artifact names a file '" + Text.shorten(title, 80)
                        + "' that would escape the target directory; refusing to extract it");
            }
            if (!titles.add(title)) {
                throw new DavitException(Kind.VERIFICATION, "the artifact names '" + Text.shorten(title, 80)
                        + "' twice; refusing to extract it");
            }
            chosen.add(l);
        }
        try {
            Files.createDirectories(dir);
            if (Files.isSymbolicLink(dir)) {
                dir = dir.toRealPath();
            }
            List<Extracted> out = new ArrayList<>();
            for (Descriptor l : chosen) {
                String title = l.annotation(TITLE);
                Path target = dir.resolve(title);
                if (Files.isSymbolicLink(target) || Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                    throw new DavitException(Kind.USAGE, target + " exists and is a link or a directory; remove it first");
                }
                ArtifactFiles.materialize(store, l, target, ArtifactFiles.Placement.COPY);
                out.add(new Extracted(title, target, l));
            }
            Fs.fsyncDir(dir);
            return out;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write into " + dir + ": " + e.getMessage());
        }
    }

    /** A single path component: not empty, not '.', '..', no '/', '\\' or control characters. */
    static boolean isSafeName(String name) {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.length() > 255) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }
}
