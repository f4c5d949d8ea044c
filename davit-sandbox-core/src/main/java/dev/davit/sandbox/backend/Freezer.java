package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A container sandbox paused in place: every process of its cgroup frozen by the kernel's cgroup freezer (they keep
 * their memory and take no CPU, and cannot tell; no signal is sent), thawed on resume. A sandbox's processes are
 * those of its cgroups ({@link Cgroups}: the keeper and every exec join them before they run). With cgroup v2 its own
 * cgroup's {@code cgroup.freeze}; with v1 (this host's hybrid layout) a cgroup of its own in the {@code freezer}
 * hierarchy ({@code freezer/<davit's>/davit/<id>}, recorded with its other cgroups so that stop and rm remove it),
 * into which its processes are moved and which is then frozen; a process that entered meanwhile is moved too, and
 * freezes on arrival. The state directory's {@value #MARK} says it is paused, and so does a frozen cgroup whatever
 * the mark says: a stop or rm thaws it first (a frozen process cannot die), and no exec enters it until it is
 * resumed.
 */
public final class Freezer {
    /** In the state directory: the sandbox is paused. */
    static final String MARK = "paused";
    private static final long TIMEOUT_MS = 10_000;

    private Freezer() {
    }

    /**
     * Whether the sandbox of state directory {@code state} is paused: its {@value #MARK} is there, or (whatever the
     * mark says: e.g. removed by hand) one of its cgroups is frozen, which a stop or rm must thaw too.
     */
    public static boolean paused(Path state) {
        return Files.exists(state.resolve(MARK), LinkOption.NOFOLLOW_LINKS) || frozen(state);
    }

    /** Whether one of the recorded cgroups of the sandbox of state directory {@code state} is (being) frozen. */
    private static boolean frozen(Path state) {
        for (Path g : recorded(state)) {
            try {
                if (Files.exists(g.resolve("cgroup.freeze"))) {
                    if (Files.readString(g.resolve("cgroup.freeze")).strip().equals("1")) {
                        return true;
                    }
                } else if (Files.exists(g.resolve("freezer.state"))
                        && !Files.readString(g.resolve("freezer.state")).strip().equals("THAWED")) {
                    return true;
                }
            } catch (IOException e) {
                // gone with its processes
            }
        }
        return false;
    }

    /**
     * Freezes every process of sandbox {@code id}'s cgroups.
     *
     * @throws DavitException USAGE when it has no cgroup of its own (rootless, or made without limits), or no freezer
     *                        is mounted; INTERNAL when its processes do not freeze (they are thawed again)
     */
    public static void freeze(String id, Path state) {
        List<Path> groups = recorded(state);
        Path members = groups.stream().filter(g -> Files.isRegularFile(g.resolve("cgroup.procs"))).findFirst()
                .orElseThrow(() -> new DavitException(Kind.USAGE, "sandbox " + id + " has no cgroup of its own"
                        + " (davit makes one as root, for a sandbox with limits), so its processes cannot be frozen;"
                        + " stop it instead"));
        try {
            Files.write(state.resolve(MARK), new byte[0]); // first: no exec enters from now on
            Path v2 = groups.stream().filter(g -> Files.exists(g.resolve("cgroup.freeze"))).findFirst().orElse(null);
            if (v2 != null) {
                Files.writeString(v2.resolve("cgroup.freeze"), "1");
                await(() -> Files.readString(v2.resolve("cgroup.events")).contains("frozen 1"));
                return;
            }
            Path freezer = v1Freezer(id, state);
            for (int round = 0; round < 100; round++) {
                List<String> outside = new ArrayList<>(procs(members));
                outside.removeAll(procs(freezer));
                for (String pid : outside) {
                    try {
                        Files.writeString(freezer.resolve("cgroup.procs"), pid);
                    } catch (IOException e) {
                        // it ended meanwhile
                    }
                }
                if (round == 0 || !outside.isEmpty()) {
                    Files.writeString(freezer.resolve("freezer.state"), "FROZEN");
                    await(() -> Files.readString(freezer.resolve("freezer.state")).strip().equals("FROZEN"));
                }
                if (outside.isEmpty() && round > 0) {
                    return;
                }
            }
            throw new IOException("its processes kept coming");
        } catch (IOException e) {
            thaw(state);
            throw new DavitException(Kind.INTERNAL, "cannot freeze the processes of sandbox " + id + ": "
                    + e.getMessage());
        }
    }

    /** Thaws a paused sandbox's processes and removes the mark; nothing for one that is not paused. */
    public static void thaw(Path state) {
        for (Path g : recorded(state)) {
            try {
                if (Files.exists(g.resolve("cgroup.freeze"))) {
                    Files.writeString(g.resolve("cgroup.freeze"), "0");
                } else if (Files.exists(g.resolve("freezer.state"))) {
                    Files.writeString(g.resolve("freezer.state"), "THAWED");
                }
            } catch (IOException e) {
                // gone with its processes
            }
        }
        try {
            Files.deleteIfExists(state.resolve(MARK));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove " + state.resolve(MARK) + ": " + e.getMessage());
        }
    }

    /** The sandbox's v1 freezer cgroup, made and recorded when missing. */
    private static Path v1Freezer(String id, Path state) throws IOException {
        Path mount = Path.of("/sys/fs/cgroup/freezer");
        if (!Files.isRegularFile(mount.resolve("freezer.state")) && !Files.isDirectory(mount)) {
            throw new IOException("no cgroup freezer is mounted at " + mount);
        }
        String own = "/";
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            String[] f = line.split(":", 3);
            if (f.length == 3 && List.of(f[1].split(",")).contains("freezer")) {
                own = f[2];
            }
        }
        Path dir = mount.resolve(own.substring(1)).resolve(Cgroups.PARENT).resolve(id);
        if (!recorded(state).contains(dir)) {
            Files.writeString(state.resolve(Cgroups.RECORD), dir + "\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.APPEND);
        }
        Files.createDirectories(dir);
        return dir;
    }

    private static List<Path> recorded(Path state) {
        List<Path> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(state.resolve(Cgroups.RECORD))) {
                if (!line.isBlank()) {
                    out.add(Path.of(line.strip()));
                }
            }
        } catch (IOException e) {
            // none
        }
        return out;
    }

    private static List<String> procs(Path group) throws IOException {
        return Files.readAllLines(group.resolve("cgroup.procs")).stream().map(String::strip)
                .filter(l -> !l.isEmpty()).toList();
    }

    private interface Check {
        boolean done() throws IOException;
    }

    private static void await(Check c) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!c.done()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("they did not freeze within " + TIMEOUT_MS / 1000 + " s");
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
    }
}
