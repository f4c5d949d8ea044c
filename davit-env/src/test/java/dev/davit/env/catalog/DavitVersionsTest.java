package dev.davit.env.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import org.junit.jupiter.api.Test;

class DavitVersionsTest {
    @Test
    void ranges() {
        assertThat(DavitVersions.accepts(">=0.1.0 <1.0.0", "0.1.0-SNAPSHOT")).isTrue();
        assertThat(DavitVersions.accepts(">=0.1.0 <1.0.0", "0.9.12")).isTrue();
        assertThat(DavitVersions.accepts(">=0.1.0 <1.0.0", "1.0.0")).isFalse();
        assertThat(DavitVersions.accepts(">=0.2", "0.1.9")).isFalse();
        assertThat(DavitVersions.accepts("0.3.1", "0.3.1")).isTrue();
        assertThat(DavitVersions.accepts("=0.3", "0.3.1")).isFalse();
        assertThat(DavitVersions.accepts(">0.3 <=0.4", "0.4.0")).isTrue();
        assertThat(DavitVersions.accepts(null, "9.9.9")).isTrue();
        assertThat(DavitVersions.accepts(" ", "9.9.9")).isTrue();
    }

    @Test
    void malformedRangesAreErrors() {
        assertThatThrownBy(() -> DavitVersions.accepts(">=x", "0.1.0")).isInstanceOf(DavitException.class)
                .hasMessageContaining("invalid davit version range");
        assertThatThrownBy(() -> DavitVersions.accepts(">=0.1 junk", "0.1.0")).isInstanceOf(DavitException.class);
    }
}
