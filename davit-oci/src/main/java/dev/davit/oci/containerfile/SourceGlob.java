package dev.davit.oci.containerfile;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Wildcards in a {@code COPY} or {@code ADD} source, as Go's {@code filepath.Match} and {@code filepath.Glob} read them
 * on Linux: {@code *} matches any run of characters but {@code /}, {@code ?} one character but {@code /},
 * {@code [...]} one character of a class (ranges {@code a-z}, negated by a leading {@code ^}; it must not be empty,
 * and {@code -} or {@code ]} in it must be escaped), and {@code \} takes the next character literally. A pattern that
 * breaks these rules is refused with an {@link IllegalArgumentException}, whatever it is matched against.
 *
 * <p>Matching is a set-of-states simulation (no backtracking): its time is at most the pattern's length times the
 * name's, whatever the pattern.
 */
public final class SourceGlob {
    /** The most paths {@link #expand} gives (and keeps as candidates at any one level). */
    static final int MAX_RESULTS = 100_000;

    private SourceGlob() {
    }

    /**
     * Whether {@code pattern} has a wildcard: an {@code *}, {@code ?} or {@code [} that the escape character
     * {@code \} does not take literally.
     *
     * @param pattern the pattern
     * @return true if some character of it is a wildcard
     */
    public static boolean hasMeta(String pattern) {
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '*' || c == '?' || c == '[') {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether all of {@code name} matches {@code pattern}, one path segment as Go's {@code filepath.Match} sees it:
     * {@code *} and {@code ?} never match {@code /} (and {@code **} is just two {@code *}).
     *
     * @param pattern the pattern
     * @param name    the name to match
     * @return true if the whole name matches
     * @throws IllegalArgumentException if the pattern is malformed (an unterminated or empty class, a bad range, a
     *                                  trailing {@code \})
     */
    public static boolean matches(String pattern, String name) {
        return compileSegment(pattern).matches(name);
    }

    /**
     * The relative paths that a slash-separated pattern (such as {@code src/*.java} or {@code *}{@code /config.?})
     * names, expanding it one segment at a time. A segment with a wildcard is matched against the names that
     * {@code listDir} gives for each directory reached so far ({@code .} and {@code ..} are never matched); a segment
     * without one is appended as it is (its escapes removed) without listing anything, so the caller checks that
     * such paths exist. Empty and {@code .} segments, and a leading {@code /}, are dropped; a pattern that is
     * nothing else gives the context root, {@code ""}.
     *
     * @param pattern the source pattern, relative to the context root
     * @param listDir the names in a directory, given its path relative to the root ({@code ""} for the root); an
     *                empty list (or null) if it is not a directory
     * @return the paths, sorted (by code point, as Go sorts bytes), without duplicates
     * @throws IllegalArgumentException if the pattern is malformed, has a {@code ..} segment, or names more than
     *                                  100,000 paths
     */
    public static List<String> expand(String pattern, Function<String, List<String>> listDir) {
        Objects.requireNonNull(pattern, "pattern");
        Objects.requireNonNull(listDir, "listDir");
        List<String> segments = new ArrayList<>();
        List<Matcher> matchers = new ArrayList<>();
        for (String segment : pattern.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (hasMeta(segment)) {
                matchers.add(compileSegment(segment));
            } else {
                segment = unescape(segment, pattern);
                if (segment.equals("..")) {
                    throw new IllegalArgumentException("source " + quote(pattern) + " must not contain '..'");
                }
                matchers.add(null);
            }
            segments.add(segment);
        }
        List<String> current = List.of("");
        for (int s = 0; s < segments.size() && !current.isEmpty(); s++) {
            Matcher m = matchers.get(s);
            List<String> next = new ArrayList<>();
            for (String dir : current) {
                if (m == null) {
                    next.add(join(dir, segments.get(s)));
                } else {
                    List<String> names = listDir.apply(dir);
                    if (names == null) {
                        continue;
                    }
                    for (String name : names) {
                        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..")
                                || name.indexOf('/') >= 0 || !m.matches(name)) {
                            continue;
                        }
                        next.add(join(dir, name));
                        if (next.size() > MAX_RESULTS) {
                            break;
                        }
                    }
                }
                if (next.size() > MAX_RESULTS) {
                    throw new IllegalArgumentException("source " + quote(pattern) + " matches more than "
                            + MAX_RESULTS + " paths");
                }
            }
            current = next;
        }
        String[] out = current.toArray(String[]::new);
        Arrays.sort(out, SourceGlob::compareCodePoints);
        List<String> result = new ArrayList<>(out.length);
        for (String p : out) {
            if (result.isEmpty() || !result.get(result.size() - 1).equals(p)) {
                result.add(p);
            }
        }
        return List.copyOf(result);
    }

