package dev.davit.sandbox.backend;

import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandboxes;

/**
 * What davit's own packages reach of a {@link Sandboxes} beyond its API, as its types are the backends' machinery
 * (package {@code dev.davit.sandbox.backend}, which the module does not export): the backend a run takes, a running
 * sandbox's files through its guest agent, a stopped one's disk. {@link Sandboxes} provides them, with its own
 * methods, when it is first loaded (as it does {@link dev.davit.sandbox.internal.HostFiles}' opener).
 */
public final class SandboxMachinery {
    private static volatile Access access;

    private SandboxMachinery() {
    }

    /** {@link Sandboxes}' own implementation of what this class offers. */
    public interface Access {
        /**
         * The backend that runs {@code spec}.
         *
         * @param sandboxes the sandboxes
         * @param spec      the run
         * @return the backend
         */
        Backend backend(Sandboxes sandboxes, RunSpec spec);

        /**
         * Sandbox {@code id}'s files through its guest agent.
         *
         * @param sandboxes the sandboxes the sandbox belongs to
         * @param id        the sandbox's id
         * @return its files
         */
        GuestFiles guestFiles(Sandboxes sandboxes, String id);

        /**
         * Stopped sandbox {@code id}'s disk, read offline.
         *
         * @param sandboxes the sandboxes the sandbox belongs to
         * @param id        the sandbox's id
         * @return its disk; the caller closes it
         */
        OfflineDisk offlineDisk(Sandboxes sandboxes, String id);

        /**
         * Gives the egress gate of running sandbox {@code id} the secrets it adds to HTTPS requests.
         *
         * @param sandboxes the sandboxes the sandbox belongs to
         * @param id        the sandbox's id
         * @param lines     the gate's message (a key store and a rule per host)
         */
        void injectSecrets(Sandboxes sandboxes, String id, java.util.List<String> lines);
    }

    /**
     * Sets the implementation; {@link Sandboxes} does, once, when it is loaded (no other class may).
     *
     * @param a the implementation
     * @throws IllegalStateException when one was set already, or the caller is not {@link Sandboxes}
     */
    public static synchronized void provide(Access a) {
        Class<?> caller = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).getCallerClass();
        if (caller != Sandboxes.class) {
            throw new IllegalStateException("only Sandboxes provides its machinery, not " + caller);
        }
        if (access != null) {
            throw new IllegalStateException("the machinery of Sandboxes is set already");
        }
        access = a;
    }

    /**
     * The backend that runs {@code spec}: its backend (default {@code container}) and, for containers, its runtime,
     * or else the first of {@link Sandboxes#CONTAINER_RUNTIMES} whose binary is installed.
     *
     * @param sandboxes the sandboxes
     * @param spec      the run whose backend and runtime choose
     * @return the backend; when none is installed, the first, whose run then reports what is missing
     * @throws dev.davit.oci.DavitException USAGE for an unknown backend, or a runtime the backend does not have
     */
    public static Backend backend(Sandboxes sandboxes, RunSpec spec) {
        return access().backend(sandboxes, spec);
    }

    /**
     * A running sandbox's files through its guest agent (a microVM's; a container's are on the host).
     *
     * @param sandboxes the sandboxes the sandbox belongs to
     * @param id        the sandbox's id
     * @return its files
     * @throws dev.davit.oci.DavitException NOT_FOUND when there is no such sandbox; USAGE for a container sandbox
     *                                      (its files are on the host) or one that is not running
     */
    public static GuestFiles guestFiles(Sandboxes sandboxes, String id) {
        return access().guestFiles(sandboxes, id);
    }

    /**
     * A stopped sandbox's disk, read without mounting its file system.
     *
     * @param sandboxes the sandboxes the sandbox belongs to
     * @param id        the sandbox's id
     * @return its disk; close it when done
     * @throws dev.davit.oci.DavitException NOT_FOUND when there is no such sandbox; USAGE when it is running or a
     *                                      container
     */
    public static OfflineDisk offlineDisk(Sandboxes sandboxes, String id) {
        return access().offlineDisk(sandboxes, id);
    }

    /**
     * Gives the egress gate of running sandbox {@code id} the secrets it adds to HTTPS requests, replacing those it
     * had (kept in the gate's memory only).
     *
     * @param sandboxes the sandboxes the sandbox belongs to
     * @param id        the sandbox's id
     * @param lines     the gate's message (a key store and a rule per host)
     * @throws dev.davit.oci.DavitException NOT_FOUND when there is no such sandbox; USAGE when it has no egress
     *                                      policy; STATE when it is not running
     */
    public static void injectSecrets(Sandboxes sandboxes, String id, java.util.List<String> lines) {
        access().injectSecrets(sandboxes, id, lines);
    }

    private static Access access() {
        // set by Sandboxes' static initializer, which ran before any instance (the argument) could exist
        return java.util.Objects.requireNonNull(access, "Sandboxes provides its machinery");
    }
}
