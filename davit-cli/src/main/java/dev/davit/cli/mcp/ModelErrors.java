package dev.davit.cli.mcp;

import dev.davit.cli.CliTerms;
import java.util.regex.Pattern;

/**
 * The one place an error's text becomes what the model (or the operator's log) reads. For now the library's words
 * go to the CLI's ({@link CliTerms}) and on to the tools' ({@link ModelTerms}); errors that carry their meaning as
 * data will replace both here, and nowhere else.
 */
final class ModelErrors {
    /** "is taken by workspace ID" of a name: whose it is, which the model may not know (it may not be its own). */
    private static final Pattern TAKEN = Pattern.compile(" is taken by workspace ws-[0-9a-f]+(?:, being created)?;"
            + " give another name, or delete ws-[0-9a-f]+ (?:first|once it exists)");

    private ModelErrors() {
    }

    /** {@code message} (the library's, or a command's) of a call of {@code tool} in the model's terms. */
    static String toModel(String message, Tool tool, ModelTerms terms) {
        if (message == null) {
            return null;
        }
        String m = terms.rewrite(CliTerms.rewrite(message), tool);
        return dev.davit.oci.internal.Text.printable(TAKEN.matcher(m).replaceAll(" is taken; give another name"));
    }

    /** {@code message} (the library's) as the operator reads it in the server's log. */
    static String toOperator(String message) {
        return CliTerms.rewrite(message);
    }
}
