package dev.davit.sandbox.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.SandboxOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a pod's gate starts from: its environment, and what cannot fit in one (no cluster needed). */
class PodEgressTest {
    @TempDir
    Path tmp;

    @Test
    void theGatesEnvironmentCarriesThePolicyAndTheResolverFilesAndRefusesWhatCannotFit() throws Exception {
        EgressPolicy policy = EgressPolicy.parse(List.of("a.test"), List.of(), List.of(), List.of(), List.of());
        Path dns = Files.createDirectories(tmp.resolve("dns"));
        Files.writeString(dns.resolve("resolv.conf"), "nameserver 192.0.2.53\n");
        Files.writeString(dns.resolve("hosts"), "192.0.2.9 a.test\n");
        SandboxOptions options = SandboxOptions.under(tmp.resolve("home")).withEgressDns(dns);
        Map<String, String> env = PodEgress.environment(policy, options);
        assertThat(env).containsEntry(PodEgress.RESOLV_ENV, "nameserver 192.0.2.53\n")
                .containsEntry(PodEgress.HOSTS_ENV, "192.0.2.9 a.test\n").doesNotContainKey(PodEgress.TRUST_ENV);
        assertThat(env.get(PodEgress.POLICY_ENV)).contains("a.test");
        // a CA bundle the size of a host's (200 KiB) would keep the gate's container from starting (E2BIG)
        Files.writeString(dns.resolve(Egress.TRUST), "x".repeat(200 << 10));
        assertThatThrownBy(() -> PodEgress.environment(policy, options)).isInstanceOf(DavitException.class)
                .hasMessageContaining("CA certificates (ca-certificates.crt)")
                .hasMessageContaining("more than the 131072");
        Files.writeString(dns.resolve(Egress.TRUST), "x".repeat(100 << 10));
        assertThat(PodEgress.environment(policy, options)).containsKey(PodEgress.TRUST_ENV);
    }
}
