package dev.davit.oci.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.CharTypes;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A JSON string value of UTF-8 bytes held in chunks (a command's captured output, up to 64 MiB), for
 * {@code ObjectNode.putPOJO}. Written to a byte stream, valid UTF-8 (checked across the chunks' edges) is escaped
 * as Jackson escapes it and written chunk by chunk straight to the stream: never a {@code String}, never one array
 * of all the bytes. Anything else (malformed UTF-8, a text target, a generator with its own escapes) is decoded as
 * {@code new String(bytes, UTF_8)} would decode it (U+FFFD for malformed sequences) and streamed through Jackson's
 * {@code writeString(Reader, -1)}. The value is the same either way ({@link Json.Utf8Text} is the one-array form).
 */
public final class Utf8String implements JsonSerializable {
    private static final int[] ESCAPES = CharTypes.get7BitOutputEscapes();
    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);

    private final List<ByteBuffer> chunks;

    /** The bytes of {@code chunks} (position to limit of each, in order; array-backed buffers are not copied). */
    public Utf8String(List<ByteBuffer> chunks) {
        List<ByteBuffer> cs = new ArrayList<>(chunks.size());
        for (ByteBuffer c : chunks) {
            if (c.hasArray()) {
                cs.add(c.duplicate());
            } else {
                byte[] copy = new byte[c.remaining()];
                c.duplicate().get(copy);
                cs.add(ByteBuffer.wrap(copy));
            }
        }
        this.chunks = List.copyOf(cs);
    }

    @Override
    public void serialize(JsonGenerator gen, SerializerProvider serializers) throws IOException {
        if (gen.getOutputTarget() instanceof OutputStream out && gen.getCharacterEscapes() == null
                && gen.getHighestEscapedChar() == 0 && validUtf8()) {
            gen.writeRawValue("\""); // what Jackson writes before a value (separator, indentation), and the quote
            gen.flush();
            writeEscaped(out);
            gen.writeRaw('"');
        } else {
            gen.writeString(new InputStreamReader(stream(), StandardCharsets.UTF_8), -1);
        }
    }

    @Override
    public void serializeWithType(JsonGenerator gen, SerializerProvider serializers, TypeSerializer typeSer)
            throws IOException {
        serialize(gen, serializers);
    }

    /**
     * Whether the bytes are well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF,
     * no sequence cut short), which is exactly what the JDK's decoder takes without a replacement. A character may
     * be split over chunks.
     */
    public boolean validUtf8() {
        int need = 0; // continuation bytes still expected
        int lo = 0x80;
        int hi = 0xBF; // the range of the next continuation byte
        for (ByteBuffer c : chunks) {
            byte[] a = c.array();
            for (int i = c.arrayOffset() + c.position(), end = c.arrayOffset() + c.limit(); i < end; i++) {
                int b = a[i] & 0xFF;
                if (need == 0) {
                    if (b < 0x80) {
                        continue;
                    }
                    if (b < 0xC2) {
                        return false; // a continuation byte without a lead, or an overlong 2-byte form
                    } else if (b < 0xE0) {
                        need = 1;
                    } else if (b < 0xF0) {
                        need = 2;
                        lo = b == 0xE0 ? 0xA0 : 0x80; // not overlong
                        hi = b == 0xED ? 0x9F : 0xBF; // not a surrogate
                    } else if (b < 0xF5) {
                        need = 3;
                        lo = b == 0xF0 ? 0x90 : 0x80; // not overlong
                        hi = b == 0xF4 ? 0x8F : 0xBF; // not past U+10FFFF
                    } else {
                        return false;
                    }
                } else {
                    if (b < lo || b > hi) {
                        return false;
                    }
                    lo = 0x80;
                    hi = 0xBF;
                    need--;
                }
            }
        }
        return need == 0;
    }

    /** Writes the bytes escaped as Jackson's default escapes for a JSON string, without the quotes. */
    private void writeEscaped(OutputStream out) throws IOException {
        byte[] buf = new byte[16384];
        int n = 0;
        for (ByteBuffer c : chunks) {
            byte[] a = c.array();
            for (int i = c.arrayOffset() + c.position(), end = c.arrayOffset() + c.limit(); i < end; i++) {
                if (n > buf.length - 6) {
                    out.write(buf, 0, n);
                    n = 0;
                }
                byte b = a[i];
                int esc = b < 0 ? 0 : ESCAPES[b];
                if (esc == 0) {
                    buf[n++] = b; // ASCII that needs no escape, or a byte of a multi-byte character
                } else if (esc > 0) {
                    buf[n++] = '\\';
                    buf[n++] = (byte) esc; // \n, \t, \", \\ ...
                } else {
                    buf[n++] = '\\';
                    buf[n++] = 'u';
                    buf[n++] = '0';
                    buf[n++] = '0';
                    buf[n++] = HEX[b >> 4];
                    buf[n++] = HEX[b & 0xF];
                }
            }
        }
        out.write(buf, 0, n);
    }

    /** The bytes as one stream, chunk after chunk. */
    private InputStream stream() {
        return new InputStream() {
            private int next;
            private ByteBuffer current = ByteBuffer.allocate(0);

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (len == 0) {
                    return 0;
                }
                while (!current.hasRemaining()) {
                    if (next == chunks.size()) {
                        return -1;
                    }
                    current = chunks.get(next++).duplicate();
                }
                int n = Math.min(len, current.remaining());
                current.get(b, off, n);
                return n;
            }
        };
    }
}
