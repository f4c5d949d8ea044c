package dev.davit.oci.manifest;

import dev.davit.oci.DavitException;
import java.util.List;

/**
 * Parses manifests from untrusted bytes. Accepts OCI image manifests and indexes (including artifact
 * manifests with {@code artifactType} and {@code subject}), Docker v2 schema 2 manifests and manifest lists.
 * Rejects Docker schema 1, documents over {@link #MAX_MANIFEST_BYTES}, anything but strict UTF-8 (no byte order
 * mark, no overlong or surrogate encodings, no UTF-16/32), duplicate keys, keys that differ from a known one only in
 * case, and malformed descriptors, each with a one-line message.
 */
public final class ManifestParser {
    private ManifestParser() {
    }

    /** The largest manifest accepted (the distribution registry's own limit). */
    public static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

    /**
     * Parses and checks a manifest or index; the result keeps a copy of {@code bytes} and their sha256 digest.
     *
     * @param bytes       the document exactly as served
     * @param contentType the Content-Type it was served with, or null; used only when the document has no
     *                    {@code mediaType}, and to recognise Docker schema 1
     * @return an {@link ImageIndex} or an {@link ImageManifest}
     * @throws DavitException of kind VERIFICATION when the document is malformed, too large, not strict UTF-8,
     *     Docker schema 1 or of an unsupported media type
     */
    public static Manifest parse(byte[] bytes, String contentType) {
        return ManifestReader.parse(bytes, contentType);
    }

    /**
     * Reads the descriptors of an OCI image layout's {@code index.json} (its {@code manifests}, each with its platform
     * and annotations), from untrusted bytes as strictly as {@link #parse} reads a manifest but for the size (the
     * caller bounds it: the store reads at most 64 MiB) and the document's other fields, which are not checked.
     *
     * @param bytes the file's bytes
     * @return its descriptors in their order; none when {@code manifests} is absent or null
     * @throws DavitException of kind VERIFICATION when the bytes are not strict UTF-8 or not a JSON object, have a
     *     duplicate key or a key that differs from a known one only in case, {@code manifests} is not an array or an
     *     entry is not a well-formed descriptor; the message names the entry ({@code index.json manifests[3]})
     */
    public static List<Descriptor> layoutIndex(byte[] bytes) {
        return ManifestReader.layoutIndex(bytes);
    }
}
