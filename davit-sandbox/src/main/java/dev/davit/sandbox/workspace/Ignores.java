package dev.davit.sandbox.workspace;

import dev.davit.sandbox.fs.Dir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

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

    /** A pattern of the .gitignore in directory {@code base} ("" for /workspace). */
    private record Rule(String base, Pattern pattern, boolean anchored) {
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
                Rule r = rule(base, line);
                if (r != null) {
                    rules.add(r);
                }
            }
        }
        return new Ignores(rules, !any);
    }

    /** One line of a .gitignore as a rule for directories, or null (blank, a comment, a negation). */
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
        if (l.isEmpty()) {
            return null;
        }
        return new Rule(base, Pattern.compile(glob(l)), anchored);
    }

    /** A git pattern as a regular expression over a relative path. */
    private static String glob(String g) {
        StringBuilder r = new StringBuilder();
        for (int i = 0; i < g.length(); i++) {
            char c = g.charAt(i);
            if (g.startsWith("**/", i)) {
                r.append("(?:.*/)?");
                i += 2;
            } else if (g.startsWith("/**", i) && i + 3 == g.length()) {
                r.append("(?:/.*)?");
                i += 2;
            } else if (c == '*') {
                r.append("[^/]*");
            } else if (c == '?') {
                r.append("[^/]");
            } else if (c == '[') {
                int end = g.indexOf(']', i + 1);
                if (end < 0) {
                    r.append("\\[");
                } else {
                    String set = g.substring(i + 1, end).replace("\\", "\\\\");
                    r.append('[').append(set.startsWith("!") ? "^" + set.substring(1) : set).append(']');
                    i = end;
                }
            } else {
                r.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return r.toString();
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
            if (r.anchored() ? r.pattern().matcher(rel).matches() : r.pattern().matcher(name).matches()) {
                return true;
            }
        }
        return false;
    }
}
