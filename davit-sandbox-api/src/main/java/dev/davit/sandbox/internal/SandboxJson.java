package dev.davit.sandbox.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.OutputExcerpt;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.SpooledExcerpt;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The JSON forms of {@code dev.davit.sandbox}'s values: the CLI's {@code --json} shapes (docs/reference/JSON.md) and the
 * state files davit keeps. Not API: the module exports this package only to davit's sandbox modules, so Jackson's
 * types stay out of the library's API (a caller reads the records' accessors).
 */
public final class SandboxJson {
    private SandboxJson() {
    }

    /**
     * A doctor's report as {@code doctor --json} shows it.
     *
     * @param r the report
     * @return {@code {"backends": [...], "any_available": ...}}, each entry as {@link #backend} shows it
     */
    public static ObjectNode doctor(Doctor.Report r) {
        ObjectNode o = Json.object();
        ArrayNode arr = o.putArray("backends");
        r.backends().forEach(b -> arr.add(backend(b)));
        o.put("any_available", r.anyAvailable());
        return o;
    }

    /**
     * One entry of a doctor's report, as {@link #doctor} shows it.
     *
     * @param b the entry
     * @return {@code {"name": ..., "available": ..., "detail": ..., "facts": {...}}}
     */
    public static ObjectNode backend(Doctor.Backend b) {
        ObjectNode e = Json.object();
        e.put("name", b.name());
        e.put("available", b.available());
        e.put("detail", b.detail());
        ObjectNode f = e.putObject("facts");
        b.facts().forEach(f::put);
        return e;
    }

    /**
     * A run's timings as the CLI's {@code --json} shows them.
     *
     * @param t the timings
     * @return {@code {"create": MS, "start": MS, "exec": MS, "delete": MS, "total": MS}}
     */
    public static ObjectNode timings(ExecResult.Timings t) {
        ObjectNode o = Json.object();
        o.put("create", t.createMs());
        o.put("start", t.startMs());
        o.put("exec", t.execMs());
        o.put("delete", t.deleteMs());
        o.put("total", t.totalMs());
        return o;
    }

    /**
     * Limits as a sandbox's state file and the CLI's {@code --json} hold them.
     *
     * @param l the limits
     * @return {@code {"memory_mib": N, "cpus": X, "pids": N, "disk_mib": N, "enforced_by": "cgroup",
     *         "disk_enforced_by": "filesystem"}}, 0 meaning no limit; {@code enforced_by} as {@link Limits#enforcedBy}
     *         says, {@code disk_enforced_by} as {@link Limits#diskEnforcedBy}
     */
    public static ObjectNode limits(Limits l) {
        ObjectNode o = Json.object();
        o.put("memory_mib", l.memoryMiB());
        o.put("cpus", l.cpus());
        o.put("pids", l.pids());
        o.put("disk_mib", l.diskMiB());
        o.put("enforced_by", l.enforcedBy());
        o.put("disk_enforced_by", l.diskEnforcedBy());
        return o;
    }

    /**
     * The limits in {@code o} ({@link #limits(Limits)}); a missing node (an older state file) means none, a missing
     * {@code disk_mib} no disk limit (an older sandbox has no disk of its own).
     *
     * @param o the JSON object, or null
     * @return the limits
     */
    public static Limits limits(JsonNode o) {
        if (o == null || !o.isObject()) {
            return Limits.NONE;
        }
        return new Limits(o.path("memory_mib").asLong(0), o.path("cpus").asDouble(0), o.path("pids").asLong(0),
                o.path("disk_mib").asLong(0));
    }

    /**
     * Puts a stream's excerpt into {@code doc} ({@link OutputExcerpt#render}): {@code NAME} its text, then
     * {@code NAME_base64} when none of it was left out and the text is not the bytes exactly, then {@code NAME_bytes}
     * the total.
     *
     * @param doc  the JSON object to put the fields into
     * @param name the stream's field name, e.g. {@code stdout}
     * @param e    the excerpt
     */
    public static void excerpt(ObjectNode doc, String name, OutputExcerpt e) {
        OutputExcerpt.Rendered r = e.render(name);
        doc.put(name, r.text());
        if (r.base64() != null) {
            doc.put(name + "_base64", r.base64());
        }
        doc.put(name + "_bytes", e.total());
    }

