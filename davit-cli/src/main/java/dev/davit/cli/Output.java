package dev.davit.cli;

import dev.davit.cli.words.CliWords;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import picocli.CommandLine.ParameterException;

/**
 * Where a command's output goes: results on stdout (human text, or one JSON document with {@code --json}),
 * progress and errors on stderr.
 */
final class Output {
    private final PrintWriter out;
    private final PrintWriter err;
    private final OutputStream rawOut;
    private final OutputStream rawErr;
    private final boolean json;
    private final boolean quiet;
    private final boolean debug;
    private final Map<String, String> env;
    /** How a library message is worded here: the CLI's words. */
    private static final java.util.function.Function<Message, String> words = CliWords::text;

    Output(PrintWriter out, PrintWriter err, OutputStream rawOut, OutputStream rawErr, boolean json, boolean quiet,
           boolean debug, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.rawOut = rawOut;
        this.rawErr = rawErr;
        this.json = json;
        this.quiet = quiet;
        this.debug = debug;
        this.env = env;
    }

    boolean json() {
        return json;
    }

    ObjectNode object() {
        return Json.object();
    }

    /** Prints the result: {@code doc} with --json, else whatever {@code human} writes. */
    void result(JsonNode doc, Consumer<PrintWriter> human) {
        if (json) {
            printJson(doc);
        } else {
            human.accept(out);
            out.flush();
        }
    }

    /** Prints one JSON document (indented, newline-terminated) on stdout. */
    void printJson(JsonNode doc) {
        out.flush();
        try {
            // streamed as bytes: a run's document may carry 64 MiB of output, never copied into one String
            Json.writePretty(doc, rawOut);
            rawOut.write(System.lineSeparator().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            rawOut.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes bytes to stdout exactly as given. */
    void raw(byte[] bytes) {
        out.flush();
        try {
            rawOut.write(bytes);
            rawOut.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stdout as bytes, for passing a command's output through unchanged (the text writer is flushed first). */
    OutputStream rawStdout() {
        return passThrough(out, rawOut);
    }

    /** Stderr as bytes, like {@link #rawStdout()}. */
    OutputStream rawStderr() {
        return passThrough(err, rawErr);
    }

    private static OutputStream passThrough(PrintWriter writer, OutputStream raw) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) throws IOException {
                writer.flush();
                raw.write(b, off, len);
            }

            @Override
            public void flush() throws IOException {
                raw.flush();
            }
        };
    }

    private boolean jsonProgress() {
        return "1".equals(env.get(Main.JSON_PROGRESS));
    }

    boolean quiet() {
        return quiet;
    }

    /** A one-line notice on stderr ({@code davit: ...}), shown unless --quiet or --json. */
    void notice(String line) {
        if (!quiet && (!json || jsonProgress())) {
            err.println("davit: " + Text.printable(line));
            err.flush();
        }
    }

    /** {@link #notice(String)} of a library message (an installer's note of why it fell back), in this door's words. */
    void notice(Message line) {
        notice(words.apply(line));
    }

    /** A one-line warning on stderr, always shown. */
    void warn(String line) {
        err.println("davit: " + Text.printable(line));
        err.flush();
    }

    /** A progress renderer for one operation; renders nothing with --quiet or --json. */
    ProgressRenderer progress() {
        if (quiet || (json && !jsonProgress())) {
            return ProgressRenderer.NONE;
        }
        if (json) {
            return ProgressRenderer.create(ProgressRenderer.Mode.LINES, err, env);
        }
        return ProgressRenderer.create(ProgressRenderer.mode(env), err, env);
    }

    /**
     * Reports {@code t} (one line on stderr, the error document with --json) and returns the exit code; a davit
     * error's message in this door's words ({@link CliWords}).
     */
    int error(Throwable t) {
        Kind kind;
        String message;
        if (t instanceof DavitException de) {
            kind = de.kind();
            message = words.apply(de.message());
        } else if (t instanceof ParameterException) {
            kind = Kind.USAGE;
            message = t.getMessage();
        } else {
            kind = Kind.INTERNAL;
            message = "internal error: " + t + (debug ? "" : " (re-run with --debug)");
        }
        message = Text.printable(message == null ? t.getClass().getName() : message);
        err.println("davit: error: " + message);
        if (debug) {
            t.printStackTrace(err);
        }
        err.flush();
        if (json) {
            ObjectNode doc = object();
            ObjectNode e = doc.putObject("error");
            e.put("kind", kind.name().toLowerCase(Locale.ROOT));
            e.put("message", message);
            e.put("exit_code", kind.exitCode());
            printJson(doc);
        }
        return kind.exitCode();
    }
}
