package dev.davit.sandbox;

import org.junit.jupiter.api.BeforeEach;

/**
 * {@link WorkspaceRaceTest}'s attacks against the Java 21 way into a sandbox's files: davit-exec's {@code files} mode
 * makes the openat2, statx, linkat and lseek calls and holds the descriptors (fs.BrokerSys).
 */
class WorkspaceRaceHelperTest extends WorkspaceRaceTest {
    @BeforeEach
    void helper() throws Exception {
        throughHelper(false);
    }
}
