package dev.davit.oci.bundle;

import com.github.luben.zstd.ZstdOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Crafts tar archives entry by entry (also hostile ones) for bundle tests. */
final class TarBuilder {
    private record Item(TarArchiveEntry entry, byte[] data, long zeros) {
    }

    private final List<Item> items = new ArrayList<>();

    TarBuilder file(String name, byte[] data) {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(data.length);
        items.add(new Item(e, data, 0));
        return this;
    }

    /** A regular file of {@code size} zero bytes, streamed (for compression bombs). */
    TarBuilder zeros(String name, long size) {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(size);
        items.add(new Item(e, null, size));
        return this;
    }

    TarBuilder dir(String name) {
        items.add(new Item(new TarArchiveEntry(name, TarConstants.LF_DIR, true), new byte[0], 0));
        return this;
    }

    TarBuilder symlink(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        e.setLinkName(target);
        items.add(new Item(e, new byte[0], 0));
        return this;
    }

    TarBuilder hardlink(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
        e.setLinkName(target);
        items.add(new Item(e, new byte[0], 0));
        return this;
    }

    TarBuilder charDevice(String name) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_CHR, true);
        e.setDevMajor(1);
        e.setDevMinor(3);
        items.add(new Item(e, new byte[0], 0));
        return this;
    }

    TarBuilder fifo(String name) {
        items.add(new Item(new TarArchiveEntry(name, TarConstants.LF_FIFO, true), new byte[0], 0));
        return this;
    }

    Path write(Path file) {
        return write(file, Compression.NONE);
    }

    Path write(Path file, Compression c) {
        try (OutputStream raw = Files.newOutputStream(file);
             OutputStream comp = switch (c) {
                 case NONE -> raw;
                 case GZIP -> new GZIPOutputStream(raw, 1 << 16);
                 case ZSTD -> new ZstdOutputStream(raw, 19);
             };
             TarArchiveOutputStream tar = new TarArchiveOutputStream(comp)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            byte[] buf = new byte[1 << 16];
            for (Item i : items) {
                tar.putArchiveEntry(i.entry());
                if (i.data() != null) {
                    tar.write(i.data());
                } else {
                    for (long left = i.zeros(); left > 0; ) {
                        int n = (int) Math.min(buf.length, left);
                        tar.write(buf, 0, n);
                        left -= n;
                    }
                }
                tar.closeArchiveEntry();
            }
            tar.finish();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}
