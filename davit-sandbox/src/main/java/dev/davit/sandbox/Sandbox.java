package dev.davit.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One long-lived sandbox as recorded in {@code <stateDir>/<id>/state.json}.
 *
 * @param id         the sandbox's id ({@code sbx-} and 12 hex digits)
 * @param status     its status; {@link SandboxStatus#FAILED} when recorded as running but its processes are gone
 * @param spec       what it was created with
 * @param createdAt  when it was created
 * @param startedAt  when it was last started, or null
 * @param bwrapPid   the host pid of its bwrap process, 0 when not running
 * @param bwrapStart that process's start time (field 22 of /proc/PID/stat), to detect pid reuse
 * @param initPid    the host pid of its pid 1 (the process exec enters with nsenter), 0 when not running
 * @param initStart  that process's start time
 * @param qemuPid    the host pid of its QEMU (vm backend), 0 when not running
 * @param qemuStart  that process's start time
 */
public record Sandbox(String id, SandboxStatus status, CreateSpec spec, Instant createdAt, Instant startedAt,
                      long bwrapPid, long bwrapStart, long initPid, long initStart, long qemuPid, long qemuStart) {
    /**
     * A container sandbox's state (no QEMU).
     *
     * @param id         the sandbox's id ({@code sbx-} and 12 hex digits)
     * @param status     its status
     * @param spec       what it was created with
     * @param createdAt  when it was created
     * @param startedAt  when it was last started, or null
     * @param bwrapPid   the host pid of its bwrap process, 0 when not running
     * @param bwrapStart that process's start time
     * @param initPid    the host pid of its pid 1, 0 when not running
     * @param initStart  that process's start time
     */
    public Sandbox(String id, SandboxStatus status, CreateSpec spec, Instant createdAt, Instant startedAt,
                   long bwrapPid, long bwrapStart, long initPid, long initStart) {
        this(id, status, spec, createdAt, startedAt, bwrapPid, bwrapStart, initPid, initStart, 0, 0);
    }

    /**
     * The sandbox's backend, from its spec.
     *
     * @return {@code container} or {@code vm}
     */
    public String backend() {
        return spec.backend();
    }

    /**
     * Whether its ttl has passed at {@code now}.
     *
     * @param now the time to check at, usually {@link Instant#now()}
     * @return true when it has a ttl and {@code now} is at or past its creation plus the ttl
     */
    public boolean expired(Instant now) {
        return spec.ttl() != null && !now.isBefore(createdAt.plus(spec.ttl()));
    }

    Sandbox withSpec(CreateSpec c) {
        return new Sandbox(id, status, c, createdAt, startedAt, bwrapPid, bwrapStart, initPid, initStart, qemuPid,
                qemuStart);
    }

    Sandbox withStatus(SandboxStatus s) {
        return new Sandbox(id, s, spec, createdAt, startedAt, bwrapPid, bwrapStart, initPid, initStart, qemuPid,
                qemuStart);
    }

    /**
     * The state file's document (also the {@code --json} shape of the CLI).
     *
     * @return a new JSON object: id, backend, status, rootfs, env, workdir, network, publish, limits, image, ttl,
     *         times and pids
     */
    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("id", id);
        o.put("backend", spec.backend());
        o.put("status", status.label());
        o.put("rootfs", spec.rootfs().toString());
        ObjectNode env = o.putObject("env");
        new java.util.TreeMap<>(spec.env()).forEach(env::put);
        if (spec.workdir() != null) {
            o.put("workdir", spec.workdir());
        } else {
            o.putNull("workdir");
        }
        o.put("network", spec.network().label());
        ArrayNode publish = o.putArray("publish");
        spec.publish().forEach(m -> publish.add(m.toString()));
        if (!spec.isVm() || spec.limits().any()) { // a microVM's: its QEMU's CPU quota (--cpus)
            o.set("limits", spec.limits().toJson());
        }
        ObjectNode image = o.putObject("image");
        strings(image.putArray("entrypoint"), spec.image().entrypoint());
        strings(image.putArray("cmd"), spec.image().cmd());
        strings(image.putArray("env"), spec.image().env());
        image.put("working_dir", spec.image().workingDir());
        image.put("user", spec.image().user());
        if (spec.ttl() != null) {
            o.put("ttl_seconds", spec.ttl().toMillis() / 1000.0);
        } else {
            o.putNull("ttl_seconds");
        }
        o.put("created_at", createdAt.toString());
        o.put("started_at", startedAt == null ? null : startedAt.toString());
        o.put("bwrap_pid", bwrapPid);
        o.put("bwrap_start_time", bwrapStart);
        o.put("init_pid", initPid);
        o.put("init_start_time", initStart);
        if (spec.isVm()) {
            o.put("vcpus", spec.vcpus());
            o.put("memory_mib", spec.memoryMiB());
            o.put("qemu_pid", qemuPid);
            o.put("qemu_start_time", qemuStart);
        }
        return o;
    }

    static Sandbox fromJson(JsonNode o) {
        Map<String, String> env = new LinkedHashMap<>();
        o.path("env").fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        JsonNode im = o.path("image");
        ImageConfig image = new ImageConfig(list(im.path("entrypoint")), list(im.path("cmd")), list(im.path("env")),
                text(im.path("working_dir")), text(im.path("user")));
        JsonNode ttl = o.path("ttl_seconds");
        // state files of davit versions before the vm backend have no backend: container
        String backend = text(o.path("backend"));
        CreateSpec spec = new CreateSpec(Path.of(o.path("rootfs").asText()), env, text(o.path("workdir")),
                network(o.path("network")), image,
                ttl.isNumber() ? Duration.ofMillis(Math.round(ttl.asDouble() * 1000)) : null,
                backend == null ? Backend.CONTAINER : backend, o.path("vcpus").asInt(RunSpec.DEFAULT_VCPUS),
                o.path("memory_mib").asInt(RunSpec.DEFAULT_MEMORY_MIB),
                list(o.path("publish")).stream().map(PortMapping::parse).toList(), Limits.fromJson(o.get("limits")));
        String started = text(o.path("started_at"));
        return new Sandbox(o.path("id").asText(),
                SandboxStatus.valueOf(o.path("status").asText().toUpperCase(java.util.Locale.ROOT)), spec,
                Instant.parse(o.path("created_at").asText()), started == null ? null : Instant.parse(started),
                o.path("bwrap_pid").asLong(), o.path("bwrap_start_time").asLong(), o.path("init_pid").asLong(),
                o.path("init_start_time").asLong(), o.path("qemu_pid").asLong(), o.path("qemu_start_time").asLong());
    }

    /** The network of a state file; those of davit versions before NAT hold true (the host's) or false. */
    private static Network network(JsonNode n) {
        return n.isBoolean() ? (n.asBoolean() ? Network.HOST : Network.NONE) : Network.parse(n.asText("none"));
    }

    private static void strings(ArrayNode a, List<String> v) {
        v.forEach(a::add);
    }

    private static List<String> list(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.forEach(e -> out.add(e.asText()));
        return out;
    }

    private static String text(JsonNode n) {
        return n.isTextual() ? n.asText() : null;
    }
}
