package dev.davit.oci.unpack;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Map;

/**
 * Applies entry metadata: owner, mode, times and extended attributes. The order for a regular file is xattrs,
 * times, owner, mode: xattrs and times may need the file writable or readable, and {@code chown} clears set-uid
 * bits, so the mode comes last.
 *
 * <p>A file's {@code chmod} is skipped when it was created with its final mode already (the common 0644 and
 * 0755 under umask 022), which saves one system call per file.
 *
 * <p>Links are changed with {@code lchown}/{@code lutimes} ({@code NOFOLLOW_LINKS}); their mode is meaningless on
 * Linux and left alone. Device nodes and fifos never get times: Java would open them to set times, and opening a
 * fifo blocks while opening a device can have side effects.
 *
 * <p>Java can set {@code user.*} extended attributes only; others ({@code security.capability}, {@code trusted.*},
 * ACLs) are skipped with a note. PAX values are read as UTF-8 text, so binary values would not survive anyway.
 */
final class Attrs {
    private final boolean root;
    private final int umask;
    private final Report report;

    /**
     * @param root  whether to keep ownership ({@code lchown} to the entry's uid and gid)
     * @param umask the process's umask
     */
    Attrs(boolean root, int umask, Report report) {
        this.root = root;
        this.umask = umask;
        this.report = report;
    }

    /**
     * The permission bits to create a regular file of {@code mode} with: its own, plus owner read and write so
     * xattrs and times can still be set (see {@link #file}).
     */
    static int createMode(int mode) {
        return (mode & 0777) | 0600;
    }

    /** Full metadata of a regular file just created with {@link #createMode}. */
    void file(Path p, TarMeta m) throws IOException {
        xattrs(p, m);
        times(p, m, false);
        owner(p, m, false);
        if ((createMode(m.mode()) & ~umask) != m.mode()) {
            mode(p, m.mode());
        }
    }

    /** Metadata of a symbolic link just created. */
    void symlink(Path p, TarMeta m) throws IOException {
        if (!m.xattrs().isEmpty()) {
            report.noteEntry("extended attributes on symbolic links were not applied (Linux allows none of the"
                    + " user.* kind)");
        }
        owner(p, m, true);
        try {
            times(p, m, true);
        } catch (IOException | UnsupportedOperationException e) {
            report.noteEntry("times of symbolic links could not be set: " + e.getMessage());
        }
    }

    /** Metadata of a device node or fifo just created (its mode was given to {@code mknod}). */
    void special(Path p, TarMeta m) throws IOException {
        owner(p, m, false);
    }

    /** Metadata of a directory, applied once everything below it is written. */
    void directory(Path p, TarMeta m) throws IOException {
        times(p, m, false);
        owner(p, m, false);
        mode(p, m.mode());
    }

    /** Extended attributes of a file or directory. */
    void xattrs(Path p, TarMeta m) {
        for (Map.Entry<String, String> x : m.xattrs().entrySet()) {
            String name = x.getKey();
            if (!name.startsWith("user.") || name.length() == 5) {
                report.noteEntry("extended attribute " + name + " was not applied: Java can only set user.*"
                        + " attributes");
                continue;
            }
            try {
                UserDefinedFileAttributeView v = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class,
                        LinkOption.NOFOLLOW_LINKS);
                v.write(name.substring(5), ByteBuffer.wrap(x.getValue().getBytes(StandardCharsets.UTF_8)));
            } catch (IOException | UnsupportedOperationException e) {
                report.noteEntry("extended attribute " + name + " could not be set (" + e.getClass().getSimpleName()
                        + ": the file system may not support user.* attributes)");
            }
        }
    }

    private void times(Path p, TarMeta m, boolean link) throws IOException {
        BasicFileAttributeView v = link
                ? Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                : Files.getFileAttributeView(p, BasicFileAttributeView.class);
        v.setTimes(m.mtime(), m.atime(), null);
    }

    private void owner(Path p, TarMeta m, boolean link) throws IOException {
        if (!root) {
            return;
        }
        LinkOption[] opts = link ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS} : new LinkOption[0];
        Files.setAttribute(p, "unix:uid", (int) m.uid(), opts);
        Files.setAttribute(p, "unix:gid", (int) m.gid(), opts);
    }

    /** Sets permission bits including set-uid, set-gid and sticky; never on a link. */
    static void mode(Path p, int mode) throws IOException {
        Files.setAttribute(p, "unix:mode", mode & 07777);
    }
}
