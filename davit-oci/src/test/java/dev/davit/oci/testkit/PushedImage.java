package dev.davit.oci.testkit;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An image manifest that a {@link Fixtures} method pushed, as the registry serves it.
 *
 * @param hostPort the registry, e.g. {@code 127.0.0.1:38211}
 * @param repository e.g. {@code app}
 * @param tag the tag pushed, or null for an image only reachable by digest (a child of an index)
 * @param manifestDigest {@code sha256:...} of the manifest bytes the registry serves
 * @param manifestMediaType the manifest's media type (OCI or Docker schema 2)
 * @param manifest the exact manifest bytes the registry serves
 * @param configDigest the config blob's digest
 * @param layerDigests the layer blobs' digests, in manifest order
 * @param fileDigests the regular files of the image's final root filesystem (after applying all layers and
 *        whiteouts): relative path, e.g. {@code hello.txt}, to the {@code sha256:...} of its content
 * @param layoutDir the OCI image layout the image came from (shared by the JVM: treat it as read-only); it may hold
 *        the pre-conversion form when the push converted the format
 * @param layoutTag the image's {@code org.opencontainers.image.ref.name} in {@code layoutDir}
 */
public record PushedImage(String hostPort, String repository, String tag, String manifestDigest,
        String manifestMediaType, byte[] manifest, String configDigest, List<String> layerDigests,
        Map<String, String> fileDigests, Path layoutDir, String layoutTag) {

    /** {@code host:port/repo:tag}, or {@link #digestReference()} when there is no tag. */
    public String reference() {
        return tag == null ? digestReference() : hostPort + "/" + repository + ":" + tag;
    }

    /** {@code host:port/repo@sha256:...}. */
    public String digestReference() {
        return hostPort + "/" + repository + "@" + manifestDigest;
    }

    /** {@code docker://} plus {@link #reference()}, for skopeo. */
    public String dockerUri() {
        return "docker://" + reference();
    }

    /** The manifest's size in bytes. */
    public long manifestSize() {
        return manifest.length;
    }
}
