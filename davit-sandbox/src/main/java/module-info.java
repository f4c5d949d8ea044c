/**
 * The {@link dev.davit.Davit} facade: images, runs and workspaces in a few calls, over the sandbox modules it
 * requires (their API transitively: {@code dev.davit.sandbox}, {@code dev.davit.sandbox.engine}, {@code
 * dev.davit.sandbox.workspace}), with both backends and the builds present as services.
 *
 * <p>The jail's mounts, the egress gate's and the file layer's system calls use the FFM API: on the module path, run
 * with {@code --enable-native-access=dev.davit.oci,dev.davit.sandbox.api,dev.davit.sandbox.jail,dev.davit.sandbox.network}.
 */
module dev.davit.sandbox {
    requires transitive dev.davit.sandbox.api;
    requires transitive dev.davit.sandbox.core;
    requires transitive dev.davit.sandbox.workspace;
    requires dev.davit.sandbox.container;
    requires dev.davit.sandbox.vm;
    requires dev.davit.sandbox.build;

    exports dev.davit;
}
