package dev.davit.sandbox.jail;

import dev.davit.oci.internal.FileLocking;
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
    /** The name of the VMMs' range: one uid and gid of it per microVM, none shared with a container sandbox. */
    public static final String VMM_OWNER = "davit-vmm";
    /** The name of the network helpers' range: one uid and gid of it per NAT sandbox's slirp4netns. */
    public static final String NET_OWNER = "davit-net";
    public static final long COUNT = 65536;
    static final long FLOOR = 100_000;

    private static volatile IdRange root;
    private static volatile IdRange vmm;
    private static volatile IdRange net;

    /** The range of {@value #VMM_OWNER} (made when missing; needs root), after {@value #OWNER}'s. */
    public static IdRange forVmm() {
        IdRange r = vmm;
        if (r == null) {
            forRoot(); // davit's own first, so the two never take the same place
            synchronized (IdRange.class) {
                r = vmm;
                if (r == null) {
                    vmm = r = reserved(VMM_OWNER);
                }
            }
        }
        return r;
    }

    /**
     * The range of {@value #NET_OWNER} (made when missing; needs root), after {@value #VMM_OWNER}'s: the uids
     * slirp4netns runs as, none shared with a container sandbox or a VMM.
     */
    public static IdRange forNet() {
        IdRange r = net;
        if (r == null) {
            forVmm(); // the others first, so that every davit lays the ranges out in the same order
            synchronized (IdRange.class) {
                r = net;
                if (r == null) {
                    net = r = reserved(NET_OWNER);
                }
            }
        }
        return r;
    }

    /** {@code owner}'s ranges in /etc/subuid and /etc/subgid (added when missing). */
    private static IdRange reserved(String owner) {
        long uid = reserve(Path.of(System.getProperty("davit.subuid", "/etc/subuid")), owner);
        long gid = reserve(Path.of(System.getProperty("davit.subgid", "/etc/subgid")), owner);
        return new IdRange(uid, gid, COUNT);
    }

    /**
     * The id of this range for the sandbox {@code sandboxId} (the VMMs': one per microVM, from the id's hash; two VMs
     * share one only by a 1 in 65536 chance).
     */
    public long offsetOf(String sandboxId) {
        return Integer.toUnsignedLong(sandboxId.hashCode()) % count;
    }

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
        return reserve(file, OWNER);
    }

    /** The first id of {@code owner}'s range of at least {@value #COUNT} ids in {@code file}, added if missing. */
    static long reserve(Path file, String owner) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileLocking.await(ch); // against another davit adding one at the same time
            String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
            Long mine = find(text, owner);
            if (mine != null) {
                return mine;
            }
            long start = next(text);
            String line = (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + owner + ":" + start + ":" + COUNT
                    + "\n";
            ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)), ch.size());
            ch.force(true);
            return start;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot reserve the sandboxes' subordinate ids in " + file + ": "
                    + e.getMessage() + "; add a line '" + OWNER + ":START:" + COUNT + "' there as root");
        }
    }

    /** The start of a range of {@code owner} in a subuid/subgid text, or null. */
    static Long find(String text, String owner) {
        for (String line : text.split("\n")) {
            String[] f = line.strip().split(":");
            if (f.length == 3 && f[0].equals(owner)) {
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
