/**
 * Sandboxes and workspaces: a command run in an environment in a container sandbox or a microVM, and long-lived
 * workspaces for coding agents. The entry point is {@link dev.davit.Davit}; {@link dev.davit.sandbox.engine.Sandboxes} and
 * {@link dev.davit.sandbox.workspace.Workspaces} are the lower-level APIs. The backends (container, vm) and their
 * interface and shared machinery (dev.davit.sandbox.backend), the jail, the file-system layer and environment builds
 * are davit's own and not exported.
 *
 * <p>The jail's mounts and file operations use the FFM API: run with
 * {@code --enable-native-access=dev.davit.oci,dev.davit.sandbox}.
 */
module dev.davit.sandbox {
    requires transitive dev.davit.oci;
    requires transitive dev.davit.env;
    requires com.fasterxml.jackson.databind;
    requires java.net.http;
    requires jdk.net;
    requires org.apache.commons.compress;
    requires com.github.luben.zstd_jni;
    requires org.tukaani.xz;
    requires org.bouncycastle.pkix;
    requires org.bouncycastle.provider;

    exports dev.davit;
    exports dev.davit.sandbox;
    exports dev.davit.sandbox.engine;
    exports dev.davit.sandbox.workspace;
    // the backends' interface and what the k8s backend (its own module, davit-k8s) shares with the microVM's: its
    // guest agent and busybox; to that module alone
    exports dev.davit.sandbox.backend to dev.davit.k8s;
    exports dev.davit.sandbox.vm to dev.davit.k8s;
    exports dev.davit.sandbox.host to dev.davit.k8s;

    uses dev.davit.sandbox.backend.Driver;
    provides dev.davit.env.install.Installer.LocalBuilders with dev.davit.sandbox.build.LocalEnvBuilder.Provider;
    provides dev.davit.sandbox.backend.Driver with dev.davit.sandbox.container.ContainerDriver, dev.davit.sandbox.vm.VmDriver;
}
