package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.internal.SandboxJson;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Execs that outlive the call that started them (and the davit that did): each is a process started detached in the
 * workspace's sandbox ({@link Machinery#spawn}) in {@code <workspace state>/execs-detached/<exec id>/}, with
 * {@code exec.json} (the record), {@link Spawned#OUTPUT} (stdout and stderr interleaved, as written; redacted in a
 * workspace with secrets; at most {@link Spawned#logCap()} bytes kept, the oldest dropped first) and {@code exit}. Its
 * timeout is kept by whichever davit looks at it (a wait, a status, a list) once it has passed: the exec is then
 * stopped (TERM, KILL after 5 s) and says {@code killed_by: timeout}. One KILLed while the sandbox's memory cgroup
 * counted an OOM kill says {@code killed_by: oom} (the OOM killer picks the largest process at the limit: the exec's,
 * as a rule). Behind {@link WorkspaceExecs}.
 */
final class DetachedExecs {
    static final String DIR = "execs-detached";
    static final String FILE = "exec.json";
    /** The most detached execs running at once in one workspace. */
    static final int MAX_RUNNING = 32;
    /** The most records kept: the oldest ended ones go when a new one starts beyond it. */
    static final int KEEP = 64;
    private static final Duration GRACE = Duration.ofSeconds(5);

    private final Sandboxes sandboxes;
    private final Path state;
    private final Path dir;
    private final String workspace;
    private final String sandboxId;
    private final SecretUse secrets;

    DetachedExecs(Sandboxes sandboxes, Path workspaceDir, String workspace, String sandboxId, SecretUse secrets) {
        this.sandboxes = sandboxes;
        this.state = workspaceDir;
        this.dir = workspaceDir.resolve(DIR);
        this.workspace = workspace;
        this.sandboxId = sandboxId;
        this.secrets = secrets;
    }

    DetachedExec start(ExecRequest r) {
        if (r.stdin() != null || r.stdoutTee() != null || r.stderrTee() != null) {
            throw new DavitException(Kind.USAGE, "a detached exec has no stdin and no tees: its output is kept for"
                    + " the exec's output pages");
        }
        try {
            return startRedacted(r);
        } catch (DavitException e) {
            throw SecretUse.redacted(e, secrets.redactor());
        }
    }

    private DetachedExec startRedacted(ExecRequest r) {
        List<String> cmd = secrets.command(r.command(), r.secretEnv(), r.env(), Secrets.SECRET_ENV);
        String wd = r.workdir() == null ? Workspaces.MOUNT : r.workdir().startsWith("/") ? r.workdir()
                : Workspaces.MOUNT + "/" + r.workdir();
        String id = "e-" + dev.davit.oci.internal.RandomHex.of(6);
        Path d = dir.resolve(id);
        Held.requireRunning(sandboxes, sandboxId, workspace);
        Instant started = Instant.now();
        Held.startsLocked(dir, () -> {
            java.util.Map<Path, DetachedExec> all = new java.util.LinkedHashMap<>(); // each record read once
            Held.dirs(dir, FILE).forEach(x -> all.put(x, view(x)));
            long running = all.values().stream().filter(x -> x.state().equals("running")).count();
            if (running >= MAX_RUNNING) {
                throw new DavitException(Kind.STATE, Message.of("workspace " + workspace + " has " + running
                        + " detached execs running (the most); wait for one or stop it with ",
                        Action.KILL_EXEC.fix(workspace)).about(Subject.Type.WORKSPACE, workspace));
            }
            prune(all);
            RedactPipe.install(d, state, secrets.redactor()); // its output redacted before it reaches the disk
            long oomBefore = oomKills();
            Spawned spawned = Machinery.of(sandboxes).spawn(sandboxId, cmd, r.env(), wd, d, false);
            ObjectNode o = Json.object();
            o.put("id", id);
            o.put("oom_kills_before", oomBefore);
            secrets.redactor().redact(r.command()).forEach(o.putArray("command")::add);
            o.put("cwd", secrets.redactor().redact(wd));
            o.put("started_at", started.toString());
            if (r.timeout() != null) {
                o.put("timeout_ms", r.timeout().toMillis());
            }
            o.set("process", SandboxJson.spawned(spawned));
            Held.write(d, FILE, o);
            return spawned;
        });
        return get(id);
    }

    /** The exit code of a process ended by SIGKILL, as the holder records it. */
    private static final int KILLED = 128 + 9;

    /** Whether the sandbox is a microVM paused with its memory saved (it does not run, its processes live on). */
    private boolean pausedVm() {
        try {
            return sandboxes.paused(sandboxId)
                    && sandboxes.status(sandboxId).status() != dev.davit.sandbox.SandboxStatus.RUNNING;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The OOM kills the sandbox's cgroup counted so far (0 when it cannot be read). */
    private long oomKills() {
        try {
            return sandboxes.oomKills(sandboxId);
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** The exec {@code id} as it is now (its timeout kept: past it, it is stopped first). */
    DetachedExec get(String id) {
        Path d = find(id);
        DetachedExec x = view(d);
        if (x.state().equals("running") && x.timeout() != null
                && Instant.now().isAfter(x.startedAt().plus(x.timeout())) && !pausedVm()) { // a paused one at its resume
            kill(d, "timeout");
            x = view(d);
        }
        return x;
    }

    /** Waits up to {@code wait} for exec {@code id} to end; it as it is then. */
    DetachedExec await(String id, Duration wait) {
        long deadline = System.nanoTime() + (wait == null ? 0 : wait.toNanos());
        while (true) {
            DetachedExec x = get(id);
            if (!x.state().equals("running") || System.nanoTime() >= deadline) {
                return x;
            }
            try {
                Thread.sleep(Math.min(200, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted while waiting for exec " + id + " (it goes on)");
            }
        }
    }

    /** Stops exec {@code id} (TERM, KILL after 5 s), recording that it was cancelled; it as it is then. */
    DetachedExec cancel(String id) {
        Path d = find(id);
        if (view(d).state().equals("running")) {
            kill(d, "cancel");
        }
        return view(d);
    }

    /** Every exec of the workspace, oldest first (timeouts kept). */
    List<DetachedExec> list() {
        List<DetachedExec> out = new ArrayList<>();
        for (Path d : Held.dirs(dir, FILE)) {
            out.add(get(d.getFileName().toString()));
        }
        out.sort(java.util.Comparator.comparing(DetachedExec::startedAt));
        return out;
    }

    /** Stops every running exec, each recorded as killed by {@code why} (a reset, a stop). */
    void killAll(String why) {
        for (Path d : Held.dirs(dir, FILE)) {
            if (view(d).state().equals("running")) {
                kill(d, why);
            }
        }
    }

    /** Whether {@code id} names a detached exec of this workspace. */
    boolean has(String id) {
        return ExecOutput.ID.matcher(id).matches() && Files.isRegularFile(dir.resolve(id).resolve(FILE),
                LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Up to {@code limit} bytes of exec {@code id}'s output from {@code offset}, counted from the output's start
     * (bytes dropped as the output passed {@link Spawned#logCap()} are not kept: a page starts after them).
     */
    ExecOutput.Page output(String id, long offset, int limit) {
        if (offset < 0 || limit < 1) {
            throw new DavitException(Kind.USAGE, "the offset must be 0 or more and the limit 1 or more");
        }
        Path d = find(id);
        // the capper's files: OUTPUT_DROPPED bytes gone, then OUTPUT_OLD, then OUTPUT (looked at in that order; a
        // rotation between the looks shows as a page that ends early); only the page's bytes are read
        long dropped = dropped(d);
        Path old = d.resolve(Spawned.OUTPUT_OLD);
        long oldSize = size(old);
        long end = dropped + oldSize + size(d.resolve(Spawned.OUTPUT));
        long from = Math.max(dropped, Math.min(offset, end));
        ByteBuffer page = ByteBuffer.allocate((int) Math.min(limit, end - from));
        long at = from - dropped;
        if (at < oldSize) {
            read(old, at, page);
        }
        if (page.hasRemaining()) {
            read(d.resolve(Spawned.OUTPUT), Math.max(0, at - oldSize), page);
        }
        return new ExecOutput.Page(from, java.util.Arrays.copyOf(page.array(), page.position()), end, dropped);
    }

    private Path find(String id) {
        if (id == null || !ExecOutput.ID.matcher(id).matches()) {
            throw new DavitException(Kind.USAGE, "'" + id + "' is not an exec id (e- and 12 hex digits, as a detached"
                    + " exec's start gives it)");
        }
        Path d = dir.resolve(id);
        if (!Files.isRegularFile(d.resolve(FILE), LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("workspace " + workspace + " has no detached exec "
                    + id + "; list them with ", Action.LIST_EXECS.fix(workspace)).about(Subject.Type.WORKSPACE,
                    workspace));
        }
        return d;
    }

    /** The record in {@code d} with what its files say now (no timeout kept). */
    private DetachedExec view(Path d) {
        JsonNode o = Held.read(d, FILE);
        if (o == null) {
            throw new DavitException(Kind.NOT_FOUND, "the detached exec " + d.getFileName() + " is gone");
        }
        Spawned p = SandboxJson.spawned(o.path("process"));
        // a microVM paused with it running keeps it in its saved memory: it runs on at the resume
        boolean alive = Machinery.of(sandboxes).alive(p) || p.inGuest() && Held.exitCode(d) == null && pausedVm();
        if (!alive && p.inGuest() && Held.exitCode(d) == null) {
            Machinery.of(sandboxes).collect(p, d); // its exit code, from the guest
        }
        Integer code = alive ? null : Held.exitCode(d);
        String killedBy = o.path("killed_by").asText(null);
        if (killedBy == null && code != null && code == KILLED && o.has("oom_kills_before")
                && oomKills() > o.path("oom_kills_before").asLong()) {
            // KILLed while the sandbox's cgroup counted an OOM kill: recorded once, as the first look saw it
            killedBy = "oom";
            Held.write(d, FILE, ((ObjectNode) o).put("killed_by", killedBy));
        }
        String st = alive ? "running" : killedBy != null ? "killed" : "exited";
        List<String> cmd = new ArrayList<>();
        o.path("command").forEach(a -> cmd.add(a.asText()));
        Instant ended = null;
        if (!alive) {
            try {
                ended = Files.getLastModifiedTime(d.resolve(Spawned.EXIT), LinkOption.NOFOLLOW_LINKS).toInstant();
            } catch (IOException e) {
                ended = o.hasNonNull("ended_at") ? Instant.parse(o.path("ended_at").asText()) : null;
            }
        }
        long bytes = dropped(d) + size(d.resolve(Spawned.OUTPUT_OLD)) + size(d.resolve(Spawned.OUTPUT));
        return new DetachedExec(o.path("id").asText(), secrets.redactor().redact(cmd), o.path("cwd").asText(),
                Instant.parse(o.path("started_at").asText()), ended, st, code, killedBy,
                o.has("timeout_ms") ? Duration.ofMillis(o.path("timeout_ms").asLong()) : null, bytes, p.leaderPid());
    }

    private void kill(Path d, String why) {
        JsonNode o = Held.read(d, FILE);
        if (o == null) {
            return;
        }
        ObjectNode w = ((ObjectNode) o).put("killed_by", why);
        Held.write(d, FILE, w);
        Spawned p = SandboxJson.spawned(o.path("process"));
        Machinery.of(sandboxes).terminate(p, GRACE);
        Machinery.of(sandboxes).collect(p, d);
    }

    /** Keeps the newest {@link #KEEP} records: older ones that ended go (with their output). */
    private static void prune(java.util.Map<Path, DetachedExec> all) {
        List<java.util.Map.Entry<Path, DetachedExec>> ended = new ArrayList<>(all.entrySet().stream()
                .filter(e -> !e.getValue().state().equals("running")).toList());
        ended.sort(java.util.Comparator.comparing(e -> e.getValue().startedAt()));
        int left = all.size();
        for (int i = 0; i < ended.size() && left >= KEEP; i++, left--) {
            Held.delete(ended.get(i).getKey());
        }
    }

    private static long dropped(Path d) {
        try {
            return Long.parseLong(Files.readString(d.resolve(Spawned.OUTPUT_DROPPED)).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Reads {@code f} (a file of the spawn's directory, never through a link) from {@code at} into {@code b}. */
    private static void read(Path f, long at, ByteBuffer b) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            for (long pos = at; b.hasRemaining(); ) {
                int n = ch.read(b, pos);
                if (n <= 0) {
                    return;
                }
                pos += n;
            }
        } catch (NoSuchFileException e) {
            // rotated away meanwhile: the page ends early
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
        }
    }
}
