package dev.davit.oci.build;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * A minimal, deterministic POSIX tar (pax) writer: one ustar header per entry, preceded by a pax extended header
 * ({@code x}) only when a value does not fit ustar: a path or link target over 100 bytes or not ASCII, a user or
 * group name over 31 bytes or not ASCII, a size of 8 GiB or more, an id over 2097151, an mtime outside
 * 0..8^11-1. Pax records are written in key order. The archive ends with two zero blocks and is not padded to a
 * 10 KiB record (as Go's archive/tar and every container tool do).
 */
final class TarWriter {
    static final int BLOCK = 512;
    static final char REGULAR = '0';
    static final char HARDLINK = '1';
    static final char SYMLINK = '2';
    static final char DIRECTORY = '5';
    private static final char PAX = 'x';
    private static final long MAX_OCTAL_7 = 07777777L;
    private static final long MAX_OCTAL_11 = 077777777777L;

    /** One entry's header. {@code name} has no leading slash; a directory's ends with {@code /}. */
    record Entry(String name, char type, int mode, long uid, long gid, String uname, String gname, long size,
                 long mtime, String linkname) {
    }

    private final OutputStream out;
    private final byte[] zeros = new byte[BLOCK * 2];

    TarWriter(OutputStream out) {
        this.out = out;
    }

    /** Writes the header (and a pax header before it when needed). Content, if any, follows with {@link #pad}. */
    void header(Entry e) throws IOException {
        Map<String, String> pax = new TreeMap<>();
        byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
        if (name.length > 100 || !ascii(e.name())) {
            pax.put("path", e.name());
        }
        if (e.linkname() != null) {
            byte[] link = e.linkname().getBytes(StandardCharsets.UTF_8);
            if (link.length > 100 || !ascii(e.linkname())) {
                pax.put("linkpath", e.linkname());
            }
        }
        if (e.uname().getBytes(StandardCharsets.UTF_8).length > 31 || !ascii(e.uname())) {
            pax.put("uname", e.uname());
        }
        if (e.gname().getBytes(StandardCharsets.UTF_8).length > 31 || !ascii(e.gname())) {
            pax.put("gname", e.gname());
        }
        if (e.uid() < 0 || e.uid() > MAX_OCTAL_7) {
            pax.put("uid", Long.toString(e.uid()));
        }
        if (e.gid() < 0 || e.gid() > MAX_OCTAL_7) {
            pax.put("gid", Long.toString(e.gid()));
        }
        if (e.size() > MAX_OCTAL_11) {
            pax.put("size", Long.toString(e.size()));
        }
        if (e.mtime() < 0 || e.mtime() > MAX_OCTAL_11) {
            pax.put("mtime", Long.toString(e.mtime()));
        }
        if (!pax.isEmpty()) {
            byte[] records = paxRecords(pax);
            String base = e.name().endsWith("/") ? e.name().substring(0, e.name().length() - 1) : e.name();
            base = base.substring(base.lastIndexOf('/') + 1);
            out.write(block(new Entry("PaxHeaders.0/" + base, PAX, 0644, 0, 0, "", "", records.length,
                    clamp(e.mtime()), null)));
            out.write(records);
            pad(records.length);
        }
        out.write(block(e));
    }

    /** Writes the zero bytes that complete a block after {@code size} bytes of content. */
    void pad(long size) throws IOException {
        int rest = (int) (size % BLOCK);
        if (rest != 0) {
            out.write(zeros, 0, BLOCK - rest);
        }
    }

    /** The end-of-archive marker: two zero blocks. */
    void finish() throws IOException {
        out.write(zeros);
    }

    OutputStream content() {
        return out;
    }

    private static long clamp(long mtime) {
        return Math.max(0, Math.min(mtime, MAX_OCTAL_11));
    }

    /** {@code "<len> key=value\n"} records; the length counts the whole record including its own digits. */
    static byte[] paxRecords(Map<String, String> pax) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Map.Entry<String, String> kv : pax.entrySet()) {
            byte[] body = (" " + kv.getKey() + "=" + kv.getValue() + "\n").getBytes(StandardCharsets.UTF_8);
            int len = body.length + Integer.toString(body.length).length();
            if (Integer.toString(len).length() != Integer.toString(body.length).length()) {
                len++;
            }
            b.writeBytes(Integer.toString(len).getBytes(StandardCharsets.US_ASCII));
            b.writeBytes(body);
        }
        return b.toByteArray();
    }

    /** The 512-byte ustar header; values that do not fit are zero or truncated (a pax record carries them). */
    static byte[] block(Entry e) {
        byte[] h = new byte[BLOCK];
        text(h, 0, 100, e.name());
        octal(h, 100, 8, e.mode() & 07777);
        octal(h, 108, 8, e.uid() < 0 || e.uid() > MAX_OCTAL_7 ? 0 : e.uid());
        octal(h, 116, 8, e.gid() < 0 || e.gid() > MAX_OCTAL_7 ? 0 : e.gid());
        octal(h, 124, 12, e.size() > MAX_OCTAL_11 ? 0 : e.size());
        octal(h, 136, 12, clamp(e.mtime()));
        h[156] = (byte) e.type();
        if (e.linkname() != null) {
            text(h, 157, 100, e.linkname());
        }
        System.arraycopy("ustar\u000000".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
        text(h, 265, 31, e.uname());
        text(h, 297, 31, e.gname());
        octal(h, 329, 8, 0);
        octal(h, 337, 8, 0);
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        octal(h, 148, 7, sum);
        h[155] = ' ';
        return h;
    }

    /** ASCII text truncated to {@code max} bytes (non-ASCII characters become {@code _}); the rest stays zero. */
    private static void text(byte[] h, int off, int max, String s) {
        int n = Math.min(max, s.length());
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            h[off + i] = (byte) (c < 0x80 ? c : '_');
        }
    }

    /** Zero-padded octal in {@code len - 1} digits and a NUL. */
    private static void octal(byte[] h, int off, int len, long value) {
        String s = Long.toOctalString(value);
        s = "0".repeat(len - 1 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, off, len - 1);
        h[off + len - 1] = 0;
    }

    private static boolean ascii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80 || c == 0) {
                return false;
            }
        }
        return true;
    }
}
