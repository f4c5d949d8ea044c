package dev.davit.sandbox.workspace.json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.workspace.ExecEntry;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.Workspaces;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The JSON forms of {@code dev.davit.sandbox.workspace}'s values as the doors show them: the CLI's {@code --json}
 * shapes and the MCP server's answers (docs/reference/JSON.md). A workspace, a snapshot and an exec's entry have the
 * fields of their state files (which the workspace code writes and reads itself) and more. Not API, as
 * {@link SandboxJson} is not.
 */
public final class WorkspaceJson {
    private WorkspaceJson() {
    }

    /**
     * A workspace as the doors show it: the fields of its state file ({@code workspace.json}).
     *
     * @param w the workspace
     * @return {@code id}, {@code name}, {@code sandbox}, {@code created_at}, {@code ttl_seconds} (null: never),
     *         {@code baseline} ({@code seed}, {@code files}, {@code bytes}), {@code labels} and {@code secrets}
     *         (names and sizes), {@code owner} (null: the operator's)
     */
    public static ObjectNode workspace(Workspace w) {
        ObjectNode o = Json.object();
        o.put("id", w.id());
        o.put("name", w.name());
        o.put("sandbox", w.sandboxId());
        o.put("created_at", w.createdAt().toString());
        if (w.ttl() != null) {
            o.put("ttl_seconds", w.ttl().toMillis() / 1000.0);
        } else {
            o.putNull("ttl_seconds");
        }
        ObjectNode b = o.putObject("baseline");
        b.put("seed", w.seed());
        b.put("files", w.baselineFiles());
        b.put("bytes", w.baselineBytes());
        ObjectNode l = o.putObject("labels");
        w.labels().forEach(l::put);
        ArrayNode a = o.putArray("secrets");
        w.secrets().forEach(i -> a.addObject().put("name", i.name()).put("bytes", i.bytes())
                .put("injected", i.injected()));
        o.put("owner", w.owner());
        return o;
    }

    /**
     * A snapshot as the CLI's {@code --json} shows it (the fields of its {@code snapshot.json}).
     *
     * @param s the snapshot
     * @return {@code name}, {@code created_at}, {@code files}, {@code bytes} and {@code all}
     */
    public static ObjectNode snapshot(Workspaces.Snapshot s) {
        ObjectNode o = Json.object();
        o.put("name", s.name());
        o.put("created_at", s.createdAt().toString());
        o.put("files", s.files());
        o.put("bytes", s.bytes());
        o.put("all", s.all());
        return o;
    }

    /**
     * An exec's entry as the CLI's {@code --json} shows it (the fields of its line of {@code logs.jsonl}).
     *
     * @param e the entry
     * @return {@code command}, {@code cwd}, {@code started_at}, {@code duration_ms}, {@code exit_code},
     *         {@code timed_out}, {@code stdout} and {@code stderr} ({@code bytes}, {@code head}, {@code tail}), then
     *         {@code exec_id} when there is one
     */
    public static ObjectNode execEntry(ExecEntry e) {
        ObjectNode o = Json.object();
        e.command().forEach(o.putArray("command")::add);
        o.put("cwd", e.workdir());
        o.put("started_at", e.startedAt().toString());
        o.put("duration_ms", e.durationMs());
        o.put("exit_code", e.exitCode());
        o.put("timed_out", e.timedOut());
        o.set("stdout", stream(e.stdout()));
        o.set("stderr", stream(e.stderr()));
        if (e.execId() != null) {
            o.put("exec_id", e.execId());
        }
        return o;
    }

    private static ObjectNode stream(ExecEntry.Stream s) {
        return Json.object().put("bytes", s.bytes()).put("head", s.head()).put("tail", s.tail());
    }

