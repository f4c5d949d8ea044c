package dev.davit.cli.mcp;

import dev.davit.cli.words.CliWords;
import dev.davit.oci.DavitException;
import dev.davit.oci.Message;
import java.util.regex.Pattern;

/**
 * The one place an error's meaning becomes what the model (or the operator's log) reads: the library's message, as
 * data, worded by {@link ModelWords} (tool arguments, the server's tools, else plain words) for the model and by the
 * CLI's words for the operator, who runs {@code davit mcp serve}.
 */
final class ModelErrors {
    /** "is taken by workspace ID" of a name: whose it is, which the model may not know (it may not be its own). */
    private static final Pattern TAKEN = Pattern.compile(" is taken by workspace ws-[0-9a-f]+(?:, being created)?;"
            + " give another name, or delete ws-[0-9a-f]+ (?:first|once it exists)");

    private final ModelWords words;

    ModelErrors(ModelWords words) {
        this.words = words;
    }

    /** {@code e}'s message in the model's words. */
    String toModel(DavitException e) {
        return toModel(e.message());
    }

    /** {@code m} in the model's words; null for null. */
    String toModel(Message m) {
        return m == null ? null : printable(words.text(m));
    }

    /** Text of the server's own (no library terms) as the model reads it: printable, no other's workspace id. */
    static String printable(String text) {
        return text == null ? null
                : dev.davit.oci.internal.Text.printable(TAKEN.matcher(text).replaceAll(" is taken; give another name"));
    }

    /** {@code m} (the library's) as the operator reads it in the server's log. */
    static String toOperator(Message m) {
        return CliWords.text(m);
    }

    /** {@code e}'s message as the operator reads it in the server's log. */
    static String toOperator(Throwable e) {
        return e instanceof DavitException d ? CliWords.text(d.message()) : String.valueOf(e.getMessage());
    }
}
