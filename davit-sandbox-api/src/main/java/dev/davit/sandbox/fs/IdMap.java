package dev.davit.sandbox.fs;

/**
 * The ids of a user namespace that maps its 0 to host {@code uid}/{@code gid} and its 1 to {@code count} to host
 * {@code subUid}/{@code subGid} on (a rootless user's namespace of subordinate ids), as an {@link Broker} there
 * sees owners: translated both ways, so that the JVM deals only in host ids. An id the namespace does not map is
 * the overflow id 65534 inside, and reads as that on the host too.
 */
public record IdMap(int uid, int gid, long subUid, long subGid, long count) {
    private static final int OVERFLOW = 65534;

    /** The identity: a broker in this JVM's own namespace (tests of the acting way, or as root). */
    public static IdMap identity() {
        return new IdMap(0, 0, 1, 1, 0xfffffffeL - 1);
    }

    int hostUid(long inner) {
        return toHost(inner, uid, subUid);
    }

    int hostGid(long inner) {
        return toHost(inner, gid, subGid);
    }

    long innerUid(int host) {
        return toInner(host, uid, subUid);
    }

    long innerGid(int host) {
        return toInner(host, gid, subGid);
    }

    private int toHost(long inner, int zero, long sub) {
        if (inner == 0) {
            return zero;
        }
        if (inner >= 1 && inner <= count) {
            return (int) (sub + inner - 1);
        }
        return OVERFLOW;
    }

    private long toInner(int host, int zero, long sub) {
        long h = Integer.toUnsignedLong(host);
        if (h == Integer.toUnsignedLong(zero)) {
            return 0;
        }
        if (h >= sub && h < sub + count) {
            return h - sub + 1;
        }
        throw new IllegalArgumentException("host id " + h + " is not mapped where the files are changed (0 is " + zero
                + ", 1 to " + count + " are " + sub + " on)");
    }
}
