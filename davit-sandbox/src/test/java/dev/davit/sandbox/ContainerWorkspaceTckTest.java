package dev.davit.sandbox;

import dev.davit.sandbox.tck.WorkspaceTck;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** The workspace suite every backend passes ({@link WorkspaceTck}), on the container backend. */
class ContainerWorkspaceTckTest extends WorkspaceTck {
    private Path rootfs;

    @Override
    protected Workspaces open() throws IOException {
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        return Workspaces.under(tmp.resolve("home"));
    }

    @Override
    protected WorkspaceSpec spec() {
        return WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1)).limits(Limits.NONE).build())
                .name("tck").build();
    }
}