    /**
     * The state file's document with the sandbox's backend and status, the same at every door (the CLI's
     * {@code --json}, the MCP server's answers).
     *
     * @param w      the workspace
     * @param s      its sandbox, with its status ({@link Workspaces#sandbox})
     * @param paused whether it is paused ({@link Workspaces#paused(Sandbox)})
     * @return {@link #workspace(Workspace)} with {@code backend}, {@code status} ({@link #status}), {@code paused},
     *         {@code env} (its own variables),
     *         {@code network} (its mode, as a
     *         sandbox's), {@code egress} (a policy network's entries, as a sandbox's) and {@code ports}
     *         ({@link #ports})
     */
    public static ObjectNode workspace(Workspace w, Sandbox s, boolean paused) {
        ObjectNode o = workspace(w);
        o.put("backend", s.backend());
        o.put("status", status(s, paused));
        o.put("paused", paused);
        ObjectNode env = o.putObject("env");
        new java.util.TreeMap<>(s.spec().env()).forEach(env::put);
        Network n = s.spec().network();
        o.put("network", n.label());
        if (n.mode() == Network.Mode.POLICY) {
            o.set("egress", SandboxJson.egress(n.egress()));
        }
        ports(o, s);
        return o;
    }

    /**
     * {@link #workspace(Workspace, Sandbox, boolean)} with {@code failure}: why a failed one ended, where its backend
     * can tell ({@link dev.davit.sandbox.workspace.Workspaces#failure}).
     *
     * @param w       the workspace
     * @param s       its sandbox, with its status
     * @param paused  whether it is paused
     * @param failure why it failed, or null (left out)
     * @return the document
     */
    public static ObjectNode workspace(Workspace w, Sandbox s, boolean paused, String failure) {
        ObjectNode o = workspace(w, s, paused);
        if (failure != null) {
            o.put("failure", failure);
        }
        return o;
    }

    /**
     * A workspace's status as every door words it: {@code paused} for a paused one (whatever its sandbox's status:
     * a container's is frozen while running, a microVM's or a pod's is saved while stopped), else its sandbox's
     * ({@code created}, {@code running}, {@code stopped}, {@code failed}).
     *
     * @param s      its sandbox
     * @param paused whether it is paused
     * @return the word
     */
    public static String status(Sandbox s, boolean paused) {
        return paused ? "paused" : s.status().label();
    }

    /**
     * Adds {@code ports} to {@code o}: per port {@code s} publishes on the host, {@code container_port},
     * {@code host_address}, {@code host_port} and {@code address} (host:port, where the host reaches it).
     *
     * @param o the JSON object to add the {@code ports} array to (changed in place)
     * @param s the sandbox whose published ports to show (none: an empty array)
     * @return {@code o}
     */
    public static ObjectNode ports(ObjectNode o, Sandbox s) {
        ArrayNode ports = o.putArray("ports");
        for (PortMapping m : s.spec().publish()) {
            ports.addObject().put("container_port", m.port()).put("host_address", m.hostAddress())
                    .put("host_port", m.hostPort()).put("address", m.hostAddress() + ":" + m.hostPort());
        }
        return o;
    }

    /**
     * A diff as the CLI's {@code --json} shows it.
     *
     * @param d the diff
     * @return {@code changes} (per change {@code path}, {@code kind}, {@code type}, and {@code old_mode} and
     *         {@code new_mode} as 4 octal digits or null) and {@code patch}
     */
    public static ObjectNode diff(WorkspaceDiff d) {
        ObjectNode o = Json.object();
        ArrayNode a = o.putArray("changes");
        for (WorkspaceDiff.Change c : d.changes()) {
            ObjectNode e = a.addObject();
            e.put("path", c.path());
            e.put("kind", c.kind().toString());
            e.put("type", c.type().toString());
            e.put("old_mode", c.oldModeOctal());
            e.put("new_mode", c.newModeOctal());
        }
        o.put("patch", d.patch());
        o.put("redacted", d.redacted());
        ArrayNode ig = o.putArray("collapsed");
        for (WorkspaceDiff.Collapsed c : d.collapsed()) {
            ig.addObject().put("path", c.path()).put("added", c.added()).put("modified", c.modified())
                    .put("deleted", c.deleted());
        }
        return o;
    }

