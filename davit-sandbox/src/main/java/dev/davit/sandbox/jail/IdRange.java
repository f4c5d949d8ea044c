package dev.davit.sandbox.jail;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The host ids a sandbox's ids map to: sandbox uid {@code n} is host uid {@code uid + n} and gid {@code n} is host
 * gid {@code gid + n}, for {@code n < count}. As root these are the subordinate ranges of the name
 * {@value #OWNER} in {@code /etc/subuid} and {@code /etc/subgid} (as Podman keeps its own there), added by davit
 * when missing: {@value #COUNT} ids after every range already listed and never below 100000, so they collide with no
 * user's ids nor with another tool's ranges. Sandbox root is therefore an unprivileged host uid that owns nothing on
 * the host.
 */
public record IdRange(long uid, long gid, long count) {
    public static final String OWNER = "davit";
    public static final long COUNT = 65536;
    static final long FLOOR = 100_000;

    private static volatile IdRange root;

    /** The range of {@value #OWNER} (made when missing; needs root). */
    public static IdRange forRoot() {
        IdRange r = root;
        if (r == null) {
            synchronized (IdRange.class) {
                r = root;
                if (r == null) {
                    long uid = reserve(Path.of(System.getProperty("davit.subuid", "/etc/subuid")));
                    long gid = reserve(Path.of(System.getProperty("davit.subgid", "/etc/subgid")));
                    root = r = new IdRange(uid, gid, COUNT);
                }
            }
        }
        return r;
    }

    /** The first id of {@value #OWNER}'s range of at least {@value #COUNT} ids in {@code file}, added if missing. */
    static long reserve(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.lock(); // against another davit adding one at the same time
            String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
            Long mine = find(text);
            if (mine != null) {
                return mine;
            }
            long start = next(text);
            String line = (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + OWNER + ":" + start + ":" + COUNT
                    + "\n";
            ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)), ch.size());
            ch.force(true);
            return start;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot reserve the sandboxes' subordinate ids in " + file + ": "
                    + e.getMessage() + "; add a line '" + OWNER + ":START:" + COUNT + "' there as root");
        }
    }

    /** The start of a range of {@value #OWNER} in a subuid/subgid text, or null. */
    static Long find(String text) {
        for (String line : text.split("\n")) {
            String[] f = line.strip().split(":");
            if (f.length == 3 && f[0].equals(OWNER)) {
                try {
                    if (Long.parseLong(f[2]) >= COUNT) {
                        return Long.parseLong(f[1]);
                    }
                } catch (NumberFormatException e) {
                    // not ours to fix; look further
                }
            }
        }
        return null;
    }

    /** Where a new range starts: after every listed range, at least {@link #FLOOR}, on a multiple of COUNT. */
    static long next(String text) {
        long end = FLOOR;
        for (String line : text.split("\n")) {
            String[] f = line.strip().split(":");
            if (f.length == 3) {
                try {
                    end = Math.max(end, Long.parseLong(f[1]) + Long.parseLong(f[2]));
                } catch (NumberFormatException e) {
                    // a malformed line claims nothing
                }
            }
        }
        long start = (end + COUNT - 1) / COUNT * COUNT;
        if (start + COUNT > 0xFFFF_FFFEL) {
            throw new DavitException(Kind.USAGE, "no room for " + COUNT + " more subordinate ids; add a line '"
                    + OWNER + ":START:" + COUNT + "' to /etc/subuid and /etc/subgid as root");
        }
        return start;
    }

    /** The host uid of sandbox uid {@code id} (ids outside the range are not mapped: -1). */
    public long hostUid(long id) {
        return id >= 0 && id < count ? uid + id : -1;
    }

    public long hostGid(long id) {
        return id >= 0 && id < count ? gid + id : -1;
    }

    /** A {@code uid_map} line. */
    String uidMap() {
        return "0 " + uid + " " + count + "\n";
    }

    String gidMap() {
        return "0 " + gid + " " + count + "\n";
    }
}
