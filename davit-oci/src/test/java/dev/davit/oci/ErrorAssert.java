package dev.davit.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Assertions for davit's error contract: a {@link DavitException} of a given kind with a one-line message. */
public final class ErrorAssert {
    private ErrorAssert() {
    }

    /** The longest message a parser may produce for any input; inputs are always shortened. */
    public static final int MAX_MESSAGE_LENGTH = 500;

    /**
     * Runs {@code call}, asserts it throws a {@link DavitException} of {@code kind} whose message is one
     * printable line containing every fragment, and returns it.
     */
    public static DavitException assertDavitError(ThrowingCallable call, DavitException.Kind kind,
                                                  String... fragments) {
        Throwable t = catchThrowable(call);
        assertThat(t).as("thrown").isInstanceOf(DavitException.class);
        DavitException e = (DavitException) t;
        assertThat(e.kind()).as("kind of: %s", e.getMessage()).isEqualTo(kind);
        assertOneLine(e.getMessage());
        for (String f : fragments) {
            assertThat(e.getMessage()).contains(f);
        }
        return e;
    }

    /**
     * Asserts {@code message} is a non-blank, bounded, single line without control, line-separator or invisible
     * format characters and without unpaired surrogates.
     */
    public static void assertOneLine(String message) {
        assertThat(message).isNotBlank();
        assertThat(message.length()).as("length of: %s", message).isLessThanOrEqualTo(MAX_MESSAGE_LENGTH);
        for (int i = 0; i < message.length(); ) {
            int cp = message.codePointAt(i);
            int type = Character.getType(cp);
            boolean bad = type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                    || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
            assertThat(bad).as("character U+%04X at %d in: %s", cp, i, message).isFalse();
            i += Character.charCount(cp);
        }
    }
}
