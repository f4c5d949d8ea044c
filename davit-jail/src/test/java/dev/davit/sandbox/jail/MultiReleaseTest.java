package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * The jail's Java 22 classes live in META-INF/versions/22 of its multi-release jar (the tests add that root of the
 * output directory to their class path): on Java 22 or later the mounts' FFM implementation is found there.
 */
class MultiReleaseTest {
    @Test
    void theMountsFfmImplementationIsFoundOnJava22OrLater() throws Exception {
        assumeTrue(Runtime.version().feature() >= 22, "Java 21 has no final FFM API (Mounts.load says so)");
        assertThat(Class.forName("dev.davit.sandbox.jail.LinuxMounts").getProtectionDomain().getCodeSource()
                .getLocation().getPath()).endsWith("/META-INF/versions/22/");
    }
}
