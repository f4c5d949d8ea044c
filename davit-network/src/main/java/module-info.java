/**
 * What davit's own fetches of the network need: the resolver and URL fetches the builds use (a Containerfile's
 * {@code ADD URL}, under its network or egress policy), and the egress gate's policy file, which davit writes and the
 * gate (davit-agent's {@code gate} mode) enforces. davit's own: exported only to the sandbox modules that start a
 * gate or fetch.
 */
module dev.davit.sandbox.network {
    requires transitive dev.davit.sandbox.api;

    exports dev.davit.sandbox.network to dev.davit.sandbox.core, dev.davit.sandbox.workspace, dev.davit.sandbox.build;
}
