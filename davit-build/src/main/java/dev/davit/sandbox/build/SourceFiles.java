package dev.davit.sandbox.build;

import static dev.davit.sandbox.build.BuildPaths.leftOut;
import static dev.davit.sandbox.build.BuildPaths.normal;
import static dev.davit.sandbox.build.BuildPaths.reach;
import static dev.davit.sandbox.build.BuildPaths.realDir;
import static dev.davit.sandbox.build.BuildPaths.relative;
import static dev.davit.sandbox.build.BuildPaths.walkLinks;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.containerfile.IgnoreRules;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.containerfile.SourceGlob;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The files a {@code COPY} or a {@code RUN --mount=type=bind} reads from the build context or from a stage's or
 * image's root filesystem: a glob's matches, what the ignore file and {@code --exclude} leave in, links resolved
 * within the tree, each read through descriptors into a staging directory, never a host file, within the copy's
 * bounds.
 */
final class SourceFiles {
    /** The stage whose steps read them: its state, its errors. */
    private final BuildStage bs;

    SourceFiles(BuildStage bs) {
        this.bs = bs;
    }

    /**
     * Copies {@code source} of the context (from null, less what the ignore file leaves out) or of stage or image
     * {@code from} into {@code to} (new) for a {@code RUN --mount=type=bind}: a source that is a link followed
     * within them as COPY follows it, read through descriptors, never a host file.
     */
    void mountCopy(String from, String source, Path to, Instruction i) throws IOException {
        Path root;
        IgnoreRules rules = null;
        if (from == null) {
            root = bs.context;
            rules = bs.ignore;
        } else {
            Integer idx = bs.stageIndex(from);
            String ref = bs.fromRef(idx, from);
            root = (idx != null ? bs.builder.unpacked(ref, bs.lowers.get(idx)) : bs.builder.unpacked(ref)).rootfs();
        }
        if (java.util.Arrays.asList(source.split("/")).contains("..")) {
            throw bs.error(i, "RUN --mount source " + Text.shorten(source, 100) + " leads out of the build's files"
                    + " (..); give a path inside them");
        }
        String given = normal(source.replaceFirst("^/+", ""));
        String resolved = given.isEmpty() ? given : followLinks(root, given, i);
        if (rules != null && !resolved.isEmpty() && (leftOut(root, resolved, rules))) {
            throw bs.error(i, "RUN --mount source " + Text.shorten(source, 100) + " is left out by the context's"
                    + " ignore file");
        }
        Path src = resolved.isEmpty() ? root : within(root, resolved, i);
        String rel = relative(root, src);
        int slash = rel.lastIndexOf('/');
        try (dev.davit.sandbox.fs.Dir top = dev.davit.sandbox.fs.Dir.open(root, from == null
                ? "the build context" : "stage or image " + from);
             dev.davit.sandbox.fs.Dir parent = top.dir(slash < 0 ? "" : rel.substring(0, slash))) {
            String name = slash < 0 ? rel : rel.substring(slash + 1);
            dev.davit.sandbox.fs.Stat st = rel.isEmpty() ? top.stat(".") : parent.stat(name);
            if (st == null) {
                throw missing(i, source);
            }
            long[] budget = {0, 0};
            Map<List<Long>, Path> links = new HashMap<>();
            if (st.isDirectory()) {
                Files.createDirectory(to);
                try (dev.davit.sandbox.fs.Dir d = rel.isEmpty() ? top.dir("") : parent.dir(name)) {
                    copyTree(d, to, to.getParent(), new java.util.LinkedHashSet<>(), budget, i, rules, rel,
                            links, 0);
                }
            } else if (st.isRegularFile()) {
                counted(st.size(), budget, i);
                copyEntry(parent, name, st, to, links, i);
            } else {
                throw bs.error(i, "RUN --mount source " + Text.shorten(source, 100) + " is not a file or a"
                        + " directory");
            }
        }
    }

    /**
     * The files source {@code src} names below {@code root}: itself, or a glob's matches (sorted; none is an
     * error); what {@code rules} (the context's ignore file; null for none) leaves out is not there.
     */
    List<String> expand(Path root, String src, IgnoreRules rules, Instruction i) {
        String clean = src.replaceFirst("^/+", "");
        if (!SourceGlob.hasMeta(clean)) {
            if (rules != null && leftOut(root, clean, rules)) {
                throw bs.error(i, Text.shorten(src, 100) + " is left out of the build context by its ignore file;"
                        + " copy another file, or add !" + Text.shorten(normal(clean), 60) + " to it");
            }
            return List.of(src);
        }
        List<String> found;
        try {
            found = SourceGlob.expand(clean, dir -> names(root, dir, i));
        } catch (IllegalArgumentException e) {
            throw bs.error(i, Text.printable(String.valueOf(e.getMessage())));
        }
        List<String> kept = new ArrayList<>();
        for (String f : found) {
            Path p = reach(root, f);
            if (p != null && Files.exists(p, LinkOption.NOFOLLOW_LINKS)
                    && (rules == null || !leftOut(root, f, rules))) {
                kept.add(f);
            }
        }
        if (kept.isEmpty()) {
            throw bs.error(i, "no file of " + (i instanceof Instruction.Copy c && c.from() != null ? "stage or image "
                    + c.from() : "the build context") + " matches " + Text.shorten(src, 100));
        }
        return kept;
    }

