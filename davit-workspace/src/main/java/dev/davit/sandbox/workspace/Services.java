package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.backend.Machinery;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The services of one workspace: long-running commands started detached in its sandbox
 * ({@link Machinery#spawn}), each in {@code <workspace state>/services/<name>/}: {@code service.json} (the record),
 * {@code output} (stdout and stderr interleaved) and {@code exit} (the exit code, once it ended). A later davit sees
 * them there. See docs/reference/workspaces/PROCESSES.md, Services.
 */
public final class Services {
    static final String DIR = "services";
    static final String FILE = "service.json";
    /** How long {@link #stop} waits after TERM before KILL. */
    public static final Duration GRACE = Duration.ofSeconds(5);
    /**
     * The most services running at once in one workspace: each is a process of the sandbox and, in a workspace
     * with secrets, a log filter on the host (see docs/reference/workspaces/PROCESSES.md, Services); {@link #start} refuses one more.
     */
    public static final int MAX_RUNNING = 16;
    /** How long {@link #start} waits for readiness unless told. */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final Sandboxes sandboxes;
    private final Path dir;
    private final String workspace;
    private final String sandboxId;
    private final SecretUse secrets;

    Services(Sandboxes sandboxes, Path workspaceDir, String workspace, String sandboxId, SecretUse secrets) {
        this.sandboxes = sandboxes;
        this.dir = workspaceDir.resolve(DIR);
        this.workspace = workspace;
        this.sandboxId = sandboxId;
        this.secrets = secrets;
    }

    /**
     * How {@link #start} knows a service is ready: {@code file} (a path, relative to /workspace or absolute in the
     * sandbox, exists), {@code port} (something listens on that TCP port in the sandbox's network: {@link Sandboxes#listening}) or
     * {@code cmd} (an exec of {@code sh -c VALUE} in /workspace exits 0; retried).
     *
     * @param kind  {@code file}, {@code port} or {@code cmd}
     * @param value the path, the TCP port (1 to 65535) or the shell command; not empty
     */
    public record Readiness(String kind, String value) {
        /**
         * Checks the readiness.
         *
         * @throws DavitException {@link Kind#USAGE} for an unknown kind, an empty value, a bad port or a path with
         *                        {@code ..} or a NUL byte
         */
        public Readiness {
            if (!List.of("file", "port", "cmd").contains(kind)) {
                throw new DavitException(Kind.USAGE, "unknown readiness '" + kind + "'; use file, port or cmd");
            }
            if (value == null || value.isEmpty()) {
                throw new DavitException(Kind.USAGE, "give the readiness " + kind + " a value");
            }
            if (kind.equals("port")) {
                int p;
                try {
                    p = Integer.parseInt(value);
                } catch (NumberFormatException e) {
                    p = -1;
                }
                if (p < 1 || p > 65535) {
                    throw new DavitException(Kind.USAGE, "bad port '" + value + "'; give a TCP port from 1 to 65535");
                }
            }
            if (kind.equals("file")) {
                WorkspacePath.normalise(value.startsWith("/") ? value.substring(1) : value); // no .., no NUL
            }
        }
    }

    /**
     * One service.
     *
     * @param name      its name, unique in the workspace
     * @param command   the command it runs (argv; in a workspace with secrets, each value redacted)
     * @param state     {@code running}, {@code exited} (on its own), {@code stopped} (by {@link #stop} or the
     *                  workspace's stop) or {@code failed-readiness}
     * @param exitCode  its exit code once it ended (128+N when a signal N ended it), else null
     * @param pid       the pid of its process-group leader: on the host for a container workspace, in the guest for
     *                  a microVM's; 0 when it ended before it was seen
     * @param startedAt when it was started
     * @param readiness how its readiness was checked, or null (none: ready once started)
     * @param ready     whether it was ready
     */
    public record Service(String name, List<String> command, String state, Integer exitCode, long pid,
                          Instant startedAt, Readiness readiness, boolean ready) {
        /**
         * The state as {@code davit workspace service ls} shows it.
         *
         * @return {@code running}, {@code exited(CODE)} ({@code ?} for an unknown code), {@code stopped} or
         *         {@code failed-readiness}
         */
        public String label() {
            return state.equals("exited") ? "exited(" + (exitCode == null ? "?" : exitCode) + ")" : state;
        }
    }

    /**
     * Starts service {@code spec}: its command in /workspace with its variables and secrets on top of the sandbox's,
     * and returns once it is ready. A name running now is refused; an ended one of that name is replaced, its log
     * too. When it exits before it is ready, or its ready timeout passes, it is stopped, recorded as {@code exited}
     * or {@code failed-readiness}, and an error says why with the end of its log (secret values redacted).
     *
     * <pre>{@code
     * Services.Service web = workspaces.services(id).start(ServiceSpec.builder("web", "python3", "-m", "http.server")
     *         .readiness(new Services.Readiness("port", "8000")).build());
     * }</pre>
     *
     * @param spec the service: name, command, variables, secrets and readiness
     * @return the service as recorded, {@code running} and ready
     * @throws DavitException {@link Kind#USAGE} for a bad name, one already running or an unknown secret;
     *                        {@link Kind#STATE} when the workspace is not running or {@link #MAX_RUNNING}
     *                        services run already;
     *                        {@link Kind#FAILED} when it exited or was not ready in time
     */
    public Service start(ServiceSpec spec) {
        return start(spec.name(), spec.command(), spec.env(), spec.secretEnv(), spec.readiness(),
                spec.readyTimeout());
    }

    /**
     * Starts service {@code name} (a name not running now; an ended one of that name is replaced, its log too)
     * running {@code argv} in /workspace with {@code env} on top of the sandbox's, and returns once it is ready (see
     * {@link Readiness}; null: at once). When it exits before, or {@code timeout} passes, it is stopped, recorded as
     * {@code exited} or {@code failed-readiness}, and an error says why with the end of its log.
     *
     * @param name      the service's name: up to 64 letters, digits, {@code .}, {@code _} or {@code -}, not starting
     *                  with {@code .}
     * @param argv      the command to run (its output goes to the service's log)
     * @param env       variables on top of the sandbox's; null: none
     * @param readiness how to know it is ready; null: ready once started
     * @param timeout   how long to wait for readiness; null: {@link #READY_TIMEOUT}
     * @return the service as recorded, {@code running} and ready
     * @throws DavitException {@link Kind#USAGE} for a bad name or one already running; {@link Kind#STATE} when
     *                        the workspace is not running or {@link #MAX_RUNNING} services run already;
     *                        {@link Kind#FAILED} when it exited or was not ready in time
     */
    public Service start(String name, List<String> argv, Map<String, String> env, Readiness readiness,
                         Duration timeout) {
        return start(name, argv, env, Map.of(), readiness, timeout);
    }

    /**
     * {@link #start(String, List, Map, Readiness, Duration)} with {@code secretEnv} (variable to secret name) set
     * from the workspace's secrets; its log and errors show every secret value redacted.
     *
     * @param name      the service's name (see {@link #start(String, List, Map, Readiness, Duration)})
     * @param argv      the command to run
     * @param env       variables on top of the sandbox's; null: none. It must not set a variable of {@code secretEnv}
     * @param secretEnv environment variable to the name of one of the workspace's secrets; null or empty: none
     * @param readiness how to know it is ready; null: ready once started
     * @param timeout   how long to wait for readiness; null: {@link #READY_TIMEOUT}
     * @return the service as recorded, {@code running} and ready
     * @throws DavitException {@link Kind#USAGE} for a bad name, one already running or an unknown secret;
     *                        {@link Kind#STATE} when the workspace is not running or {@link #MAX_RUNNING}
     *                        services run already;
     *                        {@link Kind#FAILED} when it exited or was not ready in time
     */
    public Service start(String name, List<String> argv, Map<String, String> env, Map<String, String> secretEnv,
                         Readiness readiness, Duration timeout) {
        try {
            return startRedacted(name, argv, env, secretEnv, readiness, timeout);
        } catch (DavitException e) {
            throw SecretUse.redacted(e, secrets.redactor());
        }
    }

    private Service startRedacted(String name, List<String> argv, Map<String, String> env,
                                  Map<String, String> secretEnv, Readiness readiness, Duration timeout) {
        Held.checkName("service", name);
        List<String> cmd = secrets.command(argv, secretEnv, env, Secrets.SECRET_ENV);
        Path d = dir.resolve(name);
        Instant started = Instant.now();
        Held.requireRunning(sandboxes, sandboxId, workspace);
        Spawned p = Held.startsLocked(dir, () -> {
            JsonNode old = Held.read(d, FILE);
            if (old != null && Machinery.of(sandboxes).alive(SandboxJson.spawned(old.path("process")))) {
                throw new DavitException(Kind.USAGE, Message.of("service " + name + " is already running in"
                        + " workspace " + workspace + "; stop it first with ", Action.STOP_SERVICE.fix(workspace, name))
                        .about(Subject.Type.SERVICE, name));
            }
            long running = Held.dirs(dir, FILE).stream().map(x -> Held.read(x, FILE))
                    .filter(o -> o != null && Machinery.of(sandboxes).alive(SandboxJson.spawned(o.path("process"))))
                    .count();
            if (running >= MAX_RUNNING) {
                throw new DavitException(Kind.STATE, Message.of("workspace " + workspace + " has " + running
                        + " services running (the most); stop one first with ", Action.STOP_A_SERVICE.fix(workspace))
                        .about(Subject.Type.WORKSPACE, workspace));
            }
            Held.delete(d);
            RedactPipe.install(d, dir.getParent(), secrets.redactor()); // its log redacted before it reaches the disk
            Spawned spawned = Machinery.of(sandboxes).spawn(sandboxId, cmd, env, Workspaces.MOUNT, d, false);
            save(d, name, argv, spawned, started, readiness, readiness == null, readiness == null ? null : "starting");
            return spawned;
        });
        if (readiness == null) {
            return get(name);
        }
        Duration limit = timeout == null ? READY_TIMEOUT : timeout;
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            if (ready(readiness)) {
                save(d, name, argv, p, started, readiness, true, null);
                return get(name);
            }
            if (!Machinery.of(sandboxes).alive(p)) {
                save(d, name, argv, p, started, readiness, false, null);
                Machinery.of(sandboxes).collect(p, d);
                Integer rc = Held.exitCode(d);
                throw new DavitException(Kind.FAILED, Message.of("service " + name + " exited with code "
                        + (rc == null ? "?" : rc) + " before it was ready; its log ends: " + Held.lastLines(
                        d.resolve(Spawned.OUTPUT), secrets.redactor()) + " (see ", Action.SERVICE_LOGS.fix(workspace,
                        name), ")").about(Subject.Type.SERVICE, name));
            }
            if (System.nanoTime() > deadline) {
                Machinery.of(sandboxes).terminate(p, GRACE);
                Machinery.of(sandboxes).collect(p, d);
                save(d, name, argv, p, started, readiness, false, "failed-readiness");
                throw new DavitException(Kind.FAILED, Message.of("service " + name + " was not ready ("
                        + readiness.kind() + " " + readiness.value() + ") within " + limit.toSeconds() + " s and was"
                        + " stopped; its log ends: " + Held.lastLines(d.resolve(Spawned.OUTPUT), secrets.redactor())
                        + " (if it only starts slowly, ", Action.LONGER_READY_TIMEOUT.fix(), ")")
                        .about(Subject.Type.SERVICE, name));
            }
            sleep(readiness.kind().equals("cmd") ? 250 : 50);
        }
    }

    private boolean ready(Readiness r) {
        Sandbox s = sandboxes.status(sandboxId);
        if (s.status() != SandboxStatus.RUNNING) {
            return false;
        }
        return switch (r.kind()) {
            case "file" -> {
                String rel = r.value().startsWith("/") ? WorkspacePath.normalise(r.value().substring(1))
                        : Workspaces.MOUNT.substring(1) + "/" + WorkspacePath.normalise(r.value());
                if (!s.spec().filesInGuest()) {
                    // as the service sees it: links followed inside the sandbox's root, never out of it
                    try (dev.davit.sandbox.fs.Dir root = Machinery.of(sandboxes).openFiles(sandboxId)) {
                        yield root.statInRoot(rel) != null;
                    } catch (java.io.IOException e) {
                        yield false;
                    }
                }
                try {
                    Machinery.of(sandboxes).guestFiles(sandboxId).read("/" + rel, 1);
                    yield true;
                } catch (DavitException e) {
                    yield e.kind() != Kind.NOT_FOUND; // a directory or a link is there too
                }
            }
            case "port" -> sandboxes.listening(sandboxId, Integer.parseInt(r.value()));
            default -> {
                ExecResult e = sandboxes.exec(sandboxId, List.of("sh", "-c", r.value()), Map.of(), Workspaces.MOUNT,
                        Duration.ofSeconds(10));
                yield e.exitCode() == 0;
            }
        };
    }

    private void save(Path d, String name, List<String> argv, Spawned p, Instant started, Readiness r,
                      boolean ready, String state) {
        // at rest as shown: no secret value outside secrets/values.json (the record is only shown, never run again)
        Redactor red = secrets.redactor();
        ObjectNode o = Json.object();
        o.put("name", name);
        ArrayNode c = o.putArray("command");
        red.redact(argv).forEach(c::add);
        o.set("process", SandboxJson.spawned(p));
        o.put("started_at", started.toString());
        if (r != null) {
            o.putObject("readiness").put("kind", r.kind()).put("value", red.redact(r.value()));
        }
        o.put("ready", ready);
        if (state != null) {
            o.put("state", state);
        }
        Held.write(d, FILE, o);
    }

    private Service fromRecord(Path d, JsonNode o) {
        Spawned p = SandboxJson.spawned(o.path("process"));
        String recorded = o.path("state").asText(null);
        boolean alive = Machinery.of(sandboxes).alive(p);
        if (!alive && p.inGuest() && Held.exitCode(d) == null) {
            Machinery.of(sandboxes).collect(p, d); // its exit code, from the guest
        }
        String state = recorded != null && !recorded.equals("starting") ? recorded : alive ? "running" : "exited";
        List<String> cmd = new ArrayList<>();
        o.path("command").forEach(a -> cmd.add(a.asText()));
        JsonNode r = o.path("readiness");
        return new Service(o.path("name").asText(), secrets.redactor().redact(cmd), state, alive ? null : Held.exitCode(d), p.leaderPid(),
                Instant.parse(o.path("started_at").asText()),
                r.isObject() ? new Readiness(r.path("kind").asText(), r.path("value").asText()) : null,
                o.path("ready").asBoolean());
    }

    /**
     * Service {@code name}; NOT_FOUND when there is none.
     *
     * @param name the service's name
     * @return the service, its state as it is now
     * @throws DavitException {@link Kind#NOT_FOUND} when the workspace has no such service, {@link Kind#USAGE} for a
     *                        malformed name
     */
    public Service get(String name) {
        Held.checkName("service", name);
        Path d = dir.resolve(name);
        JsonNode o = Held.read(d, FILE);
        if (o == null) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("workspace " + workspace + " has no service " + name
                    + "; see ", Action.LIST_SERVICES.fix(workspace)).about(Subject.Type.SERVICE, name));
        }
        return fromRecord(d, o);
    }

    /**
     * The services, by name.
     *
     * @return every service the workspace has started (running or ended), each as it is now
     */
    public List<Service> list() {
        List<Service> out = new ArrayList<>();
        for (Path d : Held.dirs(dir, FILE)) {
            JsonNode o = Held.read(d, FILE);
            if (o != null) {
                out.add(fromRecord(d, o));
            }
        }
        return out;
    }

    /**
     * The service's output (stdout and stderr interleaved): its last {@code lines} lines, or all with 0.
     *
     * @param name  the service's name
     * @param lines how many lines from the end; 0: all that is kept
     * @return the bytes of {@link #log}, redacted in a workspace with secrets
     * @throws DavitException {@link Kind#NOT_FOUND} when the workspace has no such service
     */
    public byte[] logs(String name, int lines) {
        return log(name, lines).bytes();
    }

    /**
     * What {@link #log} returns: the bytes, how many older bytes the cap dropped ({@code droppedBytes}, 0: none) and
     * whether the first line is only its last {@link #LINE_MAX} bytes ({@code lineCut}).
     *
     * @param bytes        the output read (stdout and stderr interleaved), redacted in a workspace with secrets
     * @param droppedBytes how many older bytes were no longer kept (the log's cap dropped them); 0: none
     * @param lineCut      whether the first line holds only the end of a line longer than {@link #LINE_MAX}
     */
    public record Log(byte[] bytes, long droppedBytes, boolean lineCut) {
    }

    /** The longest line {@link #log} returns whole: 64 KiB. */
    public static final int LINE_MAX = CappedLog.LINE_MAX;

    /**
     * The service's output (stdout and stderr interleaved): its last {@code lines} lines (0: all that is kept, at
     * most {@link Spawned#logCap()} bytes), read from the end of the log with bounded memory: a line longer than
     * {@link #LINE_MAX} ends the read and keeps only its end.
     *
     * @param name  the service's name
     * @param lines how many lines from the end; 0: all that is kept
     * @return the output and how it was cut
     * @throws DavitException {@link Kind#NOT_FOUND} when the workspace has no such service
     */
    public Log log(String name, int lines) {
        get(name);
        JsonNode o = Held.read(dir.resolve(name), FILE);
        if (o != null) {
            Machinery.of(sandboxes).collect(SandboxJson.spawned(o.path("process")), dir.resolve(name));
        }
        CappedLog.Tail t = CappedLog.tail(dir.resolve(name).resolve(Spawned.OUTPUT), lines);
        Redactor r = secrets.redactor();
        // a log cut at its start (older bytes dropped, a line cut, or only its last lines) may begin inside a value
        byte[] b = t.cut() || t.dropped() > 0 ? r.redactAfterCut(t.bytes(), false)
                : lines > 0 ? r.redactAfterCut(t.bytes(), true) : r.redact(t.bytes());
        return new Log(b, t.dropped(), t.cut());
    }

    /**
     * Stops service {@code name}: TERM to its process group and tree, KILL after {@link #GRACE}; recorded as
     * {@code stopped}. One that ended already keeps its state.
     *
     * @param name the service's name
     * @return the service as it is now
     * @throws DavitException {@link Kind#NOT_FOUND} when the workspace has no such service
     */
    public Service stop(String name) {
        Service s = get(name);
        Path d = dir.resolve(name);
        JsonNode o = Held.read(d, FILE);
        Spawned p = SandboxJson.spawned(o.path("process"));
        if (Machinery.of(sandboxes).alive(p)) {
            Machinery.of(sandboxes).terminate(p, GRACE);
            Machinery.of(sandboxes).collect(p, d);
            ((ObjectNode) o).put("state", "stopped");
            Held.write(d, FILE, (ObjectNode) o);
        }
        return get(s.name());
    }

    /** Stops every running service (for the workspace's stop, reset and rm). */
    public void stopAll() {
        for (Service s : list()) {
            if (s.state().equals("running")) {
                stop(s.name());
            }
        }
    }

    private static void sleep(long ms) {
        java.util.concurrent.locks.LockSupport.parkNanos(ms * 1_000_000);
        if (Thread.currentThread().isInterrupted()) { // the status stays set for the caller
            throw new DavitException(Kind.CANCELLED, "interrupted");
        }
    }
}
