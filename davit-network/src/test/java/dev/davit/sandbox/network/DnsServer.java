package dev.davit.sandbox.network;

import static dev.davit.sandbox.network.DnsMessage.CLASS_ANY;
import static dev.davit.sandbox.network.DnsMessage.CLASS_IN;
import static dev.davit.sandbox.network.DnsMessage.FORMERR;
import static dev.davit.sandbox.network.DnsMessage.HEADER;
import static dev.davit.sandbox.network.DnsMessage.MAX_UDP;
import static dev.davit.sandbox.network.DnsMessage.NOERROR;
import static dev.davit.sandbox.network.DnsMessage.QR;
import static dev.davit.sandbox.network.DnsMessage.RA;
import static dev.davit.sandbox.network.DnsMessage.RD;
import static dev.davit.sandbox.network.DnsMessage.TYPE_A;
import static dev.davit.sandbox.network.DnsMessage.put16;
import static dev.davit.sandbox.network.DnsMessage.readName;
import static dev.davit.sandbox.network.DnsMessage.u16;

import java.net.Inet4Address;
import java.util.List;

/**
 * A name server's side of DNS messages, for the tests' name servers ({@link DnsFixture}): a query's question read,
 * answers written. (davit's own name server is the egress gate's, davit-agent's gate/dns_msg.rs.)
 */
final class DnsServer {
    private DnsServer() {
    }

    /**
     * A standard query's one question.
     *
     * @param id the query's ID
     * @param flags the query's flags (the header's second 16 bits)
     * @param name the name asked for, lower-case, no trailing dot
     * @param type the type asked for ({@code TYPE_A}, {@code TYPE_AAAA}, ...)
     * @param qclass the class asked for ({@code CLASS_IN} or {@code CLASS_ANY})
     * @param questionEnd the offset just after the question in the query (the answers copy the question from it)
     */
    record Question(int id, int flags, String name, int type, int qclass, int questionEnd) {
    }

    /**
     * Reads a query from a client.
     *
     * @param buf the message
     * @param len how many bytes of {@code buf} it is
     * @return its question, or null unless it is a standard query (QR 0, OPCODE 0, no answer or authority records;
     *     additional records such as EDNS's OPT are allowed and ignored) with exactly one question, of class IN or
     *     ANY, for a valid name; a query's name has no compression pointers (there is nothing before it to point to)
     */
    static Question parseQuery(byte[] buf, int len) {
        if (buf == null || len < HEADER || len > buf.length) {
            return null;
        }
        int flags = u16(buf, 2);
        if ((flags & QR) != 0 || (flags >>> 11 & 0xf) != 0) {
            return null;
        }
        if (u16(buf, 4) != 1 || u16(buf, 6) != 0 || u16(buf, 8) != 0) {
            return null;
        }
        StringBuilder name = new StringBuilder(64);
        int end = readName(buf, HEADER, len, name, false);
        if (end < 0 || name.isEmpty() || end + 4 > len) {
            return null;
        }
        int type = u16(buf, end);
        int qclass = u16(buf, end + 2);
        if (qclass != CLASS_IN && qclass != CLASS_ANY) {
            return null;
        }
        return new Question(u16(buf, 0), flags, name.toString(), type, qclass, end + 4);
    }

    /**
     * The answer to {@code q} with {@code addrs} as A records (NOERROR; an empty list is NODATA): as many of them as
     * fit in {@link DnsMessage#MAX_UDP} bytes, in order, each owned by the question's name.
     *
     * @param q the question, from {@link #parseQuery(byte[], int)} of {@code query}
     * @param query the query's bytes (the question is copied from them)
     * @param addrs the addresses
     * @param ttlSeconds their TTL (negative counts as 0)
     * @return the response
     */
    static byte[] answerA(Question q, byte[] query, List<Inet4Address> addrs, int ttlSeconds) {
        int qlen = q.questionEnd() - HEADER;
        int n = Math.min(addrs.size(), Math.max(0, (MAX_UDP - HEADER - qlen) / 16));
        byte[] out = response(q, query, NOERROR, n);
        int p = HEADER + qlen;
        int ttl = Math.max(0, ttlSeconds);
        for (int i = 0; i < n; i++) {
            p = put16(out, p, 0xc000 | HEADER);
            p = put16(out, p, TYPE_A);
            p = put16(out, p, CLASS_IN);
            p = put16(out, p, ttl >>> 16);
            p = put16(out, p, ttl & 0xffff);
            p = put16(out, p, 4);
            System.arraycopy(addrs.get(i).getAddress(), 0, out, p, 4);
            p += 4;
        }
        return out;
    }

    /**
     * An answer to {@code q} with no records and {@code rcode}.
     *
     * @param q the question, from {@link #parseQuery(byte[], int)} of {@code query}
     * @param query the query's bytes
     * @param rcode {@code NXDOMAIN}, {@code SERVFAIL}, {@code REFUSED}, {@code NOTIMP}, ...
     * @return the response
     */
    static byte[] error(Question q, byte[] query, int rcode) {
        return response(q, query, rcode, 0);
    }

    /**
     * The FORMERR answer to a message {@link #parseQuery(byte[], int)} refused: its header (ID, OPCODE, RD) and no
     * question.
     *
     * @param buf the message
     * @param len how many bytes of {@code buf} it is
     * @return the answer, or null when there is nothing to answer: fewer than 12 bytes, or the message is itself a
     *     response (QR set; answering it could start a loop between two servers)
     */
    static byte[] formErr(byte[] buf, int len) {
        if (buf == null || len < HEADER || len > buf.length || (u16(buf, 2) & QR) != 0) {
            return null;
        }
        byte[] out = new byte[HEADER];
        out[0] = buf[0];
        out[1] = buf[1];
        put16(out, 2, QR | RA | (u16(buf, 2) & (0x7800 | RD)) | FORMERR);
        return out;
    }

    private static byte[] response(Question q, byte[] query, int rcode, int answers) {
        int qlen = q.questionEnd() - HEADER;
        byte[] out = new byte[HEADER + qlen + 16 * answers];
        put16(out, 0, q.id());
        put16(out, 2, QR | RA | (q.flags() & RD) | (rcode & 0xf));
        put16(out, 4, 1);
        put16(out, 6, answers);
        System.arraycopy(query, HEADER, out, HEADER, qlen);
        return out;
    }
}
