package dev.davit.sandbox.container;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A per-sandbox writable root: an overlay mount whose lower layer is the shared, never-written root filesystem and
 * whose upper layer is the sandbox's own directory. The mount is made in a private mount namespace (as an
 * unprivileged user, in a new user namespace too, where the kernel allows overlayfs since 5.11), so it needs no
 * privileges, is invisible to the host and disappears with the sandbox's processes.
 *
 * <pre>
 * unshare [--user --map-root-user] --mount --propagation private -- /bin/sh -c SCRIPT sh LOWER UPPER WORK MERGED FAILED CMD...
 * </pre>
 *
 * SCRIPT mounts the overlay on MERGED and execs CMD (so CMD keeps the pid davit started). When the mount fails it
 * writes the reason to FAILED (a file in the sandbox's state directory, which the sandbox cannot see) and exits 125,
 * so the caller can tell that failure from the command's own exit 125 and fall back to a read-only root.
 */
public final class Overlay {
    private static final String SCRIPT = "lower=$1 upper=$2 work=$3 merged=$4 failed=$5; shift 5\n"
            + "if ! err=$(mount -t overlay overlay -o \"lowerdir=$lower,upperdir=$upper,workdir=$work$DAVIT_OVL_OPT\""
            + " \"$merged\" 2>&1); then printf '%s\\n' \"$err\" > \"$failed\"; exit 125; fi\n"
            + "unset DAVIT_OVL_OPT\n"
            + "exec \"$@\"\n";
    /** Whether davit runs as root (else overlays, and the OCI runtimes, need a user namespace). */
    public static final boolean ROOT = dev.davit.sandbox.jail.Jail.AS_ROOT;

    /**
     * The directories of one sandbox's overlay, all under its state directory, and the skeleton root of its
     * read-only fallback (see {@link MountPoints}).
     */
    public record Dirs(Path upper, Path work, Path merged, Path failed, Path skeleton) {
        /** The dirs of the sandbox whose state directory is {@code state}: its layer on its disk when it has one. */
        public static Dirs under(Path state) {
            Path layer = dev.davit.sandbox.jail.Disk.root(state);
            return new Dirs(layer.resolve("upper"), layer.resolve("work"), state.resolve("merged"),
                    state.resolve("overlay-failed"), state.resolve("skeleton"));
        }

        /** Creates upper, work and merged (upper is kept when it exists: a long-lived sandbox's writes). */
        void create() {
            try {
                Files.createDirectories(upper);
                Files.createDirectories(work);
                Files.createDirectories(merged);
                Files.deleteIfExists(failed);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot create the sandbox's upper layer in " + upper.getParent()
                        + ": " + e.getMessage());
            }
        }

        /** Why the last mount failed, or null when it did not. */
        public String failure() {
            try {
                return Files.exists(failed) ? Files.readString(failed).strip() : null;
            } catch (IOException e) {
                return "unknown";
            }
        }
    }

    private Overlay() {
    }

    /**
     * Whether {@code lower} and the dirs can be named in overlayfs options: commas, colons and backslashes in
     * them would be read as separators.
     */
    public static boolean usable(Path lower, Dirs d) {
        for (Path p : List.of(lower, d.upper(), d.work())) {
            String s = p.toString();
            if (s.indexOf(',') >= 0 || s.indexOf(':') >= 0 || s.indexOf('\\') >= 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The command line that mounts the overlay of {@code lower} and {@code d} and then runs {@code inner} (which
     * should use {@code d.merged()} as its root). Its environment must carry {@link #environment()}.
     */
    public static List<String> wrap(Path unshare, Path lower, Dirs d, List<String> inner) {
        return wrap(unshare, ROOT ? List.of() : List.of("--user", "--map-root-user"), lower, d, inner);
    }

    /**
     * {@link #wrap(Path, Path, Dirs, List)} in the user namespace {@code user} makes (unshare's options; e.g.
     * {@link dev.davit.sandbox.jail.Subids#unshareOptions}, empty: none).
     */
    public static List<String> wrap(Path unshare, List<String> user, Path lower, Dirs d, List<String> inner) {
        List<String> a = new ArrayList<>();
        a.add(unshare.toString());
        a.addAll(user);
        a.addAll(List.of("--mount", "--propagation", "private", "--", "/bin/sh", "-c", SCRIPT, "sh",
                lower.toString(), d.upper().toString(), d.work().toString(), d.merged().toString(),
                d.failed().toString()));
        a.addAll(inner);
        return a;
    }

    /** One attempt of a run or a start: over the overlay mounted on {@code merged}, or (null) the read-only rootfs. */
    public interface Attempt<T> {
        T run(Path merged) throws IOException;
    }

    /**
     * The fallback rule every backend follows. With {@code tryOverlay}, runs {@code attempt} over the overlay; when
     * the mount failed (see {@link Dirs#failure}), calls {@code onMountFailure} and runs it again over the
     * read-only root, unless {@code stdin} was given: part of the input may be gone with the failed attempt, so
     * that is a one-line error instead. Without {@code tryOverlay} it runs over the read-only root at once.
     */
    public static <T> T runWithFallback(boolean tryOverlay, Dirs dirs, java.io.InputStream stdin, Runnable onMountFailure,
                                 Attempt<T> attempt) throws IOException {
        if (tryOverlay) {
            dirs.create();
            T result = attempt.run(dirs.merged());
            String failure = dirs.failure();
            if (failure == null) {
                return result;
            }
            onMountFailure.run();
            if (stdin != null) {
                throw new DavitException(Kind.INTERNAL, "the sandbox's overlay could not be mounted (" + failure
                        + "); run the command again: later runs use a read-only root");
            }
        }
        return attempt.run(null);
    }

    /** The variable the script reads for extra mount options ({@code userxattr} in a user namespace). */
    public static java.util.Map<String, String> environment() {
        return ROOT ? java.util.Map.of() : java.util.Map.of("DAVIT_OVL_OPT", ",userxattr");
    }
}
