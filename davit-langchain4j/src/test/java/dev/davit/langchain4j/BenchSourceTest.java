package dev.davit.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.DocBlocks;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bench/adapters/AdapterBench.java (bench/adapters.sh) compiles against this module, without a warning. */
class BenchSourceTest {
    @TempDir
    Path out;

    @Test
    void theAdapterBenchCompiles() throws Exception {
        assertThat(DocBlocks.compile(Files.readString(Path.of("../bench/adapters/AdapterBench.java")), out))
                .isEmpty();
    }
}
