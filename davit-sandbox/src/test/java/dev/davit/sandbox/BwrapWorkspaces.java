package dev.davit.sandbox;

import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture of the container workspace tests: a busybox root filesystem with the test's extra {@link #applets},
 * {@link Workspaces} over a fresh davit home, and every workspace removed after each test.
 */
abstract class BwrapWorkspaces {
    @TempDir
    Path tmp;

    Path rootfs;
    Path home;
    Workspaces workspaces;

    /** The busybox applets the test needs beyond {@link BusyboxRootfs}'s. */
    abstract List<String> applets();

    @BeforeEach
    void createRootfsAndHome() throws IOException {
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        for (String applet : applets()) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        home = tmp.resolve("home");
        workspaces = Workspaces.under(home);
    }

    @AfterEach
    void removeWorkspaces() {
        if (workspaces == null) {   // skipped before the fixture was made (-Ddavit.it.skip=true)
            return;
        }
        for (Workspace w : workspaces.list()) {
            workspaces.rm(w.id());
        }
    }
}
