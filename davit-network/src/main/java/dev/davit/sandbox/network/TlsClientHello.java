package dev.davit.sandbox.network;

/**
 * The server name (SNI, RFC 6066) a TLS client asks for, read from the first bytes it sends: TLS records of content
 * type 22 (handshake) with a record version from 0x0300 to 0x0304, carrying a ClientHello that may span several
 * records (reassembled up to {@link #MAX_HELLO} bytes). A ClientHello with an {@code encrypted_client_hello}
 * extension (ECH) is {@link Invalid}: its outer SNI need not be the name the server behind it serves, which is
 * encrypted, so the name it carries is not one the gate can check (GREASE ECH, which some browsers send with no ECH
 * key, cannot be told apart from the real one and is refused alike).
 *
 * <p>Never throws on bad input; every length is checked against the bytes there are and against the length that
 * contains it.
 */
public final class TlsClientHello {
    /** The largest ClientHello reassembled (its handshake body); a longer one is {@link NotTls}. */
    public static final int MAX_HELLO = 64 * 1024;
    private static final int MAX_RECORD = 1 << 14;
    private static final int HANDSHAKE = 22;
    private static final int CLIENT_HELLO = 1;
    private static final int SERVER_NAME = 0;
    private static final int ENCRYPTED_CLIENT_HELLO = 0xfe0d;
    private static final int HOST_NAME = 0;

    private TlsClientHello() {
    }

    /** What the bytes so far say about the server name. */
    public sealed interface Result {
    }

    /** The bytes so far are the start of a ClientHello (or nothing yet): read more and ask again. */
    public record NeedMore() implements Result {
    }

    /**
     * Not the start of a TLS connection: another protocol, a malformed record or ClientHello, a record longer than
     * 2^14 bytes, or a ClientHello longer than {@link #MAX_HELLO}.
     */
    public record NotTls() implements Result {
    }

    /** A well-formed ClientHello without a host_name. */
    public record NoSni() implements Result {
    }

    /**
     * A well-formed ClientHello's host_name.
     *
     * @param name lower-case, without a trailing dot, a valid DNS host name (letters, digits, hyphens, underscores)
     */
    public record Sni(String name) implements Result {
    }

    /**
     * A well-formed ClientHello whose server_name the gate cannot accept: not a DNS host name (an IP literal in
     * any form other than dotted decimal, a byte outside the host-name alphabet, an empty or overlong label), several
     * host_names, several server_name extensions, a server_name extension whose inner lengths disagree, or an
     * encrypted ClientHello (ECH) whose inner name is hidden.
     *
     * @param reason a few words for the denial log (never the client's bytes)
     */
    public record Invalid(String reason) implements Result {
    }

    /**
     * Reads the SNI from the start of a client's stream.
     *
     * @param buf the bytes the client sent, from the first
     * @param len how many bytes of {@code buf} are valid
     * @return the result; {@link NeedMore} while the bytes so far are a valid prefix of a ClientHello
     */
    public static Result sni(byte[] buf, int len) {
        if (buf == null || len < 0 || len > buf.length) {
            return new NotTls();
        }
        // first pass: the records' headers, and where the handshake message's 4-byte header and body are
        int pos = 0;
        int helloLen = -1; // the ClientHello body's length, once its handshake header is read
        int have = 0; // handshake bytes seen so far
        int firstFragment = -1;
        int firstFragmentLen = 0;
        byte[] hs4 = new byte[4];
        // each pass consumes one record of at least one byte: at most MAX_HELLO + 4 of them before the cap is hit
        while (true) {
            if (pos >= len) {
                return new NeedMore();
            }
            if ((buf[pos] & 0xff) != HANDSHAKE) {
                return new NotTls();
            }
            if (pos + 1 < len && buf[pos + 1] != 3 || pos + 2 < len && (buf[pos + 2] & 0xff) > 4) {
                return new NotTls();
            }
            if (pos + 5 > len) {
                return new NeedMore();
            }
            int rlen = DnsMessage.u16(buf, pos + 3);
            if (rlen == 0 || rlen > MAX_RECORD) {
                return new NotTls();
            }
            int frag = pos + 5;
            int avail = Math.min(rlen, len - frag);
            if (firstFragment < 0) {
                firstFragment = frag;
                firstFragmentLen = rlen;
            }
            for (int i = 0; i < avail && have + i < 4; i++) {
                hs4[have + i] = buf[frag + i];
            }
            int before = have;
            have += avail;
            if (helloLen < 0 && have >= 4) {
                if ((hs4[0] & 0xff) != CLIENT_HELLO) {
                    return new NotTls();
                }
                helloLen = (hs4[1] & 0xff) << 16 | (hs4[2] & 0xff) << 8 | hs4[3] & 0xff;
                if (helloLen > MAX_HELLO || helloLen < 38) {
                    return new NotTls();
                }
            } else if (helloLen < 0 && have > 0 && (hs4[0] & 0xff) != CLIENT_HELLO) {
                return new NotTls();
            }
            if (helloLen >= 0 && have >= 4 + helloLen) {
                if (before == 0 && firstFragmentLen >= 4 + helloLen) {
                    return parseHello(buf, firstFragment + 4, helloLen); // one record holds it all: no copy
                }
                return parseHello(reassemble(buf, len, 4 + helloLen), 4, helloLen);
            }
            if (avail < rlen) {
                return new NeedMore();
            }
            pos = frag + rlen;
        }
    }

