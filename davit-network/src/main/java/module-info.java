/**
 * The egress gate: a sandbox's network as an allow-list (its DNS, TCP and TLS relays, the secrets it injects), run
 * in a JVM of its own beside the sandbox; and the resolver and URL fetches the builds use. davit's own: exported only
 * to the sandbox modules that start a gate or fetch.
 *
 * <p>The gate's socket calls use the FFM API: on the module path, run with {@code --enable-native-access} naming
 * this module.
 */
module dev.davit.sandbox.network {
    requires transitive dev.davit.sandbox.api;

    exports dev.davit.sandbox.network to dev.davit.sandbox.core, dev.davit.sandbox.workspace, dev.davit.sandbox.build;
}
