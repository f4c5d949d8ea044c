package dev.davit.sandbox.workspace;

import dev.davit.sandbox.fs.Dir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The directories a diff collapses into one summary each ({@link WorkspaceDiff#compute}): those the workspace's
 * {@code .gitignore} files ignore (git's pattern rules: a pattern without a slash matches a name at any depth below
 * its file's directory, one with a slash matches from there, {@code *}, {@code ?} and {@code **} as git reads them; a
 * negation {@code !} is not looked at), and {@code .git}; with no {@code .gitignore} anywhere, the usual dependency,
 * cache and build directories ({@link #DEFAULT}).
 */
final class Ignores {
    /** What is collapsed in a workspace without a .gitignore: dependency, cache and build output directories. */
    static final Set<String> DEFAULT = Set.of("node_modules", ".git", "__pycache__", ".venv", "venv", ".tox",
            ".mypy_cache", ".pytest_cache", ".gradle", ".next", "target", ".terraform");
    /** The most bytes of one .gitignore read. */
    private static final int MAX_FILE = 64 << 10;
    /** The most rules taken from all .gitignore files together (the sandbox writes them: bounded work here). */
    static final int MAX_RULES = 10_000;
    /** The longest pattern taken. */
    static final int MAX_PATTERN = 256;

    /** A pattern of the .gitignore in directory {@code base} ("" for /workspace). */
    private record Rule(String base, String[] segments, boolean anchored) {
    }

    private final List<Rule> rules;
    private final boolean defaults;

    private Ignores(List<Rule> rules, boolean defaults) {
        this.rules = rules;
        this.defaults = defaults;
    }

    /** The ignore rules of tree {@code top}, whose entries (by path) are {@code entries}. */
    static Ignores of(Dir top, Map<String, Tree.Entry> entries) throws IOException {
        List<Rule> rules = new ArrayList<>();
        boolean any = false;
        for (Tree.Entry e : entries.values()) {
            String p = e.path();
            if (!(p.equals(".gitignore") || p.endsWith("/.gitignore")) || !e.type().equals("file")) {
                continue;
            }
            any = true;
            String base = p.equals(".gitignore") ? "" : p.substring(0, p.length() - "/.gitignore".length());
            byte[] text;
            try (Dir.Opened f = top.openFile(p); java.nio.channels.FileChannel c = f.read()) {
                text = java.nio.channels.Channels.newInputStream(c).readNBytes(MAX_FILE);
            } catch (IOException ex) {
                continue; // changed meanwhile: its rules are not used
            }
            for (String line : new String(text, StandardCharsets.UTF_8).split("\n")) {
                Rule r = rules.size() < MAX_RULES ? rule(base, line) : null;
                if (r != null) {
                    rules.add(r);
                }
            }
        }
        return new Ignores(rules, !any);
    }

    /** One line of a .gitignore as a rule for directories, or null (blank, a comment, a negation, too long). */
    private static Rule rule(String base, String line) {
        String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
        l = l.stripTrailing();
        if (l.isEmpty() || l.startsWith("#") || l.startsWith("!")) {
            return null;
        }
        if (l.startsWith("\\")) {
            l = l.substring(1);
        }
        while (l.endsWith("/")) {
            l = l.substring(0, l.length() - 1); // a directory-only pattern: only directories are asked about
        }
        boolean anchored = l.contains("/");
        if (l.startsWith("/")) {
            l = l.substring(1);
        }
        if (l.isEmpty() || l.length() > MAX_PATTERN) {
            return null;
        }
        return new Rule(base, l.split("/"), anchored);
    }

    /**
     * Whether path segments {@code ts} from {@code j} match pattern segments {@code ps} from {@code i}, a {@code **}
     * segment matching any number of path segments. Each (i, j) is tried once ({@code seen}): the work is bounded by
     * the product of the two lengths, whatever the pattern (the sandbox writes it), never a regular expression's
     * backtracking.
     */
    private static boolean path(String[] ps, int i, String[] ts, int j, boolean[][] seen) {
        if (i == ps.length) {
            return j == ts.length;
        }
        if (seen[i][j]) {
            return false; // tried already, and it failed (a success returns at once)
        }
        seen[i][j] = true;
        if (ps[i].equals("**")) {
            return path(ps, i + 1, ts, j, seen) || j < ts.length && path(ps, i, ts, j + 1, seen);
        }
        return j < ts.length && segment(ps[i], ts[j]) && path(ps, i + 1, ts, j + 1, seen);
    }

    /**
     * Whether name {@code t} matches pattern segment {@code p} ({@code *}, {@code ?}, {@code [...]} with ranges and
     * {@code !} or {@code ^}, {@code \} escapes): greedy with a return to the last {@code *}, at most length times
     * length steps.
     */
    static boolean segment(String p, String t) {
        int pi = 0;
        int ti = 0;
        int starP = -1;
        int starT = -1;
        while (ti < t.length()) {
            if (pi < p.length() && p.charAt(pi) == '*') {
                starP = pi++;
                starT = ti;
                continue;
            }
            int n = pi < p.length() ? one(p, pi, t.charAt(ti)) : -1;
            if (n > 0) {
                pi += n;
                ti++;
            } else if (starP >= 0) {
                pi = starP + 1;
                ti = ++starT;
            } else {
                return false;
            }
        }
        while (pi < p.length() && p.charAt(pi) == '*') {
            pi++;
        }
        return pi == p.length();
    }

    /** The length of the pattern token at {@code pi} when it matches character {@code c}, else -1. */
    private static int one(String p, int pi, char c) {
        char k = p.charAt(pi);
        if (k == '?') {
            return 1;
        }
        if (k == '\\' && pi + 1 < p.length()) {
            return p.charAt(pi + 1) == c ? 2 : -1;
        }
        int end = k == '[' ? p.indexOf(']', pi + 2) : -1;
        if (end < 0) {
            return k == c ? 1 : -1;
        }
        int from = pi + 1;
        boolean negated = p.charAt(from) == '!' || p.charAt(from) == '^';
        if (negated) {
            from++;
        }
        boolean in = false;
        for (int x = from; x < end; x++) {
            if (x + 2 < end && p.charAt(x + 1) == '-') {
                in |= c >= p.charAt(x) && c <= p.charAt(x + 2);
                x += 2;
            } else {
                in |= p.charAt(x) == c;
            }
        }
        return in != negated ? end - pi + 1 : -1;
    }

    /**
     * The topmost ignored directory at or above {@code path} (a directory of {@code before} or {@code after}), or
     * null when none is.
     */
    String top(String path, Map<String, Tree.Entry> before, Map<String, Tree.Entry> after) {
        for (int i = path.indexOf('/'); ; i = path.indexOf('/', i + 1)) {
            String prefix = i < 0 ? path : path.substring(0, i);
            if (directory(prefix, before) || directory(prefix, after)) {
                if (ignored(prefix)) {
                    return prefix;
                }
            }
            if (i < 0) {
                return null;
            }
        }
    }

    private static boolean directory(String p, Map<String, Tree.Entry> entries) {
        Tree.Entry e = entries.get(p);
        return e != null && e.type().equals("dir");
    }

    /** Whether directory {@code dir} (a relative path) is ignored. */
    private boolean ignored(String dir) {
        String name = dir.substring(dir.lastIndexOf('/') + 1);
        if (name.equals(".git") || defaults && DEFAULT.contains(name)) {
            return true;
        }
        for (Rule r : rules) {
            if (!r.base().isEmpty() && !dir.startsWith(r.base() + "/")) {
                continue;
            }
            String rel = r.base().isEmpty() ? dir : dir.substring(r.base().length() + 1);
            boolean hit;
            if (r.anchored()) {
                String[] ts = rel.split("/");
                hit = path(r.segments(), 0, ts, 0, new boolean[r.segments().length + 1][ts.length + 1]);
            } else {
                hit = segment(r.segments()[0], name);
            }
            if (hit) {
                return true;
            }
        }
        return false;
    }
}