    /**
     * {@link #excerpt(ObjectNode, String, OutputExcerpt)} of a spooled excerpt: the same fields and values, the text
     * and base64 streamed from its file when the document is written (never held whole).
     *
     * @param doc  the JSON object to put the fields into
     * @param name the stream's field name, e.g. {@code stdout}
     * @param e    the excerpt, not to be written to or closed before {@code doc} is written
     * @throws dev.davit.oci.DavitException STORE when the excerpt's file failed
     */
    public static void excerpt(ObjectNode doc, String name, SpooledExcerpt e) {
        Reader text = e.text(name);
        doc.putPOJO(name, (Streamed) g -> g.writeString(text, -1));
        if (e.needsBytes()) {
            long n = e.total();
            doc.putPOJO(name + "_base64", (Streamed) g -> g.writeBinary(e.bytes(), (int) n));
        }
        doc.put(name + "_bytes", e.total());
    }

    /**
     * Adds what a command run gave to {@code doc} (the {@code sandbox exec} document): {@code backend},
     * {@code runtime}, {@code sandbox_id}, {@code exit_code}, {@code stdout} and {@code stderr} (as captured),
     * {@code timed_out}, {@code truncated}, {@code oom_killed}, {@code disk_full}, {@code output_limited},
     * {@code timings_ms} and {@code network_denied} (what an egress gate refused during a one-shot run; always there,
     * empty when nothing was refused).
     *
     * @param doc the JSON object to add to (changed in place)
     * @param r   the result
     * @return {@code doc}
     */
    public static ObjectNode result(ObjectNode doc, ExecResult r) {
        doc.put("backend", r.backend());
        doc.put("runtime", r.runtime());
        doc.put("sandbox_id", r.sandboxId());
        doc.put("exit_code", r.exitCode());
        doc.putPOJO("stdout", new dev.davit.oci.internal.Utf8String(r.capturedStdout().chunks()));
        doc.putPOJO("stderr", new dev.davit.oci.internal.Utf8String(r.capturedStderr().chunks()));
        doc.put("timed_out", r.timedOut());
        doc.put("truncated", r.truncated());
        doc.put("oom_killed", r.oomKilled());
        doc.put("disk_full", r.diskFull());
        doc.put("output_limited", r.outputLimited());
        doc.set("timings_ms", timings(r.timings()));
        doc.set("network_denied", denied(r.networkDenied()));
        return doc;
    }

    /**
     * {@link #result(ObjectNode, ExecResult)} with the output as excerpts kept in files ({@link #excerpt(ObjectNode,
     * String, SpooledExcerpt)}: the {@code run} and {@code workspace exec} documents, written out from the files);
     * {@code truncated} says whether bytes were left out.
     *
     * @param doc    the JSON object to add to (changed in place)
     * @param r      the result
     * @param stdout its stdout's excerpt, open until {@code doc} is written
     * @param stderr its stderr's excerpt, as {@code stdout}
     * @return {@code doc}
     */
    public static ObjectNode result(ObjectNode doc, ExecResult r, SpooledExcerpt stdout, SpooledExcerpt stderr) {
        return result(doc, r, stdout, stderr, true);
    }

    /**
     * {@link #result(ObjectNode, ExecResult, SpooledExcerpt, SpooledExcerpt)}, the excerpts streamed from their files
     * when the document is written ({@code stream}) or read into it now (a document used after they are closed).
     *
     * @param doc    the JSON object to add to (changed in place)
     * @param r      the result
     * @param stdout its stdout's excerpt
     * @param stderr its stderr's excerpt
     * @param stream whether the excerpts are streamed (then open until {@code doc} is written) or read now
     * @return {@code doc}
     * @throws dev.davit.oci.DavitException STORE when an excerpt's file failed
     */
    public static ObjectNode result(ObjectNode doc, ExecResult r, SpooledExcerpt stdout, SpooledExcerpt stderr,
                                    boolean stream) {
        result(doc, r);
        doc.remove(List.of("stdout", "stderr"));
        for (String name : List.of("stdout", "stderr")) {
            SpooledExcerpt e = name.equals("stdout") ? stdout : stderr;
            if (stream) {
                excerpt(doc, name, e);
            } else {
                held(doc, name, e);
            }
        }
        doc.put("truncated", stdout.cut() || stderr.cut() || r.outputLimited());
        return doc;
    }

