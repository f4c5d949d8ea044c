package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.backend.GuestFiles;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What a pod's sandbox wrote, kept on davit's host so that it outlives the pod: a stop, a pause, a fork and a
 * snapshot of the whole sandbox save it, the next start of a pod restores it. A pod's writable layer is the node's,
 * out of reach; so the agent lists the pod's root file system (its own device only: not /.davit, /proc, /dev or a
 * mounted file) with each entry's ctime, which no process can set back, and davit keeps
 * <ul>
 *   <li>{@code parts/part.N}: tars (made in the pod by its busybox) of every entry changed since the pod started
 *       (ctime at or after the agent's start mark), directories without their content, and</li>
 *   <li>{@code deleted}: the image's paths the pod no longer has (NUL-separated, {@code ./path}), read against the
 *       image's root file system on this host; none below a mount point.</li>
 * </ul>
 * The tars are never read on this host: they go back into the next pod, where the agent extracts them. What the
 * host reads of the pod (the lists, the tars as files) arrives through {@link GuestFiles#copyTree}, extracted with
 * the rules for untrusted trees. A name holding a newline is listed, read and restored as any other (the lists are
 * NUL-separated; the scan's numbers come one line per name).
 */
final class PodState {
    /** The saved state, in a sandbox's state directory. */
    static final String DIR = "pod-state";
    static final String PARTS = "parts";
    static final String DELETED = "deleted";
    /** The start mark, which davit-agent's pod mode writes as the pod's main process starts. */
    private static final String MARK = "/.davit/run/started";
    private static final Map<String, String> ENV = Map.of("PATH", "/.davit/run/bin");
    private static final Duration TIMEOUT = Duration.ofMinutes(10);
    /**
     * Lists the root file system: every path (NUL-separated, {@code all}), its ctime, device and raw mode (hex) one
     * line each in the same order ({@code stat}; a name that went meanwhile leaves a line out, which the count shows),
     * and find's complaints ({@code errors}: the directories it could not read, e.g. another user's 0700 home, whose
     * content is then neither saved nor taken for deleted).
     */
    private static final String SCAN = "d=$1; rm -rf \"$d\" && mkdir -p \"$d\" && stat -c '%Z %z' " + MARK
            + " >\"$d/mark\" || exit 1; find / -xdev -print0 >\"$d/all\" 2>\"$d/errors\";"
            + " xargs -0 -a \"$d/all\" stat -c '%Z %z %d %f' >\"$d/stat\" 2>/dev/null; exit 0";
    private static final java.util.regex.Pattern UNREADABLE = java.util.regex.Pattern.compile(
            "find: (/.*): [A-Za-z][^:]*");
    /** How often a scan is tried while the pod's files come and go under it. */
    private static final int SCAN_TRIES = 3;
    /**
     * The most bytes of a scan's lists davit reads (about a million paths): they are held in memory. A pod with more
     * files is refused a save in words, never allowed to exhaust davit's memory.
     */
    static final long MAX_LIST_BYTES = 64L << 20;
    /** The most archives a save may hold (the pod's xargs makes one per batch of names). */
    static final int MAX_PARTS = 4096;
    /**
     * Tars the paths of its standard input (NUL-separated, relative to /; never directories, whose modes are restored
     * last) in batches, those still there, each into a part of its own ({@code mktemp}: never one name twice).
     */
    private static final String PACK = "set -e; d=$1; rm -rf \"$d\"; mkdir -p \"$d\"; cd /; xargs -0 -r sh -c '"
            + "n=$#; for f; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then set -- \"$@\" \"$f\"; fi; done; shift $n;"
            + " [ $# -eq 0 ] || exec tar -c --no-recursion -f \"$(mktemp \"$0/part.XXXXXXXX\")\" \"$@\"' \"$d\"";
    private static final String MKDIRS = "cd / && xargs -0 -r mkdir -p --";
    /** The directories a save keeps: NUL-separated {@code MODE ./path} (octal permission bits). */
    static final String DIRS = "dirs";
    /** The most entries a scan may list, and mount points or unreadable directories among them. */
    static final int MAX_ENTRIES = 2_000_000;
    static final int MAX_MOUNTS = 10_000;
    private static final String REMOVE = "cd / && xargs -0 -r rm -rf --";
    /**
     * Sets mode {@code $1} on the directories of its standard input ({@code ./path}, NUL-separated) that do not have
     * it: one that has it already is left alone, so a sandbox that runs as a user restores its writes into a
     * directory it does not own (an image's {@code /tmp}) without a chmod it may not make.
     */
    private static final String CHMOD = "cd / && xargs -0 -r sh -c 'exec find \"$@\" -maxdepth 0 ! -perm \"$0\""
            + " -exec chmod \"$0\" {} +' \"$1\"";

    private PodState() {
    }

    /**
     * Saves what running sandbox {@code s}'s pod wrote into {@code dir}/{@value #DIR}, replacing what was there
     * (a crash leaves the old one or the new one).
     *
     * @param s      the running sandbox
     * @param rootfs the image's root file system on this host
     * @param files  its pod's files, through the agent
     * @param dir    the state directory to save into
     */
    static void save(Cluster c, PodRef ref, Sandbox s, Path rootfs, GuestFiles files, Path dir) {
        String stage = "/.davit/run/state-" + dev.davit.oci.internal.RandomHex.of(6);
        Path tmp = dir.resolve(DIR + ".new");
        boolean saved = false;
        boolean pod = false; // whether the step that failed was the pod's (its files, its answers), not this host's
        try {
            recover(dir);
            Fs.deleteTree(tmp);
            Files.createDirectories(tmp);
            Changes ch = null;
            for (int i = 1; ch == null; i++) {
                pod = true;
                run(c, ref, s, List.of("sh", "-c", SCAN, "sh", stage + "/scan"), null, "list the files of");
                pod = false;
                Path scan = tmp.resolve("scan");
                Fs.deleteTree(scan);
                Files.createDirectories(scan);
                pod = true;
                files.copyTree(stage + "/scan", scan);
                ch = changes(s, scan, rootfs, i == SCAN_TRIES);
                pod = false;
                Fs.deleteTree(scan);
            }
            pod = true;
            run(c, ref, s, List.of("sh", "-c", PACK, "sh", stage + "/parts"), ch.changed, "archive the changes of");
            files.copyTree(stage + "/parts", Files.createDirectories(tmp.resolve(PARTS)));
            pod = false;
            Files.write(tmp.resolve(DELETED), ch.deleted);
            Files.write(tmp.resolve(DIRS), ch.dirs);
            Path old = dir.resolve(DIR + ".old");
            Fs.deleteTree(old);
            if (Files.exists(dir.resolve(DIR), LinkOption.NOFOLLOW_LINKS)) {
                Files.move(dir.resolve(DIR), old);
            }
            Files.move(tmp, dir.resolve(DIR));
            Fs.fsyncDir(dir);
            saved = true;
            Fs.deleteTree(old);
        } catch (DavitException e) {
            if (pod && e.kind() != Kind.CANCELLED && e.kind() != Kind.NETWORK && e.kind() != Kind.AUTH) {
                throw new dev.davit.sandbox.backend.LongLived.Unsaved(e.kind(), e.getMessage());
            }
            throw e;
        } catch (IOException | java.io.UncheckedIOException e) {
            String m = "cannot save what sandbox " + s.id() + " wrote into " + dir + ": " + e.getMessage();
            if (pod && (e.getMessage() == null || !e.getMessage().contains("No space left"))) {
                throw new dev.davit.sandbox.backend.LongLived.Unsaved(Kind.STORE, m); // what the pod sent
            }
            throw new DavitException(Kind.STORE, m);
        } finally {
            if (!saved) {
                try {
                    Fs.deleteTree(tmp); // what a failed save wrote: nothing counts it, nothing reads it
                } catch (IOException ignored) {
                    // the next save removes it first
                }
            }
            try {
                run(c, ref, s, List.of("rm", "-rf", stage), null, "clean up after saving");
            } catch (DavitException ignored) {
                // the pod's own temporary files, gone with it
            }
        }
    }

    /**
     * Restores into running sandbox {@code s}'s new pod what {@link #save} kept in {@code dir}: the deleted paths
     * removed, then the changes extracted by the agent. Nothing saved: nothing to do.
     */
    static void restore(Cluster c, PodRef ref, Sandbox s, GuestFiles files, Path dir) {
        Path saved = dir.resolve(DIR);
        try {
            recover(dir);
            if (!Files.isDirectory(saved, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            byte[] deleted = Files.readAllBytes(saved.resolve(DELETED));
            if (deleted.length > 0) {
                run(c, ref, s, List.of("sh", "-c", REMOVE), deleted, "remove the deleted files of");
            }
            // directories first with modes that let root write into them, theirs once everything is in
            java.util.Map<String, ByteArrayOutputStream> byMode = new java.util.TreeMap<>();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            Path dirs = saved.resolve(DIRS);
            if (Files.isRegularFile(dirs, LinkOption.NOFOLLOW_LINKS)) {
                for (String rec : new String(Files.readAllBytes(dirs), StandardCharsets.UTF_8).split("\0")) {
                    int sp = rec.indexOf(' ');
                    if (sp > 0) {
                        byte[] path = (rec.substring(sp + 1) + "\0").getBytes(StandardCharsets.UTF_8);
                        all.writeBytes(path);
                        byMode.computeIfAbsent(rec.substring(0, sp), m -> new ByteArrayOutputStream()).writeBytes(path);
                    }
                }
            }
            if (all.size() > 0) {
                run(c, ref, s, List.of("sh", "-c", MKDIRS), all.toByteArray(), "make the directories of");
            }
            Path parts = saved.resolve(PARTS);
            if (Files.isDirectory(parts, LinkOption.NOFOLLOW_LINKS)) {
                List<Path> tars;
                try (Stream<Path> l = Files.list(parts)) {
                    // regular files only: the pod chose these names, and a link it made must not send one of this
                    // host's files into a pod
                    tars = l.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().limit(MAX_PARTS
                            + 1).toList();
                }
                if (tars.size() > MAX_PARTS) {
                    throw new DavitException(Kind.INTERNAL, "what sandbox " + s.id() + " saved holds more than "
                            + MAX_PARTS + " archives; remove the sandbox, its files are not to be trusted");
                }
                for (Path tar : tars) {
                    files.putTar("/", tar);
                }
            }
            for (var e : byMode.entrySet()) {
                run(c, ref, s, List.of("sh", "-c", CHMOD, "sh", e.getKey()), e.getValue().toByteArray(),
                        "restore the directory modes of");
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read what sandbox " + s.id() + " saved in " + saved + ": "
                    + e.getMessage());
        }
    }

    /**
     * Puts back the saved state a crash left between the two renames of a save or a restore of state (only
     * {@code DIR.old} there): the older state is kept rather than none.
     */
    static void recover(Path dir) throws IOException {
        Path old = dir.resolve(DIR + ".old");
        if (!Files.exists(dir.resolve(DIR), LinkOption.NOFOLLOW_LINKS) && Files.isDirectory(old,
                LinkOption.NOFOLLOW_LINKS)) {
            Files.move(old, dir.resolve(DIR));
        }
    }

    /** The bytes saved in {@code dir} ({@link #save}). */
    static long bytes(Path dir) throws IOException {
        Path saved = dir.resolve(DIR);
        if (!Files.isDirectory(saved, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        try (Stream<Path> w = Files.walk(saved)) {
            return w.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> p.toFile()
                    .length()).sum();
        }
    }

    /**
     * What changed: the non-directories to archive ({@code ./path}, NUL-terminated), the image's paths deleted or
     * replaced by another type of file (removed before the restore), and the changed directories
     * ({@code MODE ./path}, NUL-terminated: made first, their modes set last).
     */
    private record Changes(byte[] changed, byte[] deleted, byte[] dirs) {
    }

    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;

    /**
     * Reads the scan (its {@code mark}, {@code all}, {@code stat}, {@code errors}) against the image's
     * {@code rootfs}: changed are the entries of the root's own device whose ctime is at or after the mark; deleted,
     * the image's paths the pod does not list or lists as another type, but for those below one of the pod's mount
     * points (a volume's content is not the pod's) or a directory find could not read. Null when the listing changed
     * under the scan (not {@code last}). At most {@link #MAX_ENTRIES} entries and {@link #MAX_MOUNTS} such
     * directories: lookups by hash, never a scan of a list per path.
     */
    private static Changes changes(Sandbox s, Path scan, Path rootfs, boolean last) throws IOException {
        long mark;
        try {
            String[] m = new String(read(s, scan, "mark"), StandardCharsets.US_ASCII).strip().split(" ");
            mark = nanos(s, m[0], m.length > 2 ? m[2] : "");
        } catch (NumberFormatException | DavitException e) {
            throw new DavitException(Kind.INTERNAL, "the pod of sandbox " + s.id() + " has no start mark (started"
                    + " by an older davit?); stop and start it again");
        }
        List<String> all = split(s, read(s, scan, "all"), (byte) 0);
        List<String> stat = split(s, read(s, scan, "stat"), (byte) '\n');
        if (all.size() != stat.size() || all.isEmpty() || !all.get(0).equals("/")) {
            if (!last) {
                return null; // a name went between the listing and its stat: again
            }
            throw new DavitException(Kind.STATE, "the files of sandbox " + s.id() + "'s pod kept changing while"
                    + " they were listed (" + all.size() + " names, " + stat.size() + " entries); stop what writes"
                    + " in it and try again");
        }
        String rootDev = fields(s, stat.get(0))[1];
        // below these, nothing is the pod's own or readable: neither saved nor taken for deleted
        Set<String> mounts = new HashSet<>(List.of("/.davit", "/proc", "/sys", "/dev"));
        for (String line : new String(read(s, scan, "errors"), StandardCharsets.UTF_8).lines().toList()) {
            java.util.regex.Matcher m = UNREADABLE.matcher(line);
            if (m.matches()) {
                mount(s, mounts, m.group(1));
            }
        }
        Set<String> present = new HashSet<>();
        ByteArrayOutputStream changed = new ByteArrayOutputStream();
        ByteArrayOutputStream dirs = new ByteArrayOutputStream();
        ByteArrayOutputStream deleted = new ByteArrayOutputStream();
        for (int i = 1; i < all.size(); i++) {
            String[] f = fields(s, stat.get(i));
            String path = all.get(i);
            if (!path.startsWith("/") || (path + "/").contains("/../") || (path + "/").contains("/./")
                    || path.contains("//") || path.endsWith("/")) {
                throw malformed(s); // find prints none such: never looked up beside the image on this host
            }
            present.add(path);
            if (!f[1].equals(rootDev)) {
                mount(s, mounts, path);
                continue;
            }
            // to the nanosecond: an image's files unpacked on the node in the second its pod started (a first pull)
            // are older than the mark all the same, what the sandbox (or a restore) wrote after it is newer
            if (Long.parseLong(f[0]) < mark || under(path, mounts)) {
                continue;
            }
            int mode = Integer.parseInt(f[2], 16);
            long[] inImage = inImage(rootfs, path.substring(1), "unix:mode");
            if (inImage != null && (inImage[0] & S_IFMT) != (mode & S_IFMT)) {
                deleted.writeBytes(("." + path + "\0").getBytes(StandardCharsets.UTF_8)); // another type now
            }
            if ((mode & S_IFMT) == S_IFDIR) {
                dirs.writeBytes((Integer.toOctalString(mode & 07777) + " ." + path + "\0")
                        .getBytes(StandardCharsets.UTF_8));
            } else {
                changed.writeBytes(("." + path + "\0").getBytes(StandardCharsets.UTF_8));
            }
        }
        try (Stream<Path> w = Files.walk(rootfs)) {
            for (Path p : (Iterable<Path>) w::iterator) {
                String rel = "/" + rootfs.relativize(p).toString();
                if (rel.equals("/") || present.contains(rel) || under(rel, mounts)) {
                    continue;
                }
                deleted.writeBytes(("." + rel + "\0").getBytes(StandardCharsets.UTF_8));
            }
        }
        return new Changes(changed.toByteArray(), deleted.toByteArray(), dirs.toByteArray());
    }

    /**
     * The {@code attributes} (numeric, such as {@code unix:mode}) of path {@code rel} (relative, of the pod's) in the
     * image's {@code rootfs} on this host, looked up one component at a time: null when the image has no such path,
     * or has a link or a file on the way to it (never followed: an image's absolute link would lead out of its root
     * file system, into this host's).
     */
    static long[] inImage(Path rootfs, String rel, String... attributes) throws IOException {
        Path p = rootfs;
        String[] parts = rel.split("/");
        for (int i = 0; i < parts.length; i++) {
            p = p.resolve(parts[i]);
            java.nio.file.attribute.BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
                        LinkOption.NOFOLLOW_LINKS);
            } catch (java.nio.file.NoSuchFileException | java.nio.file.NotDirectoryException e) {
                return null;
            }
            if (i < parts.length - 1 && !a.isDirectory()) {
                return null;
            }
        }
        long[] out = new long[attributes.length];
        for (int i = 0; i < attributes.length; i++) {
            out[i] = ((Number) Files.getAttribute(p, attributes[i], LinkOption.NOFOLLOW_LINKS)).longValue();
        }
        return out;
    }

    /** {@code bytes} split at {@code sep} (a last empty piece left out), at most {@link #MAX_ENTRIES} pieces. */
    private static List<String> split(Sandbox s, byte[] bytes, byte sep) {
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == sep) {
                if (out.size() == MAX_ENTRIES) {
                    throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " holds more than " + MAX_ENTRIES
                            + " files to save; remove files it does not need, or keep what matters in /workspace"
                            + " and take a snapshot");
                }
                out.add(new String(bytes, from, i - from, StandardCharsets.UTF_8));
                from = i + 1;
            }
        }
        if (from < bytes.length) {
            out.add(new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8));
        }
        return out;
    }

    /** A scan's line: ctime, device and raw mode (hex), each checked. */
    /**
     * An entry of the scan's {@code stat} list ({@code %Z %z %d %f}: the ctime in seconds and as busybox words it,
     * to the nanosecond, the device, the mode in hex) as {ctime in nanoseconds, device, mode}.
     */
    private static String[] fields(Sandbox s, String line) {
        String[] f = line.split(" ");
        if (f.length != 6 || !f[4].matches("[0-9]{1,20}") || !f[5].matches("[0-9a-f]{1,6}")) {
            throw malformed(s);
        }
        return new String[] {Long.toString(nanos(s, f[0], f[2])), f[4], f[5]};
    }

    /** Seconds ({@code %Z}) and the fraction of busybox's {@code %z} time ({@code hh:mm:ss[.fraction]}) in nanoseconds. */
    private static long nanos(Sandbox s, String seconds, String time) {
        if (!seconds.matches("[0-9]{1,11}") || !time.matches("([0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?)?")) {
            throw malformed(s);
        }
        int dot = time.indexOf('.');
        long fraction = dot < 0 ? 0 : Long.parseLong((time.substring(dot + 1) + "00000000").substring(0, 9));
        return Long.parseLong(seconds) * 1_000_000_000L + fraction;
    }

    private static void mount(Sandbox s, Set<String> mounts, String path) {
        if (mounts.size() >= MAX_MOUNTS) {
            throw malformed(s);
        }
        mounts.add(path);
    }

    private static DavitException malformed(Sandbox s) {
        return new DavitException(Kind.INTERNAL, "the agent of sandbox " + s.id() + " listed a malformed entry;"
                + " remove the sandbox, its files are not to be trusted");
    }

    /**
     * File {@code name} of a scan the pod sent: a regular file (never followed if the pod made it a link to one of
     * this host's files) of at most {@link #MAX_LIST_BYTES}.
     */
    private static byte[] read(Sandbox s, Path scan, String name) throws IOException {
        Path f = scan.resolve(name);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.INTERNAL, "the agent of sandbox " + s.id() + " sent no " + name + " list"
                    + " (or not as a file); remove the sandbox, its files are not to be trusted");
        }
        try (java.io.InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
            byte[] b = in.readNBytes((int) MAX_LIST_BYTES + 1);
            if (b.length > MAX_LIST_BYTES) {
                throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " holds too many files to save (its "
                        + name + " list passes " + (MAX_LIST_BYTES >> 20) + " MiB); remove files it does not need,"
                        + " or keep what matters in /workspace and take a snapshot");
            }
            return b;
        }
    }

    /** Whether {@code path} is one of {@code mounts} or below one: its ancestors looked up, one by one. */
    private static boolean under(String path, Set<String> mounts) {
        for (String p = path; !p.isEmpty(); p = p.substring(0, Math.max(0, p.lastIndexOf('/')))) {
            if (mounts.contains(p)) {
                return true;
            }
        }
        return false;
    }

    /** Runs {@code argv} in the pod with {@code stdin} (or none); a failure is said as what could not be done. */
    private static void run(Cluster c, PodRef ref, Sandbox s, List<String> argv, byte[] stdin, String what) {
        ExecResult r = PodExec.run(c, ref, argv, ENV, "/", TIMEOUT, 0, 4096,
                stdin == null ? null : new ByteArrayInputStream(stdin), null, null, System.nanoTime(),
                K8sDriver.RUNTIME);
        if (r.exitCode() != 0) {
            throw new DavitException(Kind.STORE, "cannot " + what + " sandbox " + s.id() + "'s pod (exit "
                    + r.exitCode() + "): " + dev.davit.oci.internal.Text.shorten(dev.davit.oci.internal.Text
                    .printable(r.stderrText().strip()), 300));
        }
    }
}
