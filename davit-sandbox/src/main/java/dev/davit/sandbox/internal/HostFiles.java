package dev.davit.sandbox.internal;

import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.Sandboxes;
import dev.davit.sandbox.fs.Broker;
import dev.davit.sandbox.fs.Dir;
import java.io.IOException;

/**
 * A container sandbox's files, opened for the host side as a tree davit does not trust ({@link Dir}): what the
 * workspace code reads and writes through. Not API (the module does not export this package), as {@link Dir} is not:
 * {@link Sandboxes} provides the opener when it is first loaded, and a backend whose files may need a helper says so
 * by implementing {@link Brokered}.
 */
public final class HostFiles {
    private static volatile Opener opener;

    private HostFiles() {
    }

    /** Opens sandbox {@code id}'s files ({@link Sandboxes}' own implementation). */
    @FunctionalInterface
    public interface Opener {
        /**
         * Opens the files.
         *
         * @param sandboxes the sandboxes the sandbox belongs to
         * @param id        the sandbox's id
         * @return the open tree; the caller closes it
         * @throws IOException when the directory cannot be opened
         */
        Dir open(Sandboxes sandboxes, String id) throws IOException;
    }

    /** What a backend's long-lived sandboxes implement when their files may need a helper to be changed. */
    public interface Brokered {
        /**
         * The helper that acts on sandbox {@code s}'s files for davit where davit's user may not (a rootless
         * sandbox whose image User is one of the user's subordinate ids), or null: davit acts itself.
         *
         * @param s the sandbox
         * @return the helper, or null
         */
        Broker filesBroker(Sandbox s);
    }

    /**
     * Sets the opener; {@link Sandboxes} does, once, when it is loaded (no other class may).
     *
     * @param o the opener
     * @throws IllegalStateException when one was set already, or the caller is not {@link Sandboxes}
     */
    public static synchronized void provide(Opener o) {
        Class<?> caller = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).getCallerClass();
        if (caller != Sandboxes.class) {
            throw new IllegalStateException("only Sandboxes provides the opener of sandbox files, not " + caller);
        }
        if (opener != null) {
            throw new IllegalStateException("the opener of sandbox files is set already");
        }
        opener = o;
    }

    /**
     * {@link Sandboxes#filesOnHost} opened as the top of a tree davit does not trust, and checked after the open: a
     * running sandbox's keeper must still be the very process (pid and start time) whose {@code /proc/PID/root} was
     * opened, so a pid reused between the status and the open never gives another process's root.
     *
     * @param sandboxes the sandboxes the sandbox belongs to (which loaded {@link Sandboxes}, and so set the opener)
     * @param id        the sandbox's id
     * @return the open tree; close it when done
     * @throws IOException when the directory cannot be opened
     * @throws dev.davit.oci.DavitException as {@link Sandboxes#filesOnHost} does; USAGE when the sandbox stopped
     *                                      while it was opened
     */
    public static Dir open(Sandboxes sandboxes, String id) throws IOException {
        // set by Sandboxes' static initializer, which ran before any instance (the argument) could exist
        return java.util.Objects.requireNonNull(opener, "Sandboxes provides the opener").open(sandboxes, id);
    }
}
