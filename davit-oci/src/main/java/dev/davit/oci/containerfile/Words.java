package dev.davit.oci.containerfile;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The words of an instruction's argument as a Containerfile means them: split on white space outside quotes, quotes
 * removed ({@code "..."} keeps the escape character's meaning before {@code "}, the escape character and {@code $};
 * {@code '...'} keeps everything), the escape character taking the next character literally, and variables expanded
 * from a lookup: {@code $NAME}, {@code ${NAME}}, {@code ${NAME:-WORD}} (WORD when unset or empty), {@code ${NAME-WORD}}
 * (WORD when unset), {@code ${NAME:+WORD}} (WORD when set and not empty), {@code ${NAME+WORD}} (WORD when set). A
 * variable that is not set expands to nothing. No expansion happens inside single quotes or after the escape
 * character.
 */
public final class Words {
    private final String text;
    private final char escape;
    private final Function<String, String> lookup;
    private int pos;

    private Words(String text, char escape, Function<String, String> lookup) {
        this.text = text;
        this.escape = escape;
        this.lookup = lookup;
    }

    /**
     * The words of {@code text}.
     *
     * @param text   the argument as written (continuations already joined)
     * @param escape the Containerfile's escape character ({@code \} or {@code `})
     * @param lookup a variable's value, or null when it is not set; null: expand nothing (keep {@code $} as is)
     * @return the words, quotes removed and variables expanded
     * @throws DavitException USAGE for an unterminated quote or variable, or a modifier that is not supported
     */
    public static List<String> split(String text, char escape, Function<String, String> lookup) {
        return new Words(text, escape, lookup).words(true);
    }

    /**
     * {@code text} as one word: quotes removed and variables expanded, white space kept.
     *
     * @param text   the text as written
     * @param escape the escape character
     * @param lookup a variable's value, or null when it is not set; null: expand nothing
     * @return the text
     * @throws DavitException USAGE as {@link #split}
     */
    public static String one(String text, char escape, Function<String, String> lookup) {
        List<String> w = new Words(text, escape, lookup).words(false);
        return w.isEmpty() ? "" : w.get(0);
    }

    /**
     * {@code text} with its variables expanded and nothing else changed: quotes and escape characters stay as written,
     * and neither an escaped {@code $} nor one between single quotes is expanded (an apostrophe no quote closes keeps
     * the rest as it is). What an unquoted here-document of {@code COPY} or {@code ADD} holds, as BuildKit expands it
     * (its lexer's raw quotes and escapes).
     *
     * @param text   the document
     * @param escape the escape character
     * @param lookup a variable's value, or null when it is not set
     * @return the document, expanded
     * @throws DavitException USAGE for a variable whose brace is not closed, or a modifier that is not supported
     */
    public static String expandVariables(String text, char escape, Function<String, String> lookup) {
        Words w = new Words(text, escape, lookup);
        StringBuilder b = new StringBuilder(text.length());
        while (w.pos < text.length()) {
            char c = text.charAt(w.pos);
            if (c == escape && w.pos + 1 < text.length()) {
                b.append(c).append(text.charAt(w.pos + 1));
                w.pos += 2;
            } else if (c == '\'') {
                int end = text.indexOf('\'', w.pos + 1);
                int to = end < 0 ? text.length() : end + 1;
                b.append(text, w.pos, to);
                w.pos = to;
            } else if (c == '$') {
                b.append(w.variable());
            } else {
                b.append(c);
                w.pos++;
            }
        }
        return b.toString();
    }

    private List<String> words(boolean split) {
        List<String> out = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (split && Character.isWhitespace(c)) {
                if (inWord) {
                    out.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
                pos++;
                continue;
            }
            inWord = true;
            if (c == escape) {
                pos++;
                if (pos < text.length()) {
                    word.append(text.charAt(pos++));
                } else {
                    word.append(c);
                }
            } else if (c == '\'') {
                int end = text.indexOf('\'', pos + 1);
                if (end < 0) {
                    throw new DavitException(Kind.USAGE, "unterminated single quote in: " + shown());
                }
                word.append(text, pos + 1, end);
                pos = end + 1;
            } else if (c == '"') {
                pos++;
                while (true) {
                    if (pos >= text.length()) {
                        throw new DavitException(Kind.USAGE, "unterminated double quote in: " + shown());
                    }
                    char d = text.charAt(pos);
                    if (d == '"') {
                        pos++;
                        break;
                    }
                    if (d == escape && pos + 1 < text.length() && "\"$".indexOf(text.charAt(pos + 1)) >= 0
                            || d == escape && pos + 1 < text.length() && text.charAt(pos + 1) == escape) {
                        word.append(text.charAt(pos + 1));
                        pos += 2;
                    } else if (d == '$' && lookup != null) {
                        word.append(variable());
                    } else {
                        word.append(d);
                        pos++;
                    }
                }
            } else if (c == '$' && lookup != null) {
                word.append(variable());
            } else {
                word.append(c);
                pos++;
            }
        }
        if (inWord || !split) {
            out.add(word.toString());
        }
        return out;
    }

    /** The value of the variable at {@code pos} (a {@code $}); a lone {@code $} stays. */
    private String variable() {
        pos++; // $
        if (pos >= text.length()) {
            return "$";
        }
        char c = text.charAt(pos);
        if (c == '{') {
            int close = text.indexOf('}', pos);
            if (close < 0) {
                throw new DavitException(Kind.USAGE, "missing '}' after '${' in: " + shown());
            }
            int start = ++pos;
            while (pos < close && isNameChar(text.charAt(pos), pos == start)) {
                pos++;
            }
            String name = text.substring(start, pos);
            if (name.isEmpty()) {
                throw new DavitException(Kind.USAGE, "a variable without a name ('${" + text.substring(start, close)
                        + "}') in: " + shown());
            }
            String value = lookup.apply(name);
            if (pos == close) {
                pos = close + 1;
                return value == null ? "" : value;
            }
            String modifier;
            if (text.charAt(pos) == ':' && pos + 1 < close && "-+".indexOf(text.charAt(pos + 1)) >= 0) {
                modifier = text.substring(pos, pos + 2);
            } else if ("-+".indexOf(text.charAt(pos)) >= 0) {
                modifier = text.substring(pos, pos + 1);
            } else {
                throw new DavitException(Kind.USAGE, "unsupported modifier in '${" + text.substring(start, close)
                        + "}' (davit knows :- :+ - +) in: " + shown());
            }
            String word = new Words(text.substring(pos + modifier.length(), close), escape, lookup).words(false)
                    .get(0);
            pos = close + 1;
            boolean set = value != null;
            boolean full = set && !value.isEmpty();
            return switch (modifier) {
                case ":-" -> full ? value : word;
                case "-" -> set ? value : word;
                case ":+" -> full ? word : "";
                default -> set ? word : ""; // "+"
            };
        }
        int start = pos;
        while (pos < text.length() && isNameChar(text.charAt(pos), pos == start)) {
            pos++;
        }
        if (pos == start) {
            return "$";
        }
        String value = lookup.apply(text.substring(start, pos));
        return value == null ? "" : value;
    }

    private static boolean isNameChar(char c, boolean first) {
        return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9';
    }

    private String shown() {
        String t = text.replace('\n', ' ');
        return t.length() > 120 ? t.substring(0, 117) + "..." : t;
    }
}
