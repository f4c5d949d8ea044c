package dev.davit.sandbox.backend;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The CPUs a sandbox with a CPU limit is shown, and which way they are set. */
class CpuAffinityTest {
    @Test
    void aListIsAsManyCpusAsTheLimitRoundedUpOrNoneWhenItCoversThemAll() {
        int all = CpuAffinity.allowed().size();
        org.junit.jupiter.api.Assumptions.assumeTrue(all >= 2, "two CPUs or more");
        assertThat(CpuAffinity.list("sb-1", 50_000, 100_000).split(",")).hasSize(1);
        assertThat(CpuAffinity.list("sb-1", 100_000L * all, 100_000)).isNull();
        assertThat(CpuAffinity.list("sb-1", -1, 100_000)).isNull();
        assertThat(CpuAffinity.list("sb-1", 50_000, 100_000)).isEqualTo(CpuAffinity.list("sb-1", 50_000, 100_000));
    }

    /** davit-exec's --cpus set holds CPUs 0 to 1023; a host with higher numbers keeps taskset's way. */
    @Test
    void cpusPastTheHelpersSetKeepTaskset() {
        assertThat(CpuAffinity.fitsHelper(null)).isTrue();
        assertThat(CpuAffinity.fitsHelper("3,1023")).isTrue();
        assertThat(CpuAffinity.fitsHelper("1023,1024")).isFalse();
        assertThat(CpuAffinity.fitsHelper("70000")).isFalse();
    }
}
