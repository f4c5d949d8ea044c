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
 * directories). Files, links and hard links as the pod's tar has them (owners as the pod saw them); directories with
 * their saved modes, owned as in the image when the image has them, else by the sandbox's user; a whiteout for each
 * deleted path of the image but below another deleted one (or one the layer writes anew, another type now). Left
 * out, as a container workspace's commit leaves them: {@code /tmp}, fifos, sockets and devices, and names a layer
 * reserves ({@code .wh.*}). Everything read is the pod's, so untrusted: a name that leaves the root, or a hard link to
 * what the layer does not hold, refuses the commit or is skipped, never followed.
 */
final class PodLayer {
    /** The most bytes of a file a {@link Changes.Rewrite} takes (trust stores: small), held in memory. */
    static final int MAX_REWRITE = 16 << 20;

    private PodLayer() {
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
        Path rootfs = s.spec().rootfs();
        long entries = 0;
        long files = 0;
        long bytes = 0;
        long newest = 0;
        List<String> skipped = new ArrayList<>();
        Set<String> written = new HashSet<>();
        Set<String> regular = new HashSet<>(); // what a hard link may name
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
            try (InputStream in = Files.newInputStream(tar, LinkOption.NOFOLLOW_LINKS);
                 TarArchiveInputStream t = new TarArchiveInputStream(new java.io.BufferedInputStream(in, 1 << 16))) {
                for (TarArchiveEntry e; (e = t.getNextEntry()) != null; ) {
                    String path = relative(s, e.getName());
                    if (path == null || !written.add(path)) {
                        continue; // the root itself, or a name met before (the pod's archives list each once)
                    }
                    if (left(path)) {
                        written.remove(path);
                        if (!path.equals("tmp") && !path.startsWith("tmp/")) {
                            skipped.add(path);
                        }
                        continue;
                    }
                    long mtime = Math.max(0, e.getLastModifiedDate().getTime() / 1000);
                    long uid = Math.max(0, e.getLongUserId());
                    long gid = Math.max(0, e.getLongGroupId());
                    int mode = e.getMode() & 07777;
                    if (e.isFIFO() || e.isCharacterDevice() || e.isBlockDevice()) {
                        written.remove(path);
                        skipped.add(path); // what a layer of changes never holds (commons-compress calls a fifo a file)
                        continue;
                    }
                    if (e.isSymbolicLink()) {
                        out.symlink(path, e.getLinkName(), uid, gid, mtime);
                    } else if (e.isLink()) {
                        String target = relative(s, e.getLinkName());
                        if (target == null || !regular.contains(target)) {
                            written.remove(path);
                            skipped.add(path); // a link to what this layer does not hold
                            continue;
                        }
                        out.hardlink(path, target, mode, uid, gid, mtime);
                    } else if (e.isDirectory()) {
                        out.directory(path, mode, uid, gid, mtime); // a file that became a directory meanwhile
                    } else if (e.isFile()) {
                        long size = e.getSize();
                        if (rewrite.wants(path)) {
                            if (size > MAX_REWRITE) {
                                throw new DavitException(Kind.USAGE, "sandbox " + s.id() + "'s " + path + " is"
                                        + " larger than " + (MAX_REWRITE >> 20) + " MiB; remove it before a commit");
                            }
                            InputStream given = rewrite.apply(new ByteArrayInputStream(t.readNBytes((int) size)));
                            if (given == null) {
                                written.remove(path);
                                continue;
                            }
                            byte[] b = given.readAllBytes();
                            out.file(path, mode, uid, gid, mtime, b.length, new ByteArrayInputStream(b));
                            size = b.length;
                        } else {
                            out.file(path, mode, uid, gid, mtime, size, t);
                        }
                        regular.add(path);
                        files++;
                        bytes += size;
                    } else {
                        written.remove(path);
                        skipped.add(path); // a fifo, a socket, a device
                        continue;
                    }
                    entries++;
                    newest = Math.max(newest, mtime);
                }
            } catch (IllegalArgumentException e) {
                throw untrusted(s, e.getMessage());
            }
        }
        TreeMap<String, Integer> dirs = new TreeMap<>();
        for (String rec : records(saved.resolve(PodState.DIRS))) {
            int sp = rec.indexOf(' ');
            String path = sp > 0 ? relative(s, rec.substring(sp + 1)) : null;
            if (path == null || !rec.substring(0, sp).matches("[0-7]{1,5}")) {
                throw untrusted(s, "a directory record '" + dev.davit.oci.internal.Text.printable(rec) + "'");
            }
            if (!left(path) && !written.contains(path)) {
                dirs.put(path, Integer.parseInt(rec.substring(0, sp), 8));
            }
        }
        for (var d : dirs.entrySet()) {
            long[] owner = PodState.inImage(rootfs, d.getKey(), "unix:uid", "unix:gid");
            out.directory(d.getKey(), d.getValue(), owner == null ? user[0] : owner[0], owner == null ? user[1]
                    : owner[1], newest);
            written.add(d.getKey());
            entries++;
        }
        Set<String> deleted = new HashSet<>();
        List<String> gone = new ArrayList<>();
        for (String rec : records(saved.resolve(PodState.DELETED))) {
            String path = relative(s, rec);
            if (path == null) {
                throw untrusted(s, "a deleted path '" + dev.davit.oci.internal.Text.printable(rec) + "'");
            }
            deleted.add(path);
            gone.add(path);
        }
        long whiteouts = 0;
        for (String path : gone) {
            if (written.contains(path) || below(path, deleted) || left(path)) {
                continue; // another type now, written above; or gone with a deleted directory
            }
            out.whiteout(path, newest);
            whiteouts++;
        }
        return new Changes(entries, files, bytes, whiteouts, newest, skipped);
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
     * @throws DavitException INTERNAL when it holds {@code ..}, an empty or {@code .} component past the first
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
        for (String part : n.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..") || part.indexOf('\0') >= 0) {
                throw untrusted(s, "the name '" + dev.davit.oci.internal.Text.printable(name) + "'");
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

    private static DavitException untrusted(Sandbox s, String what) {
        return new DavitException(Kind.INTERNAL, "what sandbox " + s.id() + "'s pod saved holds " + what
                + ", which no layer may; remove the sandbox, its files are not to be trusted");
    }
}
