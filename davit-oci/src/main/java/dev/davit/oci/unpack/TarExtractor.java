package dev.davit.oci.unpack;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Extracts one plain {@code .tar}, {@code .tar.gz} or {@code .tar.zst} file (compression sniffed from its first
 * bytes) into an empty directory with the rules of {@code davit unpack}: no {@code ..}, no absolute names, no links
 * leading out, hard links only to files of the archive. It extracts as a rootless unpack does: owners are not
 * taken from the archive (everything belongs to the caller) and device nodes are skipped.
 */
public final class TarExtractor {
    /**
     * The caps on a tar from an untrusted sender ({@link #extractUntrusted}); passing one stops the extraction at
     * once with a one-line VERIFICATION error.
     *
     * @param maxBytes     the most bytes of the stream (headers and contents)
     * @param maxEntries   the most entries
     * @param maxNameBytes the most bytes of entry names and link targets in all (davit holds each name written
     *                     while it extracts, so this bounds that memory)
     */
    public record Limits(long maxBytes, long maxEntries, long maxNameBytes) {
        /**
         * Checks the caps.
         *
         * @param maxBytes the byte cap, positive
         * @param maxEntries the entry cap, positive
         * @param maxNameBytes the name cap, positive
         * @throws IllegalArgumentException if a cap is not positive
         */
        public Limits {
            if (maxBytes < 1 || maxEntries < 1 || maxNameBytes < 1) {
                throw new IllegalArgumentException("limits must be positive");
            }
        }

        /**
         * These caps less what an extraction used, for the next part of one bounded whole; a cap used up entirely
         * is kept at 1 (the next part fails on its first byte or entry past it: a tar has at least its end blocks).
         *
         * @param used what the part before used
         * @return the caps left
         */
        public Limits less(Used used) {
            return new Limits(Math.max(1, maxBytes - used.bytes()), Math.max(1, maxEntries - used.entries()),
                    Math.max(1, maxNameBytes - used.nameBytes()));
        }
    }

    /**
     * What one extraction of an untrusted tar used of its {@link Limits}: so that parts extracted one after the other
     * share one bound (the next part gets {@link Limits#less} what the ones before used).
     *
     * @param bytes   the bytes of the stream read (headers and contents)
     * @param entries the entries read
     * @param nameBytes the bytes of entry names and link targets read
     */
    public record Used(long bytes, long entries, long nameBytes) {
    }

    /**
     * The deepest an untrusted tar's names nest: an entry with more components is refused as it is met (a deeper
     * tree passes what a host copies of a sandbox's tree, and, far deeper, the host's longest path).
     */
    public static final int MAX_DEPTH = 256;

    /**
     * The longest an untrusted tar's name may be, in bytes: within what the host's paths take below the directory it
     * is extracted into (Linux's PATH_MAX is 4,096); a name of one component over 255 bytes is refused as well.
     */
    public static final int MAX_PATH_BYTES = 3_584;

    private TarExtractor() {
    }

