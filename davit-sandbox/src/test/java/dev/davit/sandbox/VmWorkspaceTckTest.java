package dev.davit.sandbox;

import dev.davit.sandbox.tck.WorkspaceTck;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.time.Duration;

/**
 * The workspace suite every backend passes ({@link WorkspaceTck}), on the microVM backend (real QEMU, TCG here, the
 * small busybox environment).
 */
class VmWorkspaceTckTest extends WorkspaceTck {
    @Override
    protected Workspaces open() {
        return Workspaces.under(tmp.resolve("home"));
    }

    @Override
    protected WorkspaceSpec spec() {
        try {
            return WorkspaceSpec.builder(CreateSpec.builder(VmTestEnvironment.get()).ttl(Duration.ofHours(1))
                    .backend("vm").vcpus(1).memoryMiB(256).build()).name("tck").build();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
