package dev.davit.sandbox.build;

import static dev.davit.sandbox.build.BuildPaths.realDir;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.network.UrlFetch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * What an {@code ADD} copies that a {@code COPY} does not: a URL, fetched from the host through the build's network,
 * and a local tar archive (plain or compressed), unpacked as an untrusted archive is.
 */
final class AddSources {
    /** The stage the step is of: its state, its errors. */
    private final BuildStage bs;
    private final SourceFiles files;

    AddSources(BuildStage bs, SourceFiles files) {
        this.bs = bs;
        this.files = files;
    }

    /**
     * Fetches {@code url} (an {@code ADD}'s source) into the COPY's staging directory, as Docker's ADD does: into
     * {@code target} itself, or into it as a directory under the name the URL's path ends with; 0600, its time
     * the server's {@code Last-Modified} (else now), never unpacked. The fetch is made from the host, judged as a
     * RUN's connections would be by the build's network ({@link UrlFetch}); {@code --checksum} is checked.
     */
    Path fetch(String url, Path stage, Path target, boolean intoDir, long[] budget, Instruction.Copy c)
            throws IOException {
        if (url.startsWith("git@") || url.regionMatches(true, 0, "git://", 0, 6)) {
            throw bs.error(c, "ADD of a git repository is not supported; clone it into the build context and COPY"
                    + " it");
        }
        java.net.URI uri;
        try {
            uri = new java.net.URI(url);
        } catch (java.net.URISyntaxException e) {
            throw bs.error(c, "ADD " + Text.shorten(UrlFetch.shown(url), 100) + " is not a valid URL");
        }
        String shown = UrlFetch.shown(uri);
        if (!bs.options.network().enabled()) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of(bs.file.name() + ":" + c.line()
                    + ": ADD " + Text.shorten(shown, 100) + " is fetched through the build's network, and the"
                    + " build has none: allow its host (", dev.davit.oci.Input.ALLOW_HOST, ") or give it ",
                    dev.davit.oci.Input.NETWORK, ", or put the file in the build context and COPY it"));
        }
        String path = uri.getPath() == null ? "" : uri.getPath();
        String name = path.substring(path.lastIndexOf('/') + 1);
        if (intoDir && (name.isEmpty() || name.equals(".") || name.equals(".."))) {
            throw bs.error(c, "ADD " + Text.shorten(shown, 100) + " names no file to put into " + c.dest()
                    + "; give the destination a file name");
        }
        Path to = intoDir ? target.resolve(name) : target;
        if (!to.normalize().startsWith(stage)) {
            throw bs.error(c, "ADD " + Text.shorten(shown, 100) + " leads out of the image");
        }
        realDir(stage, to.getParent());
        Files.deleteIfExists(to); // an earlier source's entry (a link itself, never what it names)
        bs.say.accept("fetching " + shown);
        long left = dev.davit.sandbox.fs.Budget.MAX_BYTES - budget[0];
        UrlFetch.Result r;
        try {
            r = new UrlFetch(bs.options.network()).fetch(uri, to, Math.max(0, left));
        } catch (UrlFetch.FetchException e) {
            String what = bs.file.name() + ":" + c.line() + ": ADD: " + e.getMessage().replace('\n', ' ');
            throw new DavitException(Kind.USAGE, bs.options.network().mode() == Network.Mode.POLICY
                    ? dev.davit.oci.Message.of(what, "; if the build should reach it, allow it (",
                            dev.davit.oci.Input.ALLOW_HOST, ")")
                    : dev.davit.oci.Message.of(what));
        }
        if (c.checksum() != null && !c.checksum().equals(r.sha256())) {
            Files.deleteIfExists(to);
            throw bs.error(c, "ADD " + Text.shorten(shown, 100) + " is " + r.sha256() + ", not the "
                    + c.checksum() + " --checksum wants; nothing of it is kept");
        }
        files.counted(r.size(), budget, c);
        Files.setLastModifiedTime(to, java.nio.file.attribute.FileTime.from(r.lastModified() != null
                ? r.lastModified() : Instant.now()));
        return to;
    }

    /**
     * {@code source}, a file an {@code ADD} names, unpacked into a new directory when it is a tar (plain, gzip,
     * bzip2 or zstd; found by its content, never its name) as an untrusted archive is (bounded, no devices, no
     * setuid bits, no link out); null when it is not a tar, and then it is copied as it is.
     */
    Path unpack(dev.davit.sandbox.fs.Dir parent, String name, String src, Instruction i)
            throws IOException {
        try (dev.davit.sandbox.fs.Dir.Opened f = parent.openFile(name)) {
            return unpack(f, src, i);
        } catch (dev.davit.sandbox.fs.Dir.NotRegularFile e) {
            throw bs.error(i, Text.shorten(src, 100) + " changed while the build read it; build again");
        }
    }

    private Path unpack(dev.davit.sandbox.fs.Dir.Opened source, String src, Instruction i) throws IOException {
        final byte[] head;
        String kind;
        try (InputStream in = new java.io.BufferedInputStream(java.nio.channels.Channels.newInputStream(
                source.read()), 1 << 16)) {
            in.mark(8);
            byte[] magic = in.readNBytes(6);
            in.reset();
            kind = magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b ? "gzip"
                    : magic.length >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h' ? "bzip2"
                    : magic.length >= 6 && (magic[0] & 0xff) == 0xfd && magic[1] == '7' && magic[2] == 'z'
                    && magic[3] == 'X' && magic[4] == 'Z' && magic[5] == 0 ? "xz"
                    : magic.length >= 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                    && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd ? "zstd" : "none";
            try (InputStream plain = decompressed(in, kind)) {
                head = plain.readNBytes(512);
            } catch (org.tukaani.xz.MemoryLimitException e) {
                throw xzTooBig(i, src);
            } catch (IOException e) {
                return null; // compressed, but not readable as that: a file as it is, as Docker copies it
            }
        }
        if (head.length < 512 || !new String(head, 257, 5, java.nio.charset.StandardCharsets.ISO_8859_1)
                .equals("ustar")) {
            return null;
        }
        Path dir = Files.createTempDirectory(bs.client.store().tempDir(), "add-");
        try (InputStream in = decompressed(new java.io.BufferedInputStream(java.nio.channels.Channels
                .newInputStream(source.read()), 1 << 16), kind)) {
            dev.davit.oci.unpack.TarExtractor.extractUntrusted(in, dir, new dev.davit.oci.unpack.TarExtractor
                    .Limits(dev.davit.sandbox.fs.Budget.MAX_BYTES, dev.davit.sandbox.fs.Budget.MAX_ENTRIES,
                    64L << 20), "the archive " + Text.shorten(src, 80), "; ADD a smaller archive");
            return dir;
        } catch (org.tukaani.xz.MemoryLimitException e) {
            dev.davit.oci.internal.Fs.deleteTree(dir);
            throw xzTooBig(i, src);
        } catch (IOException | RuntimeException e) {
            dev.davit.oci.internal.Fs.deleteTree(dir);
            throw e;
        }
    }

    private DavitException xzTooBig(Instruction i, String src) {
        return bs.error(i, "the xz archive " + Text.shorten(src, 80) + " needs over " + (XZ_MEMORY_KIB >> 10)
                + " MiB to unpack (xz -9 needs 65); compress it with a smaller dictionary, or COPY it as it is");
    }

    /** The most memory an xz stream of an ADD may need to be read (KiB): xz -9's needs, with room. */
    private static final int XZ_MEMORY_KIB = 128 << 10;

    private static InputStream decompressed(InputStream in, String kind) throws IOException {
        return switch (kind) {
            case "xz" -> new org.tukaani.xz.XZInputStream(in, XZ_MEMORY_KIB);
            case "gzip" -> new java.util.zip.GZIPInputStream(in, 1 << 16);
            case "bzip2" -> new org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream(in,
                    true);
            case "zstd" -> new com.github.luben.zstd.ZstdInputStream(in);
            default -> in;
        };
    }
}
