package dev.davit.sandbox;

import org.junit.jupiter.api.BeforeEach;

/**
 * {@link WorkspaceFilesTest} through the acting way into a sandbox's files (a rootless user's workspace of subordinate ids):
 * davit-exec's {@code files} mode makes every change and reads every byte for the JVM (fs.Broker), here in the
 * JVM's own namespace.
 */
class WorkspaceFilesActingTest extends WorkspaceFilesTest {
    @BeforeEach
    void helper() throws Exception {
        throughHelper(true);
    }
}
