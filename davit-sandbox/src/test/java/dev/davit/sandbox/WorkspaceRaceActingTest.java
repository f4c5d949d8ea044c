package dev.davit.sandbox;

import org.junit.jupiter.api.BeforeEach;

/**
 * {@link WorkspaceRaceTest}'s attacks against the acting way into a sandbox's files (a rootless user's workspace of
 * subordinate ids): davit-exec's {@code files} mode makes every change and reads every byte for the JVM
 * (fs.Broker), here in the JVM's own namespace.
 */
class WorkspaceRaceActingTest extends WorkspaceRaceTest {
    @BeforeEach
    void helper() throws Exception {
        throughHelper(true);
    }
}
