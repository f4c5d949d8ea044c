package dev.davit.oci.bundle;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Text;
import dev.davit.oci.digest.Digest;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Reads a bundle (a tar of an OCI image layout, optionally gzip or zstd compressed) in one streaming pass and
 * hands its three kinds of content to a {@link Visitor}. Nothing is ever written by path: the reader only
 * classifies entries, so a hostile archive cannot place files anywhere. It refuses, with one-line errors:
 * absolute paths, {@code ..}, links, devices, FIFOs, sparse files, anything outside the layout, a second
 * {@code oci-layout} or {@code index.json}, an {@code index.json} over the manifest size limit, more entries than
 * allowed, and more uncompressed bytes than allowed (checked while decompressing, so a compression bomb stops at
 * the limit). Skipping a blob's content in an uncompressed bundle is a seek.
 */
final class BundleReader {
    private BundleReader() {
    }

    static final int MAX_LAYOUT_BYTES = 4096;
    private static final int BUF = 1 << 16;

    /** Limits of one read. */
    record Limits(long maxTotalBytes, int maxEntries, int maxIndexBytes) {
    }

    /** Receives the content of a bundle in archive order. */
    interface Visitor {
        /** The {@code oci-layout} file. */
        void layout(byte[] bytes);

        /** The {@code index.json} file. */
        void index(byte[] bytes);

        /**
         * A blob named {@code digest} of {@code size} bytes; {@code content} ends after the blob (and need not be
         * read to the end, nor closed). The name is not verified here: that is the visitor's job.
         */
        void blob(Digest digest, long size, InputStream content) throws IOException;
    }

    /** What one read saw. */
    record Summary(Compression compression, int entries, long tarBytes) {
    }

    /** {@code bundle PATH} for messages. */
    static String describe(Path file) {
        return "bundle " + Text.shorten(file.toString(), 120);
    }

    static Summary read(Path file, Limits limits, Visitor visitor) {
        return read(file, limits, visitor, false);
    }

