package dev.davit.sandbox;

import org.junit.jupiter.api.BeforeEach;

/**
 * {@link WorkspacesTest} through the acting way into a sandbox's files (a rootless user's workspace of subordinate ids):
 * davit-exec's {@code files} mode makes every change and reads every byte for the JVM (fs.Broker), here in the
 * JVM's own namespace.
 */
class WorkspacesActingTest extends WorkspacesTest {
    @BeforeEach
    void helper() throws Exception {
        throughHelper(true);
    }
}