    private static String join(String dir, String name) {
        return dir.isEmpty() ? name : dir + "/" + name;
    }

    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }

    /** {@code segment} with each escape removed; a trailing escape is malformed. */
    private static String unescape(String segment, String pattern) {
        if (segment.indexOf('\\') < 0) {
            return segment;
        }
        StringBuilder b = new StringBuilder(segment.length());
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c == '\\') {
                if (++i == segment.length()) {
                    throw new IllegalArgumentException("malformed pattern " + quote(pattern) + ": trailing '\\'");
                }
                c = segment.charAt(i);
            }
            b.append(c);
        }
        return b.toString();
    }

    private static Matcher compileSegment(String pattern) {
        Objects.requireNonNull(pattern, "pattern");
        try {
            return Matcher.compile(pattern, false);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malformed pattern " + quote(pattern) + ": " + e.getMessage());
        }
    }

    /**
     * {@code s} for a one-line message: in double quotes, control characters as {@code \\uXXXX}, cut after 100
     * characters.
     */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        int n = Math.min(s.length(), 100);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || c == '\u0085') {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (s.length() > n) {
            b.append("...");
        }
        return b.append('"').toString();
    }

    /**
     * A compiled pattern and its matcher, shared with {@link IgnoreRules}. The pattern becomes a sequence of tokens,
     * each matching one character (a literal, {@code ?}, a class) or a run ({@code *}; and in path mode {@code **});
     * a match follows every way through the tokens at once, one character at a time, so its time is bounded by the
     * number of tokens times the length of the text.
     *
     * <p>Segment mode (Go's {@code filepath.Match}): a class is negated by {@code ^} only and may match {@code /}.
     * Path mode (a {@code .dockerignore} pattern, after moby's patternmatcher): {@code **} at the end of the pattern
     * matches anything, {@code **} elsewhere (with a {@code /} right after it, which it takes) matches nothing or
     * anything that ends with {@code /}, so any number of whole directories; a class is negated by {@code ^} or
     * {@code !} and never matches {@code /}.
     */
    static final class Matcher {
        private static final byte LITERAL = 0;
        private static final byte ONE = 1;
        private static final byte CLASS = 2;
        private static final byte STAR = 3;
        /** {@code **} at the end: any characters. */
        private static final byte ALL = 4;
        /** {@code **} elsewhere: nothing, or any characters ending with {@code /}. */
        private static final byte DIRS = 5;

        private final byte[] kinds;
        private final int[] literals;
        private final int[][] classes;
        private final boolean[] negated;
        private final boolean pathMode;

        private Matcher(byte[] kinds, int[] literals, int[][] classes, boolean[] negated, boolean pathMode) {
            this.kinds = kinds;
            this.literals = literals;
            this.classes = classes;
            this.negated = negated;
            this.pathMode = pathMode;
        }

        /**
         * Compiles {@code pattern}.
         *
         * @param pattern  the pattern
         * @param pathMode true for a {@code .dockerignore} pattern (see the class comment), false for one segment
         * @return the matcher
         * @throws IllegalArgumentException naming what is malformed (the message does not repeat the pattern)
         */
        static Matcher compile(String pattern, boolean pathMode) {
            int[] cps = pattern.codePoints().toArray();
            int cap = cps.length;
            byte[] kinds = new byte[cap];
            int[] literals = new int[cap];
            int[][] classes = new int[cap][];
            boolean[] negated = new boolean[cap];
            int n = 0;
            int i = 0;
            while (i < cps.length) {
                int c = cps[i++];
                switch (c) {
                    case '*' -> {
                        if (pathMode && i < cps.length && cps[i] == '*') {
                            i++;
                            if (i < cps.length && cps[i] == '/') {
                                i++;
                            }
                            kinds[n++] = i == cps.length ? ALL : DIRS;
                        } else {
                            kinds[n++] = STAR;
                        }
                    }
                    case '?' -> kinds[n++] = ONE;
                    case '\\' -> {
                        if (i == cps.length) {
                            throw new IllegalArgumentException("trailing '\\'");
                        }
                        kinds[n] = LITERAL;
                        literals[n++] = cps[i++];
                    }
                    case '[' -> {
                        if (i < cps.length && (cps[i] == '^' || pathMode && cps[i] == '!')) {
                            negated[n] = true;
                            i++;
                        }
                        List<Integer> ranges = new ArrayList<>();
                        while (true) {
                            if (i == cps.length) {
                                throw new IllegalArgumentException("unterminated character class");
                            }
                            if (cps[i] == ']') {
                                if (ranges.isEmpty()) {
                                    throw new IllegalArgumentException("empty character class (escape a ']' in it)");
                                }
                                i++;
                                break;
                            }
                            int[] lo = classChar(cps, i);
                            i = lo[1];
                            int hi = lo[0];
                            if (i < cps.length && cps[i] == '-') {
                                int[] h = classChar(cps, i + 1);
                                hi = h[0];
                                i = h[1];
                            }
                            ranges.add(lo[0]);
                            ranges.add(hi);
                        }
                        kinds[n] = CLASS;
                        classes[n++] = ranges.stream().mapToInt(Integer::intValue).toArray();
                    }
                    default -> {
                        kinds[n] = LITERAL;
                        literals[n++] = c;
                    }
                }
            }
            return new Matcher(Arrays.copyOf(kinds, n), Arrays.copyOf(literals, n), Arrays.copyOf(classes, n),
                    Arrays.copyOf(negated, n), pathMode);
        }

        /** The class character at {@code cps[i]} (escape allowed) and the index after it. */
        private static int[] classChar(int[] cps, int i) {
            if (i >= cps.length) {
                throw new IllegalArgumentException("unterminated character class");
            }
            int c = cps[i];
            if (c == '-' || c == ']') {
                throw new IllegalArgumentException("bad range in character class (escape a '" + (char) c
                        + "' in it)");
            }
            if (c == '\\') {
                if (++i >= cps.length) {
                    throw new IllegalArgumentException("unterminated character class");
                }
                c = cps[i];
            }
            if (i + 1 >= cps.length) {
                throw new IllegalArgumentException("unterminated character class");
            }
            return new int[] {c, i + 1};
        }

        /**
         * Whether all of {@code text} matches.
         *
         * @param text the text
         * @return true if it matches
         */
        boolean matches(String text) {
            return run(text, false, false);
        }

        /**
         * Whether {@code path} or one of its parent directories matches (path mode).
         *
         * @param path a clean relative path
         * @return true if it or a parent matches
         */
        boolean matchesOrParent(String path) {
            return run(path, true, false);
        }

        /**
         * Whether some path under directory {@code dir} (or {@code dir} or one of its parents) could match; a
         * conservative answer (every state left alive after {@code dir/} is taken to reach the end).
         *
         * @param dir a clean relative directory path, {@code ""} for the root
         * @return false only if no path under {@code dir} can match
         */
        boolean mayMatchUnder(String dir) {
            return run(dir.isEmpty() ? "" : dir + "/", true, true);
        }

        private boolean run(String text, boolean parents, boolean alive) {
            int n = kinds.length;
            boolean[] cur = new boolean[n + 1];
            boolean[] inner = new boolean[n];
            boolean[] next = new boolean[n + 1];
            boolean[] nextInner = new boolean[n];
            cur[0] = true;
            close(cur);
            int i = 0;
            while (i < text.length()) {
                int c = text.codePointAt(i);
                if (parents && c == '/' && i > 0 && cur[n]) {
                    return true;
                }
                Arrays.fill(next, false);
                Arrays.fill(nextInner, false);
                boolean any = false;
                for (int t = 0; t < n; t++) {
                    if (inner[t]) {
                        nextInner[t] = true;
                        any = true;
                        if (c == '/') {
                            next[t + 1] = true;
                        }
                    }
                    if (!cur[t]) {
                        continue;
                    }
                    switch (kinds[t]) {
                        case LITERAL -> {
                            if (literals[t] == c) {
                                next[t + 1] = true;
                                any = true;
                            }
                        }
                        case ONE -> {
                            if (c != '/') {
                                next[t + 1] = true;
                                any = true;
                            }
                        }
                        case CLASS -> {
                            if ((!pathMode || c != '/') && inClass(t, c)) {
                                next[t + 1] = true;
                                any = true;
                            }
                        }
                        case STAR -> {
                            if (c != '/') {
                                next[t] = true;
                                any = true;
                            }
                        }
                        case ALL -> {
                            next[t] = true;
                            any = true;
                        }
                        default -> { // DIRS
                            nextInner[t] = true;
                            any = true;
                            if (c == '/') {
                                next[t + 1] = true;
                            }
                        }
                    }
                }
                if (!any) {
                    return false;
                }
                close(next);
                boolean[] swap = cur;
                cur = next;
                next = swap;
                swap = inner;
                inner = nextInner;
                nextInner = swap;
                i += Character.charCount(c);
            }
            if (cur[n]) {
                return true;
            }
            if (alive) {
                for (int t = 0; t < n; t++) {
                    if (cur[t] || inner[t]) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** Adds the states reached without a character: past each run token, which may match nothing. */
        private void close(boolean[] states) {
            for (int t = 0; t < kinds.length; t++) {
                if (states[t] && kinds[t] >= STAR) {
                    states[t + 1] = true;
                }
            }
        }

        private boolean inClass(int t, int c) {
            int[] r = classes[t];
            boolean in = false;
            for (int k = 0; k < r.length; k += 2) {
                if (r[k] <= c && c <= r[k + 1]) {
                    in = true;
                    break;
                }
            }
            return in != negated[t];
        }
    }
}
