package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.internal.Spawned;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What services and shells share: each is a directory under the workspace's state directory holding its record
 * (a JSON file written atomically) and the files of its {@link Spawned} process (output, exit code, input).
 */
final class Held {
    private Held() {
    }

    /**
     * Refuses to start a process in workspace {@code workspace} while its sandbox {@code sandboxId} is not running,
     * in the workspace's terms (STATE: start it), not its sandbox's.
     */
    static void requireRunning(dev.davit.sandbox.engine.Sandboxes sandboxes, String sandboxId, String workspace) {
        dev.davit.sandbox.Sandbox sb = sandboxes.status(sandboxId);
        refusePaused(sandboxes, sb, workspace); // first: a paused microVM's or pod's sandbox is stopped meanwhile
        dev.davit.sandbox.SandboxStatus st = sb.status();
        if (st != dev.davit.sandbox.SandboxStatus.RUNNING) {
            throw new DavitException(Kind.STATE, dev.davit.oci.Message.of("workspace " + workspace + " is " + st.label()
                    + "; start it with ", dev.davit.oci.Action.START_WORKSPACE.fix(workspace))
                    .about(dev.davit.oci.Subject.Type.WORKSPACE, workspace));
        }
    }

    /**
     * Refuses to run anything in workspace {@code workspace} (its id or name, as the caller knows it) while its
     * {@code sandbox} is paused, in the workspace's terms (STATE: resume the workspace), not its sandbox's.
     */
    static void refusePaused(dev.davit.sandbox.engine.Sandboxes sandboxes, dev.davit.sandbox.Sandbox sandbox,
                             String workspace) {
        if (sandboxes.paused(sandbox)) {
            throw new DavitException(Kind.STATE, dev.davit.oci.Message.of("workspace " + workspace + " is paused;"
                    + " resume it first (", dev.davit.oci.Action.RESUME_WORKSPACE.fix(workspace), ")")
                    .about(dev.davit.oci.Subject.Type.WORKSPACE, workspace));
        }
    }

    static void write(Path dir, String file, ObjectNode o) {
        try {
            Files.createDirectories(dir);
            Fs.writeAtomically(dir.resolve(file), Json.bytes(o), dir);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + dir.resolve(file) + ": " + e.getMessage());
        }
    }

    /** The record in {@code dir}, or null when there is none (e.g. one being removed). */
    static JsonNode read(Path dir, String file) {
        try {
            return Json.read(Files.readAllBytes(dir.resolve(file)));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + dir.resolve(file) + ": " + e.getMessage());
        }
    }

    /** The directories under {@code parent} that hold {@code file}, by name (none when it does not exist). */
    static List<Path> dirs(Path parent, String file) {
        if (!Files.isDirectory(parent)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(parent)) {
            return s.filter(d -> !d.getFileName().toString().startsWith("."))
                    .filter(d -> Files.isRegularFile(d.resolve(file), LinkOption.NOFOLLOW_LINKS)).sorted().toList();
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + parent + ": " + e.getMessage());
        }
    }

    /**
     * Runs {@code action} holding the lock under which the processes of one kind in {@code parent} (a workspace's
     * services or shells) are counted and started, so that two starts at once, in this JVM or another, never both
     * pass the cap ({@link dev.davit.sandbox.backend.FileLocks}).
     */
    static <T> T startsLocked(Path parent, java.util.function.Supplier<T> action) {
        try {
            Files.createDirectories(parent);
            return dev.davit.sandbox.backend.FileLocks.holding(parent.resolve(".starts.lock"), action);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock " + parent + ": " + e.getMessage());
        }
    }

    /** The exit code the holder wrote, or null (still running, or killed before it could write it). */
    static Integer exitCode(Path dir) {
        try {
            return Integer.valueOf(Files.readString(dir.resolve(Spawned.EXIT)).strip());
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    /** The last few lines of {@code f} on one line, for an error message, redacted by {@code r}. */
    static String lastLines(Path f, Redactor r) {
        CappedLog.Tail tail = CappedLog.tail(f, 3);
        String t = new String(r.redactAfterCut(tail.bytes(), !tail.cut() && tail.dropped() == 0),
                StandardCharsets.UTF_8).strip();
        List<String> parts = new ArrayList<>();
        for (String l : t.split("\r?\n")) {
            if (!l.isBlank()) {
                parts.add(l.strip());
            }
        }
        String s = String.join(" | ", parts);
        return s.length() > 400 ? "..." + s.substring(s.length() - 400) : s;
    }

    static void checkName(String what, String name) {
        if (name == null || !name.matches("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")) {
            throw new DavitException(Kind.USAGE, "bad " + what + " name '" + name + "'; use up to 64 letters, digits,"
                    + " '.', '_' or '-', not starting with '.'");
        }
    }

    static void delete(Path p) {
        try {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Fs.deleteTree(p);
            }
        } catch (IOException ignored) {
            // best effort: a leftover directory whose record is gone is skipped by dirs()
        }
    }
}
