package dev.davit.sandbox.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * The Java 22 classes live in META-INF/versions/22 (a multi-release jar; the tests add that root of the output
 * directory to their class path): on Java 22 or later they are found, so file operations go through the FFM
 * implementation and not the broker helper meant for Java 21. (davit-jail's test of the same name holds its own.)
 */
class MultiReleaseTest {
    @Test
    void theFfmImplementationIsFoundOnJava22OrLater() throws Exception {
        assumeTrue(Runtime.version().feature() >= 22, "Java 21 uses the broker helper");
        assertThat(Sys.load().getClass().getName()).isEqualTo("dev.davit.sandbox.fs.LinuxSys");
        assertThat(Class.forName("dev.davit.sandbox.fs.LinuxSys").getProtectionDomain().getCodeSource()
                .getLocation().getPath()).endsWith("/META-INF/versions/22/");
    }
}
