package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.util.ArrayList;
import java.util.List;

/**
 * "Replace this exact text with that", as models are trained to edit ({@link WorkspaceFiles#edit}): the text must be
 * there once (or, asked for, any number of times); a text found nowhere or more than once is refused saying how
 * many times and on which lines, and nothing is changed.
 */
final class TextEdit {
    /** The most lines a refusal lists. */
    private static final int MAX_LINES = 10;

    private TextEdit() {
    }

    /**
     * {@code text} with {@code oldText} replaced by {@code newText}: its one occurrence, or with {@code all} every one.
     *
     * @param shown the file's name as the refusal says it
     * @throws DavitException STATE when {@code oldText} is not there, or there more than once without {@code all}
     */
    static String apply(String text, String oldText, String newText, boolean all, String shown) {
        int n = count(text, oldText);
        if (n == 0) {
            String trimmed = oldText.strip();
            int loose = trimmed.isEmpty() ? 0 : count(text, trimmed);
            throw new DavitException(Kind.STATE, Message.of("the text to replace (", Input.EDIT_OLD, ") is not in "
                    + shown + " (0 occurrences" + (loose > 0 ? "; without its leading and trailing white space it is"
                    + " there " + loose + " time" + (loose == 1 ? "" : "s") + ", at line " + lines(text, trimmed) : "")
                    + "); give the file's text exactly, white space and line ends included (read it first); nothing"
                    + " was changed"));
        }
        if (n > 1 && !all) {
            throw new DavitException(Kind.STATE, Message.of("the text to replace (", Input.EDIT_OLD, ") is in "
                    + shown + " " + n + " times (lines " + lines(text, oldText) + "); give more of the text around"
                    + " it so that it is there once, or ", Input.EDIT_ALL, " to replace every one; nothing was"
                    + " changed"));
        }
        return all ? text.replace(oldText, newText) : text.substring(0, text.indexOf(oldText)) + newText
                + text.substring(text.indexOf(oldText) + oldText.length());
    }

    /** How many times {@code oldText} is in {@code text}, not overlapping. */
    static int count(String text, String oldText) {
        int n = 0;
        for (int at = text.indexOf(oldText); at >= 0; at = text.indexOf(oldText, at + oldText.length())) {
            n++;
        }
        return n;
    }

    /** The line (from 1) of position {@code at} of {@code text}. */
    static int line(String text, int at) {
        int line = 1;
        for (int i = 0; i < at && i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    /** The lines where {@code oldText} starts, at most {@link #MAX_LINES} of them, as "3, 17, 40". */
    private static String lines(String text, String oldText) {
        List<String> out = new ArrayList<>();
        int total = 0;
        for (int at = text.indexOf(oldText); at >= 0; at = text.indexOf(oldText, at + oldText.length())) {
            if (total++ < MAX_LINES) {
                out.add(Integer.toString(line(text, at)));
            }
        }
        return String.join(", ", out) + (total > MAX_LINES ? " and " + (total - MAX_LINES) + " more" : "");
    }
}
