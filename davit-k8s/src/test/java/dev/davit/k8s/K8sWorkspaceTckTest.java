package dev.davit.k8s;

import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;

/**
 * The workspace suite every backend passes ({@link dev.davit.sandbox.tck.WorkspaceTck}), on the k8s backend: a
 * workspace's pod on the cluster of {@code scripts/cluster.sh}, its commands and files through the pod's agent.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sWorkspaceTckTest extends dev.davit.sandbox.tck.WorkspaceTck {
    @Override
    protected Workspaces open() throws Exception {
        K8sSandboxTest.image();
        return Workspaces.under(K8sSandboxTest.home);
    }

    @Override
    protected WorkspaceSpec spec() {
        return WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).build();
    }
}
