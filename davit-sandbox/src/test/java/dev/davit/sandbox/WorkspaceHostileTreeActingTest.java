package dev.davit.sandbox;

import org.junit.jupiter.api.BeforeEach;

/**
 * {@link WorkspaceHostileTreeTest}'s attacks through the acting way into a sandbox's files (a rootless workspace
 * whose image User is a subordinate id): davit-exec's {@code files} mode makes every change and reads every byte
 * (fs.Broker), here in the JVM's own namespace.
 */
class WorkspaceHostileTreeActingTest extends WorkspaceHostileTreeTest {
    @BeforeEach
    void helper() throws Exception {
        throughHelper(true);
    }
}
