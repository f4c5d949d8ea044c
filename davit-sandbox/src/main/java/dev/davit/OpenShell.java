package dev.davit;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Args;
import dev.davit.sandbox.workspace.Shells;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A shell opened in a workspace ({@link OpenWorkspace#openShell}): a program on a terminal, typed into
 * ({@link #write}) and read ({@link #read}) across calls, until {@link #close} ends it. Each call goes to the
 * workspace's {@link Shells} by the shell's {@link #id}. Thread-safe; the terminal's output is read once: two threads
 * reading at once each get a part of it.
 */
public final class OpenShell implements AutoCloseable {
    private final OpenWorkspace workspace;
    private final String id;

    OpenShell(OpenWorkspace workspace, String id) {
        this.workspace = workspace;
        this.id = id;
    }

    /**
     * The shell's id, as {@link Shells} and {@code davit workspace shell} take it.
     *
     * @return its id: {@code sh-} and 8 hex digits
     */
    public String id() {
        return id;
    }

    /**
     * The shell as it is now: {@code running}, or {@code exited} with its exit code.
     *
     * @return the shell's record
     * @throws DavitException NOT_FOUND when it was closed (or its workspace removed); USAGE when the workspace's
     *                        handle is closed
     */
    public Shells.Shell info() {
        return workspace.shells().get(id);
    }

    /**
     * Types {@code text} (UTF-8) on the shell's terminal: a {@code \n} is Enter, {@code \u0003} Ctrl-C.
     *
     * @param text what to type, not null
     * @throws DavitException as {@link #write(byte[])} does
     */
    public void write(String text) {
        Args.given(text, "OpenShell.write", "text", "give the text to type, e.g. \"ls\\n\"");
        write(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Types {@code data} on the shell's terminal, as {@link Shells#write} does.
     *
     * @param data the bytes to type, not null
     * @throws DavitException NOT_FOUND when the shell was closed or has ended; INTERNAL when the terminal did not
     *                        take the input within 10 s
     */
    public void write(byte[] data) {
        Args.given(data, "OpenShell.write", "data", "give the bytes to type");
        workspace.shells().write(id, data);
    }

    /**
     * The text the terminal showed since the last read (escape sequences taken out), waiting up to {@code wait} for
     * some, then for the output to pause ({@link Shells#QUIET}).
     *
     * @param wait how long to wait for output; zero: take what is there
     * @return the text; empty when none came
     * @throws DavitException as {@link #read(Shells.ReadOptions)} does
     */
    public String read(Duration wait) {
        return read(Shells.ReadOptions.text(wait)).text();
    }

    /**
     * What the terminal showed since the last read, as {@code options} say (until a pattern, raw bytes, at most so
     * many bytes; see {@link Shells#read(String, Shells.ReadOptions)}).
     *
     * @param options how long to wait, when to return and in which form
     * @return the output, and whether it matched, was cut or timed out
     * @throws DavitException NOT_FOUND when the shell was closed (or its workspace removed)
     */
    public Shells.Output read(Shells.ReadOptions options) {
        Args.given(options, "OpenShell.read", "options", "give Shells.ReadOptions.text(Duration.ofSeconds(5))");
        return workspace.shells().read(id, options);
    }

    /**
     * Sends {@code signal} to the terminal's foreground process group, as a key such as Ctrl-C would.
     *
     * @param signal {@code INT}, {@code TERM}, {@code KILL}, {@code HUP}, {@code QUIT}, {@code USR1} or
     *               {@code USR2}
     * @throws DavitException USAGE for an unknown signal or a shell that has ended; NOT_FOUND when it was closed
     */
    public void signal(String signal) {
        workspace.shells().signal(id, signal);
    }

    /**
     * Ends the shell (a hang-up and TERM to its processes, then KILL) and removes its state; idempotent (a shell
     * already closed, e.g. by the workspace's stop or reset, is no error).
     *
     * @throws DavitException USAGE when the workspace's handle is closed
     */
    @Override
    public void close() {
        try {
            workspace.shells().close(id);
        } catch (DavitException e) {
            if (e.kind() != DavitException.Kind.NOT_FOUND) {
                throw e;
            }
        }
    }
}
