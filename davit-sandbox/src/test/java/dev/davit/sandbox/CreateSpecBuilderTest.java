package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link CreateSpec#builder}: the CLI's safe defaults, and the record's own checks. */
class CreateSpecBuilderTest {
    @Test
    void defaultsAreTheClis() {
        CreateSpec c = CreateSpec.builder(Path.of("/r")).build();
        assertThat(c.backend()).isEqualTo(Backend.CONTAINER);
        assertThat(c.network()).isEqualTo(Network.NONE);
        assertThat(c.limits()).isEqualTo(Limits.DEFAULT);
        assertThat(c.ttl()).isNull();
        assertThat(c.publish()).isEmpty();
        CreateSpec vm = CreateSpec.builder(Path.of("/e")).backend(Backend.VM).vcpus(2).memoryMiB(1024).build();
        assertThat(vm.limits()).isEqualTo(Limits.NONE);
        assertThat(vm.vcpus()).isEqualTo(2);
        assertThat(vm.memoryMiB()).isEqualTo(1024);
        CreateSpec all = CreateSpec.builder(Path.of("/r")).env("A", "1").env(Map.of("B", "2")).workdir("/w")
                .ttl(Duration.ofMinutes(5)).limits(Limits.NONE).build();
        assertThat(all.env()).isEqualTo(Map.of("A", "1", "B", "2"));
        assertThat(all.workdir()).isEqualTo("/w");
        assertThat(all.ttl()).isEqualTo(Duration.ofMinutes(5));
        assertThat(all.limits()).isEqualTo(Limits.NONE);
    }

    @Test
    void theRecordsChecksStillApply() {
        assertThatThrownBy(() -> CreateSpec.builder(Path.of("/r")).publish(List.of(PortMapping.parse("8080:80")))
                .build()).isInstanceOf(DavitException.class).hasMessageContaining("CreateSpec.Builder.publish needs Network.NAT");
        assertThatThrownBy(() -> CreateSpec.builder(Path.of("/r")).ttl(Duration.ZERO).build())
                .isInstanceOf(DavitException.class).hasMessageContaining("ttl must be positive");
    }
}
