package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A unified diff as {@code git diff} and {@code diff -u} write it, parsed and applied in memory: {@code ---} and
 * {@code +++} headers (optional {@code a/} and {@code b/} prefixes, a tab and timestamp after the name, /dev/null
 * for an added or deleted file), several files, several hunks, {@code \ No newline at end of file}. Context must
 * match exactly (no fuzz); a hunk that is not at its line is looked for nearest to it. Text is handled as bytes
 * (ISO-8859-1 both ways), so any encoding and CRLF line ends pass through unchanged.
 */
final class UnifiedPatch {
    private static final Pattern HUNK = Pattern.compile("@@ -(\\d+)(?:,(\\d+))? \\+(\\d+)(?:,(\\d+))? @@.*");
    private static final String NO_NEWLINE = "\\ No newline at end of file";

    private UnifiedPatch() {
    }

    /** One hunk: its old lines (context and removed) and new lines (context and added), each with its line end. */
    record Hunk(int oldStart, String header, List<String> oldLines, List<String> newLines) {
    }

    /**
     * The changes to one file.
     *
     * @param path    relative to /workspace (checked by {@link WorkspacePath#normalise})
     * @param added   the old side is /dev/null
     * @param deleted the new side is /dev/null
     */
    record FilePatch(String path, boolean added, boolean deleted, List<Hunk> hunks) {
        /**
         * The content after the hunks, from {@code before} (null: the file is missing); null when the patch
         * deletes the file. Fails, naming the file and the hunk, when a hunk does not match.
         */
        byte[] apply(byte[] before) {
            if (added && before != null) {
                throw fail("it adds " + path + ", which already exists in /workspace");
            }
            if (!added && before == null) {
                throw fail("it changes " + path + ", which is not in /workspace");
            }
            List<String> lines = split(before == null ? "" : new String(before, StandardCharsets.ISO_8859_1));
            int from = 0;
            int shift = 0;
            for (int h = 0; h < hunks.size(); h++) {
                Hunk k = hunks.get(h);
                // the hunk's line (0-based; a pure insertion goes after line oldStart), moved as earlier hunks moved
                int nominal = k.oldLines().isEmpty() ? k.oldStart() : k.oldStart() - 1;
                int expected = Math.max(from, nominal + shift);
                int at = find(lines, k.oldLines(), from, expected);
                if (at < 0) {
                    throw fail("hunk " + (h + 1) + " of " + path + " (" + k.header() + ") does not match the"
                            + " current content");
                }
                List<String> tail = new ArrayList<>(lines.subList(at + k.oldLines().size(), lines.size()));
                lines = new ArrayList<>(lines.subList(0, at));
                lines.addAll(k.newLines());
                from = lines.size();
                lines.addAll(tail);
                shift = at - nominal + k.newLines().size() - k.oldLines().size();
            }
            String after = String.join("", lines);
            if (deleted) {
                if (!after.isEmpty()) {
                    throw fail("it deletes " + path + " but its hunks do not remove all of its content");
                }
                return null;
            }
            return after.getBytes(StandardCharsets.ISO_8859_1);
        }

        private static DavitException fail(String what) {
            return new DavitException(Kind.STATE, "the patch does not apply: " + what + "; nothing was changed");
        }
    }

    /** The first position nearest {@code expected} (at or after {@code from}) where {@code want} matches. */
    private static int find(List<String> lines, List<String> want, int from, int expected) {
        int max = lines.size() - want.size();
        for (int d = 0; expected - d >= from || expected + d <= max; d++) {
            if (expected + d <= max && expected + d >= from && matches(lines, want, expected + d)) {
                return expected + d;
            }
            if (d > 0 && expected - d >= from && expected - d <= max && matches(lines, want, expected - d)) {
                return expected - d;
            }
        }
        return -1;
    }

