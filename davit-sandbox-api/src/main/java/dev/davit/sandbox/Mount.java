package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.nio.file.Path;
import java.util.List;

/**
 * A host directory or file mounted into a container sandbox, or a tmpfs of its own: what a Containerfile's
 * {@code RUN --mount} gives a step (a cache kept between builds, a secret, a copy of the context). Container backend
 * only ({@link CreateSpec#mounts}); never offered to a model or a command line: the library's caller makes the source
 * for this sandbox alone.
 *
 * <p>The target is made as a mount point in the sandbox's own layer when the image lacks it, and is left out of that
 * layer as every mount point davit makes is; it must reach no link or file of the image on the way (the caller
 * resolves the image's links first). The source's own owner is set to {@code uid}:{@code gid} as the sandbox sees
 * them when the sandbox starts (its contents are left as they are).
 *
 * @param target     the absolute path in the sandbox, normal ({@code /var/cache/apt}); not {@code /}, nor in
 *                   {@code /proc}, {@code /dev} or {@code /sys}, nor davit's {@code /etc/resolv.conf},
 *                   {@code /etc/hosts} or {@code /etc/hostname} (nor in {@code /tmp}, {@code /run} or
 *                   {@code /var/tmp} of a sandbox whose scratch directories are not its layer's: see
 *                   {@link CreateSpec#mounts})
 * @param source     the host directory or file bound there, absolute; null for a tmpfs
 * @param readOnly   whether the sandbox may not write it
 * @param tmpfsBytes a tmpfs's size limit in bytes (0: as the kernel sizes it); 0 for a bind
 * @param uid        the owner of the source's top (or the tmpfs) as the sandbox sees it; -1 to leave it as it is
 * @param gid        its group, likewise
 * @param mode       its mode bits ({@code 0755}); -1 to leave them as they are
 * @param copy       whether the source is a tree made for this sandbox alone, its owners the ids the sandbox should
 *                   see: as root they are shifted into the ids the sandbox's user namespace maps (else nothing of it
 *                   would be its root's)
 */
public record Mount(String target, Path source, boolean readOnly, long tmpfsBytes, int uid, int gid, int mode,
                    boolean copy) {
    /** Where nothing may be mounted: davit's own mounts of every sandbox. */
    private static final List<String> RESERVED = List.of("/proc", "/dev", "/sys", "/etc/resolv.conf", "/etc/hosts",
            "/etc/hostname");

    /**
     * Checks the values.
     *
     * @throws DavitException USAGE for a target that is not absolute and normal, or is reserved, a relative source, a
     *                        negative size, a size for a bind, or a mode out of range
     */
    public Mount {
        if (target == null || !target.startsWith("/") || target.equals("/") || target.endsWith("/")
                || target.contains("//") || target.contains("\0") || List.of(target.split("/")).stream()
                .anyMatch(c -> c.equals(".") || c.equals(".."))) {
            throw new DavitException(Kind.USAGE, "a mount's target must be an absolute path below / without '.' or"
                    + " '..' parts, e.g. /var/cache/apt (not '" + (target == null ? "" : dev.davit.oci.internal.Text.shorten(
                    dev.davit.oci.internal.Text.printable(target), 60)) + "')");
        }
        for (String r : RESERVED) {
            if (target.equals(r) || target.startsWith(r + "/")) {
                throw new DavitException(Kind.USAGE, "nothing may be mounted on " + dev.davit.oci.internal.Text.shorten(
                        dev.davit.oci.internal.Text.printable(target), 60) + ": " + r + " is the sandbox's own");
            }
        }
        if (source != null && !source.isAbsolute()) {
            throw new DavitException(Kind.USAGE, "a mount's source must be an absolute path");
        }
        if (tmpfsBytes < 0 || source != null && tmpfsBytes != 0) {
            throw new DavitException(Kind.USAGE, "only a tmpfs mount has a size, and it is not negative");
        }
        if (mode < -1 || mode > 07777) {
            throw new DavitException(Kind.USAGE, "a mount's mode is octal 0 to 7777, e.g. 0755");
        }
        if (copy && source == null) {
            throw new DavitException(Kind.USAGE, "a tmpfs mount is no copy");
        }
    }

    /**
     * Binds {@code source} (a directory or a regular file) on {@code target}, its owner and mode left as they are.
     *
     * @param source   the host path, absolute
     * @param target   the path in the sandbox
     * @param readOnly whether the sandbox may not write it
     * @return the mount
     */
    public static Mount bind(Path source, String target, boolean readOnly) {
        return new Mount(target, source, readOnly, 0, -1, -1, -1, false);
    }

    /**
     * Binds {@code source}, a tree made for this sandbox alone whose owners are the ids the sandbox should see, on
     * {@code target} (see {@link #copy}).
     *
     * @param source   the host directory or file, absolute
     * @param target   the path in the sandbox
     * @param readOnly whether the sandbox may not write it
     * @return the mount
     */
    public static Mount copyOf(Path source, String target, boolean readOnly) {
        return new Mount(target, source, readOnly, 0, -1, -1, -1, true);
    }

    /**
     * A tmpfs of the sandbox's own on {@code target}, root's and 0755 (emptied when the sandbox stops).
     *
     * @param target the path in the sandbox
     * @param bytes  its size limit (0: as the kernel sizes it)
     * @return the mount
     */
    public static Mount tmpfs(String target, long bytes) {
        return new Mount(target, null, false, bytes, -1, -1, -1, false);
    }

    /**
     * This mount with its source's top (or the tmpfs) owned by {@code u}:{@code g} with mode {@code m}, as the
     * sandbox sees them.
     *
     * @param u the owner, -1 to leave it
     * @param g the group, -1 to leave it
     * @param m the mode bits, -1 to leave them
     * @return a new mount
     */
    public Mount owned(int u, int g, int m) {
        return new Mount(target, source, readOnly, tmpfsBytes, u, g, m, copy);
    }

    /**
     * {@return whether this is a tmpfs of the sandbox's own}
     */
    public boolean isTmpfs() {
        return source == null;
    }

    /**
     * {@return the target relative to the sandbox's root, e.g. {@code var/cache/apt}}
     */
    public String relative() {
        return target.substring(1);
    }
}
