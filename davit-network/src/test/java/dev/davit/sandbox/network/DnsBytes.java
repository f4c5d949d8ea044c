package dev.davit.sandbox.network;

import java.io.ByteArrayOutputStream;

/** DNS messages written byte by byte, as {@code dig} or a name server (or an attacker) would send them. */
final class DnsBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A message with this header. */
    static DnsBytes header(int id, int flags, int qd, int an, int ns, int ar) {
        return new DnsBytes().u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    }

    /** {@code dig a.test}'s query: RD and AD set, one question, an EDNS OPT record with a cookie. */
    static byte[] digQuery(int id, String name, int type) {
        return header(id, 0x0120, 1, 0, 0, 1).name(name).u16(type).u16(1)
                .u8(0).u16(41).u16(1232).u32(0).u16(12).u16(10).u16(8).bytes(new byte[8]).toBytes();
    }

    DnsBytes u8(int v) {
        out.write(v);
        return this;
    }

    DnsBytes u16(int v) {
        return u8(v >> 8).u8(v);
    }

    DnsBytes u32(long v) {
        return u16((int) (v >> 16)).u16((int) v);
    }

    DnsBytes bytes(byte[] b) {
        out.write(b, 0, b.length);
        return this;
    }

    /** A name as labels, ending in the root (an empty string is the root alone). */
    DnsBytes name(String n) {
        labels(n);
        return u8(0);
    }

    /** Labels without the root (to end in a pointer). */
    DnsBytes labels(String n) {
        if (!n.isEmpty()) {
            for (String l : n.split("\\.", -1)) {
                u8(l.length());
                for (int i = 0; i < l.length(); i++) {
                    u8(l.charAt(i));
                }
            }
        }
        return this;
    }

    DnsBytes pointer(int off) {
        return u16(0xc000 | off);
    }

    /** A record's type, class IN, TTL and data, after its owner name. */
    DnsBytes rr(int type, long ttl, byte[] data) {
        return u16(type).u16(1).u32(ttl).u16(data.length).bytes(data);
    }

    /** An A record's type onwards. */
    DnsBytes a(long ttl, int a, int b, int c, int d) {
        return rr(1, ttl, new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
    }

    /** A CNAME record's type onwards, its target written in full. */
    DnsBytes cname(long ttl, String target) {
        byte[] t = new DnsBytes().name(target).toBytes();
        return rr(5, ttl, t);
    }

    int size() {
        return out.size();
    }

    byte[] toBytes() {
        return out.toByteArray();
    }
}
