package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.ServiceSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * What no process can be given (a NUL byte in an argument, a variable's value or the working directory; a
 * variable name that is empty or holds '=') is a usage error of the spec that names it, for every kind of process:
 * a run, an exec, a workspace exec, a service. Before, it passed the specs and failed later as the JDK's
 * IllegalArgumentException ("Invalid environment variable value") or an IOException once the sandbox was up.
 */
class ProcessArgsTest {
    private static final String NUL = "a\u0000b";

    @Test
    void everySpecRefusesWhatNoProcessCanBeGiven() {
        refused(() -> RunSpec.builder(Path.of("/")).command(List.of("echo", NUL)).build(), "argument 1");
        refused(() -> RunSpec.builder(Path.of("/")).command(List.of("true")).env(Map.of("A", NUL)).build(),
                "variable A's value holds a NUL");
        refused(() -> RunSpec.builder(Path.of("/")).command(List.of("true")).env(Map.of("A=B", "x")).build(),
                "invalid environment variable name 'A=B'");
        refused(() -> RunSpec.builder(Path.of("/")).command(List.of("true")).workdir("/" + NUL).build(),
                "working directory holds a NUL");
        refused(() -> ExecSpec.builder("echo", NUL).build(), "argument 1");
        refused(() -> ExecSpec.builder("true").env(Map.of("A", NUL)).build(), "variable A's value");
        refused(() -> ExecSpec.builder("true").env(Map.of("", "x")).build(), "invalid environment variable name");
        refused(() -> ExecRequest.builder("true").env(Map.of("A", NUL)).build(), "variable A's value");
        refused(() -> ExecRequest.builder("true").workdir(NUL).build(), "working directory holds a NUL");
        refused(() -> ExecRequest.builder(NUL).build(), "argument 0");
        refused(() -> ServiceSpec.builder("web", "httpd", NUL).build(), "argument 1");
        refused(() -> ServiceSpec.builder("web", "httpd").env(Map.of("A", NUL)).build(), "variable A's value");
    }

    private static void refused(Executable make, String says) {
        assertThatThrownBy(make::execute).isInstanceOfSatisfying(DavitException.class,
                e -> org.assertj.core.api.Assertions.assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE))
                .hasMessageContaining(says).hasMessageNotContaining("\u0000");
    }
}
