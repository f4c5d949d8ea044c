package dev.davit.sandbox.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The gate's JVM options start the JVM that runs it: a flag a runtime does not know stops the JVM, and with it every
 * sandbox with a policy (closed, but useless). Checked with this runtime, and with an older one where the machine
 * has it (the options for its version: the native-heap trim is left to 22 and later, as Java 21.0.0 lacks it).
 */
class GateOptionsTest {
    private static String version(String java, List<String> options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(options);
        cmd.add("-version");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void thisRuntimeStartsWithTheGatesOptions() throws Exception {
        assertThat(Egress.JVM_OPTIONS).contains("-XX:+UseSerialGC", "-Xmx64m");
        assertThat(Egress.JVM_OPTIONS.contains("-XX:TrimNativeHeapInterval=2000"))
                .isEqualTo(Runtime.version().feature() >= 22);
        assertThat(version(Egress.java(), Egress.JVM_OPTIONS)).contains("version");
    }

    @Test
    void anOlderRuntimeStartsWithTheOptionsMadeForIt() throws Exception {
        Path java17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64/bin/java");
        assumeTrue(Files.isExecutable(java17), "no Java 17 runtime on this machine");
        assertThat(version(java17.toString(), Egress.gateOptions(17))).contains("17.");
    }
}
