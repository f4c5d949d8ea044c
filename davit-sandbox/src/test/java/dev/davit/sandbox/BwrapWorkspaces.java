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
    private AutoCloseable helper;

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

    /**
     * Until the test ends, davit's host side reaches the sandboxes' files through davit-exec's {@code files} mode
     * (fs.BrokerSys), the Java 21 way; {@code acting}: the helper also makes every change and reads every byte, as
     * for a rootless workspace whose image User is a subordinate id (fs.Broker), here in this JVM's namespace.
     */
    void throughHelper(boolean acting) throws IOException {
        dev.davit.oci.testkit.Tools.assumeAvailable("gcc"); // the jar has davit-exec when gcc built it
        Path exec = dev.davit.sandbox.jail.Jail.execHelper(workspaces.sandboxes().options());
        org.junit.jupiter.api.Assertions.assertNotNull(exec, "this build has no davit-exec");
        helper = acting ? dev.davit.sandbox.fs.Dir.throughActingHelper(exec)
                : dev.davit.sandbox.fs.Dir.throughHelper(exec);
    }

    @AfterEach
    void removeWorkspaces() throws Exception {
        if (helper != null) {
            helper.close();
            helper = null;
        }
        if (workspaces == null) {   // skipped before the fixture was made (-Ddavit.it.skip=true)
            return;
        }
        for (Workspace w : workspaces.list()) {
            workspaces.rm(w.id());
        }
    }
}
