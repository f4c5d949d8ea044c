package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What changed in a workspace since its baseline. Names in {@link #patch}'s headers are quoted as git quotes them
 * (see docs/reference/workspaces/FILES.md, Diff). In a workspace with secrets every value is shown as {@code [REDACTED:NAME]}, in
 * paths and in the patch; the diff of a file where one was is marked so that no tool applies it
 * ({@link #REDACTED_LINE} after each of its hunk headers).
 *
 * @param changes  one per path that differs, by path
 * @param patch    a unified diff of the text files among them (GNU {@code diff -u}); binary files are named only
 * @param redacted  whether a secret value was redacted from a path or the patch (which then does not apply as a
 *                  whole)
 * @param collapsed the ignored directories whose changes are counted, not listed (none when all are asked for)
 */
public record WorkspaceDiff(List<Change> changes, String patch, boolean redacted, List<Collapsed> collapsed) {
    /** Copies the lists; a null {@code collapsed} is none. */
    public WorkspaceDiff {
        changes = List.copyOf(changes);
        collapsed = collapsed == null ? List.of() : List.copyOf(collapsed);
    }

    /**
     * An ignored directory whose changes a diff counts instead of listing ({@link Ignores}: a {@code .gitignore}'s,
     * or a usual dependency or build directory): none of them is in {@link #changes} or the patch.
     *
     * @param path     the directory, relative to /workspace
     * @param added    paths added below it (or it, added)
     * @param modified paths modified below it (content, type, link target or mode)
     * @param deleted  paths deleted below it (or it, deleted)
     */
    public record Collapsed(String path, int added, int modified, int deleted) {
    }

    /**
     * What follows each hunk header of a file whose diff had a secret value redacted: a line that is no line of a
     * hunk, so {@code git apply}, GNU {@code patch} and {@link WorkspaceFiles#patch} refuse the hunk instead of writing
     * a marker into the file.
     */
    public static final String REDACTED_LINE = "!davit: a secret value is redacted in this file's diff; it cannot be"
            + " applied";

    /**
     * A page of the patch: at most {@code maxChars} characters from character {@code offset}, ending at a line's end
     * (unless one line alone is longer).
     *
     * @param text   the page
     * @param offset where it starts in the patch
     * @param next   where the next page starts (the patch's length when this is the last)
     * @param more   whether more of the patch follows
     */
    public record PatchPage(String text, long offset, long next, boolean more) {
    }

    /**
     * A page of {@link #patch}, for a caller that shows a long one in parts (the MCP server's {@code workspace_diff}).
     *
     * @param offset   where to start, in characters (past the end: an empty last page)
     * @param maxChars the most characters, at least 1
     * @return the page, and where the next starts
     * @throws DavitException USAGE for a negative offset or a maxChars below 1
     */
    public PatchPage page(long offset, int maxChars) {
        if (offset < 0 || maxChars < 1) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, dev.davit.oci.Message.of(
                    dev.davit.oci.Input.PATCH_PAGE, " takes an offset of 0 or more and at least 1 character, not "
                    + offset + " and " + maxChars));
        }
        int from = (int) Math.min(offset, patch.length());
        int end = (int) Math.min((long) from + maxChars, patch.length());
        if (end < patch.length()) {
            int line = patch.lastIndexOf('\n', end - 1);
            end = line >= from ? line + 1 : end;
        }
        return new PatchPage(patch.substring(from, end), from, end, end < patch.length());
    }

    /**
     * One changed path.
     *
     * @param path    relative to /workspace
     * @param kind    what changed
     * @param type    what the path is now; for a deleted path, what it was
     * @param oldMode the baseline's permission bits, -1 when added ({@link #oldModeOctal} shows them as
     *                {@code 0644})
     * @param newMode the current permission bits, -1 when deleted
     */
    public record Change(String path, Kind kind, Type type, int oldMode, int newMode) {
        /** What changed at a path; {@link #toString} is the word the CLI's JSON and docs/reference/JSON.md use. */
        public enum Kind {
            /** The path is new. */
            ADDED,
            /** The path is gone. */
            DELETED,
            /** Its content, link target or type changed (perhaps its permission bits too). */
            MODIFIED,
            /** Only its permission bits changed. */
            MODE;

            /** {@return {@code added}, {@code deleted}, {@code modified} or {@code mode}} */
            @Override
            public String toString() {
                return name().toLowerCase(java.util.Locale.ROOT);
            }
        }

        /** What a path is; {@link #toString} is the word the CLI's JSON and docs/reference/JSON.md use. */
        public enum Type {
            /** A regular file. */
            FILE,
            /** A directory. */
            DIR,
            /** A symbolic link. */
            SYMLINK,
            /** Anything else (a device, a FIFO, a socket). */
            OTHER;

            /** {@return {@code file}, {@code dir}, {@code symlink} or {@code other}} */
            @Override
            public String toString() {
                return name().toLowerCase(java.util.Locale.ROOT);
            }

            static Type of(String word) {
                return valueOf(word.toUpperCase(java.util.Locale.ROOT));
            }
        }

        /**
         * A change; {@code kind} and {@code type} not null.
         *
         * @param path    relative to /workspace
         * @param kind    what changed
         * @param type    what the path is now, or was
         * @param oldMode the baseline's permission bits, -1 when added
         * @param newMode the current permission bits, -1 when deleted
         */
        public Change {
            dev.davit.oci.internal.Args.given(kind, "WorkspaceDiff.Change", "kind", "give one of Change.Kind");
            dev.davit.oci.internal.Args.given(type, "WorkspaceDiff.Change", "type", "give one of Change.Type");
        }

        /** {@return the baseline's permission bits as a file mode is written, e.g. {@code 0644}; null when added} */
        public String oldModeOctal() {
            return octal(oldMode);
        }

        /** {@return the current permission bits as a file mode is written, e.g. {@code 0755}; null when deleted} */
        public String newModeOctal() {
            return octal(newMode);
        }

        private static String octal(int mode) {
            return mode < 0 ? null : String.format("%04o", mode);
        }

        /** {@return e.g. {@code Change[path=run.sh, kind=mode, type=file, oldMode=0644, newMode=0755]}} */
        @Override
        public String toString() {
            return "Change[path=" + path + ", kind=" + kind + ", type=" + type + ", oldMode=" + oldModeOctal()
                    + ", newMode=" + newModeOctal() + "]";
        }
    }

    /** Files larger than this are compared, but not shown as text in {@link #patch}. */
    static final long MAX_TEXT = 4L << 20;

    /**
     * Compares {@code baseline} with {@code current} (two /workspace trees). Unified diffs come from GNU
     * diffutils' {@code diff}, present on every Debian-like host: it is the reference for the format that
     * {@code patch} and reviewers read, and handles binary detection the usual way. It reads each file through the
     * descriptor davit opened (its {@code /proc/PID/fd} entry), never by a path the sandbox could change.
     */
    static WorkspaceDiff compute(Dir baseline, Dir current, Budget budget, Redactor redactor) throws IOException {
        return compute(baseline, current, budget, redactor, List.of());
    }

    /**
     * {@link #compute(Dir, Dir, Budget, Redactor)} of the paths {@code only} names (each a normalised relative path:
     * itself and what is below it), every path when it is empty.
     */
    static WorkspaceDiff compute(Dir baseline, Dir current, Budget budget, Redactor redactor, List<String> only)
            throws IOException {
        return compute(baseline, current, budget, redactor, only, true);
    }

    /**
     * {@link #compute(Dir, Dir, Budget, Redactor, List)}; without {@code includeIgnored}, the changes below an
     * ignored directory ({@link Ignores}) are counted per topmost such directory ({@link #collapsed}) rather than
     * listed and diffed.
     */
    static WorkspaceDiff compute(Dir baseline, Dir current, Budget budget, Redactor redactor, List<String> only,
                                 boolean includeIgnored) throws IOException {
        Map<String, Tree.Entry> before = Tree.walk(baseline, budget);
        Map<String, Tree.Entry> after = Tree.walk(current, budget);
        Ignores ignores = includeIgnored ? null : Ignores.of(current, after);
        Map<String, int[]> counted = new java.util.TreeMap<>();
        TreeSet<String> paths = new TreeSet<>(before.keySet());
        paths.addAll(after.keySet());
        if (!only.isEmpty()) {
            paths.removeIf(p -> only.stream().noneMatch(o -> o.isEmpty() || p.equals(o) || p.startsWith(o + "/")));
        }
        List<Change> changes = new ArrayList<>();
        StringBuilder patch = new StringBuilder();
        boolean redacted = false;
        for (String p : paths) {
            budget.check();
            Tree.Entry b = before.get(p);
            Tree.Entry a = after.get(p);
            boolean oldFile = b != null && b.type().equals("file");
            boolean newFile = a != null && a.type().equals("file");
            try (Dir.Opened of = oldFile ? open(baseline, p) : null; Dir.Opened nf = newFile ? open(current, p) : null) {
                Change c;
                if (b == null) {
                    c = new Change(p, Change.Kind.ADDED, Change.Type.of(a.type()), -1, a.mode());
                } else if (a == null) {
                    c = new Change(p, Change.Kind.DELETED, Change.Type.of(b.type()), b.mode(), -1);
                } else if (!b.type().equals(a.type()) || !Objects.equals(b.target(), a.target())
                        || oldFile && (of == null || nf == null || !Tree.sameContent(of, nf, budget))) {
                    c = new Change(p, Change.Kind.MODIFIED, Change.Type.of(a.type()), b.mode(), a.mode());
                } else if (b.mode() != a.mode()) {
                    c = new Change(p, Change.Kind.MODE, Change.Type.of(a.type()), b.mode(), a.mode());
                } else {
                    continue;
                }
                String top = ignores == null ? null : ignores.top(p, before, after);
                if (top != null) {
                    int[] n = counted.computeIfAbsent(top, k -> new int[3]);
                    n[c.kind() == Change.Kind.ADDED ? 0 : c.kind() == Change.Kind.DELETED ? 2 : 1]++;
                    continue;
                }
                String shown = redactor.redact(p);
                redacted |= !shown.equals(p);
                changes.add(new Change(shown, c.kind(), c.type(), c.oldMode(), c.newMode()));
                if (c.kind() != Change.Kind.MODE && (oldFile || newFile)) {
                    java.util.concurrent.atomic.AtomicBoolean hit = new java.util.concurrent.atomic.AtomicBoolean(
                            !shown.equals(p));
                    String text = unified(p, oldFile, of, newFile, nf, MAX_PATCH - patch.length(), budget,
                            redactor, hit);
                    if (hit.get()) {
                        redacted = true;
                        text = HUNK_HEADER.matcher(text).replaceAll("$0" + REDACTED_LINE + "\n");
                    }
                    patch.append(text);
                }
            }
        }
        List<Collapsed> collapsed = new ArrayList<>();
        for (Map.Entry<String, int[]> e : counted.entrySet()) {
            String shown = redactor.redact(e.getKey());
            redacted |= !shown.equals(e.getKey());
            collapsed.add(new Collapsed(shown, e.getValue()[0], e.getValue()[1], e.getValue()[2]));
        }
        return new WorkspaceDiff(changes, patch.toString(), redacted, collapsed);
    }

    /** A hunk header line of a unified diff, with its line end. */
    private static final java.util.regex.Pattern HUNK_HEADER = java.util.regex.Pattern.compile("(?m)^@@ -.*\n");

    /** Regular file {@code rel} of {@code top}, or null when it is no longer one (changed while this ran). */
    private static Dir.Opened open(Dir top, String rel) throws IOException {
        try {
            return top.openFile(rel);
        } catch (IOException e) {
            if (Tree.swapped(e)) {
                return null;
            }
            throw e;
        }
    }

    /** The text diffs of one {@link #compute} together stop here; later changed files are named only. */
    static final long MAX_PATCH = 16L << 20;

    /**
     * The unified diff of one file: GNU diff run on copies of what davit read (at most the size it checked, at most
     * {@link #MAX_TEXT}), never on the sandbox's files (which could grow between the check and diff's read), and its
     * output read up to a cap. The copies and the name are redacted by {@code redactor} first (a value of several
     * lines is found whole, before the diff puts a {@code +} before each), so no value reaches the temp files or the
     * text; {@code hit} is set when something was.
     */
    private static String unified(String path, boolean oldFile, Dir.Opened old, boolean newFile, Dir.Opened now,
                                  long room, Budget budget, Redactor redactor,
                                  java.util.concurrent.atomic.AtomicBoolean hit) throws IOException {
        String rel = redactor.redact(path);
        String oldLabel = old == null ? "/dev/null" : UnifiedPatch.quoted("a/" + rel);
        String newLabel = now == null ? "/dev/null" : UnifiedPatch.quoted("b/" + rel);
        String named = "Files " + (oldFile ? UnifiedPatch.quoted("a/" + rel) : "/dev/null") + " and " + (newFile
                ? UnifiedPatch.quoted("b/" + rel) : "/dev/null") + " differ";
        if (oldFile && (old == null || old.stat().size() > MAX_TEXT) || newFile && (now == null
                || now.stat().size() > MAX_TEXT)) {
            return named + " (larger than " + (MAX_TEXT >> 20) + " MiB, or changing: not shown)\n";
        }
        if (room <= 0) {
            return named + " (the diff passed " + (MAX_PATCH >> 20) + " MiB: not shown)\n";
        }
        Path tmp = Files.createTempDirectory("davit-diff-");
        try {
            Path a = old == null ? Path.of("/dev/null") : copy(old, tmp.resolve("a"), budget, redactor, hit);
            Path b = now == null ? Path.of("/dev/null") : copy(now, tmp.resolve("b"), budget, redactor, hit);
            // the labels quoted as git quotes names: a name cannot end a header line and forge another
            List<String> cmd = List.of("diff", "-u", "--label", oldLabel, "--label", newLabel, a.toString(),
                    b.toString());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try {
                p.getOutputStream().close();
                long cap = Math.min(room, 3 * MAX_TEXT);
                byte[] out = p.getInputStream().readNBytes((int) cap + 1);
                if (out.length > cap) {
                    return named + " (the diff passed " + (MAX_PATCH >> 20) + " MiB: not shown)\n";
                }
                int rc = p.waitFor();
                if (rc > 1) {
                    throw new DavitException(Kind.INTERNAL, "diff failed on " + rel + ": "
                            + new String(out, StandardCharsets.UTF_8).strip());
                }
                String text = new String(out, StandardCharsets.UTF_8);
                // GNU diff says "Files a/x and b/x differ" for binary content: keep that one line, as git does
                return text.endsWith("\n") || text.isEmpty() ? text : text + "\n";
            } finally {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("Cannot run program")) {
                throw new DavitException(Kind.HOST_UNSUPPORTED, "cannot run diff (" + e.getMessage() + "); install GNU"
                        + " diffutils");
            }
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.USAGE, "the diff was cancelled");
        } finally {
            dev.davit.oci.internal.Fs.deleteTree(tmp);
        }
    }

    /**
     * The first (checked) size bytes of {@code f}, at most {@link #MAX_TEXT}, copied to the new file {@code to}
     * (in the diff's own 0700 temp directory), redacted by {@code redactor}; sets {@code hit} when something was.
     */
    private static Path copy(Dir.Opened f, Path to, Budget budget, Redactor redactor,
                             java.util.concurrent.atomic.AtomicBoolean hit) throws IOException {
        long size = Math.min(f.stat().size(), MAX_TEXT);
        budget.bytes(size);
        byte[] b;
        try (java.nio.channels.FileChannel in = f.read()) {
            b = java.nio.channels.Channels.newInputStream(in).readNBytes((int) size);
        }
        byte[] shown = redactor.redact(b);
        if (shown != b && !java.util.Arrays.equals(shown, b)) {
            hit.set(true);
        }
        Files.write(to, shown, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
        return to;
    }
}
