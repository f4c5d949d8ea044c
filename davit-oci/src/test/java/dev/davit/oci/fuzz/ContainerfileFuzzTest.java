package dev.davit.oci.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.davit.oci.DavitException;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.containerfile.Words;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the Containerfile parser and the word expansion (a Containerfile is untrusted input: a project's, a
 * model's): whatever the text, a parsed file or a one-line USAGE error, never another exception. Seeds in
 * {@code src/test/resources/dev/davit/oci/fuzz/ContainerfileFuzzTestInputs/fuzzContainerfile/}; to fuzz for real:
 * {@code JAZZER_FUZZ=1 mvn -pl davit-oci test -Dtest='ContainerfileFuzzTest#fuzzContainerfile'}.
 */
class ContainerfileFuzzTest {
    @DictionaryEntries({"FROM ", "RUN ", "COPY ", "ENV ", "ARG ", "<<EOF\n", "\nEOF\n", "${", ":-", "\\\n",
        "# escape=`\n", "[\"", "--from=", " AS "})
    @FuzzTest(maxDuration = "60s")
    void fuzzContainerfile(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        Containerfile f;
        try {
            f = Containerfile.parse(text, "Containerfile");
        } catch (DavitException e) {
            assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
            assertThat(e.getMessage()).doesNotContain("\n");
            return;
        }
        assertThat(f.instructions()).isNotEmpty().first().satisfies(i -> assertThat(i.line()).isPositive());
        for (Instruction i : f.instructions()) {
            if (i instanceof Instruction.Pairs p) {
                for (var e : p.pairs()) {
                    try {
                        Words.one(e.getValue(), f.escape(), n -> n.length() % 2 == 0 ? null : n);
                    } catch (DavitException x) {
                        assertThat(x.getMessage()).doesNotContain("\n");
                    }
                }
            }
        }
    }
}
