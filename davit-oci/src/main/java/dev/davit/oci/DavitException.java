package dev.davit.oci;

/**
 * Base of every error davit reports. Each carries a {@link Kind} (which maps to a documented CLI exit code)
 * and a one-line {@link Message} that names the cause and, where there is one, the fix: as data (the inputs it is
 * about, the fixes it offers as {@link Action}s, its {@link Subject} and bad value), which each of davit's doors
 * words for itself. {@link #getMessage()} is the library's wording. Messages never contain secrets.
 */
public class DavitException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Error categories; the CLI maps each to a documented exit code. */
    public enum Kind {
        /** Bad command-line usage or an invalid argument such as a malformed reference. */
        USAGE(2),
        /** The reference, tag, blob or platform does not exist. */
        NOT_FOUND(3),
        /** Authentication or authorisation failed. */
        AUTH(4),
        /** The registry could not be reached, or answered with an unexpected error. */
        NETWORK(5),
        /** Content did not match its digest or size, or a document was malformed. */
        VERIFICATION(6),
        /** The local store is unusable, inconsistent or could not be written. */
        STORE(7),
        /**
         * The operation does not fit what it works on now: a workspace that is stopped, a patch whose context does
         * not match. (A name already taken is {@link #USAGE}.)
         */
        STATE(8),
        /** What davit ran in a sandbox failed: a service that exited early or never became ready. */
        FAILED(9),
        /**
         * This host cannot make the sandbox asked for: a program it needs is not installed (bubblewrap, an OCI
         * runtime, QEMU, slirp4netns, ...) or the kernel lacks what it needs. The fix is on the host (see
         * {@code Sandboxes.doctor()}), not in the request.
         */
        HOST_UNSUPPORTED(10),
        /** The calling thread was interrupted (e.g. {@code Future.cancel(true)}): what it ran was ended first. */
        CANCELLED(11),
        /** Anything else. */
        INTERNAL(1);

        private final int exitCode;

        Kind(int exitCode) {
            this.exitCode = exitCode;
        }

        /**
         * The process exit code the CLI ends with for this kind.
         *
         * @return the exit code, 1 to 11
         */
        public int exitCode() {
            return exitCode;
        }
    }

    /** The category of the error, as given at construction. */
    private final Kind kind;

    /** The message as data; transient: after deserialisation, the library's wording as plain text. */
    private final transient Message message;

    /**
     * An error with no underlying cause.
     *
     * @param kind the category, which decides the CLI's exit code
     * @param message one line naming the cause and, where there is one, the fix; must not contain secrets
     */
    public DavitException(Kind kind, String message) {
        this(kind, message, null);
    }

    /**
     * An error with no underlying cause, its message as data.
     *
     * @param kind    the category, which decides the CLI's exit code
     * @param message one line naming the cause and, where there is one, the fix; must not contain secrets
     */
    public DavitException(Kind kind, Message message) {
        this(kind, message, null);
    }

    /**
     * An error caused by another exception.
     *
     * @param kind the category, which decides the CLI's exit code
     * @param message one line naming the cause and, where there is one, the fix; must not contain secrets
     * @param cause the underlying exception, kept for diagnostics; may be null
     */
    public DavitException(Kind kind, String message, Throwable cause) {
        this(kind, message == null ? null : Message.of(message), cause);
    }

    /**
     * An error caused by another exception, its message as data.
     *
     * @param kind    the category, which decides the CLI's exit code
     * @param message one line naming the cause and, where there is one, the fix; must not contain secrets
     * @param cause   the underlying exception, kept for diagnostics; may be null
     */
    public DavitException(Kind kind, Message message, Throwable cause) {
        super(message == null ? null : message.toString(), cause);
        this.kind = kind;
        this.message = message;
    }

    /**
     * The message as data, for a door to word for itself ({@link Message#render}); {@link #getMessage()} is the
     * same in the library's words.
     *
     * @return the message
     */
    public Message message() {
        return message != null ? message : Message.of(String.valueOf(getMessage()));
    }

    /**
     * The category of this error.
     *
     * @return the kind given at construction
     */
    public Kind kind() {
        return kind;
    }
}
