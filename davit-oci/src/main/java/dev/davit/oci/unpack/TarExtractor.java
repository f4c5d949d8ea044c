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
    private TarExtractor() {
    }

    /**
     * Extracts {@code tarFile} into {@code dir} (which must exist and be empty).
     *
     * @return the entries skipped (devices, AUFS metadata), each with the reason
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
            LayerApplier applier = new LayerApplier(fs, report, false, UnpackOptions.defaults());
            LayerStream raw = new LayerStream(new BufferedInputStream(c.decompress(in), 1 << 17),
                    Digest.Algorithm.SHA256, UnpackOptions.DEFAULT_MAX_BYTES, what);
            applier.apply(new TarArchiveInputStream(raw, 10240, 512, "UTF-8", false), raw, what);
            applier.finish();
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot extract " + tarFile + ": " + e.getMessage()
                    + "; give a .tar, .tar.gz or .tar.zst file");
        }
        return List.copyOf(report.skipped);
    }
}