    private static boolean matches(List<String> lines, List<String> want, int at) {
        for (int i = 0; i < want.size(); i++) {
            if (!lines.get(at + i).equals(want.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** The lines of {@code text}, each with its {@code \n} (the last one may have none). */
    private static List<String> split(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int nl = text.indexOf('\n', start);
            int end = nl < 0 ? text.length() : nl + 1;
            out.add(text.substring(start, end));
            start = end;
        }
        return out;
    }

    /** The file patches of {@code patch}, in order; a usage error naming the line when it is malformed. */
    static List<FilePatch> parse(byte[] patch) {
        return parse(patch, new ArrayList<>());
    }

    /**
     * {@link #parse(byte[])}, hunks whose header miscounts their lines taken as git apply --recount takes them (the
     * lines up to the next hunk or file), each such hunk said in {@code notes}.
     */
    static List<FilePatch> parse(byte[] patch, List<String> notes) {
        List<String> lines = split(new String(patch, StandardCharsets.ISO_8859_1));
        List<FilePatch> out = new ArrayList<>();
        int i = 0;
        while (i < lines.size()) {
            String l = strip(lines.get(i));
            if ((l.startsWith("Binary files ") || l.startsWith("Files ")) && l.endsWith(" differ")) {
                throw bad(i, "it holds a binary change (" + l + "), which a unified diff cannot carry; push the file"
                        + " instead");
            }
            if (l.startsWith("rename from ") || l.startsWith("copy from ") || l.equals("GIT binary patch")) {
                throw bad(i, "it holds a git rename, copy or binary patch ('" + l + "'), which davit does not"
                        + " apply; give plain unified diffs");
            }
            if (!l.startsWith("--- ") || i + 1 >= lines.size() || !strip(lines.get(i + 1)).startsWith("+++ ")) {
                i++; // git's "diff --git", "index ..." and any other text between files
                continue;
            }
            String oldName = name(l.substring(4), "a/", i);
            String newName = name(strip(lines.get(i + 1)).substring(4), "b/", i + 1);
            boolean added = oldName == null;
            boolean deleted = newName == null;
            if (added && deleted) {
                throw bad(i, "both sides are /dev/null");
            }
            String path = WorkspacePath.normalise(deleted ? oldName : newName);
            if (path.isEmpty()) {
                throw bad(i, "it names /workspace itself");
            }
            i += 2;
            List<Hunk> hunks = new ArrayList<>();
            while (i < lines.size() && strip(lines.get(i)).startsWith("@@ ")) {
                String header = strip(lines.get(i));
                Matcher m = HUNK.matcher(header);
                if (!m.matches()) {
                    throw bad(i, "bad hunk header '" + header + "'");
                }
                int oldStart = Integer.parseInt(m.group(1));
                int oldCount = m.group(2) == null ? 1 : Integer.parseInt(m.group(2));
                int newCount = m.group(4) == null ? 1 : Integer.parseInt(m.group(4));
                List<String> oldLines = new ArrayList<>();
                List<String> newLines = new ArrayList<>();
                int end;
                try {
                    end = body(lines, i + 1, oldCount, newCount, header, path, oldLines, newLines);
                    int next = end;
                    while (next < lines.size() && lines.get(next).equals("\n")) {
                        next++; // blank lines after a hunk: between files, or a patch's end
                    }
                    if (next < lines.size() && bodyLine(lines, next) && !boundary(lines, next)) {
                        throw bad(next, "hunk '" + header + "' of " + path + " has more lines than its header"
                                + " says");
                    }
                } catch (DavitException counted) {
                    // as git apply --recount: the hunk is what follows its header up to the next hunk or file, its
                    // counts taken from that; said in the notes, or, when even that is no hunk, the counts' error
                    oldLines.clear();
                    newLines.clear();
                    end = recount(lines, i + 1, header, path, oldLines, newLines, counted);
                    if (oldCount > 0 && oldLines.isEmpty() || newCount > 0 && newLines.isEmpty()) {
                        throw counted; // a side the header has is all gone: a patch cut short, not miscounted
                    }
                    notes.add("hunk " + (hunks.size() + 1) + " of " + path + ": its header " + header
                            + " miscounts its lines; counted -" + oldStart + "," + oldLines.size() + " +"
                            + m.group(3) + "," + newLines.size() + " and applied as that");
                }
                i = end;
                hunks.add(new Hunk(oldStart, header, oldLines, newLines));
            }
            if (hunks.isEmpty() && !added) {
                throw bad(i, "no hunk for " + path);
            }
            out.add(new FilePatch(path, added, deleted, hunks));
        }
        if (out.isEmpty()) {
            throw new DavitException(Kind.USAGE, "the patch holds no file changes (no '--- ' and '+++ ' lines); give"
                    + " a unified diff as 'git diff' or 'diff -u' write it");
        }
        return out;
    }

    /**
     * Reads a hunk's body from line {@code i} as its header counts it ({@code oldCount} old, {@code newCount} new
     * lines) into {@code oldLines} and {@code newLines}; returns the line after it.
     */
    private static int body(List<String> lines, int i, int oldCount, int newCount, String header, String path,
                            List<String> oldLines, List<String> newLines) {
        int o = 0;
        int n = 0;
        while (o < oldCount || n < newCount) {
            if (i >= lines.size()) {
                throw bad(i - 1, "hunk '" + header + "' of " + path + " ends early");
            }
            char c = kind(lines.get(i));
            if (c != ' ' && c != '-' && c != '+') {
                String line = lines.get(i);
                throw bad(i, line.startsWith(WorkspaceDiff.REDACTED_LINE.substring(0, 8))
                        ? "the diff of " + path + " shows a secret value redacted (" + strip(line) + ")"
                        : "unexpected line in hunk '" + header + "' of " + path);
            }
            i = take(lines, i, oldLines, newLines);
            o += c == '+' ? 0 : 1;
            n += c == '-' ? 0 : 1;
            if (o > oldCount || n > newCount) {
                throw bad(i - 1, "hunk '" + header + "' of " + path + " has more lines than its header says");
            }
        }
        return i;
    }

    /**
     * Reads a hunk's body from line {@code i} up to the next hunk header, file header or line that is no hunk line
     * (blank lines at its end left out), whatever its header counted; returns the line after it. Throws
     * {@code counted} (the error of the header's counts) when that gives no hunk, or one with a redacted line.
     */
    private static int recount(List<String> lines, int i, String header, String path, List<String> oldLines,
                               List<String> newLines, DavitException counted) {
        int end = i;
        while (end < lines.size() && bodyLine(lines, end)) {
            end++;
            if (end < lines.size() && strip(lines.get(end)).equals(NO_NEWLINE)) {
                end++;
            }
        }
        int last = end;
        while (last > i && lines.get(last - 1).equals("\n")) {
            last--; // a blank line after a hunk is no context line
        }
        if (last == i || !boundary(lines, end)) {
            throw counted; // no hunk, or one cut short by a line no hunk has (e.g. a redacted one)
        }
        for (int k = i; k < last; ) {
            k = take(lines, k, oldLines, newLines);
        }
        return end;
    }

    /**
     * Whether line {@code i} may be a hunk line: a context, removed or added line, or a blank one; not the next
     * hunk's header nor a file's {@code ---}/{@code +++} pair.
     */
    private static boolean bodyLine(List<String> lines, int i) {
        String line = lines.get(i);
        if (line.startsWith("--- ") && i + 1 < lines.size() && lines.get(i + 1).startsWith("+++ ")) {
            return false;
        }
        char c = kind(line);
        return c == ' ' || c == '-' || c == '+';
    }

    /** Whether line {@code i} is where a hunk may end: the patch's end, the next hunk, file or git header. */
    private static boolean boundary(List<String> lines, int i) {
        if (i >= lines.size()) {
            return true;
        }
        String line = lines.get(i);
        return line.startsWith("@@ ") || line.startsWith("diff ")
                || line.startsWith("--- ") && i + 1 < lines.size() && lines.get(i + 1).startsWith("+++ ");
    }

    /** A hunk line's kind: its first character; a blank line is a context line (some tools strip the space). */
    private static char kind(String line) {
        return line.isEmpty() || line.equals("\n") || line.equals("\r\n") ? ' ' : line.charAt(0);
    }

    /** Takes hunk line {@code i} (and a no-newline marker after it) into the sides; returns the line after. */
    private static int take(List<String> lines, int i, List<String> oldLines, List<String> newLines) {
        String line = lines.get(i);
        char c = kind(line);
        String body = line.isEmpty() || line.equals("\n") ? "\n" : line.equals("\r\n") ? "\r\n"
                : line.substring(1);
        boolean noNewline = i + 1 < lines.size() && strip(lines.get(i + 1)).equals(NO_NEWLINE);
        if (noNewline && body.endsWith("\n")) {
            body = body.substring(0, body.length() - 1);
        }
        if (c != '+') {
            oldLines.add(body);
        }
        if (c != '-') {
            newLines.add(body);
        }
        return i + (noNewline ? 2 : 1);
    }

    /**
     * The file name of a {@code ---}/{@code +++} header: null for /dev/null, without a timestamp and prefix. A name
     * in double quotes is read as git writes it ({@link #quoted}). {@code line}: the header's index, for errors.
     */
    private static String name(String field, String prefix, int line) {
        String n;
        if (field.startsWith("\"")) {
            n = unquoted(field, line);
        } else {
            int tab = field.indexOf('\t');
            n = tab >= 0 ? field.substring(0, tab) : field;
            if (n.equals("/dev/null")) {
                return null;
            }
            n = utf8(n.getBytes(StandardCharsets.ISO_8859_1), line);
        }
        return n.startsWith(prefix) ? n.substring(prefix.length()) : n;
    }

    /**
     * {@code name} as a patch header names it, as git does: unchanged when it holds no byte below 0x20, no DEL,
     * {@code "}, backslash or byte of 0x80 and above; else in double quotes with C escapes ({@code \t}, {@code \n},
     * {@code \"}, {@code \\}, ...; other such bytes as three octal digits of their UTF-8 form). {@code git apply} and
     * GNU {@code patch} read it back, and a name can never end a header line or start another.
     *
     * @param name a path with its {@code a/} or {@code b/} prefix
     * @return the name as a header gives it
     */
    static String quoted(String name) {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        boolean plain = true;
        for (byte x : b) {
            int c = x & 0xff;
            plain &= c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        }
        if (plain) {
            return name;
        }
        StringBuilder o = new StringBuilder("\"");
        for (byte x : b) {
            int c = x & 0xff;
            int i = ESCAPED.indexOf(c);
            if (i >= 0) {
                o.append('\\').append(ESCAPES.charAt(i));
            } else if (c < 0x20 || c >= 0x7f) {
                o.append('\\').append((char) ('0' + (c >> 6))).append((char) ('0' + ((c >> 3) & 7)))
                        .append((char) ('0' + (c & 7)));
            } else {
                o.append((char) c);
            }
        }
        return o.append('"').toString();
    }

    /** The bytes {@link #quoted} writes as C escapes, and the letter of each. */
    private static final String ESCAPED = "\u0007\b\t\n\u000b\f\r\"\\";
    private static final String ESCAPES = "abtnvfr\"\\";

    /** The name in {@code field}, which starts with a double quote: {@link #quoted} read back. */
    private static String unquoted(String field, int line) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        int i = 1;
        while (true) {
            if (i >= field.length()) {
                throw bad(line, "a quoted name has no closing quote");
            }
            char c = field.charAt(i++);
            if (c == '"') {
                break;
            }
            if (c != '\\') {
                b.write(c); // ISO-8859-1: one char per byte
                continue;
            }
            if (i >= field.length()) {
                throw bad(line, "a quoted name ends in a backslash");
            }
            char e = field.charAt(i++);
            int k = ESCAPES.indexOf(e);
            if (k >= 0) {
                b.write(ESCAPED.charAt(k));
            } else if (e >= '0' && e <= '3' && i + 1 < field.length() && octal(field.charAt(i))
                    && octal(field.charAt(i + 1))) {
                b.write(((e - '0') << 6) | ((field.charAt(i) - '0') << 3) | (field.charAt(i + 1) - '0'));
                i += 2;
            } else {
                throw bad(line, "a quoted name holds an unknown escape '\\" + e + "'");
            }
        }
        String rest = field.substring(i);
        if (!rest.isEmpty() && !rest.startsWith("\t")) {
            throw bad(line, "text after a quoted name");
        }
        return utf8(b.toByteArray(), line);
    }

    private static boolean octal(char c) {
        return c >= '0' && c <= '7';
    }

    /** A name's bytes as UTF-8, strictly: a name that is not UTF-8 is refused, as /workspace's own are. */
    private static String utf8(byte[] b, int line) {
        String s = dev.davit.oci.internal.Text.utf8OrNull(b);
        if (s == null) {
            throw bad(line, "a name is not UTF-8");
        }
        return s;
    }

    private static String strip(String line) {
        return line.endsWith("\n") ? line.substring(0, line.length() - 1) : line;
    }

    private static DavitException bad(int line, String why) {
        return new DavitException(Kind.USAGE, "the patch does not parse at line " + (line + 1) + ": " + why
                + "; nothing was changed");
    }
}
