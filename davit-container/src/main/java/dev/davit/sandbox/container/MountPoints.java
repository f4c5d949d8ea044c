package dev.davit.sandbox.container;

import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.Network;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The directories a container sandbox mounts something on, and the one place that makes each of them exist in the
 * sandbox's own layer, never in the shared root filesystem: an image without {@code /proc}, {@code /dev},
 * {@code /tmp}, ... (a {@code FROM scratch}-style image, or one built from a plain directory) runs as any other.
 *
 * <ul>
 *   <li>Over an overlay, a missing mount point is created in the sandbox's upper layer before the overlay is
 *       mounted (its parents that exist in the rootfs get their mode and, as root, owner, as a copy-up would).</li>
 *   <li>On the read-only fallback, when mount points are missing, the root is a per-sandbox <em>skeleton</em>: a
 *       directory with the rootfs's top-level entries as empty mount points (symbolic links copied), the missing
 *       mount points and the directories that lead to them. Each entry is then bound read-only from the rootfs
 *       ({@link Root#binds}), so the sandbox sees the rootfs, read-only, plus the mount points.</li>
 * </ul>
 *
 * A target that exists in the rootfs as something other than a directory, or below a symbolic link or a file
 * (e.g. {@code /var/tmp -> /tmp}), is left alone and nothing is mounted on it.
 */
public final class MountPoints {
    /** What bwrap mounts (for a one-shot run and a long-lived sandbox's keeper), in mount order. */
    public static final List<String> BWRAP = List.of("proc", "dev", "tmp", "run", "var/tmp");
    /**
     * What bwrap mounts for a sandbox whose root filesystem's own /tmp, /run and /var/tmp are used
     * ({@link dev.davit.sandbox.CreateSpec#scratchInLayer}): only /proc and /dev.
     */
    public static final List<String> BWRAP_SCRATCH_IN_LAYER = List.of("proc", "dev");

    /**
     * What bwrap mounts for a long-lived sandbox of {@code spec}: {@link #BWRAP}, or
     * {@link #BWRAP_SCRATCH_IN_LAYER} when its scratch directories are its layer's.
     *
     * @param spec the sandbox's spec
     * @return the mount targets, in mount order
     */
    public static List<String> bwrapTargets(dev.davit.sandbox.CreateSpec spec) {
        return spec.scratchInLayer() ? BWRAP_SCRATCH_IN_LAYER : BWRAP;
    }

    /** What crun and runc mount, in mount order. */
    static final List<String> OCI = List.of("proc", "dev", "sys", "tmp", "run", "var/tmp");
    /** The modes of created mount points other than 0755 (runc keeps a mount point's mode on its tmpfs). */
    private static final Map<String, Integer> MODES = Map.of("tmp", 01777, "var/tmp", 01777);

    /**
     * The sandbox's root: {@code path} is mounted on / (read-only when {@code readOnly}), then each of
     * {@code binds} (paths relative to the rootfs) is bound read-only from the rootfs onto the same path, then
     * {@code resolv} (when not null, see {@link Dns}) read-only on /etc/resolv.conf.
     */
    public record Root(Path path, boolean readOnly, List<String> binds, Path resolv) {
        Root(Path path, boolean readOnly, List<String> binds) {
            this(path, readOnly, binds, null);
        }

        /** This root with the resolver file {@link Dns#prepare} made for {@code network}. */
        public Root withDns(Path rootfs, Network network, Path state) throws java.io.IOException {
            return new Root(path, readOnly, binds, Dns.prepare(rootfs, this, network, state));
        }
    }

    private MountPoints() {
    }

    /**
     * Whether something is mounted on {@code target} over {@code rootfs}: it is a directory there, or it is missing
     * and every part of it that exists is a directory (not a symbolic link or a file).
     */
    static boolean mounted(Path rootfs, String target) {
        Path p = rootfs;
        for (String c : target.split("/")) {
            p = p.resolve(c);
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return true;
            }
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
        }
        return true;
    }

    /** The {@code targets} that are mounted but missing in {@code rootfs}. */
    static List<String> missing(Path rootfs, List<String> targets) {
        return targets.stream().filter(t -> mounted(rootfs, t)
                && !Files.isDirectory(rootfs.resolve(t), LinkOption.NOFOLLOW_LINKS)).toList();
    }

    /**
     * Makes {@code targets} exist in the sandbox's own layer and returns its root: over the overlay mounted on
     * {@code merged} (they are created in {@code dirs.upper()}), or, with {@code merged} null, the read-only
     * {@code rootfs} itself when nothing is missing, else a skeleton in {@code dirs.skeleton()}.
     */
    public static Root prepare(Path rootfs, List<String> targets, Overlay.Dirs dirs, Path merged) throws IOException {
        return prepare(rootfs, targets, dirs, merged, null);
    }

    /**
     * {@link #prepare}, the mount points made in the upper layer owned as the sandbox sees its rootfs through
     * {@code shift} (their owners mapped into that range; null: as in the rootfs).
     */
    public static Root prepare(Path rootfs, List<String> targets, Overlay.Dirs dirs, Path merged,
                               dev.davit.sandbox.jail.IdRange shift) throws IOException {
        List<String> missing = missing(rootfs, targets);
        if (merged != null) {
            for (String t : missing) {
                create(rootfs, dirs.upper(), t, shift);
            }
            return new Root(merged, false, List.of());
        }
        if (missing.isEmpty()) {
            return new Root(rootfs, true, List.of());
        }
        return new Root(dirs.skeleton(), true, skeleton(rootfs, missing, dirs.skeleton()));
    }

    /**
     * The jail's root (see {@link dev.davit.sandbox.jail.Jail}): creates the overlay's directories, gives the upper
     * layer the rootfs root's mapped owner and mode, makes the missing {@code targets} in it owned through
     * {@code range}, writes the resolver file for {@code network} and, when there is one, adds it to {@code binds}
     * (as {@code resolv.conf:ro}). Returns the root as bubblewrap and the runtimes see it in the jail.
     */
    public static Root prepareJailed(Path rootfs, List<String> targets, Overlay.Dirs dirs, Network network,
                                     Path state, dev.davit.sandbox.jail.IdRange range, Map<String, Path> binds)
            throws IOException {
        dirs.create();
        dev.davit.sandbox.jail.Jail.prepareUpper(dirs.upper(), rootfs, range);
        Root prepared = prepare(rootfs, targets, dirs, dirs.merged(), range).withDns(rootfs, network, state);
        if (prepared.resolv() != null) {
            binds.put("resolv.conf:ro", prepared.resolv());
        }
        return jailRoot(prepared.resolv() != null);
    }

    /** The root of a jailed sandbox: the overlay at {@code Jail.ROOT}, with the jail's resolver file if any. */
    public static Root jailRoot(boolean resolv) {
        return new Root(dev.davit.sandbox.jail.Jail.ROOT, false, List.of(),
                resolv ? dev.davit.sandbox.jail.Jail.DIR.resolve(Dns.FILE) : null);
    }

    /**
     * Creates {@code target} under {@code layer}: its parents with the mode (and, as root, the owner) they have in
     * {@code rootfs}, or 0755 where they are missing there too; the target itself with its mount-point mode.
     */
    private static void create(Path rootfs, Path layer, String target) throws IOException {
        create(rootfs, layer, target, null);
    }

    /**
     * Makes directory {@code rel} and its parents under {@code layer} where missing there, as a mount point is made
     * (see {@link #create}); the caller has checked that nothing but directories is on the way.
     */
    static void createDirs(Path rootfs, Path layer, String rel, dev.davit.sandbox.jail.IdRange shift)
            throws IOException {
        create(rootfs, layer, rel, shift);
    }

    private static void create(Path rootfs, Path layer, String target, dev.davit.sandbox.jail.IdRange shift)
            throws IOException {
        // nothing of the sandbox runs while its mount points are made, but its layer holds what it left there
        // (e.g. var -> /some/host/dir): a target below anything but a directory is left alone, never followed
        String rel = "";
        for (String c : target.split("/")) {
            rel = rel.isEmpty() ? c : rel + "/" + c;
            Path p = layer.resolve(rel);
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                continue; // a long-lived sandbox's upper layer, or a parent made for another target
            }
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return; // a link or a file the sandbox put there: nothing is mounted below it
            }
            Files.createDirectory(p);
            Path like = rootfs.resolve(rel);
            if (Files.isDirectory(like, LinkOption.NOFOLLOW_LINKS)) {
                copyOwnerAndMode(like, p);
            } else {
                Files.setAttribute(p, "unix:mode", rel.equals(target) ? MODES.getOrDefault(target, 0755) : 0755);
            }
            if (shift != null) {
                Map<String, Object> a = Files.readAttributes(p, "unix:uid,gid", LinkOption.NOFOLLOW_LINKS);
                dev.davit.sandbox.jail.Jail.own(p, shift, (Integer) a.get("uid"), (Integer) a.get("gid"));
            }
        }
    }

    /**
     * Builds the read-only fallback's skeleton of {@code rootfs} in {@code dir} (replacing an older one) for the
     * {@code missing} mount points; returns the paths to bind from the rootfs.
     */
    private static List<String> skeleton(Path rootfs, List<String> missing, Path dir) throws IOException {
        Host.deleteTree(dir);
        // the directories that lead to a missing mount point and exist in the rootfs: rebuilt entry by entry
        TreeSet<String> expanded = new TreeSet<>(List.of(""));
        for (String t : missing) {
            String rel = "";
            for (String c : t.split("/")) {
                rel = rel.isEmpty() ? c : rel + "/" + c;
                if (!Files.isDirectory(rootfs.resolve(rel), LinkOption.NOFOLLOW_LINKS)) {
                    break;
                }
                expanded.add(rel);
            }
        }
        List<String> binds = new ArrayList<>();
        Files.createDirectories(dir);
        copyOwnerAndMode(rootfs, dir);
        for (String e : expanded) { // parents before children
            Path to = dir.resolve(e);
            if (!e.isEmpty()) {
                Files.createDirectory(to);
                copyOwnerAndMode(rootfs.resolve(e), to);
            }
            List<Path> entries;
            try (Stream<Path> s = Files.list(rootfs.resolve(e))) {
                entries = s.sorted().toList();
            }
            for (Path from : entries) {
                String rel = e.isEmpty() ? from.getFileName().toString() : e + "/" + from.getFileName();
                if (expanded.contains(rel)) {
                    continue;
                }
                Path point = dir.resolve(rel);
                if (Files.isSymbolicLink(from)) {
                    Files.createSymbolicLink(point, Files.readSymbolicLink(from));
                    continue;
                }
                if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(point);
                } else {
                    Files.createFile(point);
                }
                binds.add(rel);
            }
        }
        for (String t : missing) {
            create(rootfs, dir, t);
        }
        return binds;
    }

    /**
     * Gives {@code to} the mode of {@code from} and, as root, its owner; without root the owner may always write
     * it, so that davit can delete the sandbox's state (a read-only rootfs directory, say 0555, would stop that).
     */
    private static void copyOwnerAndMode(Path from, Path to) throws IOException {
        Map<String, Object> a = Files.readAttributes(from, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode") & 07777;
        if (Overlay.ROOT) {
            Files.setAttribute(to, "unix:gid", a.get("gid"));
            Files.setAttribute(to, "unix:uid", a.get("uid"));
        } else {
            mode |= 0700;
        }
        Files.setAttribute(to, "unix:mode", mode);
    }
}
