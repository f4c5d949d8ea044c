package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link CreateSpec#builder} and {@link RunSpec#builder}: the CLI's safe defaults, and the records' own checks; and
 * those of {@link dev.davit.sandbox.workspace.ServiceSpec#builder}.
 */
class CreateSpecBuilderTest {
    @Test
    void defaultsAreTheClis() {
        CreateSpec c = CreateSpec.builder(Path.of("/r")).build();
        assertThat(c.backend()).isEqualTo(RunSpec.CONTAINER);
        assertThat(c.network()).isEqualTo(Network.NONE);
        assertThat(c.limits()).isEqualTo(Limits.DEFAULT);
        assertThat(c.ttl()).isNull();
        assertThat(c.publish()).isEmpty();
        CreateSpec vm = CreateSpec.builder(Path.of("/e")).backend(RunSpec.VM).vcpus(2).memoryMiB(1024).build();
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

    /** A sandbox's mounts: where nothing may be mounted, one inside another, and other backends, refused. */
    @Test
    void mountsAreCheckedWhereTheSpecIsMade() {
        Path src = Path.of("/srv/cache");
        CreateSpec ok = CreateSpec.builder(Path.of("/r")).scratchInLayer(true).mounts(List.of(Mount.bind(src,
                "/var/cache/apt", false), Mount.tmpfs("/run/x", 1 << 20))).build();
        assertThat(ok.mounts()).extracting(Mount::target).containsExactly("/var/cache/apt", "/run/x");
        for (var c : List.<java.util.function.Supplier<Object>>of(
                () -> Mount.bind(src, "/proc/sys", true), () -> Mount.bind(src, "/etc/resolv.conf", true),
                () -> Mount.bind(src, "relative", true), () -> Mount.bind(src, "/a/../b", true),
                () -> Mount.bind(Path.of("rel"), "/a", true), () -> Mount.tmpfs("/", 0),
                () -> CreateSpec.builder(Path.of("/r")).mounts(List.of(Mount.tmpfs("/tmp/x", 0))).build(),
                () -> CreateSpec.builder(Path.of("/r")).scratchInLayer(true).mounts(List.of(Mount.tmpfs("/a", 0),
                        Mount.bind(src, "/a/b", true))).build(),
                () -> CreateSpec.builder(Path.of("/r")).backend(RunSpec.VM).mounts(List.of(Mount.tmpfs("/a",
                        0))).build())) {
            assertThatThrownBy(c::get).isInstanceOf(DavitException.class).extracting(e -> ((DavitException) e)
                    .kind()).isEqualTo(DavitException.Kind.USAGE);
        }
    }

    @Test
    void aRunsDefaultsAreTheClisToo() {
        RunSpec r = RunSpec.builder(Path.of("/r")).command("true").build();
        assertThat(r.limits()).isEqualTo(Limits.DEFAULT);
        assertThat(r.network()).isEqualTo(Network.NONE);
        assertThat(RunSpec.builder(Path.of("/r")).runtime("runc").build().limits()).isEqualTo(Limits.DEFAULT);
        assertThat(RunSpec.builder(Path.of("/e")).backend(RunSpec.VM).build().limits()).isEqualTo(Limits.NONE);
        assertThat(RunSpec.builder(Path.of("/r")).limits(Limits.NONE).build().limits()).isEqualTo(Limits.NONE);
        assertThat(RunSpec.builder(Path.of("/r")).limits(null).build().limits()).isEqualTo(Limits.DEFAULT);
    }

    @Test
    void aServiceSpecKeepsWhatWasSetAndRefusesWhatCannotStart() {
        var spec = dev.davit.sandbox.workspace.ServiceSpec.builder("web", "httpd", "-f").env("A", "1")
                .secretEnv("T", "TOKEN").readiness(new dev.davit.sandbox.workspace.Services.Readiness("port", "80"))
                .build();
        assertThat(spec.command()).containsExactly("httpd", "-f");
        assertThat(spec.env()).isEqualTo(Map.of("A", "1"));
        assertThat(spec.secretEnv()).isEqualTo(Map.of("T", "TOKEN"));
        assertThat(spec.readyTimeout()).isNull();
        assertThatThrownBy(() -> dev.davit.sandbox.workspace.ServiceSpec.builder("web").build())
                .isInstanceOf(DavitException.class).hasMessageContaining("ServiceSpec.builder needs a command");
        assertThatThrownBy(() -> dev.davit.sandbox.workspace.ServiceSpec.builder(null, "true").build())
                .isInstanceOf(DavitException.class).hasMessageContaining("ServiceSpec.builder needs a service name");
        assertThatThrownBy(() -> dev.davit.sandbox.workspace.ServiceSpec.builder("web", "true")
                .readyTimeout(Duration.ofSeconds(-1)).build()).isInstanceOf(DavitException.class)
                .hasMessageContaining("ServiceSpec.Builder.readyTimeout must be positive");
    }

    @Test
    void theRecordsChecksStillApply() {
        assertThatThrownBy(() -> CreateSpec.builder(Path.of("/r")).publish(List.of(PortMapping.parse("8080:80")))
                .build()).isInstanceOf(DavitException.class).hasMessageContaining("CreateSpec.Builder.publish needs Network.NAT");
        assertThatThrownBy(() -> CreateSpec.builder(Path.of("/r")).ttl(Duration.ZERO).build())
                .isInstanceOf(DavitException.class).hasMessageContaining("ttl must be positive");
    }
}
