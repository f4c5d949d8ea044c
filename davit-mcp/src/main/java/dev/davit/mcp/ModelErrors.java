package dev.davit.mcp;

import dev.davit.oci.DavitException;
import dev.davit.oci.Message;
import java.util.regex.Pattern;

/**
 * The one place an error's meaning becomes what the model (or the operator's log) reads: the library's message, as
 * data, worded by {@link ModelWords} (tool arguments, the server's tools, else plain words) for the model. The
 * operator's log has the words of the door that started the server ({@link DavitMcpServer.Options#operatorWords}).
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
}
