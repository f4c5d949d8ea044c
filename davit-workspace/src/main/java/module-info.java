/**
 * Workspaces: long-lived sandboxes for coding agents ({@link dev.davit.sandbox.workspace.Workspaces}), exported to
 * all; the JSON forms of their values ({@code workspace.json}) are davit's own.
 */
module dev.davit.sandbox.workspace {
    requires transitive dev.davit.sandbox.core;
    requires dev.davit.sandbox.jail;
    requires dev.davit.sandbox.network;
    requires com.fasterxml.jackson.databind;
    requires org.apache.commons.compress;
    requires org.bouncycastle.pkix;
    requires org.bouncycastle.provider;

    exports dev.davit.sandbox.workspace;
    // what the doors make with davit's own OCI client (WorkspaceImages over a client's store)
    exports dev.davit.sandbox.workspace.internal to dev.davit.sandbox;
}