    /**
     * Reads {@code file}. With {@code seek}, an uncompressed bundle is read header by header, seeking over the
     * content of every entry the visitor does not read (used by inspect; import reads everything anyway).
     */
    static Summary read(Path file, Limits limits, Visitor visitor, boolean seek) {
        String what = describe(file);
        if (Files.isDirectory(file)) {
            throw new DavitException(Kind.USAGE, Text.shorten(file.toString(), 120) + " is a directory; give a"
                    + " bundle file (a tar of an OCI image layout)");
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, what + " does not exist; check the path");
        } catch (AccessDeniedException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + what + ": permission denied");
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + what + ": " + Text.shorten(e.getMessage(), 120), e);
        }
        Pass pass = new Pass(what, limits, visitor);
        try (ch) {
            byte[] head = new byte[8];
            int n = ch.read(ByteBuffer.wrap(head), 0);
            if (n <= 0) {
                throw new DavitException(Kind.VERIFICATION, what + " is empty; it is not a bundle");
            }
            Compression compression = Compression.detect(head, n, what);
            if (seek && compression == Compression.NONE) {
                try {
                    return pass.seeking(ch);
                } catch (Fallback f) {
                    pass = new Pass(what, limits, visitor);
                }
            }
            ch.position(0);
            return pass.streaming(ch, compression);
        } catch (IOException ex) {
            String at = pass.entryName == null ? "" : " (at entry '" + Text.shorten(pass.entryName, 80) + "')";
            throw new DavitException(Kind.VERIFICATION, what + " is not a readable tar archive" + at + ": "
                    + Text.shorten(firstLine(ex.getMessage()), 120) + "; it is truncated or corrupt, copy or export"
                    + " it again", ex);
        } catch (DavitException ex) {
            throw ex;
        } catch (RuntimeException ex) {
            String at = pass.entryName == null ? "" : " (at entry '" + Text.shorten(pass.entryName, 80) + "')";
            throw new DavitException(Kind.VERIFICATION, what + " is not a readable tar archive" + at + ": "
                    + Text.shorten(firstLine(ex.getMessage()), 120) + "; it is corrupt", ex);
        }
    }

    /** The seeking reader met something it does not handle (a global PAX header): stream instead. */
    private static final class Fallback extends Exception {
        private static final long serialVersionUID = 1L;

        Fallback() {
            super(null, null, false, false);
        }
    }

    /** One read of an archive: the rules, applied entry by entry. */
    private static final class Pass {
        final String what;
        final Limits limits;
        final Visitor visitor;
        boolean sawLayout;
        boolean sawIndex;
        int entries;
        String entryName;

        Pass(String what, Limits limits, Visitor visitor) {
            this.what = what;
            this.limits = limits;
            this.visitor = visitor;
        }

        Summary streaming(FileChannel ch, Compression compression) throws IOException {
            InputStream buf = new BufferedInputStream(Channels.newInputStream(ch), BUF);
            Counted counted = new Counted(compression.decompress(buf), limits.maxTotalBytes(), what);
            TarArchiveInputStream tar = new TarArchiveInputStream(counted, StandardCharsets.UTF_8.name());
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                entry(e, tar, counted.count);
            }
            return new Summary(compression, entries, counted.count);
        }

        /**
         * Reads each header with a fresh tar reader positioned on it, hands the content over at its offset, and
         * seeks to the next header (content rounded up to 512-byte records).
         */
        Summary seeking(FileChannel ch) throws IOException, Fallback {
            long size = ch.size();
            long pos = 0;
            ByteBuffer header = ByteBuffer.allocate(512);
            while (pos < size) {
                header.clear();
                if (ch.read(header, pos) == 512 && header.get(156) == 'g') {
                    throw new Fallback();
                }
                ch.position(pos);
                Counted counted = new Counted(Channels.newInputStream(ch), Long.MAX_VALUE, what);
                TarArchiveInputStream tar = new TarArchiveInputStream(counted, StandardCharsets.UTF_8.name());
                TarArchiveEntry e = tar.getNextEntry();
                if (e == null) {
                    break;
                }
                long dataStart = pos + counted.count;
                if (dataStart % 512 != 0 || e.isSparse()) {
                    throw new Fallback();
                }
                long length = e.getSize();
                if (length < 0 || dataStart + length > size) {
                    throw new IOException("Truncated TAR archive");
                }
                if (dataStart > limits.maxTotalBytes()) {
                    throw counted.overLimit(limits.maxTotalBytes());
                }
                entry(e, tar, dataStart);
                pos = dataStart + (length + 511) / 512 * 512;
            }
            return new Summary(Compression.NONE, entries, Math.min(pos, size));
        }

        /** Checks one entry and hands its content to the visitor. */
        void entry(TarArchiveEntry e, InputStream content, long consumed) throws IOException {
            entryName = e.getName();
            if (++entries > limits.maxEntries()) {
                throw new DavitException(Kind.VERIFICATION, what + " has more than " + limits.maxEntries()
                        + " entries, the import limit; raise it if the bundle is trusted");
            }
            boolean dir = checkType(e, what);
            LayoutPaths.Entry le;
            try {
                le = LayoutPaths.classify(e.getName(), dir);
            } catch (LayoutPaths.Refused r) {
                throw refused(what, e.getName(), r.getMessage());
            }
            if (dir != (le.kind() == LayoutPaths.Kind.DIRECTORY)) {
                throw refused(what, e.getName(), dir ? "is a directory, not a regular file" : "is a file where"
                        + " the layout has a directory");
            }
            long size = e.getSize();
            switch (le.kind()) {
                case DIRECTORY -> {
                }
                case LAYOUT -> {
                    if (sawLayout) {
                        throw refused(what, e.getName(), "appears twice");
                    }
                    sawLayout = true;
                    visitor.layout(readSmall(content, size, MAX_LAYOUT_BYTES, what, "oci-layout"));
                }
                case INDEX -> {
                    if (sawIndex) {
                        throw refused(what, e.getName(), "appears twice");
                    }
                    sawIndex = true;
                    visitor.index(readSmall(content, size, limits.maxIndexBytes(), what, "index.json"));
                }
                case BLOB -> {
                    if (size > limits.maxTotalBytes() - consumed) {
                        throw Counted.overLimit(what, limits.maxTotalBytes());
                    }
                    visitor.blob(le.digest(), size, new NoClose(content));
                }
            }
        }
    }

    /** Returns whether the entry is a directory; refuses every type but regular files and directories. */
    private static boolean checkType(TarArchiveEntry e, String what) {
        String why = null;
        if (e.isSymbolicLink()) {
            why = "is a symbolic link";
        } else if (e.isLink()) {
            why = "is a hard link";
        } else if (e.isCharacterDevice() || e.isBlockDevice()) {
            why = "is a device";
        } else if (e.isFIFO()) {
            why = "is a FIFO";
        } else if (e.isSparse()) {
            why = "is a sparse file";
        }
        if (why != null) {
            throw refused(what, e.getName(), why + "; a bundle holds only regular files and directories");
        }
        if (e.getLinkFlag() == TarConstants.LF_DIR) {
            return true;
        }
        if (e.getLinkFlag() == TarConstants.LF_NORMAL || e.getLinkFlag() == TarConstants.LF_OLDNORM) {
            return e.isDirectory();
        }
        throw refused(what, e.getName(), "has the unsupported tar type '" + Text.printable(
                String.valueOf((char) e.getLinkFlag())) + "'; a bundle holds only regular files and directories");
    }

    private static DavitException refused(String what, String name, String why) {
        return new DavitException(Kind.VERIFICATION, what + ": entry '" + Text.shorten(name, 100) + "' " + why
                + "; refusing the bundle");
    }

    private static byte[] readSmall(InputStream in, long size, int max, String what, String name) throws IOException {
        if (size > max) {
            throw new DavitException(Kind.VERIFICATION, what + ": " + name + " is " + size + " bytes, over the "
                    + max + "-byte limit; refusing the bundle");
        }
        byte[] b = in.readNBytes((int) size);
        if (b.length != size) {
            throw new IOException("unexpected end of " + name);
        }
        return b;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unexpected data";
        }
        int nl = s.indexOf('\n');
        String line = (nl < 0 ? s : s.substring(0, nl)).strip();
        return line.endsWith(".") ? line.substring(0, line.length() - 1) : line;
    }

    /** Counts the uncompressed bytes (read or skipped) and stops at the limit. */
    private static final class Counted extends FilterInputStream {
        private final long max;
        private final String what;
        long count;

        Counted(InputStream in, long max, String what) {
            super(in);
            this.max = max;
            this.what = what;
        }

        DavitException overLimit(long limit) {
            return overLimit(what, limit);
        }

        static DavitException overLimit(String what, long limit) {
            return new DavitException(Kind.VERIFICATION, Message.of(what + " expands to more than " + limit
                    + " bytes, the import size limit; raise it (", Input.MAX_IMPORT_SIZE, ") if the bundle is"
                    + " trusted"));
        }

        private void add(long n) {
            if (n > 0) {
                count += n;
                if (count > max) {
                    throw overLimit(max);
                }
            }
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                add(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            add(n);
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long s = super.skip(n);
            add(s);
            return s;
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }

    /** The current tar entry's content; closing it does not close the archive. */
    private static final class NoClose extends FilterInputStream {
        NoClose(InputStream in) {
            super(in);
        }

        @Override
        public void close() {
            // the archive stays open for the next entry
        }
    }
}
