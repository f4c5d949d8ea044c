package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.internal.SandboxJson;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** state.json with the vm backend, and state files written before it existed. */
class VmStateTest {
    @Test
    void aStateFileWithoutBackendIsAContainer() throws Exception {
        String old = "{\"id\":\"sbx-0123456789ab\",\"status\":\"running\",\"rootfs\":\"/r\",\"env\":{\"A\":\"1\"},"
                + "\"workdir\":null,\"network\":false,\"image\":{\"entrypoint\":[],\"cmd\":[],\"env\":[],"
                + "\"working_dir\":null,\"user\":null},\"ttl_seconds\":null,\"created_at\":\"2026-01-01T00:00:00Z\","
                + "\"started_at\":null,\"bwrap_pid\":10,\"bwrap_start_time\":11,\"init_pid\":12,\"init_start_time\":13}";
        Sandbox s = SandboxJson.sandbox(Json.read(old.getBytes(StandardCharsets.UTF_8)));
        assertThat(s.backend()).isEqualTo("container");
        assertThat(s.spec().isVm()).isFalse();
        assertThat(s.bwrapPid()).isEqualTo(10);
        assertThat(s.qemuPid()).isZero();
        assertThat(SandboxJson.sandbox(s).path("backend").asText()).isEqualTo("container");
        assertThat(SandboxJson.sandbox(s).has("qemu_pid")).isFalse(); // the container shape is unchanged
    }

    @Test
    void aVmSandboxRoundTrips() throws Exception {
        CreateSpec spec = CreateSpec.builder(Path.of("/env")).env(Map.of("A", "1")).workdir("/work")
                .network(Network.HOST).backend("vm").vcpus(2).memoryMiB(1024).build();
        Sandbox s = new Sandbox("sbx-0123456789ab", SandboxStatus.RUNNING, spec, Instant.parse("2026-01-01T00:00:00Z"),
                Instant.parse("2026-01-01T00:00:01Z"), 0, 0, 0, 0, 4242, 99);
        var json = SandboxJson.sandbox(s);
        assertThat(json.path("backend").asText()).isEqualTo("vm");
        assertThat(json.path("qemu_pid").asLong()).isEqualTo(4242);
        assertThat(json.path("qemu_start_time").asLong()).isEqualTo(99);
        assertThat(json.path("vcpus").asInt()).isEqualTo(2);
        assertThat(json.path("memory_mib").asInt()).isEqualTo(1024);
        Sandbox back = SandboxJson.sandbox(Json.read(Json.bytes(json)));
        assertThat(back).isEqualTo(s);
    }

    @Test
    void createChecksTheBackendAndTheSpecItsResources(@org.junit.jupiter.api.io.TempDir Path tmp) {
        CreateSpec nope = CreateSpec.builder(Path.of("/env")).backend("nope").vcpus(1).memoryMiB(512)
                .limits(Limits.NONE).build();
        assertThatThrownBy(() -> new dev.davit.sandbox.engine.Sandboxes(SandboxOptions.under(tmp)).create(nope))
                .isInstanceOf(DavitException.class).hasMessageContaining("unknown backend 'nope'; available: container");
        assertThat(tmp.resolve("sandboxes")).satisfiesAnyOf(d -> assertThat(d).doesNotExist(), d -> assertThat(d).isEmptyDirectory());
        assertThatThrownBy(() -> CreateSpec.builder(Path.of("/env")).backend("vm").vcpus(0).memoryMiB(512).build())
                .isInstanceOf(DavitException.class).hasMessageContaining("RunSpec.vcpus");
        assertThat(CreateSpec.builder(Path.of("/r")).limits(Limits.NONE).build().backend()).isEqualTo("container");
    }
}
