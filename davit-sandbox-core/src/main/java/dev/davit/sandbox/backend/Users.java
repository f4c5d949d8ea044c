package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/** Resolves an image's {@code User} ({@code uid}, {@code uid:gid}, {@code name}, {@code name:group}). */
public final class Users {
    /** The largest etc/passwd or etc/group read: 16 MiB. */
    private static final long MAX_BYTES = 16 << 20;
    private Users() {
    }

    /** {uid, gid}, or null when no user is set. Names are looked up in the rootfs's etc/passwd and etc/group. */
    public static int[] resolve(Path rootfs, String user) {
        return resolve(of(rootfs), user);
    }

    /**
     * The lines of an image's {@code etc/passwd} or {@code etc/group} (the path as given), or null when it has no
     * such file that may be read.
     */
    @FunctionalInterface
    public interface Source {
        /**
         * {@return the file's lines, or null}
         *
         * @param file {@code etc/passwd} or {@code etc/group}
         */
        List<String> lines(String file);
    }

    /** {uid, gid}, or null when no user is set: as {@link #resolve(Path, String)}, the files read from {@code files}. */
    public static int[] resolve(Source rootfs, String user) {
        if (user == null || user.isBlank()) {
            return null;
        }
        String u = user;
        String g = null;
        int colon = user.indexOf(':');
        if (colon >= 0) {
            u = user.substring(0, colon);
            g = user.substring(colon + 1);
        }
        int uid;
        Integer primaryGid = null;
        if (u.matches("\\d+")) {
            uid = Integer.parseInt(u);
            String[] pw = find(rootfs, "etc/passwd", 2, u);
            primaryGid = pw != null && pw.length > 3 && pw[3].matches("\\d+") ? Integer.parseInt(pw[3]) : null;
        } else {
            String[] pw = find(rootfs, "etc/passwd", 0, u);
            if (pw == null || pw.length < 4 || !pw[2].matches("\\d+") || !pw[3].matches("\\d+")) {
                throw new DavitException(Kind.USAGE, "the image's user '" + user + "' is not in its /etc/passwd");
            }
            uid = Integer.parseInt(pw[2]);
            primaryGid = Integer.parseInt(pw[3]);
        }
        int gid;
        if (g == null || g.isEmpty()) {
            gid = primaryGid != null ? primaryGid : uid;
        } else if (g.matches("\\d+")) {
            gid = Integer.parseInt(g);
        } else {
            String[] gr = find(rootfs, "etc/group", 0, g);
            if (gr == null || gr.length < 3 || !gr[2].matches("\\d+")) {
                throw new DavitException(Kind.USAGE, "the image's group '" + g + "' is not in its /etc/group");
            }
            gid = Integer.parseInt(gr[2]);
        }
        return new int[] {uid, gid};
    }

    /**
     * The home directory of {@code user} (as {@link #resolve} takes it; null or empty: root) in the rootfs's
     * etc/passwd, as Docker's builders give a RUN its {@code HOME}: the entry's sixth field, else {@code /root} for
     * root and {@code /} for anyone else.
     */
    public static String home(Path rootfs, String user) {
        return home(of(rootfs), user);
    }

    /** The home directory of {@code user}: as {@link #home(Path, String)}, the files read from {@code rootfs}. */
    public static String home(Source rootfs, String user) {
        String u = user == null || user.isBlank() ? "0" : user.contains(":") ? user.substring(0, user.indexOf(':'))
                : user;
        String[] pw = u.matches("\\d+") ? find(rootfs, "etc/passwd", 2, u) : find(rootfs, "etc/passwd", 0, u);
        if (pw != null && pw.length > 5 && pw[5].startsWith("/")) {
            return pw[5];
        }
        return u.equals("0") || u.equals("root") ? "/root" : "/";
    }

    private static String[] find(Source rootfs, String file, int field, String value) {
        List<String> lines = rootfs.lines(file);
        if (lines == null) {
            return null;
        }
        for (String line : lines) {
            String[] parts = line.split(":", -1);
            if (parts.length > field && parts[field].equals(value)) {
                return parts;
            }
        }
        return null;
    }

    /** The files of root filesystem {@code rootfs}: its own only, never through a link the host would follow. */
    private static Source of(Path rootfs) {
        return file -> {
            Path f = rootfs.resolve(file);
            if (!Files.isDirectory(f.getParent(), LinkOption.NOFOLLOW_LINKS)
                    || !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            try {
                if (Files.size(f) > MAX_BYTES) {
                    return null; // not a passwd or group file anyone writes: never read into memory whole
                }
                return Files.readAllLines(f, StandardCharsets.UTF_8);
            } catch (IOException | java.io.UncheckedIOException e) {
                return null;
            }
        };
    }
}
