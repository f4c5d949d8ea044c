package dev.davit.sandbox.vm;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Tars as a lying guest agent sends them: names and link targets exactly as given ({@code ..}, absolute ones). */
public final class HostileTars {
    private HostileTars() {
    }

    /** A tar of {@code entries}, each regular file holding its size in zero bytes. */
    public static byte[] tar(TarArchiveEntry... entries) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(b)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (TarArchiveEntry e : entries) {
                out.putArchiveEntry(e);
                if (e.getSize() > 0) {
                    out.write(new byte[(int) e.getSize()]);
                }
                out.closeArchiveEntry();
            }
        }
        return b.toByteArray();
    }

    public static TarArchiveEntry file(String name, int size, int mode) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
        e.setSize(size);
        e.setMode(mode);
        return e;
    }

    public static TarArchiveEntry link(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        e.setLinkName(target);
        return e;
    }

    /** A data answer to the request (its id written {@code @@}, see {@link FakeAgent}) carrying {@code tar}. */
    static byte[] dataAnswer(byte[] tar) {
        byte[] head = ("data @@ " + tar.length + " " + tar.length + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] script = java.util.Arrays.copyOf(head, head.length + tar.length);
        System.arraycopy(tar, 0, script, head.length, tar.length);
        return script;
    }
}
