package dev.davit.oci.auth;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A lenient, linear-time parser for one {@code WWW-Authenticate} header value (RFC 7235 section 4.1, with the
 * list rules of RFC 9110 section 5.6.1: empty list elements and optional whitespace are allowed).
 *
 * <pre>
 * challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 * auth-param  = token BWS "=" BWS ( token / quoted-string )
 * token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 * </pre>
 *
 * <p>After a comma, an element of the form {@code token BWS "="} continues the current challenge's
 * parameters; anything else starts a new challenge. Leniencies beyond the RFC: tabs count as spaces, an
 * unquoted value may hold any visible character but comma and double quote (some servers send
 * {@code realm=https://auth/token}), and a parameter after the first may have an empty unquoted value
 * ({@code service=,}). A malformed challenge is dropped together with the parameter elements that follow it.
 */
final class ChallengeParser {
    private final String s;
    private final List<Challenge> out;
    private int pos;

    ChallengeParser(String s, List<Challenge> out) {
        this.s = s;
        this.out = out;
    }

    void run() {
        boolean skipping = false;
        while (true) {
            skipSeparators();
            if (atEnd()) {
                return;
            }
            if (skipping && atParam()) {
                skipElement();
                continue;
            }
            skipping = false;
            int start = pos;
            Challenge c = challenge();
            if (c == null) {
                pos = start;
                skipElement();
                skipping = true;
            } else {
                out.add(c);
            }
        }
    }

    /** Parses one challenge, leaving pos at the comma after it or at the end; null if malformed. */
    private Challenge challenge() {
        String scheme = token();
        if (scheme.isEmpty()) {
            return null;
        }
        if (atEnd() || peek() == ',') {
            return new Challenge(scheme, Map.of(), "");
        }
        if (!isSpace(peek())) {
            return null;
        }
        skipSpaces();
        if (atEnd() || peek() == ',') {
            return new Challenge(scheme, Map.of(), "");
        }
        int mark = pos;
        String t68 = token68();
        if (t68 != null) {
            return new Challenge(scheme, Map.of(), t68);
        }
        pos = mark;
        Map<String, String> params = new LinkedHashMap<>();
        while (true) {
            if (!param(params)) {
                return null;
            }
            skipSpaces();
            if (atEnd()) {
                break;
            }
            if (peek() != ',') {
                return null;
            }
            int comma = pos;
            skipSeparators();
            if (atEnd() || !atParam()) {
                pos = comma;
                break;
            }
        }
        return new Challenge(scheme, params, "");
    }

    /** A token68 that is the whole challenge body (followed by the end, or a comma not before a param). */
    private String token68() {
        int start = pos;
        while (!atEnd() && isToken68Char(peek())) {
            pos++;
        }
        if (pos == start) {
            return null;
        }
        while (!atEnd() && peek() == '=') {
            pos++;
        }
        String value = s.substring(start, pos);
        skipSpaces();
        if (atEnd()) {
            return value;
        }
        if (peek() != ',') {
            return null;
        }
        int comma = pos;
        skipSeparators();
        boolean paramFollows = !atEnd() && atParam();
        pos = comma;
        return paramFollows ? null : value;
    }

    private boolean param(Map<String, String> params) {
        String name = token();
        if (name.isEmpty()) {
            return false;
        }
        skipSpaces();
        if (atEnd() || peek() != '=') {
            return false;
        }
        pos++;
        skipSpaces();
        String value;
        if (atEnd() || peek() == ',') {
            value = "";
        } else if (peek() == '"') {
            value = quotedString();
            if (value == null) {
                return false;
            }
        } else {
            value = unquotedValue();
            if (value.isEmpty()) {
                return false;
            }
        }
        return params.putIfAbsent(name.toLowerCase(Locale.ROOT), value) == null;
    }

    /** Reads a quoted-string starting at the opening quote; returns its unescaped content or null. */
    private String quotedString() {
        pos++;
        StringBuilder b = new StringBuilder();
        while (!atEnd()) {
            char c = s.charAt(pos++);
            if (c == '"') {
                return b.toString();
            }
            if (c == '\\') {
                if (atEnd()) {
                    return null;
                }
                c = s.charAt(pos++);
            }
            if (isControl(c)) {
                return null;
            }
            b.append(c);
        }
        return null;
    }

    /** Whether the next element looks like {@code token BWS "="}; does not move. */
    private boolean atParam() {
        int mark = pos;
        boolean result = !token().isEmpty();
        if (result) {
            skipSpaces();
            result = !atEnd() && peek() == '=';
        }
        pos = mark;
        return result;
    }

    /** Moves to the next comma outside a quoted-string, or to the end. */
    private void skipElement() {
        boolean quoted = false;
        while (!atEnd()) {
            char c = peek();
            if (quoted) {
                if (c == '\\') {
                    pos++;
                } else if (c == '"') {
                    quoted = false;
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                return;
            }
            pos++;
        }
        pos = s.length();
    }

    private String unquotedValue() {
        int start = pos;
        while (!atEnd() && peek() > 0x20 && peek() != 0x7f && peek() != ',' && peek() != '"'
                && (peek() < 0x80 || peek() >= 0xa0)) {
            pos++;
        }
        return s.substring(start, pos);
    }

    private String token() {
        int start = pos;
        while (!atEnd() && isTokenChar(peek())) {
            pos++;
        }
        return s.substring(start, pos);
    }

    private void skipSpaces() {
        while (!atEnd() && isSpace(peek())) {
            pos++;
        }
    }

    private void skipSeparators() {
        while (!atEnd() && (isSpace(peek()) || peek() == ',')) {
            pos++;
        }
    }

    private boolean atEnd() {
        return pos >= s.length();
    }

    private char peek() {
        return s.charAt(pos);
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }

    private static boolean isControl(char c) {
        return (c < 0x20 && c != '\t') || c == 0x7f;
    }

    private static boolean isAlphaNum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    /** RFC 9110 tchar. */
    static boolean isTokenChar(char c) {
        return isAlphaNum(c) || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }

    private static boolean isToken68Char(char c) {
        return isAlphaNum(c) || "-._~+/".indexOf(c) >= 0;
    }
}