    /**
     * The names in directory {@code dir} below {@code root} (none when it is not a directory or is reached through a
     * link).
     */
    private List<String> names(Path root, String dir, Instruction i) {
        Path d = dir.isEmpty() ? root : reach(root, dir);
        if (d == null || !Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try (var list = Files.list(d)) {
            return list.map(p -> p.getFileName().toString()).limit(1_000_001).toList();
        } catch (IOException e) {
            throw bs.error(i, "cannot list " + Text.shorten(dir, 100) + ": " + e.getMessage());
        }
    }

    /** The error of source {@code rel} of {@code i} that is not there. */
    DavitException missing(Instruction i, String rel) {
        return bs.error(i, "no " + Text.shorten(rel, 100) + " in " + (i instanceof Instruction.Copy c
                && c.from() != null ? "stage or image " + c.from() : "the build context"));
    }

    /**
     * {@code rel} (below {@code root}: the context, or a stage's tree) with the links on its way and at its end
     * resolved as the tree sees them: an absolute target from {@code root}, {@code ..} stopping there, at most 40
     * links. Only link texts are read; nothing is followed on the host (the copy then opens what this names
     * through descriptors, refusing a link that appeared meanwhile).
     */
    String followLinks(Path root, String rel, Instruction i) {
        return String.join("/", walkLinks(rel, path -> {
            Path p = root.resolve(path);
            if (!Files.isSymbolicLink(p)) {
                return null;
            }
            try {
                return Files.readSymbolicLink(p).toString();
            } catch (IOException e) {
                throw bs.error(i, "cannot read the link " + Text.shorten(rel, 100) + ": " + e.getMessage());
            }
        }, () -> bs.error(i, Text.shorten(rel, 100) + " goes through more than 40 links")));
    }

    /** {@code rel} below {@code root}, no part of it a link, no {@code ..}: else a one-line error. */
    Path within(Path root, String rel, Instruction i) {
        Path p = root;
        for (String part : rel.replaceFirst("^/+", "").split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                throw bs.error(i, Text.shorten(rel, 100) + " leads out of the build's files (..); give a path"
                        + " inside them");
            }
            if (Files.isSymbolicLink(p) && !p.equals(root)) {
                throw bs.error(i, Text.shorten(rel, 100) + " goes through a link; copy what it names instead");
            }
            p = p.resolve(part);
        }
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw missing(i, rel);
        }
        return p;
    }

    /**
     * Copies directory {@code src}'s content into {@code to} (below {@code root}, the staging directory), read
     * through descriptors ({@link dev.davit.sandbox.fs.Dir}: each directory opened below its parent with no link
     * followed, each file opened without following and checked to be the one listed), so a tree changed while it
     * is read (a directory swapped for a link) yields an error or what is really there, never a host file; links
     * copied as links, attributes kept, hard links kept linked; {@code rules} (null: none) leave out what the
     * ignore file says, {@code rel} being {@code src}'s path in the context.
     */
    void copyTree(dev.davit.sandbox.fs.Dir src, Path to, Path root, java.util.Set<Path> copied,
                          long[] budget, Instruction i, IgnoreRules rules, String rel,
                          Map<List<Long>, Path> links, int depth) throws IOException {
        copyTree(src, to, root, copied, budget, i, rules, null, rel, links, depth);
    }

    /** {@link #copyTree}, less what {@code ex} (a COPY's --exclude; null: none) leaves out too. */
    void copyTree(dev.davit.sandbox.fs.Dir src, Path to, Path root, java.util.Set<Path> copied,
                          long[] budget, Instruction i, IgnoreRules rules, Exclusions ex, String rel,
                          Map<List<Long>, Path> links, int depth) throws IOException {
        if (depth > 256) {
            throw bs.error(i, "the COPY goes more than 256 directories deep; copy less");
        }
        for (String name : src.names()) {
            dev.davit.sandbox.fs.Stat st = src.stat(name);
            if (st == null) {
                continue; // gone meanwhile
            }
            String r = rel == null || rel.isEmpty() ? name : rel + "/" + name;
            boolean ignored = rules != null && rules.excluded(r);
            boolean dropped = ex != null && ex.excludes(r);
            boolean excluded = ignored || dropped;
            Path t = to.resolve(name);
            if (st.isDirectory()) {
                // left out by either, and nothing below it let back in by the one that left it out
                if (ignored && !rules.mayIncludeUnder(r) || dropped && !ex.mayIncludeUnder(r)) {
                    continue;
                }
                counted(st.size(), budget, i);
                try (dev.davit.sandbox.fs.Dir sub = src.dir(name)) {
                    if (!excluded) {
                        realDir(root, t);
                        copied.add(t);
                    }
                    copyTree(sub, t, root, copied, budget, i, rules, ex, r, links, depth + 1);
                }
                if (Files.isDirectory(t, LinkOption.NOFOLLOW_LINKS)) { // excluded, and nothing came back: none
                    if (excluded) {
                        copied.add(t);
                    }
                    attributes(t, st); // its own mode and time, once what is in it is written
                }
            } else if (!excluded && (st.isRegularFile() || st.isSymbolicLink())) {
                counted(st.size(), budget, i);
                if (!Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
                    realDir(root, to); // an excluded directory an exception enters
                    for (Path q = to; q.startsWith(root) && !q.equals(root); q = q.getParent()) {
                        copied.add(q);
                    }
                }
                copyEntry(src, name, st, t, links, i);
                copied.add(t);
            } else if (!excluded) {
                bs.specialsLeftOut.add(r); // a fifo, socket or device: never copied, and said so
            }
        }
    }

    /**
     * Copies entry {@code name} of {@code src} (a regular file or a link, as {@code st} says) to {@code t}: a
     * file through its descriptor, checked to be the one {@code st} saw; a link as a link; attributes kept; a
     * file with more links than one linked to its first copy.
     */
    void copyEntry(dev.davit.sandbox.fs.Dir src, String name, dev.davit.sandbox.fs.Stat st, Path t,
                           Map<List<Long>, Path> links, Instruction i) throws IOException {
        Files.deleteIfExists(t); // an earlier source's entry (a link itself, never what it names)
        if (st.isSymbolicLink()) {
            Files.createSymbolicLink(t, Path.of(src.readLink(name)));
            attributes(t, st);
            return;
        }
        List<Long> inode = List.of(st.dev(), st.ino());
        Path first = st.nlink() > 1 ? links.get(inode) : null;
        if (first != null) {
            Files.createLink(t, first);
            return;
        }
        try (dev.davit.sandbox.fs.Dir.Opened f = src.openFile(name)) {
            if (f.stat().ino() != st.ino() || f.stat().dev() != st.dev()) {
                throw bs.error(i, Text.shorten(name, 100) + " changed while the build read it; build again");
            }
            try (java.nio.channels.FileChannel in = f.read();
                 java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(t,
                         java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE,
                         LinkOption.NOFOLLOW_LINKS)) {
                long n = f.stat().size();
                for (long done = 0; done < n; ) {
                    long k = in.transferTo(done, n - done, out);
                    if (k <= 0) {
                        break; // shorter than it said: what it has
                    }
                    done += k;
                }
            }
            attributes(t, f.stat());
        } catch (dev.davit.sandbox.fs.Dir.NotRegularFile e) {
            throw bs.error(i, Text.shorten(name, 100) + " changed while the build read it; build again");
        }
        if (st.nlink() > 1) {
            links.put(inode, t);
        }
    }

    /** Counts {@code f} against the COPY's bounds (bytes, sparse files at their size; entries). */
    void counted(long size, long[] budget, Instruction i) {
        // the entry itself (a link's size is its own, never what it names: a host file, a dead mount)
        budget[0] += size;
        budget[1]++;
        if (budget[0] > dev.davit.sandbox.fs.Budget.MAX_BYTES || budget[1] > dev.davit.sandbox.fs.Budget.MAX_ENTRIES) {
            throw bs.error(i, "the COPY passes " + (dev.davit.sandbox.fs.Budget.MAX_BYTES >> 30) + " GiB or "
                    + dev.davit.sandbox.fs.Budget.MAX_ENTRIES + " files; copy less");
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new DavitException(Kind.CANCELLED, "the build was cancelled");
        }
    }

    /** Gives staged entry {@code t} the mode, owner and time of {@code st} (never through a link). */
    private static void attributes(Path t, dev.davit.sandbox.fs.Stat st) throws IOException {
        if (!st.isSymbolicLink()) {
            Files.setAttribute(t, "unix:mode", st.mode() & 07777, LinkOption.NOFOLLOW_LINKS);
        }
        try {
            Files.setAttribute(t, "unix:uid", st.uid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(t, "unix:gid", st.gid(), LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            // not root: the owner stays the builder's (the layer records the COPY's owner)
        }
        Files.getFileAttributeView(t, java.nio.file.attribute.BasicFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS).setTimes(st.modified(), null, null);
    }
}
