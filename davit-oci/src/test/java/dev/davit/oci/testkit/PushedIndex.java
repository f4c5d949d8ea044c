package dev.davit.oci.testkit;

import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A multi-platform OCI image index pushed by {@link Fixtures#pushMultiArch(TestRegistry, String, String)}.
 *
 * @param hostPort the registry
 * @param repository the repository
 * @param tag the tag of the index
 * @param indexDigest {@code sha256:...} of the index bytes the registry serves
 * @param mediaType {@code application/vnd.oci.image.index.v1+json}
 * @param index the exact index bytes
 * @param images the platform images, in index order
 * @param layoutDir the OCI image layout it came from (shared by the JVM: read-only)
 * @param layoutTag the index's {@code org.opencontainers.image.ref.name} in {@code layoutDir}
 */
public record PushedIndex(String hostPort, String repository, String tag, String indexDigest, String mediaType,
        byte[] index, List<PlatformImage> images, Path layoutDir, String layoutTag) {

    /**
     * One entry of the index.
     *
     * @param os e.g. {@code linux}
     * @param architecture e.g. {@code arm64}
     * @param variant e.g. {@code v8}, or null
     * @param image the image manifest (its {@code tag} is null); its root filesystem holds {@link Fixtures#HELLO_PATH}
     *        and {@link Fixtures#ARCH_PATH} whose content is {@code platform() + "\n"}
     */
    public record PlatformImage(String os, String architecture, String variant, PushedImage image) {
        /** {@code os/architecture[/variant]}, e.g. {@code linux/arm/v7}. */
        public String platform() {
            return os + "/" + architecture + (variant == null ? "" : "/" + variant);
        }
    }

    /** {@code host:port/repo:tag}. */
    public String reference() {
        return hostPort + "/" + repository + ":" + tag;
    }

    /** {@code host:port/repo@sha256:...}. */
    public String digestReference() {
        return hostPort + "/" + repository + "@" + indexDigest;
    }

    /** The image for a platform such as {@code linux/arm64/v8}. */
    public PlatformImage image(String platform) {
        return images.stream().filter(i -> i.platform().equals(platform)).findFirst()
                .orElseThrow(() -> new NoSuchElementException("no " + platform + " in " + images.stream()
                        .map(PlatformImage::platform).toList()));
    }
}
