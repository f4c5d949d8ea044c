/**
 * davit's OCI content: image references, a registry client with authentication, the verified local store,
 * pull/push/copy, image builds, artifacts, bundles and unpacking. Of these, {@code dev.davit.oci} (davit's errors:
 * {@link dev.davit.oci.DavitException}) is the API; the client ({@code dev.davit.oci.client.DavitClient}) and the
 * packages it names are davit's own, exported only to davit's other modules, as are {@code dev.davit.oci.internal}
 * (JSON, text and file helpers) and the Containerfile parser. A program's way to images is the facade's
 * {@code Images} ({@code dev.davit}).
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

    // the API: davit's errors (a program catches DavitException and reads its kind, message and fix)
    exports dev.davit.oci;
    // the OCI client and what it names: davit's own, for its modules (the facade's Images is the API's way to
    // images); a program with davit on its class path reaches them too, without the API's promise
    exports dev.davit.oci.artifact to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.auth to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.build to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.bundle to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.client to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.copy to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.digest to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.manifest to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.policy to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.reference to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.registry to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.store to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.unpack to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace,
            dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;

    exports dev.davit.oci.containerfile to dev.davit.sandbox.build;
    exports dev.davit.oci.internal to dev.davit.env, dev.davit.sandbox.api, dev.davit.sandbox.jail,
            dev.davit.sandbox.network, dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm,
            dev.davit.sandbox.workspace, dev.davit.sandbox.build, dev.davit.sandbox, dev.davit.k8s;
    exports dev.davit.oci.internal.manifest to dev.davit.sandbox.workspace;
}
