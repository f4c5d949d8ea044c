package dev.davit.oci.manifest;

import java.util.List;

/** Media types of the OCI image spec and Docker's v2 schema 2. */
public final class MediaTypes {
    private MediaTypes() {
    }

    /** An OCI image manifest. */
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    /** An OCI image index: a list of manifests, usually one per platform. */
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    /** An OCI image config: the run settings and the layers' diff IDs. */
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    /** An uncompressed OCI layer tar. */
    public static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
    /** A gzip-compressed OCI layer tar. */
    public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    /** A zstd-compressed OCI layer tar. */
    public static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    /** The empty descriptor's content, {@code {}}: the config of an artifact that has none. */
    public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
    /** A Docker v2 schema 2 image manifest. */
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    /** A Docker manifest list, the Docker counterpart of an OCI index. */
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    /** A Docker image config. */
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    /** A gzip-compressed Docker layer tar. */
    public static final String DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /** A Docker foreign (non-distributable) layer, e.g. a Windows base layer; its descriptor lists {@code urls}. */
    public static final String DOCKER_FOREIGN_LAYER_GZIP =
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    /** A signed Docker schema 1 manifest; deprecated, recognised only to be rejected. */
    public static final String DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    /** A Docker schema 1 manifest; deprecated, recognised only to be rejected. */
    public static final String DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json";

    /** Everything davit can read, in the order it prefers them, for the {@code Accept} header. */
    public static final List<String> ACCEPTED_MANIFESTS =
            List.of(OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST);

    /**
     * {@return whether {@code mediaType} is an index: an OCI index or a Docker manifest list}
     *
     * @param mediaType the media type to check; null gives false
     */
    public static boolean isIndex(String mediaType) {
        return OCI_INDEX.equals(mediaType) || DOCKER_MANIFEST_LIST.equals(mediaType);
    }

    /**
     * {@return whether {@code mediaType} is a single-image manifest: OCI or Docker v2 schema 2}
     *
     * @param mediaType the media type to check; null gives false
     */
    public static boolean isImageManifest(String mediaType) {
        return OCI_MANIFEST.equals(mediaType) || DOCKER_MANIFEST.equals(mediaType);
    }

    /**
     * {@return whether {@code mediaType} is a manifest or index davit can read}
     *
     * @param mediaType the media type to check; null gives false
     */
    public static boolean isManifest(String mediaType) {
        return isIndex(mediaType) || isImageManifest(mediaType);
    }
}
