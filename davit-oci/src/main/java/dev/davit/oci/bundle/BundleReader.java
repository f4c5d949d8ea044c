package dev.davit.oci.bundle;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Text;
import dev.davit.oci.digest.Digest;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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
        String what = describe(file);
        if (Files.isDirectory(file)) {
            throw new DavitException(Kind.USAGE, Text.shorten(file.toString(), 120) + " is a directory; give a"
                    + " bundle file (a tar of an OCI image layout)");
        }
        InputStream raw;
        try {
            raw = Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, what + " does not exist; check the path");
        } catch (AccessDeniedException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + what + ": permission denied");
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + what + ": " + Text.shorten(e.getMessage(), 120), e);
        }
        String entryName = null;
        try (InputStream in = raw) {
            BufferedInputStream buf = new BufferedInputStream(in, BUF);
            buf.mark(16);
            byte[] head = new byte[8];
            int n = buf.readNBytes(head, 0, head.length);
            buf.reset();
            if (n == 0) {
                throw new DavitException(Kind.VERIFICATION, what + " is empty; it is not a bundle");
            }
            Compression compression = Compression.detect(head, n, what);
            Counted counted = new Counted(compression.decompress(buf), limits.maxTotalBytes(), what);
            TarArchiveInputStream tar = new TarArchiveInputStream(counted, StandardCharsets.UTF_8.name());
            boolean sawLayout = false;
            boolean sawIndex = false;
            int entries = 0;
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
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
                        visitor.layout(readSmall(tar, size, MAX_LAYOUT_BYTES, what, "oci-layout"));
                    }
                    case INDEX -> {
                        if (sawIndex) {
                            throw refused(what, e.getName(), "appears twice");
                        }
                        sawIndex = true;
                        visitor.index(readSmall(tar, size, limits.maxIndexBytes(), what, "index.json"));
                    }
                    case BLOB -> {
                        if (size > limits.maxTotalBytes() - counted.count) {
                            throw counted.overLimit();
                        }
                        visitor.blob(le.digest(), size, new NoClose(tar));
                    }
                }
            }
            return new Summary(compression, entries, counted.count);
        } catch (IOException ex) {
            String at = entryName == null ? "" : " (at entry '" + Text.shorten(entryName, 80) + "')";
            throw new DavitException(Kind.VERIFICATION, what + " is not a readable tar archive" + at + ": "
                    + Text.shorten(firstLine(ex.getMessage()), 120) + "; it is truncated or corrupt, copy or export"
                    + " it again", ex);
        } catch (DavitException ex) {
            throw ex;
        } catch (RuntimeException ex) {
            String at = entryName == null ? "" : " (at entry '" + Text.shorten(entryName, 80) + "')";
            throw new DavitException(Kind.VERIFICATION, what + " is not a readable tar archive" + at + ": "
                    + Text.shorten(firstLine(ex.getMessage()), 120) + "; it is corrupt", ex);
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

        DavitException overLimit() {
            return new DavitException(Kind.VERIFICATION, what + " expands to more than " + max
                    + " bytes, the import size limit; raise it (--max-size) if the bundle is trusted");
        }

        private void add(long n) {
            if (n > 0) {
                count += n;
                if (count > max) {
                    throw overLimit();
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
