package dev.davit.sandbox.workspace;

import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A trust store's bytes without the egress CA blocks davit appended ({@code echo; echo "# davit egress CA MARK";
 * cat ca.pem}, see {@link Secrets}): each mark line, the blank line just before it, and every line after it up to and
 * including the certificate's {@code -----END CERTIFICATE-----} line. Streamed, line by line, with a lookahead of
 * one line's first bytes: a store of any size, and lines of any length, in bounded memory. Everything else is passed
 * on byte for byte.
 */
final class EgressCaStrip extends InputStream {
    /** What starts the line davit writes before its certificate. */
    static final byte[] MARK = "# davit egress CA ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "-----END CERTIFICATE-----".getBytes(StandardCharsets.US_ASCII);

    private final PushbackInputStream in;
    /** Bytes ready to be read. */
    private byte[] out = new byte[0];
    private int outPos;
    private boolean pendingBlank;
    private boolean eof;

    EgressCaStrip(InputStream in) {
        this.in = new PushbackInputStream(in, 64); // a line's first bytes: the longer of MARK and END, and one
    }

    /**
     * {@code store} without davit's blocks.
     *
     * @param store a trust store's content
     * @return the same array when it holds no mark, else the content without the blocks
     */
    static byte[] strip(byte[] store) {
        if (indexOf(store, MARK) < 0) {
            return store;
        }
        try (EgressCaStrip s = new EgressCaStrip(new java.io.ByteArrayInputStream(store))) {
            return s.readAllBytes();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static int indexOf(byte[] b, byte[] what) {
        outer:
        for (int i = 0; i + what.length <= b.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (b[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        while (outPos >= out.length) {
            if (eof) {
                return -1;
            }
            fill();
        }
        int n = Math.min(len, out.length - outPos);
        System.arraycopy(out, outPos, b, off, n);
        outPos += n;
        return n;
    }

    /** Up to {@code max} bytes of the next line's start (fewer at its end or the input's), not consumed. */
    private byte[] head(int max) throws IOException {
        byte[] h = new byte[max];
        int n = 0;
        while (n < max) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            h[n++] = (byte) c;
            if (c == '\n') {
                break;
            }
        }
        byte[] got = Arrays.copyOf(h, n);
        in.unread(got);
        return got;
    }

    private static boolean startsWith(byte[] head, byte[] prefix) {
        return head.length >= prefix.length && Arrays.equals(head, 0, prefix.length, prefix, 0, prefix.length);
    }

    /** Drops the rest of the current line, its newline included. */
    private void skipLine() throws IOException {
        int c;
        do {
            c = in.read();
        } while (c >= 0 && c != '\n');
    }

    /** Makes the next output: one line (or the next part of a long one) at most, or nothing at a dropped block. */
    private void fill() throws IOException {
        outPos = 0;
        if (midLine) {
            out = chunkOfLine(new java.io.ByteArrayOutputStream());
            if (out.length == 0) {
                eof = true;
            }
            return;
        }
        byte[] head = head(MARK.length + 1);
        if (head.length == 0) {
            eof = true;
            out = pendingBlank ? new byte[] {'\n'} : new byte[0];
            pendingBlank = false;
            return;
        }
        if (startsWith(head, MARK)) {
            pendingBlank = false; // the script's echo: part of davit's block
            skipLine();
            byte[] h;
            do { // to the certificate's end line, or the input's end
                h = head(END.length);
                if (h.length == 0) {
                    break;
                }
                skipLine();
            } while (!startsWith(h, END));
            out = new byte[0];
            return;
        }
        if (head.length == 1 && head[0] == '\n') {
            in.read();
            out = pendingBlank ? new byte[] {'\n'} : new byte[0];
            pendingBlank = true;
            return;
        }
        // an ordinary line: the blank held before it, then the line
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        if (pendingBlank) {
            line.write('\n');
            pendingBlank = false;
        }
        out = chunkOfLine(line);
    }

    /** {@code into} and the current line's next bytes: up to its newline (included), at most 64 KiB at a time. */
    private byte[] chunkOfLine(java.io.ByteArrayOutputStream into) throws IOException {
        midLine = true;
        int c = 0;
        while (into.size() < (1 << 16) && (c = in.read()) >= 0) {
            into.write(c);
            if (c == '\n') {
                break;
            }
        }
        if (c < 0 || c == '\n') {
            midLine = false;
        }
        return into.toByteArray();
    }

    /** Whether the last output ended inside a line (its rest is passed on as it is). */
    private boolean midLine;

    @Override
    public void close() throws IOException {
        in.close();
    }
}