    /** {@link #excerpt(ObjectNode, String, SpooledExcerpt)}'s fields, read into {@code doc} now. */
    private static void held(ObjectNode doc, String name, SpooledExcerpt e) {
        try (Reader text = e.text(name)) {
            StringBuilder b = new StringBuilder();
            char[] buf = new char[8192];
            for (int n; (n = text.read(buf)) >= 0; ) {
                b.append(buf, 0, n);
            }
            doc.put(name, b.toString());
            if (e.needsBytes()) {
                try (java.io.InputStream in = e.bytes()) {
                    doc.put(name + "_base64", java.util.Base64.getEncoder().encodeToString(in.readAllBytes()));
                }
            }
        } catch (IOException x) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.STORE, "cannot read the kept"
                    + " output of " + name + ": " + x.getMessage());
        }
        doc.put(name + "_bytes", e.total());
    }

    /** A JSON value written straight to the generator, for {@code ObjectNode.putPOJO}. */
    private interface Streamed extends JsonSerializable {
        void write(JsonGenerator g) throws IOException;

        @Override
        default void serialize(JsonGenerator g, SerializerProvider p) throws IOException {
            write(g);
        }

        @Override
        default void serializeWithType(JsonGenerator g, SerializerProvider p, TypeSerializer t) throws IOException {
            write(g);
        }
    }

    /**
     * A sandbox's state file (also the CLI's {@code --json} shape).
     *
     * @param s the sandbox
     * @return id, backend, status, rootfs, env, workdir, network, publish, limits, image, ttl, times and pids
     */
    public static ObjectNode sandbox(Sandbox s) {
        var spec = s.spec();
        ObjectNode o = Json.object();
        o.put("id", s.id());
        o.put("backend", spec.backend());
        o.put("status", s.status().label());
        o.put("rootfs", spec.rootfs().toString());
        ObjectNode env = o.putObject("env");
        new TreeMap<>(spec.env()).forEach(env::put);
        if (spec.workdir() != null) {
            o.put("workdir", spec.workdir());
        } else {
            o.putNull("workdir");
        }
        o.put("network", spec.network().label());
        if (spec.network().mode() == Network.Mode.POLICY) {
            o.set("egress", egress(spec.network().egress()));
        }
        ArrayNode publish = o.putArray("publish");
        spec.publish().forEach(m -> publish.add(m.toString()));
        if (!spec.isVm() || spec.limits().any()) { // a microVM's: its QEMU's CPU quota (--cpus)
            o.set("limits", limits(spec.limits()));
        }
        if (spec.scratchInLayer()) { // a Containerfile's RUN step: its /tmp, /run, /var/tmp are the layer's
            o.put("scratch_in_layer", true);
        }
        if (!spec.mounts().isEmpty()) { // a Containerfile's RUN --mount
            ArrayNode mounts = o.putArray("mounts");
            for (dev.davit.sandbox.Mount m : spec.mounts()) {
                ObjectNode e = mounts.addObject();
                e.put("target", m.target());
                e.put("source", m.source() == null ? null : m.source().toString());
                e.put("read_only", m.readOnly());
                e.put("tmpfs_bytes", m.tmpfsBytes());
                e.put("uid", m.uid());
                e.put("gid", m.gid());
                e.put("mode", m.mode());
                e.put("copy", m.copy());
            }
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
        o.put("created_at", s.createdAt().toString());
        o.put("started_at", s.startedAt() == null ? null : s.startedAt().toString());
        o.put("bwrap_pid", s.bwrapPid());
        o.put("bwrap_start_time", s.bwrapStart());
        o.put("init_pid", s.initPid());
        o.put("init_start_time", s.initStart());
        if (spec.isVm()) {
            o.put("vcpus", spec.vcpus());
            o.put("memory_mib", spec.memoryMiB());
            o.put("qemu_pid", s.qemuPid());
            o.put("qemu_start_time", s.qemuStart());
        }
        return o;
    }

    private static List<dev.davit.sandbox.Mount> mounts(JsonNode a) {
        List<dev.davit.sandbox.Mount> out = new java.util.ArrayList<>();
        for (JsonNode m : a) {
            String source = text(m.path("source"));
            out.add(new dev.davit.sandbox.Mount(m.path("target").asText(), source == null ? null : Path.of(source),
                    m.path("read_only").asBoolean(false), m.path("tmpfs_bytes").asLong(0), m.path("uid").asInt(-1),
                    m.path("gid").asInt(-1), m.path("mode").asInt(-1), m.path("copy").asBoolean(false)));
        }
        return out;
    }

    /**
     * The sandbox a state file holds ({@link #sandbox(Sandbox)}); state files of older davit versions too.
     *
     * @param o the state file's document
     * @return the sandbox
     */
    public static Sandbox sandbox(JsonNode o) {
        Map<String, String> env = new LinkedHashMap<>();
        o.path("env").properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
        JsonNode im = o.path("image");
        ImageConfig image = new ImageConfig(list(im.path("entrypoint")), list(im.path("cmd")), list(im.path("env")),
                text(im.path("working_dir")), text(im.path("user")));
        JsonNode ttl = o.path("ttl_seconds");
        // state files of davit versions before the vm backend have no backend: container
        String backend = text(o.path("backend"));
        CreateSpec spec = new CreateSpec(Path.of(o.path("rootfs").asText()), env, text(o.path("workdir")),
                network(o.path("network"), o.path("egress")), image,
                ttl.isNumber() ? Duration.ofMillis(Math.round(ttl.asDouble() * 1000)) : null,
                backend == null ? RunSpec.CONTAINER : backend, o.path("vcpus").asInt(RunSpec.DEFAULT_VCPUS),
                o.path("memory_mib").asInt(RunSpec.DEFAULT_MEMORY_MIB),
                list(o.path("publish")).stream().map(PortMapping::parse).toList(), limits(o.get("limits")),
                o.path("scratch_in_layer").asBoolean(false), mounts(o.path("mounts")));
        String started = text(o.path("started_at"));
        return new Sandbox(o.path("id").asText(),
                SandboxStatus.valueOf(o.path("status").asText().toUpperCase(Locale.ROOT)), spec,
                Instant.parse(o.path("created_at").asText()), started == null ? null : Instant.parse(started),
                o.path("bwrap_pid").asLong(), o.path("bwrap_start_time").asLong(), o.path("init_pid").asLong(),
                o.path("init_start_time").asLong(), o.path("qemu_pid").asLong(), o.path("qemu_start_time").asLong());
    }

    /**
     * The network of a state file: {@code "policy"} with its {@code egress} object; those of davit versions before NAT
     * hold true (the host's) or false.
     */
    private static Network network(JsonNode n, JsonNode egress) {
        if ("policy".equals(n.asText())) {
            return Network.policy(EgressPolicy.fromJson(new String(Json.bytes(egress.isObject() ? egress
                    : Json.object()), java.nio.charset.StandardCharsets.UTF_8)));
        }
        return n.isBoolean() ? (n.asBoolean() ? Network.HOST : Network.NONE) : Network.parse(n.asText("none"));
    }

    /**
     * An egress policy as JSON ({@link EgressPolicy#toJson()}'s document, docs/reference/JSON.md).
     *
     * @param p the policy
     * @return {@code {"allow": [...], "deny": [...], "presets": [...]}}
     */
    public static ObjectNode egress(EgressPolicy p) {
        try {
            return (ObjectNode) Json.read(p.toJson());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> list(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.forEach(e -> out.add(e.asText()));
        return out;
    }

    /** The string {@code n} holds, or null when it is none (absent, null, another type). */
    public static String text(JsonNode n) {
        return n.isTextual() ? n.asText() : null;
    }

    /**
     * A detached process's record, to keep until a later davit needs it ({@link #spawned(JsonNode)}).
     *
     * @param p the record
     * @return {@code holder_pid}, {@code holder_start}, {@code leader_pid}, {@code leader_start} and, in a guest,
     *         {@code sandbox} and {@code guest_dir}
     */
    public static ObjectNode spawned(Spawned p) {
        ObjectNode o = Json.object();
        o.put("holder_pid", p.holderPid());
        o.put("holder_start", p.holderStart());
        o.put("leader_pid", p.leaderPid());
        o.put("leader_start", p.leaderStart());
        if (p.guestDir() != null) {
            o.put("sandbox", p.sandbox());
            o.put("guest_dir", p.guestDir());
        }
        return o;
    }

    /**
     * The record {@link #spawned(Spawned)} wrote.
     *
     * @param o the JSON object
     * @return the process record (missing numbers read as 0, missing names as null)
     */
    public static Spawned spawned(JsonNode o) {
        return new Spawned(o.path("holder_pid").asLong(), o.path("holder_start").asLong(),
                o.path("leader_pid").asLong(), o.path("leader_start").asLong(), o.path("sandbox").asText(null),
                o.path("guest_dir").asText(null));
    }

    private static void strings(ArrayNode a, List<String> v) {
        v.forEach(a::add);
    }

    /**
     * The egress gate's denial records ({@code denials.jsonl} lines, see davit-agent's gate/denials.rs),
     * parsed; a line that is not one (cut by a crash) is skipped.
     *
     * @param lines the lines, oldest first
     * @return the denials
     */
    public static java.util.List<dev.davit.sandbox.EgressDenial> denials(java.util.List<String> lines) {
        java.util.List<dev.davit.sandbox.EgressDenial> out = new java.util.ArrayList<>();
        for (String line : lines) {
            try {
                JsonNode n = Json.read(line);
                out.add(new dev.davit.sandbox.EgressDenial(java.time.Instant.parse(n.path("time").asText()),
                        n.path("kind").asText(), text(n, "name"), text(n, "address"), n.path("port").asInt(0),
                        text(n, "rule"), n.path("reason").asText("")));
            } catch (java.io.IOException | RuntimeException e) {
                // half a line: skipped
            }
        }
        return out;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    /**
     * Denials of an egress gate (docs/reference/JSON.md): per denial {@code time}, {@code kind} ({@code dns} or
     * {@code connect}), {@code name}, {@code address}, {@code port}, {@code rule} and {@code reason}; a field with
     * no value (no name, no address, no rule; port 0 of a name) is left out.
     *
     * @param denials the denials, oldest first
     * @return a JSON array, in that order
     */
    public static ArrayNode denied(java.util.List<dev.davit.sandbox.EgressDenial> denials) {
        ArrayNode a = Json.array();
        for (dev.davit.sandbox.EgressDenial d : denials) {
            ObjectNode o = a.addObject();
            o.put("time", d.time().toString());
            o.put("kind", d.kind());
            if (d.name() != null) {
                o.put("name", d.name());
            }
            if (d.address() != null) {
                o.put("address", d.address());
            }
            if (d.port() != 0) {
                o.put("port", d.port());
            }
            if (d.rule() != null) {
                o.put("rule", d.rule());
            }
            o.put("reason", d.reason());
        }
        return a;
    }

    /**
     * A network as JSON (docs/reference/JSON.md): {@code {"mode": "none"|"nat"|"host"|"policy"}}, a policy's with its entries
     * as {@link EgressPolicy#toJson()} writes them: {@code allow}, {@code deny} and {@code presets}.
     *
     * @param n the network
     * @return the JSON object
     */
    public static ObjectNode network(Network n) {
        ObjectNode o = Json.object();
        o.put("mode", n.label());
        if (n.mode() == Network.Mode.POLICY) {
            o.setAll(egress(n.egress()));
        }
        return o;
    }
}