    /**
     * A listing as the CLI's {@code --json} shows it.
     *
     * @param files the entries
     * @return {@code files}: per entry {@code path}, {@code type}, {@code size}, {@code mode} (4 octal digits) and
     *         {@code target} (a link's, else null)
     */
    public static ObjectNode files(List<WorkspaceFiles.FileInfo> files) {
        ObjectNode doc = Json.object();
        ArrayNode arr = doc.putArray("files");
        for (WorkspaceFiles.FileInfo f : files) {
            arr.addObject().put("path", f.path()).put("type", f.type()).put("size", f.size())
                    .put("mode", String.format("%04o", f.mode())).put("target", f.target());
        }
        return doc;
    }

    /**
     * What a copy (push, export) did, as the CLI's {@code --json} shows it.
     *
     * @param c the copy
     * @return {@code path}, {@code files}, {@code bytes} and {@code skipped}
     */
    public static ObjectNode copied(WorkspaceFiles.Copied c) {
        ObjectNode doc = Json.object();
        doc.put("path", c.path());
        doc.put("files", c.files());
        doc.put("bytes", c.bytes());
        ArrayNode skipped = doc.putArray("skipped");
        c.skipped().forEach(skipped::add);
        return doc;
    }

    /**
     * A snapshot made an artifact ({@code workspace snapshot push}, MCP {@code workspace_snapshot_push}).
     *
     * @param r what was made
     * @return {@code reference}, {@code digest}, {@code snapshot}, {@code environment} ({@code name}, {@code digest}),
     *         {@code pushed} and {@code referrers_tag} (whether the registry's tag schema index was written)
     */
    public static ObjectNode snapshotPush(dev.davit.sandbox.workspace.WorkspaceImages.SnapshotPush r) {
        ObjectNode o = Json.object();
        o.put("reference", r.reference());
        o.put("digest", r.digest());
        o.put("snapshot", r.snapshot().name());
        o.putObject("environment").put("name", r.environment()).put("digest", r.environmentDigest());
        o.put("pushed", r.pushed());
        o.put("referrers_tag", r.indexed());
        return o;
    }

    /**
     * A commit ({@code workspace commit}, MCP {@code workspace_commit}).
     *
     * @param c what the commit made
     * @return {@code workspace}, {@code reference}, {@code digest}, {@code base} and {@code base_digest}, {@code
     *         layer} ({@code digest}, {@code size}, {@code diff_id}), {@code created}, {@code changes} ({@code entries},
     *         {@code files}, {@code bytes}, {@code deleted}, {@code skipped})
     */
    public static ObjectNode commit(dev.davit.sandbox.workspace.WorkspaceImages.Commit c) {
        ObjectNode o = Json.object();
        o.put("workspace", c.workspace().id());
        o.put("reference", c.reference());
        o.put("digest", c.digest());
        o.put("base", c.base());
        o.put("base_digest", c.baseDigest());
        ObjectNode l = o.putObject("layer");
        l.put("digest", c.layer().digest());
        l.put("size", c.layer().size());
        l.put("diff_id", c.layer().diffId());
        o.put("created", c.created().toString());
        ObjectNode ch = o.putObject("changes");
        ch.put("entries", c.changes().entries());
        ch.put("files", c.changes().files());
        ch.put("bytes", c.changes().bytes());
        ch.put("deleted", c.changes().whiteouts());
        ArrayNode sk = ch.putArray("skipped");
        c.changes().skipped().forEach(sk::add);
        return o;
    }

