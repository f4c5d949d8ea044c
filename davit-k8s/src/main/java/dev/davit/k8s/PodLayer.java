package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.LayerWriter;
import dev.davit.sandbox.Changes;
import dev.davit.sandbox.Sandbox;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * What a pod's sandbox changed, as one OCI layer (a commit's): read from a save of {@link PodState} (its archives,
 * made in the pod, read here as a stream of entries and never unpacked on this host; its deleted paths; its changed
 * directories). The changed directories first (parents before children: with their saved modes), then files, links
 * and hard links, then a whiteout for each deleted path of the image but those below another deleted one (or one
 * the layer writes anew, another type now). Left out, as a container workspace's commit leaves them: {@code /tmp},
 * fifos, sockets and devices, and names a layer reserves ({@code .wh.*}).
 *
 * <p>Everything read is the pod's, so untrusted: the archives could be forged by what runs in the sandbox. Their
 * headers are read within {@link #MAX_HEADER_BYTES} an entry and the names within the bound of a save; a name that
 * leaves the root, that is not UTF-8, that lies below a link or a file the layer holds, a sparse or malformed entry,
 * or an empty link target refuses the commit as untrusted. Owners are never the archives' word alone: a sandbox of a
 * user but root ({@link Pods#imageUser}) gets that user for what it made, setuid and setgid bits dropped, and the
 * image's owner and mode where the image has the path under another owner; a change the user could not have made
 * there (a file or directory not writable by it) refuses the commit.
 */
final class PodLayer {
    /** The most bytes of a file a {@link Changes.Rewrite} takes (trust stores: small), held in memory. */
    static final int MAX_REWRITE = 16 << 20;
    /** The most bytes the headers of one entry (ustar, pax, GNU long names) may take. */
    static final int MAX_HEADER_BYTES = 1 << 20;
    /** The most paths a commit lists as skipped. */
    static final int MAX_SKIPPED = 1000;
    /** The largest uid or gid a layer holds. */
    private static final long MAX_ID = 0xFFFFFFFEL;

    private PodLayer() {
    }

    /** The walk's state: what the layer holds so far and its counts. */
    private static final class Walk {
        final Sandbox s;
        final Path rootfs;
        final long[] user;
        final Set<String> written = new HashSet<>();
        final Set<String> regular = new HashSet<>(); // what a hard link may name
        final Set<String> blocking = new HashSet<>(); // links and files: nothing may be below them
        final List<String> skipped = new ArrayList<>();
        long skippedMore;
        long nameBytes;
        long entries;
        long files;
        long bytes;
        long whiteouts;
        long newest;

        Walk(Sandbox s, long[] user) {
            this.s = s;
            this.rootfs = s.spec().rootfs();
            this.user = user;
        }

        boolean root() {
            return user[0] == 0;
        }

        void skip(String path) {
            if (skipped.size() < MAX_SKIPPED) {
                skipped.add(path);
            } else {
                skippedMore++;
            }
        }

        /** Records {@code path} as written; refuses one below a link or a file of the layer, or past the bound. */
        void add(String path) {
            for (int i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
                if (blocking.contains(path.substring(0, i))) {
                    throw untrusted(s, "an entry below a link or a file it also holds ('" + printable(path) + "')");
                }
            }
            nameBytes += path.length() + 64;
            if (nameBytes > PodState.MAX_LIST_BYTES) {
                throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " changed too many files to commit (more"
                        + " than " + (PodState.MAX_LIST_BYTES >> 20) + " MiB of names); remove files it does not"
                        + " need, or commit what matters from a smaller workspace");
            }
            written.add(path);
            entries++;
        }

        /**
         * The owner and mode of an entry at {@code path} the pod's archive says are {@code uid}, {@code gid},
         * {@code mode}: as said for a root sandbox; for a user's, the user and no setuid or setgid bit where the
         * image has no such path or has it as the user's, else the image's (refused when the image's mode would not
         * have let the user change it).
         */
        long[] owner(String path, long uid, long gid, int mode, boolean dir) throws IOException {
            if (uid > MAX_ID || gid > MAX_ID || uid < 0 || gid < 0) {
                throw untrusted(s, "an owner out of range at '" + printable(path) + "'");
            }
            if (root()) {
                return new long[] {uid, gid, mode & 07777};
            }
            long[] image = PodState.inImage(rootfs, path, "unix:uid", "unix:gid", "unix:mode");
            if (image == null || image[0] == user[0]) {
                return new long[] {user[0], user[1], mode & 01777};
            }
            if (!dir && !writable(image)) {
                throw untrusted(s, "a change to '" + printable(path) + "', which its user (uid " + user[0] + ") could"
                        + " not make");
            }
            return new long[] {image[0], image[1], (int) image[2] & 07777};
        }

        /** Whether the sandbox's user may write an image entry of {@code image}'s uid, gid and mode. */
        boolean writable(long[] image) {
            long mode = image[2];
            return image[0] == user[0] ? (mode & 0200) != 0 : image[1] == user[1] ? (mode & 0020) != 0
                    : (mode & 0002) != 0;
        }

        /** Refuses a deletion of {@code path} a user's sandbox could not make: its image directory is not writable. */
        void deletable(String path) throws IOException {
            if (root()) {
                return;
            }
            int slash = path.lastIndexOf('/');
            long[] parent = slash < 0 ? PodState.inImage(rootfs, ".", "unix:uid", "unix:gid", "unix:mode")
                    : PodState.inImage(rootfs, path.substring(0, slash), "unix:uid", "unix:gid", "unix:mode");
            if (parent != null && !writable(parent)) {
                throw untrusted(s, "a deletion of '" + printable(path) + "', which its user (uid " + user[0]
                        + ") could not make");
            }
        }
    }

    /**
     * Writes the save in {@code saved} (a {@link PodState#DIR}) of sandbox {@code s} to {@code out}.
     *
     * @param s       the sandbox
     * @param saved   its save; absent: nothing changed
     * @param user    the uid and gid of its container's user
     * @param out     the layer
     * @param rewrite what becomes of some files' bytes
     */
    static Changes write(Sandbox s, Path saved, long[] user, LayerWriter out, Changes.Rewrite rewrite)
            throws IOException {
        Walk w = new Walk(s, user);
        long savedAt = Files.exists(saved.resolve(PodState.DIRS), LinkOption.NOFOLLOW_LINKS)
                ? Files.getLastModifiedTime(saved.resolve(PodState.DIRS), LinkOption.NOFOLLOW_LINKS).toMillis() / 1000
                : 0;
        directories(w, saved, out, savedAt);
        Path parts = saved.resolve(PodState.PARTS);
        List<Path> tars = List.of();
        if (Files.isDirectory(parts, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> l = Files.list(parts)) {
                tars = l.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted()
                        .limit(PodState.MAX_PARTS + 1L).toList();
            }
            if (tars.size() > PodState.MAX_PARTS) {
                throw untrusted(s, "more than " + PodState.MAX_PARTS + " archives");
            }
        }
        for (Path tar : tars) {
            try (InputStream in = Files.newInputStream(tar, LinkOption.NOFOLLOW_LINKS)) {
                entries(w, new Bounded(new java.io.BufferedInputStream(in, 1 << 16)), out, rewrite);
            }
        }
        whiteouts(w, saved, out, Math.max(w.newest, savedAt));
        List<String> skipped = new ArrayList<>(w.skipped);
        if (w.skippedMore > 0) {
            skipped.add("... and " + w.skippedMore + " more");
        }
        return new Changes(w.entries, w.files, w.bytes, w.whiteouts, w.newest, skipped);
    }

    /** The changed directories of the save, parents first, with their saved modes. */
    private static void directories(Walk w, Path saved, LayerWriter out, long mtime) throws IOException {
        TreeMap<String, Integer> dirs = new TreeMap<>();
        for (String rec : records(saved.resolve(PodState.DIRS))) {
            int sp = rec.indexOf(' ');
            String path = sp > 0 ? relative(w.s, rec.substring(sp + 1)) : null;
            if (path == null || !rec.substring(0, sp).matches("[0-7]{1,5}")) {
                throw untrusted(w.s, "a directory record '" + printable(rec) + "'");
            }
            if (!left(path)) {
                dirs.put(path, Integer.parseInt(rec.substring(0, sp), 8));
            }
        }
        for (var d : dirs.entrySet()) {
            long[] owner = w.owner(d.getKey(), w.user[0], w.user[1], d.getValue(), true);
            long[] image = PodState.inImage(w.rootfs, d.getKey(), "unix:uid", "unix:gid");
            if (image != null) { // the image's directory: its owner stays, whoever the sandbox ran as
                owner = new long[] {image[0], image[1], owner[2]};
            }
            w.add(d.getKey());
            out.directory(d.getKey(), (int) owner[2], owner[0], owner[1], mtime);
        }
    }

    /** The entries of one archive of the save. */
    private static void entries(Walk w, Bounded raw, LayerWriter out, Changes.Rewrite rewrite) throws IOException {
        Sandbox s = w.s;
        TarArchiveInputStream t = new TarArchiveInputStream(raw, 10240, 512, "UTF-8", false);
        while (true) {
            TarArchiveEntry e;
            raw.headers(true);
            try {
                e = t.getNextEntry();
            } catch (IOException | IllegalArgumentException x) {
                throw untrusted(s, "a malformed archive entry (" + x.getMessage() + ")");
            }
            raw.headers(false);
            if (e == null) {
                return;
            }
            String name = e.getName();
            if (name.indexOf('\uFFFD') >= 0) {
                throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " holds a file whose name is not UTF-8"
                        + " text ('" + printable(name) + "'), which a commit does not carry; rename or remove it");
            }
            String path = relative(s, name);
            if (path == null || (e.isDirectory() && w.written.contains(path))) {
                continue; // the root itself, or a directory written first
            }
            if (w.written.contains(path)) {
                throw untrusted(s, "'" + printable(path) + "' twice");
            }
            if (left(path) || e.isFIFO() || e.isCharacterDevice() || e.isBlockDevice()) {
                if (!path.equals("tmp") && !path.startsWith("tmp/")) {
                    w.skip(path); // what a layer of changes never holds (commons-compress calls a fifo a file)
                }
                continue;
            }
            if (e.isSparse() || e.getSize() < 0) {
                throw untrusted(s, "a sparse or malformed entry ('" + printable(path) + "')");
            }
            long mtime = Math.max(0, e.getLastModifiedDate().getTime() / 1000);
            long[] o = w.owner(path, e.getLongUserId(), e.getLongGroupId(), e.getMode(), e.isDirectory());
            if (e.isSymbolicLink()) {
                if (e.getLinkName().isEmpty()) {
                    throw untrusted(s, "a link with no target ('" + printable(path) + "')");
                }
                w.add(path);
                w.blocking.add(path);
                out.symlink(path, e.getLinkName(), o[0], o[1], mtime);
            } else if (e.isLink()) {
                String target = relative(s, e.getLinkName());
                if (target == null || !w.regular.contains(target)) {
                    w.skip(path); // a link to what this layer does not hold (e.g. a file of /tmp)
                    continue;
                }
                w.add(path);
                w.blocking.add(path);
                out.hardlink(path, target, (int) o[2], o[0], o[1], mtime);
            } else if (e.isDirectory()) {
                w.add(path); // a file that became a directory meanwhile
                out.directory(path, (int) o[2], o[0], o[1], mtime);
            } else if (e.isFile()) {
                long size = e.getSize();
                w.add(path);
                if (rewrite.wants(path)) {
                    if (size > MAX_REWRITE) {
                        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + "'s " + path + " is larger than "
                                + (MAX_REWRITE >> 20) + " MiB; remove it before a commit");
                    }
                    InputStream given = rewrite.apply(new ByteArrayInputStream(t.readNBytes((int) size)));
                    if (given == null) {
                        w.written.remove(path);
                        w.entries--;
                        continue;
                    }
                    byte[] b = given.readAllBytes();
                    out.file(path, (int) o[2], o[0], o[1], mtime, b.length, new ByteArrayInputStream(b));
                    size = b.length;
                } else {
                    out.file(path, (int) o[2], o[0], o[1], mtime, size, t);
                }
                w.regular.add(path);
                w.blocking.add(path);
                w.files++;
                w.bytes += size;
            } else {
                w.skip(path); // a socket, or a type no layer of changes holds
                continue;
            }
            w.newest = Math.max(w.newest, mtime);
        }
    }

    /** A whiteout for each deleted image path, but those below another deleted one or written anew. */
    private static void whiteouts(Walk w, Path saved, LayerWriter out, long mtime) throws IOException {
        Set<String> deleted = new HashSet<>();
        List<String> gone = new ArrayList<>();
        for (String rec : records(saved.resolve(PodState.DELETED))) {
            String path = relative(w.s, rec);
            if (path == null) {
                throw untrusted(w.s, "a deleted path '" + printable(rec) + "'");
            }
            deleted.add(path);
            gone.add(path);
        }
        for (String path : gone) {
            if (w.written.contains(path) || below(path, deleted) || left(path)) {
                continue; // another type now, written above; or gone with a deleted directory
            }
            w.deletable(path);
            w.add(path);
            out.whiteout(path, mtime);
            w.whiteouts++;
        }
    }

    /** What a layer of changes leaves out: /tmp (a sandbox's scratch), and the names layers reserve. */
    private static boolean left(String path) {
        if (path.equals("tmp") || path.startsWith("tmp/")) {
            return true;
        }
        for (String part : path.split("/")) {
            if (part.startsWith(LayerWriter.WHITEOUT)) {
                return true;
            }
        }
        return false;
    }

    /** Whether an ancestor of {@code path} is in {@code set}. */
    private static boolean below(String path, Set<String> set) {
        for (int i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
            if (set.contains(path.substring(0, i))) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code name} of the pod's ({@code ./a/b}, {@code a/b} or {@code /a/b}) as a layer's relative path; null for
     * the root itself.
     *
     * @throws DavitException INTERNAL when it holds {@code ..}, an empty or {@code .} component past the first, or
     *                        a component over 255 bytes or is over 4096
     */
    static String relative(Sandbox s, String name) {
        String n = name;
        if (n.startsWith("./")) {
            n = n.substring(2);
        } else if (n.startsWith("/")) {
            n = n.substring(1);
        }
        while (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        if (n.isEmpty() || n.equals(".")) {
            return null;
        }
        if (n.length() > 4096) {
            throw untrusted(s, "a name of " + n.length() + " characters");
        }
        for (String part : n.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..") || part.indexOf('\0') >= 0
                    || part.getBytes(StandardCharsets.UTF_8).length > 255) {
                throw untrusted(s, "the name '" + printable(name) + "'");
            }
        }
        return n;
    }

    /** The NUL-separated records of file {@code f} (a save's list: a regular file, never followed), or none. */
    private static List<String> records(Path f) throws IOException {
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String r : new String(Files.readAllBytes(f), StandardCharsets.UTF_8).split("\0")) {
            if (!r.isEmpty()) {
                out.add(r);
            }
        }
        return out;
    }

    private static String printable(String s) {
        return dev.davit.oci.internal.Text.shorten(dev.davit.oci.internal.Text.printable(s), 200);
    }

    private static DavitException untrusted(Sandbox s, String what) {
        return new DavitException(Kind.INTERNAL, "what sandbox " + s.id() + "'s pod saved holds " + what
                + ", which no layer may; remove the sandbox, its files are not to be trusted");
    }

    /**
     * An archive's bytes, of which at most {@link #MAX_HEADER_BYTES} are read while {@link #headers} is on: the tar
     * reader holds an entry's headers (pax records, GNU long names) in memory whole.
     */
    private static final class Bounded extends java.io.FilterInputStream {
        private long count;
        private long limit = -1;

        Bounded(InputStream in) {
            super(in);
        }

        void headers(boolean on) {
            limit = on ? count + MAX_HEADER_BYTES : -1;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, limit < 0 ? len : (int) Math.max(1, Math.min(len, limit - count + 1)));
            if (n > 0) {
                count += n;
                if (limit >= 0 && count > limit) {
                    throw new IOException("an entry's headers pass " + (MAX_HEADER_BYTES >> 10) + " KiB");
                }
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long k = in.skip(limit < 0 ? n : Math.min(n, limit - count + 1));
            count += k;
            if (limit >= 0 && count > limit) {
                throw new IOException("an entry's headers pass " + (MAX_HEADER_BYTES >> 10) + " KiB");
            }
            return k;
        }
    }
}