    /** The first {@code total} handshake bytes of the records in {@code buf} (already checked by the caller). */
    private static byte[] reassemble(byte[] buf, int len, int total) {
        byte[] out = new byte[total];
        int got = 0;
        int pos = 0;
        while (got < total) {
            int rlen = DnsMessage.u16(buf, pos + 3);
            int n = Math.min(Math.min(rlen, len - pos - 5), total - got);
            System.arraycopy(buf, pos + 5, out, got, n);
            got += n;
            pos += 5 + rlen;
        }
        return out;
    }

    /** Reads a complete ClientHello body, {@code b[off, off + len)}. */
    private static Result parseHello(byte[] b, int off, int len) {
        int end = off + len;
        int p = off + 2 + 32; // legacy_version, random
        if (p + 1 > end) {
            return new NotTls();
        }
        int sid = b[p] & 0xff;
        if (sid > 32) {
            return new NotTls();
        }
        p += 1 + sid;
        if (p + 2 > end) {
            return new NotTls();
        }
        int suites = DnsMessage.u16(b, p);
        if (suites < 2 || (suites & 1) != 0) {
            return new NotTls();
        }
        p += 2 + suites;
        if (p + 1 > end) {
            return new NotTls();
        }
        int comp = b[p] & 0xff;
        if (comp < 1) {
            return new NotTls();
        }
        p += 1 + comp;
        if (p == end) {
            return new NoSni(); // an old ClientHello with no extensions at all
        }
        if (p + 2 > end || p + 2 + DnsMessage.u16(b, p) != end) {
            return new NotTls();
        }
        p += 2;
        int sniAt = -1;
        int sniLen = 0;
        // each pass consumes at least 4 bytes
        while (p < end) {
            if (p + 4 > end) {
                return new NotTls();
            }
            int type = DnsMessage.u16(b, p);
            int elen = DnsMessage.u16(b, p + 2);
            p += 4;
            if (p + elen > end) {
                return new NotTls();
            }
            if (type == ENCRYPTED_CLIENT_HELLO) {
                return new Invalid("an encrypted ClientHello (ECH) hides the name it is for");
            }
            if (type == SERVER_NAME) {
                if (sniAt >= 0) {
                    return new Invalid("several server_name extensions");
                }
                sniAt = p;
                sniLen = elen;
            }
            p += elen;
        }
        return sniAt < 0 ? new NoSni() : serverName(b, sniAt, sniLen);
    }

    /** Reads a server_name extension's data, {@code b[off, off + len)}. */
    private static Result serverName(byte[] b, int off, int len) {
        if (len == 0) {
            return new NoSni(); // what a server sends back; a client that sends it names nothing
        }
        if (len < 2 || DnsMessage.u16(b, off) != len - 2) {
            return new Invalid("server_name lengths disagree");
        }
        int end = off + len;
        int p = off + 2;
        String host = null;
        // each pass consumes at least 3 bytes
        while (p < end) {
            if (p + 3 > end) {
                return new Invalid("server_name lengths disagree");
            }
            int type = b[p] & 0xff;
            int nlen = DnsMessage.u16(b, p + 1);
            p += 3;
            if (p + nlen > end) {
                return new Invalid("server_name lengths disagree");
            }
            if (type == HOST_NAME) {
                if (host != null) {
                    return new Invalid("several host_names");
                }
                host = Names.hostname(b, p, nlen);
                if (host == null) {
                    return new Invalid("host_name is not a DNS host name");
                }
            }
            p += nlen;
        }
        return host == null ? new NoSni() : new Sni(host);
    }
}