    /**
     * A service as the CLI's {@code --json} shows it.
     *
     * @param s the service
     * @return {@code name}, {@code command}, {@code state}, {@code exit_code}, {@code pid}, {@code started_at},
     *         {@code readiness} ({@code kind} and {@code value}, or null) and {@code ready}
     */
    public static ObjectNode service(Services.Service s) {
        ObjectNode o = held("name", s.name(), s.command(), s.state(), s.exitCode(), s.pid(), s.startedAt());
        if (s.readiness() == null) {
            o.putNull("readiness");
        } else {
            o.putObject("readiness").put("kind", s.readiness().kind()).put("value", s.readiness().value());
        }
        o.put("ready", s.ready());
        return o;
    }

    /**
     * A detached exec as the CLI's {@code --json} and the MCP tools show it.
     *
     * @param x the exec
     * @return {@code exec_id}, {@code command}, {@code state}, {@code exit_code}, {@code pid}, {@code started_at},
     *         {@code cwd}, {@code ended_at}, {@code killed_by}, {@code timeout_s} and {@code output_bytes}
     */
    public static ObjectNode detached(dev.davit.sandbox.workspace.DetachedExec x) {
        ObjectNode o = held("exec_id", x.execId(), x.command(), x.state(), x.exitCode(), x.pid(), x.startedAt());
        o.put("cwd", x.workdir());
        if (x.endedAt() == null) {
            o.putNull("ended_at");
        } else {
            o.put("ended_at", x.endedAt().toString());
        }
        o.put("killed_by", x.killedBy());
        if (x.timeout() == null) {
            o.putNull("timeout_s");
        } else {
            o.put("timeout_s", x.timeout().toMillis() / 1000.0);
        }
        o.put("output_bytes", x.outputBytes());
        return o;
    }

    /**
     * A shell as the CLI's {@code --json} shows it.
     *
     * @param s the shell
     * @return {@code id}, {@code command}, {@code state}, {@code exit_code}, {@code pid} and {@code started_at}
     */
    public static ObjectNode shell(Shells.Shell s) {
        return held("id", s.id(), s.command(), s.state(), s.exitCode(), s.pid(), s.startedAt());
    }

    /** The fields services and shells share. */
    private static ObjectNode held(String key, String value, List<String> command, String state, Integer exitCode,
                                   long pid, Instant startedAt) {
        ObjectNode o = Json.object();
        o.put(key, value);
        ArrayNode c = o.putArray("command");
        command.forEach(c::add);
        o.put("state", state);
        if (exitCode == null) {
            o.putNull("exit_code");
        } else {
            o.put("exit_code", exitCode);
        }
        o.put("pid", pid);
        o.put("started_at", startedAt.toString());
        return o;
    }

    /**
     * A workspace's snapshots, as {@code workspace snapshot ls --json} and {@code workspace_snapshot_list} show them.
     *
     * @param snapshots the snapshots
     * @return {@code snapshots}: each {@link #snapshot(Workspaces.Snapshot)}
     */
    public static ObjectNode snapshots(List<Workspaces.Snapshot> snapshots) {
        ObjectNode doc = Json.object();
        ArrayNode arr = doc.putArray("snapshots");
        snapshots.forEach(s -> arr.add(snapshot(s)));
        return doc;
    }

    /**
     * What a patch changed ({@code workspace patch}, {@code workspace_patch}).
     *
     * @param changed path to added, modified or deleted, in the patch's order
     * @return {@code changes}: {@code path} and {@code kind} of each
     */
    public static ObjectNode patched(Map<String, String> changed) {
        ObjectNode doc = Json.object();
        ArrayNode arr = doc.putArray("changes");
        changed.forEach((path, kind) -> arr.addObject().put("path", path).put("kind", kind));
        return doc;
    }

    /**
     * What a patch changed, and its notes ({@code Workspaces.files().applyPatch}).
     *
     * @param p the changes and notes
     * @return {@link #patched(Map)} with {@code notes}
     */
    public static ObjectNode patched(WorkspaceFiles.Patched p) {
        ObjectNode doc = patched(p.changes());
        p.notes().forEach(doc.putArray("notes")::add);
        return doc;
    }

