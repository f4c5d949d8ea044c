/**
 * davit's OCI content: image references, a registry client with authentication, the verified local store,
 * pull/push/copy, image builds, artifacts, bundles and unpacking. The entry point is
 * {@link dev.davit.oci.client.DavitClient}; every exported package is reachable from it.
 * {@code dev.davit.oci.store} is the verified local store the client, copier, unpacker and builders work on
 * ({@link dev.davit.oci.client.DavitClient#store}); {@code dev.davit.oci.internal} (JSON, text and file helpers)
 * is davit's own: exported only to davit's other modules.
 *
 * <p>SHA-256 through the platform's libcrypto uses the FFM API: run with
 * {@code --enable-native-access=dev.davit.oci} (without it, the JDK's SHA-256 is used and the JDK warns).
 */
module dev.davit.oci {
    // davit's own JSON reader builds Jackson's trees, and Jackson's generator writes them; no exported package
    // mentions a Jackson type, so a program that uses davit needs nothing of Jackson's (ApiSurfaceTest)
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires java.net.http;
    requires org.slf4j;
    requires org.apache.commons.compress;
    requires com.github.luben.zstd_jni;
    requires org.bouncycastle.provider;
    requires org.bouncycastle.pg;

    exports dev.davit.oci;
    exports dev.davit.oci.artifact;
    exports dev.davit.oci.auth;
    exports dev.davit.oci.build;
    exports dev.davit.oci.bundle;
    exports dev.davit.oci.client;
    exports dev.davit.oci.copy;
    exports dev.davit.oci.digest;
    exports dev.davit.oci.manifest;
    exports dev.davit.oci.policy;
    exports dev.davit.oci.reference;
    exports dev.davit.oci.registry;
    exports dev.davit.oci.store;
    exports dev.davit.oci.unpack;

    exports dev.davit.oci.containerfile to dev.davit.sandbox.build;
    exports dev.davit.oci.internal to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.network, dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm,
            dev.davit.sandbox.workspace, dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.internal.manifest to dev.davit.sandbox.workspace;
}
