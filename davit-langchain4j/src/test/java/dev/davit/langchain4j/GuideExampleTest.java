package dev.davit.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.DocBlocks;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ten-line agent of docs/guides/LIBRARY.md for this framework compiles as it is written, without a warning. */
class GuideExampleTest {
    @TempDir
    Path out;

    @Test
    void theGuidesAgentCompiles() throws Exception {
        List<String> examples = DocBlocks.classes(Path.of("../docs/guides/LIBRARY.md"), "import dev.davit.langchain4j.");
        assertThat(examples).hasSize(1);
        assertThat(DocBlocks.compile(examples.getFirst(), out)).isEmpty();
    }
}
