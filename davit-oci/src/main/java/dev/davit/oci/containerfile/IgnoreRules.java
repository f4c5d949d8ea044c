package dev.davit.oci.containerfile;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The rules of a build context's {@code .dockerignore} (or {@code .containerignore}), read as Docker reads them.
 *
 * <p>One pattern a line. A line whose first character is {@code #} is a comment; white space around a pattern is
 * dropped, and a line left empty is skipped. A leading {@code !} makes the pattern an exception, which includes again
 * what it matches. Each pattern is cleaned as a path ({@code .} and empty segments dropped, {@code ..} folded, a
 * trailing {@code /} and a leading {@code /} removed), so {@code ./a}, {@code a/} and {@code /a} all mean {@code a}.
 *
 * <p>In a pattern {@code *} matches any run of characters but {@code /}, {@code ?} one character but {@code /},
 * {@code [...]} one character (not {@code /}) of a class (ranges {@code a-z}, negated by a leading {@code ^} or
 * {@code !}; {@code -} and {@code ]} in it must be escaped), {@code \} takes the next character literally, and
 * {@code **} matches any number of directories, none included ({@code **}{@code /*.go} is every {@code .go} file;
 * {@code a/**} is everything under {@code a}). A pattern matches a path if it matches all of the path or all of one
 * of its parent directories: ignoring a directory ignores everything in it. The last pattern that matches decides:
 * the path is excluded if that pattern is not an exception (so {@code *.md} then {@code !README.md} keeps
 * {@code README.md}).
 *
 * <p>Matching never backtracks: its time is bounded by the pattern's length times the path's. Instances are
 * immutable.
 */
public final class IgnoreRules {
    /** The most patterns a file may have. */
    static final int MAX_PATTERNS = 10_000;
    /** The longest line, in chars. */
    static final int MAX_LINE = 4096;

    private final List<String> patterns;
    private final SourceGlob.Matcher[] matchers;
    private final boolean[] exception;

    private IgnoreRules(List<String> patterns, SourceGlob.Matcher[] matchers, boolean[] exception) {
        this.patterns = List.copyOf(patterns);
        this.matchers = matchers;
        this.exception = exception;
    }

    /**
     * Reads the rules of an ignore file.
     *
     * @param text the file's text (a leading byte order mark is skipped; lines end with LF or CR LF)
     * @return the rules; none if the text has no pattern
     * @throws IllegalArgumentException naming the line and its pattern, for a malformed pattern (an unterminated or
     *                                  empty class, a bad range, a trailing {@code \}, a lone {@code !}), a line over
     *                                  4096 characters, or more than 10,000 patterns
     */
    public static IgnoreRules parse(String text) {
        Objects.requireNonNull(text, "text");
        List<String> shown = new ArrayList<>();
        List<SourceGlob.Matcher> matchers = new ArrayList<>();
        List<Boolean> exceptions = new ArrayList<>();
        int start = !text.isEmpty() && text.charAt(0) == '\uFEFF' ? 1 : 0;
        int lineNo = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            lineNo++;
            int length = end > start && text.charAt(end - 1) == '\r' ? end - 1 - start : end - start;
            if (length > MAX_LINE) {
                throw new IllegalArgumentException("line " + lineNo + " of the ignore file is longer than " + MAX_LINE
                        + " characters: " + SourceGlob.quote(text.substring(start, end)));
            }
            String line = text.substring(start, end);
            start = end + 1;
            if (line.startsWith("#")) {
                continue;
            }
            String pattern = line.strip();
            if (pattern.isEmpty()) {
                continue;
            }
            boolean isException = pattern.charAt(0) == '!';
            if (isException) {
                pattern = pattern.substring(1).strip();
                if (pattern.isEmpty()) {
                    throw new IllegalArgumentException("line " + lineNo + " of the ignore file: "
                            + SourceGlob.quote(line.strip()) + " is an exception without a pattern");
                }
            }
            pattern = clean(pattern);
            if (pattern.length() > 1 && pattern.charAt(0) == '/') {
                pattern = pattern.substring(1);
            }
            if (matchers.size() == MAX_PATTERNS) {
                throw new IllegalArgumentException("line " + lineNo + " of the ignore file: more than "
                        + MAX_PATTERNS + " patterns: " + SourceGlob.quote(line.strip()));
            }
            try {
                matchers.add(SourceGlob.Matcher.compile(pattern, true));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + lineNo + " of the ignore file: malformed pattern "
                        + SourceGlob.quote(line.strip()) + ": " + e.getMessage());
            }
            shown.add(isException ? "!" + pattern : pattern);
            exceptions.add(isException);
        }
        boolean[] exception = new boolean[exceptions.size()];
        for (int i = 0; i < exception.length; i++) {
            exception[i] = exceptions.get(i);
        }
        return new IgnoreRules(shown, matchers.toArray(SourceGlob.Matcher[]::new), exception);
    }

    /**
     * Whether the context leaves out {@code relPath}: the last pattern that matches it (or one of its parent
     * directories) is not an exception. The context root itself is never excluded.
     *
     * @param relPath a slash-separated path relative to the context root (it is cleaned first)
     * @return true if the path is excluded
     */
    public boolean excluded(String relPath) {
        String path = relative(relPath);
        if (path.isEmpty()) {
            return false;
        }
        for (int i = matchers.length - 1; i >= 0; i--) {
            if (matchers[i].matchesOrParent(path)) {
                return !exception[i];
            }
        }
        return false;
    }

    /**
     * Whether an exception could include something below directory {@code dirRelPath} again, so that a walk of the
     * context must go into that directory even when it is excluded. The answer is conservative: true if any
     * exception pattern (wherever it stands in the file) could match a path under the directory, or the directory or
     * one of its parents.
     *
     * @param dirRelPath a slash-separated directory path relative to the context root ({@code ""} for the root)
     * @return false only if no exception can match anything under the directory
     */
    public boolean mayIncludeUnder(String dirRelPath) {
        String dir = relative(dirRelPath);
        for (int i = 0; i < matchers.length; i++) {
            if (exception[i] && matchers[i].mayMatchUnder(dir)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The patterns as cleaned, in file order, each exception with its leading {@code !}.
     *
     * @return the patterns, unmodifiable
     */
    public List<String> patterns() {
        return patterns;
    }

    /**
     * The patterns, one a line.
     *
     * @return the patterns as {@link #patterns()} gives them, joined by line feeds
     */
    @Override
    public String toString() {
        return String.join("\n", patterns);
    }

    /** {@code path} cleaned, without a leading {@code /}; {@code ""} for the root. */
    private static String relative(String path) {
        Objects.requireNonNull(path, "path");
        String p = clean(path);
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        return p.equals(".") ? "" : p;
    }

    /**
     * {@code path} as Go's {@code filepath.Clean} gives it on Linux: repeated {@code /} as one, {@code .} segments
     * dropped, each {@code ..} taking away the segment before it ({@code ..} at the start of a rooted path dropped),
     * no trailing {@code /}; {@code .} if nothing is left.
     */
    static String clean(String path) {
        boolean rooted = path.startsWith("/");
        List<String> out = new ArrayList<>();
        int dotdots = 0;
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (segment.equals("..")) {
                if (out.size() > dotdots) {
                    out.remove(out.size() - 1);
                } else if (!rooted) {
                    out.add("..");
                    dotdots++;
                }
                continue;
            }
            out.add(segment);
        }
        String joined = String.join("/", out);
        if (rooted) {
            return "/" + joined;
        }
        return joined.isEmpty() ? "." : joined;
    }
}
