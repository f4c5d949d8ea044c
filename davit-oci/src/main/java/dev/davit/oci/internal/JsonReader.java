package dev.davit.oci.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * The JSON reader behind {@link Json#read}: RFC 8259 text into Jackson's tree nodes, the very trees Jackson's mapper
 * builds ({@code JsonTest} compares them on random documents and on refused ones), with the same limits (nesting
 * depth 64, strings of at most 4 Mi chars, names of at most 50,000, numbers of at most 1,000 characters), duplicate
 * names refused and nothing allowed after the value.
 *
 * <p>Why not Jackson's parser: its base class holds {@code BigDecimal} constants, and on JDK 25 initialising
 * {@code BigDecimal} computes 5<sup>65536</sup>, ~7 ms of every one-shot command in a fresh JVM (a {@code run}, a
 * warm pull; docs/reference/benchmarks/CLI-ISSUE13.md, issue 13 part 9). Bytes must be well-formed UTF-8 (a byte-order mark is skipped);
 * Jackson also guesses UTF-16 and UTF-32 and lets overlong and surrogate sequences through, which this refuses.
 */
final class JsonReader {
    static final int MAX_DEPTH = 64;
    static final int MAX_STRING = 4 * 1024 * 1024;
    static final int MAX_NAME = 50_000;
    static final int MAX_NUMBER = 1000;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final String s;
    private int pos;

    private JsonReader(String s) {
        this.s = s;
    }

    static JsonNode read(byte[] bytes) throws IOException {
        int start = bytes.length >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB
                && (bytes[2] & 0xff) == 0xBF ? 3 : 0;
        String text;
        try {
            text = Text.strictUtf8(bytes, start);
        } catch (Text.MalformedUtf8 e) {
            throw new IOException("malformed JSON: not well-formed UTF-8");
        }
        return read(text);
    }

    static JsonNode read(String text) throws IOException {
        JsonReader r = new JsonReader(text);
        r.skipSpace();
        if (r.pos == text.length()) {
            throw new IOException("empty document");
        }
        JsonNode n = r.value(0);
        r.skipSpace();
        if (r.pos < text.length()) {
            throw r.error("Trailing token found after the value: not allowed");
        }
        return n;
    }

    private JsonNode value(int depth) throws IOException {
        if (pos >= s.length()) {
            throw error("unexpected end of input: expected a value");
        }
        char c = s.charAt(pos);
        switch (c) {
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case '"':
                return NODES.textNode(string(MAX_STRING));
            case 't':
                literal("true");
                return NODES.booleanNode(true);
            case 'f':
                literal("false");
                return NODES.booleanNode(false);
            case 'n':
                literal("null");
                return NODES.nullNode();
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error("unexpected character " + describe(c) + ": expected a value");
        }
    }

    private ObjectNode object(int depth) throws IOException {
        checkDepth(depth);
        pos++; // {
        ObjectNode o = NODES.objectNode();
        skipSpace();
        if (peek() == '}') {
            pos++;
            return o;
        }
        while (true) {
            if (peek() != '"') {
                throw error("unexpected character " + describeAt() + ": expected a field name");
            }
            String name = string(MAX_NAME);
            skipSpace();
            if (peek() != ':') {
                throw error("unexpected character " + describeAt() + ": expected ':' after a field name");
            }
            pos++;
            skipSpace();
            JsonNode v = value(depth);
            if (o.has(name)) {
                throw error("Duplicate field '" + name + "'");
            }
            o.set(name, v);
            skipSpace();
            char c = peek();
            pos++;
            if (c == '}') {
                return o;
            }
            if (c != ',') {
                pos--;
                throw error("unexpected character " + describeAt() + ": expected ',' or '}'");
            }
            skipSpace();
        }
    }

    private ArrayNode array(int depth) throws IOException {
        checkDepth(depth);
        pos++; // [
        ArrayNode a = NODES.arrayNode();
        skipSpace();
        if (peek() == ']') {
            pos++;
            return a;
        }
        while (true) {
            a.add(value(depth));
            skipSpace();
            char c = peek();
            pos++;
            if (c == ']') {
                return a;
            }
            if (c != ',') {
                pos--;
                throw error("unexpected character " + describeAt() + ": expected ',' or ']'");
            }
            skipSpace();
        }
    }

    private void checkDepth(int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw error("nesting depth " + depth + " exceeds the maximum allowed (" + MAX_DEPTH + ")");
        }
    }

    /** A string token at {@code pos} (its opening quote), unescaped. */
    private String string(int max) throws IOException {
        int start = ++pos;
        // the common case: no escapes
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c == '"') {
                if (pos - start > max) {
                    throw tooLong(max);
                }
                return s.substring(start, pos++);
            }
            if (c == '\\' || c < 0x20) {
                break;
            }
            pos++;
        }
        StringBuilder b = new StringBuilder(s.length() - start < 64 ? 16 : 64).append(s, start, pos);
        while (true) {
            if (pos >= s.length()) {
                throw error("unexpected end of input in a string");
            }
            char c = s.charAt(pos++);
            if (c == '"') {
                if (b.length() > max) {
                    throw tooLong(max);
                }
                return b.toString();
            }
            if (c < 0x20) {
                pos--;
                throw error("illegal unquoted character " + describe(c) + ": it must be escaped in a string");
            }
            if (c != '\\') {
                b.append(c);
            } else {
                if (pos >= s.length()) {
                    throw error("unexpected end of input in an escape");
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> b.append(hex4());
                    default -> {
                        pos--;
                        throw error("unrecognized character escape " + describe(e));
                    }
                }
            }
            if (b.length() > max) {
                throw tooLong(max);
            }
        }
    }

    private char hex4() throws IOException {
        if (pos + 4 > s.length()) {
            throw error("unexpected end of input in a \\u escape");
        }
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(s.charAt(pos), 16);
            if (d < 0 || s.charAt(pos) > 'f') {
                throw error("unexpected character " + describeAt() + " in a \\u escape: expected a hex digit");
            }
            v = v << 4 | d;
            pos++;
        }
        return (char) v;
    }

    private IOException tooLong(int max) {
        return error((max == MAX_NAME ? "name" : "string") + " length exceeds the maximum allowed (" + max + ")");
    }

    private JsonNode number() throws IOException {
        int start = pos;
        boolean negative = peek() == '-';
        if (negative) {
            pos++;
        }
        int intStart = pos;
        if (peek() == '0') {
            pos++;
            if (isDigit(peek())) {
                throw error("invalid numeric value: leading zeroes not allowed");
            }
        } else if (isDigit(peek())) {
            while (isDigit(peek())) {
                pos++;
            }
        } else {
            throw error("unexpected character " + describeAt() + ": expected a digit for a number");
        }
        int intEnd = pos;
        int length = intEnd - intStart;   // digits, as Jackson counts them
        boolean integer = true;
        if (peek() == '.') {
            integer = false;
            pos++;
            if (!isDigit(peek())) {
                throw error("unexpected character " + describeAt() + ": a decimal point must be followed by a digit");
            }
            while (isDigit(peek())) {
                pos++;
                length++;
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            integer = false;
            pos++;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            if (!isDigit(peek())) {
                throw error("unexpected character " + describeAt() + ": an exponent must have a digit");
            }
            while (isDigit(peek())) {
                pos++;
                length++;
            }
        }
        if (length > MAX_NUMBER) {
            throw error("number length (" + length + ") exceeds the maximum allowed (" + MAX_NUMBER + ")");
        }
        char after = peek();
        if (after != END && after != ',' && after != ']' && after != '}' && !isSpace(after)) {
            throw error("unexpected character " + describe(after) + " after a number");
        }
        String text = s.substring(start, pos);
        if (!integer) {
            return NODES.numberNode(Double.parseDouble(text));
        }
        int digits = intEnd - intStart;
        if (digits <= 18) {
            long v = Long.parseLong(text);
            return v == (int) v ? NODES.numberNode((int) v) : NODES.numberNode(v);
        }
        java.math.BigInteger big = new java.math.BigInteger(text);
        return big.bitLength() < 64 ? NODES.numberNode(big.longValue()) : NODES.numberNode(big);
    }

    private void literal(String word) throws IOException {
        if (!s.startsWith(word, pos)) {
            throw error("unrecognized token: expected " + word);
        }
        pos += word.length();
        char after = peek();
        if (after != END && (Character.isLetterOrDigit(after) || after == '_')) {
            throw error("unrecognized token '" + word + after + "...': expected " + word);
        }
    }

    private static final char END = '\uFFFF';

    /** The character at {@code pos}, or {@link #END} at the end (U+FFFF is never valid JSON outside a string). */
    private char peek() {
        return pos < s.length() ? s.charAt(pos) : END;
    }

    private void skipSpace() {
        while (pos < s.length() && isSpace(s.charAt(pos))) {
            pos++;
        }
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private String describeAt() {
        return pos < s.length() ? describe(s.charAt(pos)) : "(end of input)";
    }

    private static String describe(char c) {
        return c >= 0x20 && c < 0x7f ? "'" + c + "'" : "(code " + (int) c + ")";
    }

    private IOException error(String what) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < Math.min(pos, s.length()); i++) {
            if (s.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new IOException(what + " (line " + line + ", column " + col + ")");
    }
}
