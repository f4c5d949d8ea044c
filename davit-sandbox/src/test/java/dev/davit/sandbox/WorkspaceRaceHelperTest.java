package dev.davit.sandbox;

import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.jail.Jail;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * {@link WorkspaceRaceTest}'s attacks against the Java 21 way into a sandbox's files: davit-exec's {@code files} mode
 * makes the openat2, statx, linkat and lseek calls and holds the descriptors (fs.BrokerSys).
 */
class WorkspaceRaceHelperTest extends WorkspaceRaceTest {
    private AutoCloseable helper;

    @BeforeEach
    void throughHelper() throws Exception {
        dev.davit.oci.testkit.Tools.assumeAvailable("gcc"); // the jar has davit-exec when gcc built it
        Path exec = Jail.execHelper(workspaces.sandboxes().options());
        org.junit.jupiter.api.Assertions.assertNotNull(exec, "this build has no davit-exec");
        helper = Dir.throughHelper(exec);
    }

    @AfterEach
    void back() throws Exception {
        if (helper != null) {
            helper.close();
        }
    }
}