    /**
     * Extracts {@code tarFile} into {@code dir} (which must exist and be empty).
     *
     * @param tarFile the archive: a plain, gzip or zstd tar
     * @param dir the directory to extract into; it must exist and be empty
     * @return the entries skipped (devices, AUFS metadata), each with the reason
     * @throws DavitException of kind USAGE when the file cannot be read or is not a tar, VERIFICATION when an entry
     *     breaks the rules, STORE when {@code dir} cannot be written
     */
    public static List<UnpackResult.Skipped> extract(Path tarFile, Path dir) {
        Report report = new Report();
        String what = "archive " + tarFile.getFileName();
        try (InputStream file = Files.newInputStream(tarFile)) {
            BufferedInputStream in = new BufferedInputStream(file, 1 << 16);
            in.mark(4);
            byte[] head = in.readNBytes(4);
            in.reset();
            Compression c = Compression.sniff(head, head.length);
            if (c == null) { // a plain tar
                c = Compression.NONE;
            }
            RootFs fs = new RootFs(dir, RootFs.probeUmask(dir));
            Wording wording = Wording.given(what);
            LayerApplier applier = new LayerApplier(fs, report, UnpackOptions.defaults(), wording);
            LayerStream raw = new LayerStream(new BufferedInputStream(c.decompress(in), 1 << 17),
                    Digest.Algorithm.SHA256, UnpackOptions.DEFAULT_MAX_BYTES, what, wording);
            applier.apply(new TarArchiveInputStream(raw, 10240, 512, "UTF-8", false), raw, what);
            applier.finish();
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot extract " + tarFile + ": " + e.getMessage()
                    + "; give a .tar, .tar.gz or .tar.zst file");
        }
        return List.copyOf(report.skipped);
    }

    /**
     * Extracts the plain (uncompressed) tar stream {@code tar}, made by an untrusted sender, into the empty
     * directory {@code dir} (it may read ahead past the archive's end: give a stream that ends where the sender's
     * bytes do). The rules of {@link #extract}, stricter: an absolute name is refused as {@code ..} is; nothing is
     * written through a link (an entry below a path that is a link is refused; a link entry is made as a link);
     * hard links only to files the archive made; devices and fifos are skipped, never created; names are only
     * names (no whiteouts); modes keep only the nine permission bits; owners and extended attributes are not taken
     * from it; and the {@code limits} hold, checked as the bytes arrive (an entry that declares more than is left
     * is refused before any of it is written). On failure {@code dir} holds part of the archive: the caller
     * deletes it.
     *
     * @param tar    the plain tar stream; read but not closed
     * @param dir    the directory to extract into; it must exist and be empty
     * @param limits the caps on the stream
     * @param what   the archive in messages, e.g. {@code the tar of /workspace that sandbox sb-1 sent}
     * @param raise  appended to the error when a limit is passed (how to raise it)
     * @return the entries skipped (devices, fifos, unsupported types), each with the reason
     * @throws DavitException of kind VERIFICATION when the archive breaks a rule or a limit, STORE when the stream
     *     fails or {@code dir} cannot be written
     */
    public static List<UnpackResult.Skipped> extractUntrusted(InputStream tar, Path dir, Limits limits, String what,
                                                              String raise) {
        return extractUntrusted(tar, dir, limits, what, raise, u -> { });
    }

    /**
     * {@link #extractUntrusted(InputStream, Path, Limits, String, String)}, telling {@code used} what it used of
     * {@code limits} once it is done (parts of one whole extracted in turn under one bound: {@link Limits#less}).
     *
     * @param tar    the plain tar stream; read but not closed
     * @param dir    the directory to extract into; it must exist and be empty
     * @param limits the caps on the stream
     * @param what   the archive in messages
     * @param raise  appended to the error when a limit is passed (how to raise it)
     * @param used   hears what the extraction used, when it succeeds
     * @return the entries skipped (devices, fifos, unsupported types), each with the reason
     * @throws DavitException as {@link #extractUntrusted(InputStream, Path, Limits, String, String)}
     */
    public static List<UnpackResult.Skipped> extractUntrusted(InputStream tar, Path dir, Limits limits, String what,
                                                              String raise, java.util.function.Consumer<Used> used) {
        Report report = new Report();
        Wording wording = Wording.untrusted(what, raise);
        try {
            RootFs fs = new RootFs(dir, RootFs.probeUmask(dir));
            LayerApplier applier = new LayerApplier(fs, report, limits, wording);
            LayerStream raw = new LayerStream(new BufferedInputStream(tar, 1 << 16), Digest.Algorithm.SHA256,
                    limits.maxBytes(), what, wording);
            applier.apply(new TarArchiveInputStream(raw, 10240, 512, "UTF-8", false), raw, what);
            applier.finish();
            // what it took on disk, or of the stream, whichever is more: a sparse entry writes more than it reads
            used.accept(new Used(Math.max(raw.count(), report.bytes), report.entries, applier.nameBytes()));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot extract " + what + " into " + dir + ": " + e.getMessage());
        }
        return List.copyOf(report.skipped);
    }
}
