package dev.davit.sandbox.agent;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;

/** The words every backend gives an agent's refusals in, so that a command fails alike wherever it ran. */
public final class AgentErrors {
    private AgentErrors() {
    }

    /** The command, its environment and working directory do not fit in one request ({@link AgentWire#MAX_PAYLOAD}). */
    public static DavitException tooLarge() {
        return new DavitException(Kind.USAGE, "the command, its environment and working directory are more than a"
                + " sandbox's agent takes (" + AgentWire.MAX_PAYLOAD / 1024 + " KiB in all); pass large data on"
                + " stdin or in a file of the sandbox");
    }

    /**
     * An {@link AgentLink.Outcome}'s refusal that is the caller's or the sandbox's, not the command's own: too many
     * commands at once, or an agent that failed to start it.
     *
     * @param sandboxId the sandbox
     * @param o         an outcome whose {@code error()} is none of the command's own (working directory, not found,
     *                  cannot execute)
     */
    public static DavitException refused(String sandboxId, AgentLink.Outcome o) {
        if (o.error() == AgentWire.E_TOO_MANY) {
            return new DavitException(Kind.FAILED, "sandbox " + sandboxId + " runs as many commands as its agent"
                    + " takes (" + o.message() + "); wait for some to end");
        }
        return new DavitException(Kind.INTERNAL, "the agent of sandbox " + sandboxId + " could not run the command: "
                + o.message());
    }

    /** The line a command that was not found or cannot be executed gets on its stderr, as a shell would write it. */
    public static byte[] commandLine(AgentLink.Outcome o) {
        return ("davit-agent: " + o.message() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The exit code of a command whose outcome is {@code o}, as every backend with a resident agent reports it: the
     * command's own; for a command that was not found or cannot be executed, a shell's 127 or 126, with the agent's
     * line ({@link #commandLine}) given to {@code stderr}; a working directory that is not there is the caller's
     * usage error, and any other refusal is {@link #refused}.
     *
     * @param sandboxId the sandbox
     * @param o         the outcome
     * @param workdir   the command's working directory, as the caller gave it
     * @param stderr    takes the line a command that did not start gets on its stderr
     * @return the exit code
     */
    public static int exitCode(String sandboxId, AgentLink.Outcome o, String workdir,
                               java.util.function.Consumer<byte[]> stderr) {
        switch (o.error()) {
            case 0 -> {
                return o.exitCode();
            }
            case AgentWire.E_WORKDIR -> throw new DavitException(Kind.USAGE, "the working directory " + workdir
                    + " does not exist in the sandbox");
            case AgentWire.E_NOT_FOUND, AgentWire.E_CANNOT_EXECUTE -> {
                stderr.accept(commandLine(o));
                return o.error() == AgentWire.E_NOT_FOUND ? 127 : 126;
            }
            default -> throw refused(sandboxId, o);
        }
    }

    /**
     * The error for input of {@code what} (a command's stdin, a put's tar) that the host could not read to its end.
     *
     * @param sandboxId the sandbox's id
     * @param what      what it was fed to ("the command", "the file request")
     * @param e         why
     * @return the error: STORE, what was fed was ended
     */
    public static DavitException inputFailed(String sandboxId, String what, AgentLink.InputFailed e) {
        return new DavitException(Kind.STORE, "cannot read the input of " + what + " in sandbox " + sandboxId + " ("
                + e.getMessage() + "); " + what + " was ended");
    }
}
