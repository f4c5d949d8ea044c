package dev.davit.sandbox.network;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * DNS messages (RFC 1035) as a stub resolver's client writes and reads them ({@link HostResolver}): queries for A
 * records to the host's name servers, and their answers, read as hostile input. (The egress gate's own DNS, the
 * sandbox's queries in and its answers out, is davit-agent's: davit-jail/src/main/rust/src/gate/dns_msg.rs.)
 *
 * <p>Every parser takes a buffer and the number of valid bytes in it, checks every offset against that length,
 * bounds every loop (a compression pointer must point backwards, at most {@link #MAX_POINTERS} of them per name, and a
 * name is 255 bytes at most) and answers bad input with null, never an exception.
 *
 * <p>Names are compared in the form {@link #name(String)} gives: lower-case, no trailing dot, labels of 1 to 63
 * printable ASCII bytes other than the dot ({@code 0x21..0x7e}), 255 bytes at most on the wire. The root name
 * (zero labels) is not a name asked for.
 */
public final class DnsMessage {
    /** Type A (an IPv4 address). */
    public static final int TYPE_A = 1;
    /** Type CNAME (an alias). */
    public static final int TYPE_CNAME = 5;
    /** Type AAAA (an IPv6 address). */
    public static final int TYPE_AAAA = 28;
    /** Query type ANY. */
    public static final int TYPE_ANY = 255;
    /** Class IN. */
    public static final int CLASS_IN = 1;
    /** Query class ANY. */
    public static final int CLASS_ANY = 255;
    /** Response code: no error. */
    public static final int NOERROR = 0;
    /** Response code: the message could not be read. */
    public static final int FORMERR = 1;
    /** Response code: the server failed. */
    public static final int SERVFAIL = 2;
    /** Response code: the name does not exist. */
    public static final int NXDOMAIN = 3;
    /** Response code: the kind of query is not implemented. */
    public static final int NOTIMP = 4;
    /** Response code: refused by policy. */
    public static final int REFUSED = 5;
    /** The length of a header. */
    public static final int HEADER = 12;
    /** The largest message over UDP without EDNS (RFC 1035 4.2.1): davit's answers stay within it. */
    public static final int MAX_UDP = 512;
    /** The most compression pointers followed in one name. */
    static final int MAX_POINTERS = 32;
    /** The longest CNAME chain followed in an answer. */
    static final int MAX_CHAIN = 16;

    static final int QR = 0x8000;
    private static final int TC = 0x0200;
    static final int RD = 0x0100;
    static final int RA = 0x0080;

    private DnsMessage() {
    }

    /**
     * A name server's answer to {@link #queryA(int, String)}.
     *
     * @param rcode the response code ({@link #NOERROR}, {@link #NXDOMAIN}, ...)
     * @param addresses the A records of the name the CNAME chain from the asked name ends at, in the answer's order
     *     (empty for none)
     * @param minTtl the smallest TTL, in seconds, of the records used (the chain's CNAMEs and the addresses); 0 when
     *     none was used
     * @param truncated whether the server set TC (the answer did not fit: ask again over TCP)
     */
    public record Answer(int rcode, List<Inet4Address> addresses, int minTtl, boolean truncated) {
        /** Copies the list. */
        public Answer {
            addresses = List.copyOf(addresses);
        }
    }

    /**
     * A recursive query (RD set) for the A records of {@code name}.
     *
     * @param id the query's ID (16 bits)
     * @param name a name valid for {@link #name(String)}
     * @return the query
     * @throws IllegalArgumentException if the name is not valid
     */
    public static byte[] queryA(int id, String name) {
        String n = name(name);
        if (n == null) {
            throw new IllegalArgumentException("not a DNS name");
        }
        byte[] out = new byte[HEADER + n.length() + 2 + 4];
        put16(out, 0, id & 0xffff);
        put16(out, 2, RD);
        put16(out, 4, 1);
        int p = HEADER;
        int start = 0;
        while (start <= n.length()) {
            int dot = n.indexOf('.', start);
            int end = dot < 0 ? n.length() : dot;
            out[p++] = (byte) (end - start);
            for (int i = start; i < end; i++) {
                out[p++] = (byte) n.charAt(i);
            }
            start = end + 1;
        }
        out[p++] = 0;
        p = put16(out, p, TYPE_A);
        put16(out, p, CLASS_IN);
        return out;
    }

    /**
     * Reads a name server's answer to {@link #queryA(int, String)}: follows the CNAME chain in the answer section
     * from {@code name} (at most {@link #MAX_CHAIN} links, never round a loop) and takes the A records of the name
     * it ends at. Records of any other owner, the authority and the additional sections are ignored: a server (or
     * a spoofer) cannot slip in addresses for a name that was not asked for.
     *
     * @param buf the message
     * @param len how many bytes of {@code buf} it is
     * @param expectedId the query's ID
     * @param name the name asked for
     * @return the answer, or null when the message is malformed, is not a response to a standard query, or its ID or
     *     question (name, type A, class IN) is not the query's
     */
    public static Answer parseAnswer(byte[] buf, int len, int expectedId, String name) {
        String want = name(name);
        if (want == null || buf == null || len < HEADER || len > buf.length) {
            return null;
        }
        int flags = u16(buf, 2);
        if (u16(buf, 0) != (expectedId & 0xffff) || (flags & QR) == 0 || (flags >>> 11 & 0xf) != 0
                || u16(buf, 4) != 1) {
            return null;
        }
        StringBuilder sb = new StringBuilder(64);
        int p = readName(buf, HEADER, len, sb, true);
        if (p < 0 || p + 4 > len || u16(buf, p) != TYPE_A || u16(buf, p + 2) != CLASS_IN
                || !sb.toString().equals(want)) {
            return null;
        }
        p += 4;
        int ancount = u16(buf, 6);
        // each record takes at least 11 bytes: a count beyond what the message holds is a lie
        if (ancount > (len - p) / 11) {
            return null;
        }
        String[] owners = new String[ancount];
        int[] types = new int[ancount];
        int[] ttls = new int[ancount];
        int[] rdata = new int[ancount];
        for (int i = 0; i < ancount; i++) {
            sb.setLength(0);
            p = readName(buf, p, len, sb, true);
            if (p < 0 || p + 10 > len) {
                return null;
            }
            int rdlen = u16(buf, p + 8);
            if (p + 10 + rdlen > len) {
                return null;
            }
            owners[i] = sb.toString();
            types[i] = u16(buf, p + 2) == CLASS_IN ? u16(buf, p) : -1;
            long ttl = (long) u16(buf, p + 4) << 16 | u16(buf, p + 6);
            ttls[i] = ttl > Integer.MAX_VALUE ? 0 : (int) ttl; // RFC 2181 8: a TTL with the top bit set is 0
            rdata[i] = p + 10;
            p += 10 + rdlen;
        }
        long minTtl = Long.MAX_VALUE;
        String owner = want;
        List<String> seen = new ArrayList<>(4);
        seen.add(owner);
        for (int hop = 0; hop < MAX_CHAIN; hop++) {
            int cname = -1;
            for (int i = 0; i < ancount && cname < 0; i++) {
                if (types[i] == TYPE_CNAME && owners[i].equals(owner)) {
                    cname = i;
                }
            }
            if (cname < 0) {
                break;
            }
            sb.setLength(0);
            int end = readName(buf, rdata[cname], len, sb, true);
            if (end != rdata[cname] + u16(buf, rdata[cname] - 2) || sb.isEmpty()) {
                return null;
            }
            String target = sb.toString();
            minTtl = Math.min(minTtl, ttls[cname]);
            if (seen.contains(target)) {
                return new Answer(flags & 0xf, List.of(), 0, (flags & TC) != 0); // a loop leads nowhere
            }
            seen.add(target);
            owner = target;
        }
        List<Inet4Address> addrs = new ArrayList<>();
        for (int i = 0; i < ancount; i++) {
            if (types[i] == TYPE_A && owners[i].equals(owner) && u16(buf, rdata[i] - 2) == 4) {
                addrs.add(inet4(buf, rdata[i]));
                minTtl = Math.min(minTtl, ttls[i]);
            }
        }
        return new Answer(flags & 0xf, addrs, minTtl == Long.MAX_VALUE ? 0 : (int) minTtl, (flags & TC) != 0);
    }

    /**
     * A message framed for DNS over TCP: its length as two bytes, then the message.
     *
     * @param msg the message, 65535 bytes at most
     * @return the frame
     * @throws IllegalArgumentException if the message is longer
     */
    public static byte[] tcpFrame(byte[] msg) {
        if (msg.length > 0xffff) {
            throw new IllegalArgumentException("a DNS message over TCP is at most 65535 bytes");
        }
        byte[] out = new byte[msg.length + 2];
        put16(out, 0, msg.length);
        System.arraycopy(msg, 0, out, 2, msg.length);
        return out;
    }

    /**
     * The length of the message a DNS-over-TCP frame holds.
     *
     * @param buf the stream's bytes
     * @param off where the frame starts
     * @param len how many bytes of {@code buf} are valid
     * @return the message's length (0 to 65535), or -1 while fewer than two bytes are there
     */
    public static int tcpFrameLength(byte[] buf, int off, int len) {
        return off < 0 || off + 2 > len || len > buf.length ? -1 : u16(buf, off);
    }

    /**
     * A name as DNS messages here compare it.
     *
     * @param name a name, with or without a trailing dot
     * @return it lower-cased without the trailing dot, or null unless it has 1 to 127 labels of 1 to 63 printable
     *     ASCII characters other than the dot and fits in 255 bytes on the wire
     */
    public static String name(String name) {
        if (name == null) {
            return null;
        }
        int n = name.endsWith(".") ? name.length() - 1 : name.length();
        if (n <= 0 || n > Names.MAX_NAME) {
            return null;
        }
        char[] out = new char[n];
        int label = 0;
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            if (c == '.') {
                if (label == 0) {
                    return null;
                }
                label = 0;
            } else if (c < 0x21 || c > 0x7e || ++label > Names.MAX_LABEL) {
                return null;
            } else if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            out[i] = c;
        }
        return label == 0 ? null : new String(out);
    }

    /**
     * Reads the name at {@code off} into {@code sb} (lower-case, labels joined by dots).
     *
     * @return the offset just after the name where it starts (after its first pointer, if any), or -1 when it is
     *     malformed: it runs past {@code len}, a label is longer than 63 bytes or holds a dot or a byte outside
     *     printable ASCII, the name is longer than 255 bytes, or a pointer is refused, does not point backwards or is
     *     one too many
     */
    static int readName(byte[] b, int off, int len, StringBuilder sb, boolean pointers) {
        int pos = off;
        int end = -1;
        int wire = 1; // the root's zero byte
        int jumps = 0;
        // each pass either consumes a label (wire grows by at least 2, at most 255) or jumps backwards
        for (int pass = 0; pass < 128 + MAX_POINTERS + 1; pass++) {
            if (pos >= len) {
                return -1;
            }
            int l = b[pos] & 0xff;
            if (l == 0) {
                return end < 0 ? pos + 1 : end;
            }
            if ((l & 0xc0) == 0xc0) {
                if (!pointers || pos + 1 >= len || ++jumps > MAX_POINTERS) {
                    return -1;
                }
                int target = (l & 0x3f) << 8 | b[pos + 1] & 0xff;
                if (target >= pos || target < HEADER) {
                    return -1;
                }
                if (end < 0) {
                    end = pos + 2;
                }
                pos = target;
                continue;
            }
            if ((l & 0xc0) != 0) {
                return -1; // the extended label types of RFC 6891 and the obsolete ones
            }
            wire += l + 1;
            if (wire > 255 || pos + 1 + l > len) {
                return -1;
            }
            if (!sb.isEmpty()) {
                sb.append('.');
            }
            for (int i = pos + 1; i <= pos + l; i++) {
                int c = b[i] & 0xff;
                if (c < 0x21 || c > 0x7e || c == '.') {
                    return -1;
                }
                sb.append((char) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c));
            }
            pos += 1 + l;
        }
        return -1;
    }

    private static Inet4Address inet4(byte[] b, int off) {
        try {
            return (Inet4Address) InetAddress.getByAddress(new byte[] {b[off], b[off + 1], b[off + 2], b[off + 3]});
        } catch (UnknownHostException e) {
            throw new AssertionError("four bytes are an IPv4 address", e);
        }
    }

    static int u16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | b[off + 1] & 0xff;
    }

    static int put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
        return off + 2;
    }
}