    /**
     * The workspaces a reap removed ({@code workspace reap}, {@code reap}).
     *
     * @param removed what was removed
     * @return {@code removed}: {@code id}, {@code name}, {@code sandbox} and {@code reason} of each
     */
    public static ObjectNode reaped(List<Workspaces.Reaped> removed) {
        ObjectNode doc = Json.object();
        ArrayNode arr = doc.putArray("removed");
        for (Workspaces.Reaped r : removed) {
            arr.addObject().put("id", r.id()).put("name", r.name()).put("sandbox", r.sandboxId())
                    .put("reason", r.reason());
        }
        return doc;
    }

    /**
     * A workspace's services ({@code workspace service ls}, {@code workspace_service_list}).
     *
     * @param services the services
     * @return {@code services}: each {@link #service(Services.Service)}
     */
    public static ObjectNode services(List<Services.Service> services) {
        ObjectNode doc = Json.object();
        ArrayNode arr = doc.putArray("services");
        services.forEach(s -> arr.add(service(s)));
        return doc;
    }

    /**
     * A service's log ({@code workspace service logs --json}, {@code workspace_service_logs}).
     *
     * @param name the service
     * @param log  its log
     * @return {@code name}, {@code output} (the text; invalid UTF-8 replaced), {@code output_base64} (the exact
     *         bytes when they are not UTF-8, else null), {@code dropped_bytes} and {@code line_cut}
     */
    public static ObjectNode serviceLog(String name, Services.Log log) {
        ObjectNode doc = Json.object().put("name", name);
        String text = dev.davit.oci.internal.Text.utf8OrNull(log.bytes());
        doc.put("output", text != null ? text : new String(log.bytes(), java.nio.charset.StandardCharsets.UTF_8));
        doc.put("output_base64", text != null ? null : java.util.Base64.getEncoder().encodeToString(log.bytes()));
        return doc.put("dropped_bytes", log.droppedBytes()).put("line_cut", log.lineCut());
    }

    /**
     * A read of a shell ({@code workspace shell read --json}, {@code workspace_shell_read}).
     *
     * @param id    the shell
     * @param o     what the read returned
     * @param raw   whether it was read raw (then {@code output} is null and {@code output_base64} the bytes)
     * @param state the shell's state after the read ({@link Shells.Shell#label})
     * @return {@code id}, {@code output}, {@code output_base64}, {@code truncated}, {@code matched},
     *         {@code timed_out} and {@code state}
     */
    public static ObjectNode shellRead(String id, Shells.Output o, boolean raw, String state) {
        ObjectNode doc = Json.object().put("id", id);
        doc.put("output", raw ? null : o.text());
        doc.put("output_base64", raw ? java.util.Base64.getEncoder().encodeToString(o.bytes()) : null);
        return doc.put("truncated", o.truncated()).put("matched", o.matched()).put("timed_out", o.timedOut())
                .put("state", state);
    }

    /**
     * A workspace exec's {@code --json} document (and the MCP tool's result): {@link SandboxJson#result(ObjectNode,
     * dev.davit.sandbox.ExecResult, dev.davit.sandbox.SpooledExcerpt, dev.davit.sandbox.SpooledExcerpt, boolean)}
     * with {@code exec_id} and {@code network_denied} ({@link #denials}), always there (an empty array when nothing
     * was refused) so that the document's shape does not depend on the workspace's network.
     *
     * @param doc    the JSON object to add to (changed in place)
     * @param x      what the exec did
     * @param stream whether the excerpts are streamed when {@code doc} is written (then {@code x} stays open till
     *               then) or read into it now
     * @return {@code doc}
     */
    public static ObjectNode executed(ObjectNode doc, WorkspaceExecs.SpooledExecuted x, boolean stream) {
        SandboxJson.result(doc, x.result(), x.stdout(), x.stderr(), stream);
        doc.put("exec_id", x.execId());
        doc.set("network_denied", SandboxJson.denied(x.networkDenied()));
        return doc;
    }

}
