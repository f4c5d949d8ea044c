package dev.davit.oci.testkit;

import java.nio.file.Path;
import java.util.List;

/**
 * An OCI artifact (an image manifest with {@code artifactType}, the empty config and non-image layers) pushed by
 * {@link Fixtures#pushArtifact(TestRegistry, String, String, PushedImage)}.
 *
 * <p>Distribution 2.8 stores and serves it, but has no referrers API ({@code /v2/<name>/referrers/<digest>} is 404).
 *
 * @param hostPort the registry
 * @param repository the repository
 * @param tag the tag pushed
 * @param manifestDigest {@code sha256:...} of the manifest bytes
 * @param manifest the exact manifest bytes ({@code application/vnd.oci.image.manifest.v1+json})
 * @param artifactType {@link Fixtures#ARTIFACT_TYPE}
 * @param files the layers, in manifest order
 * @param subjectDigest the {@code subject} manifest's digest, or null
 * @param layoutDir an OCI image layout holding the same artifact (read-only)
 * @param layoutTag its {@code org.opencontainers.image.ref.name} in {@code layoutDir}
 */
public record PushedArtifact(String hostPort, String repository, String tag, String manifestDigest, byte[] manifest,
        String artifactType, List<File> files, String subjectDigest, Path layoutDir, String layoutTag) {

    /**
     * One layer of the artifact.
     *
     * @param title its {@code org.opencontainers.image.title} annotation (a file name)
     * @param mediaType its custom media type
     * @param digest {@code sha256:...}
     * @param content the bytes
     */
    public record File(String title, String mediaType, String digest, byte[] content) {
    }

    /** {@code host:port/repo:tag}. */
    public String reference() {
        return hostPort + "/" + repository + ":" + tag;
    }

    /** {@code host:port/repo@sha256:...}. */
    public String digestReference() {
        return hostPort + "/" + repository + "@" + manifestDigest;
    }
}
