package dev.davit.oci.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** How the kit decides to skip, and how it reports failed commands. */
class ToolsTest {

    @Test
    void aMissingToolSkipsOutsideCiAndFailsInCi() {
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean(Tools.SKIP_PROPERTY));
        assertThat(Tools.which("davit-no-such-tool")).isEmpty();
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        assertThatThrownBy(() -> Tools.assumeAvailable("davit-no-such-tool"))
                .isInstanceOf(ci ? AssertionFailedError.class : TestAbortedException.class)
                .hasMessageContaining("davit-no-such-tool");
    }

    @Test
    void failedCommandsReportStderrButMaskCredentials() {
        assertThat(Tools.which("sh")).isPresent();
        assertThatThrownBy(() -> Tools.run(null, List.of("sh", "-c", "echo oops >&2; exit 3", "--creds",
                "user:secret")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("exited 3").hasMessageContaining("oops")
                .hasMessageNotContaining("secret");
        assertThat(Tools.shown(List.of("skopeo", "copy", "--dest-creds=u:p", "--src-creds", "a:b", "x")))
                .isEqualTo("skopeo copy --dest-creds=*** --src-creds *** x");
        assertThat(Tools.shown(List.of("htpasswd", "-Bbn", "user", "pw"))).isEqualTo("htpasswd -Bbn user ***");
        assertThat(Tools.run("sh", "-c", "printf hi")).isEqualTo("hi");
    }
}
