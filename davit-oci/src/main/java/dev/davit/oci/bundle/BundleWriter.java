package dev.davit.oci.bundle;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.Hashed;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes bundles: a tar of an OCI image layout holding the complete graphs of named store entries.
 *
 * <p>The archive is deterministic for the same content and options: entries in a fixed order
 * ({@code oci-layout}, {@code index.json}, the {@code blobs/} directories, then manifests parents first, then
 * image configs, then all other blobs sorted by digest), every mtime the bundle's {@code created} time (or the
 * epoch), uid/gid 0 without names, modes 0644/0755. Parents before children lets a streaming reader
 * ({@code davit bundle inspect} on a compressed bundle) find every manifest in one pass.
 *
 * <p>Blobs stream from the store and are hashed on the way (a corrupt store blob is never exported). The bundle is
 * written to a temp file next to the target, fsynced, re-read and verified, then renamed over the target
 * atomically: the target is either the old file or the complete new bundle.
 */
public final class BundleWriter {
    private static final int BUF = 1 << 16;
    private static final long PROGRESS_STEP = 1 << 20;

    private final OciStore store;

    /**
     * A writer reading from one store.
     *
     * @param store the store holding the entries to export
     */
    public BundleWriter(OciStore store) {
        this.store = store;
    }

    /** What goes into the bundle, in archive order. */
    private record Plan(List<StoreEntry> entries, List<Descriptor> blobs, List<BundleRef> refs, byte[] index) {
    }

    /**
     * Exports the store entries named by {@code refs} (normalised as references; duplicates are written once)
     * into {@code file}, replacing it.
     *
     * @param refs the references to export, as in the store; at least one
     * @param file the bundle file to write; its directory must exist
     * @param options metadata, compression and verification
     * @param progress receives progress events
     * @return what was written
     * @throws DavitException USAGE for bad arguments, NOT_FOUND for a reference not in the store, STORE when an
     *         entry's graph is incomplete or the file cannot be written, VERIFICATION for a corrupt store blob
     */
    public ExportResult export(List<String> refs, Path file, ExportOptions options, ProgressListener progress) {
        long t0 = System.nanoTime();
        if (refs == null || refs.isEmpty()) {
            throw new DavitException(Kind.USAGE, "nothing to export; name at least one reference in the store");
        }
        BundleMetadata metadata = options.metadata().validate();
        Compression compression = options.compression() != null ? options.compression()
                : Compression.fromFileName(file);
        Path target = file.toAbsolutePath().normalize();
        Path dir = target.getParent();
        if (Files.isDirectory(target)) {
            throw new DavitException(Kind.USAGE, Text.shorten(target.toString(), 120) + " is a directory; give the"
                    + " bundle's file name");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new DavitException(Kind.USAGE, "directory " + Text.shorten(String.valueOf(dir), 120)
                    + " does not exist; create it first");
        }
        try (AutoCloseable session = store.session()) {
            Plan plan = plan(refs, metadata);
            progress.onEvent(new ProgressEvent.Phase("writing bundle", target.toString()));
            Path tmp;
            try {
                tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".davit-tmp");
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot create a file in " + Text.shorten(dir.toString(), 120)
                        + ": " + e.getMessage() + "; check permissions and free space", e);
            }
            try {
                Instant mtime = metadata.created() != null ? metadata.created() : Instant.EPOCH;
                Written w = write(tmp, plan, compression, mtime, progress);
                if (options.verify()) {
                    progress.onEvent(new ProgressEvent.Phase("verifying", plan.blobs().size() + " blobs"));
                    verify(tmp, plan);
                }
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                Fs.fsyncDir(dir);
                long content = plan.blobs().stream().mapToLong(Descriptor::size).sum();
                progress.onEvent(new ProgressEvent.Phase("done", target.toString()));
                return new ExportResult(target, compression, w.size(), w.digest(), metadata, plan.refs(),
                        plan.blobs().size(), content, options.verify(), Duration.ofNanos(System.nanoTime() - t0));
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot write " + Text.shorten(target.toString(), 120) + ": "
                        + e.getMessage() + "; check permissions and free space", e);
            } finally {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; the name marks it as davit's temp file
                }
            }
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "export failed: " + e, e);
        }
    }

    // ---------------------------------------------------------------- planning

    private Plan plan(List<String> refs, BundleMetadata metadata) {
        Set<String> names = new LinkedHashSet<>();
        for (String r : refs) {
            names.add(Reference.parse(r).toString());
        }
        List<StoreEntry> entries = new ArrayList<>();
        for (String n : names) {
            entries.add(store.entry(n).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, Message.of(n
                    + " is not in the store; pull it first (", Action.IMAGES.fix(), " lists what the store holds)"))));
        }
        LinkedHashMap<Digest, Descriptor> manifests = new LinkedHashMap<>();
        Map<Digest, Descriptor> configs = new HashMap<>();
        Map<Digest, Descriptor> others = new HashMap<>();
        Map<Digest, Manifest> parsed = new HashMap<>();
        for (StoreEntry e : entries) {
            Deque<Descriptor> todo = new ArrayDeque<>();
            todo.add(e.descriptor());
            while (!todo.isEmpty()) {
                Descriptor d = todo.poll();
                if (manifests.containsKey(d.digest()) || configs.containsKey(d.digest())
                        || others.containsKey(d.digest())) {
                    continue;
                }
                if (!store.hasBlob(d.digest())) {
                    throw new DavitException(Kind.STORE, Message.of(e.name() + " is incomplete in the store (blob " + d.digest()
                            + " is missing); pull it again, or run ", Action.FSCK.fix()));
                }
                if (MediaTypes.isManifest(d.mediaType())) {
                    Manifest m = store.readManifest(d);
                    parsed.put(d.digest(), m);
                    manifests.put(d.digest(), d);
                    todo.addAll(m.children());
                    if (m instanceof ImageManifest im && Graphs.isImageConfig(im.config())) {
                        configs.putIfAbsent(im.config().digest(), im.config());
                    }
                } else {
                    others.put(d.digest(), d);
                }
            }
        }
        // the index a single platform was picked from: kept as a blob, as in the store, so the entry's
        // dev.davit.resolved.digest still names content the store holds after an import
        for (StoreEntry e : entries) {
            Digest resolved = e.resolvedDigest();
            if (resolved != null && !manifests.containsKey(resolved) && store.hasBlob(resolved)) {
                try {
                    Manifest m = store.readManifest(new Descriptor(MediaTypes.OCI_INDEX, resolved, 0));
                    if (Digest.of(resolved.algorithm(), m.bytes()).equals(resolved)) {
                        manifests.put(resolved, new Descriptor(m.mediaType(), resolved, m.bytes().length));
                    }
                } catch (DavitException ex) {
                    // not a manifest davit can read: leave it out, the entry's graph is complete without it
                }
            }
        }
        configs.keySet().removeAll(manifests.keySet());
        others.keySet().removeAll(configs.keySet());
        others.keySet().removeAll(manifests.keySet());
        List<Descriptor> blobs = new ArrayList<>(manifests.values());
        blobs.addAll(sorted(configs));
        blobs.addAll(sorted(others));

        Graphs.Lookup lookup = new Graphs.Lookup() {
            @Override
            public boolean has(Descriptor d) {
                return store.hasBlob(d.digest());
            }

            @Override
            public Manifest manifest(Descriptor d) {
                return parsed.get(d.digest());
            }

            @Override
            public byte[] config(Descriptor d) {
                try {
                    return store.readBlob(d.digest(), Graphs.MAX_CONFIG_BYTES);
                } catch (DavitException e) {
                    return null;
                }
            }
        };
        List<BundleRef> summaries = new ArrayList<>();
        ObjectNode idx = Json.object();
        idx.put("schemaVersion", 2);
        idx.put("mediaType", MediaTypes.OCI_INDEX);
        ArrayNode arr = idx.putArray("manifests");
        for (StoreEntry e : entries) {
            arr.add(ManifestJson.toJson(e.descriptor()));
            summaries.add(Graphs.summarize(e.descriptor(), lookup));
        }
        Map<String, String> ann = metadata.toAnnotations();
        if (!ann.isEmpty()) {
            ObjectNode a = idx.putObject("annotations");
            new TreeMap<>(ann).forEach(a::put);
        }
        return new Plan(entries, blobs, summaries, Json.bytes(idx));
    }

    private static List<Descriptor> sorted(Map<Digest, Descriptor> m) {
        return m.values().stream().sorted((a, b) -> a.digest().toString().compareTo(b.digest().toString())).toList();
    }

    // ---------------------------------------------------------------- writing

    private record Written(long size, Digest digest) {
    }

    private Written write(Path tmp, Plan plan, Compression compression, Instant mtime, ProgressListener progress)
            throws IOException {
        MessageDigest fileHash = Digest.Algorithm.SHA256.newMessageDigest();
        long[] count = {0};
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            OutputStream file = new FilterOutputStream(Channels.newOutputStream(ch)) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                    fileHash.update(b, off, len);
                    count[0] += len;
                }

                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void close() throws IOException {
                    flush(); // the channel is forced and closed below
                }
            };
            try (TarArchiveOutputStream tar = new TarArchiveOutputStream(
                    compression.compress(new BufferedOutputStream(file, BUF)), java.nio.charset.StandardCharsets.UTF_8.name())) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                putSmall(tar, LayoutPaths.OCI_LAYOUT, LayoutPaths.LAYOUT_BYTES, mtime);
                putSmall(tar, LayoutPaths.INDEX_JSON, plan.index(), mtime);
                putDir(tar, "blobs/", mtime);
                Set<String> algs = new LinkedHashSet<>();
                plan.blobs().forEach(d -> algs.add(d.digest().algorithm().id()));
                for (String alg : algs) {
                    putDir(tar, "blobs/" + alg + "/", mtime);
                }
                byte[] buf = new byte[BUF];
                for (Descriptor d : plan.blobs()) {
                    putBlob(tar, d, mtime, buf, progress);
                }
                tar.finish();
            }
            ch.force(true);
        }
        return new Written(count[0], Digest.fromBytes(Digest.Algorithm.SHA256, fileHash.digest()));
    }

    private static TarArchiveEntry entry(String name, byte type, long size, Instant mtime) {
        TarArchiveEntry e = new TarArchiveEntry(name, type);
        e.setSize(size);
        e.setMode(type == TarConstants.LF_DIR ? TarArchiveEntry.DEFAULT_DIR_MODE : TarArchiveEntry.DEFAULT_FILE_MODE);
        e.setModTime(FileTime.from(mtime));
        e.setUserId(0);
        e.setGroupId(0);
        e.setUserName("");
        e.setGroupName("");
        return e;
    }

    private static void putSmall(TarArchiveOutputStream tar, String name, byte[] data, Instant mtime)
            throws IOException {
        tar.putArchiveEntry(entry(name, TarConstants.LF_NORMAL, data.length, mtime));
        tar.write(data);
        tar.closeArchiveEntry();
    }

    private static void putDir(TarArchiveOutputStream tar, String name, Instant mtime) throws IOException {
        tar.putArchiveEntry(entry(name, TarConstants.LF_DIR, 0, mtime));
        tar.closeArchiveEntry();
    }

    private void putBlob(TarArchiveOutputStream tar, Descriptor d, Instant mtime, byte[] buf, ProgressListener progress)
            throws IOException {
        Path p = store.blobPath(d.digest());
        long size = Files.size(p);
        if (size != d.size()) {
            throw new DavitException(Kind.VERIFICATION, Message.of("blob " + d.digest() + " in the store is " + size
                    + " bytes, its descriptor says " + d.size() + "; run ", Action.FSCK_REPAIR.fix(), " and pull again"));
        }
        progress.onEvent(new ProgressEvent.BlobStarted(d, 0));
        MessageDigest md = d.digest().newMessageDigest();
        tar.putArchiveEntry(entry(LayoutPaths.blobPath(d.digest()), TarConstants.LF_NORMAL, size, mtime));
        long done = 0;
        long reported = 0;
        try (InputStream in = Files.newInputStream(p)) {
            int n;
            while (done < size && (n = in.read(buf, 0, (int) Math.min(buf.length, size - done))) > 0) {
                md.update(buf, 0, n);
                tar.write(buf, 0, n);
                done += n;
                if (done - reported >= PROGRESS_STEP) {
                    reported = done;
                    progress.onEvent(new ProgressEvent.BlobProgress(d, done));
                }
            }
        }
        if (done != size || !Digest.fromBytes(d.digest().algorithm(), md.digest()).equals(d.digest())) {
            throw new DavitException(Kind.VERIFICATION, Message.of("blob " + d.digest() + " in the store is corrupt (its"
                    + " content does not match its digest); run ", Action.FSCK_REPAIR.fix(), " and pull again"));
        }
        tar.closeArchiveEntry();
        progress.onEvent(new ProgressEvent.BlobDone(d, false));
    }

    // ---------------------------------------------------------------- verification

    /** Re-reads the written file: layout files byte for byte, the exact blob set, every blob's digest. */
    private static void verify(Path tmp, Plan plan) {
        Map<Digest, Long> expected = new HashMap<>();
        plan.blobs().forEach(d -> expected.put(d.digest(), d.size()));
        Map<Digest, Long> seen = new HashMap<>();
        byte[][] layout = new byte[1][];
        byte[][] index = new byte[1][];
        byte[] buf = new byte[BUF];
        try {
            BundleReader.read(tmp, new BundleReader.Limits(Long.MAX_VALUE, Integer.MAX_VALUE,
                    Math.max(plan.index().length, BundleReader.MAX_LAYOUT_BYTES)), new BundleReader.Visitor() {
                        @Override
                        public void layout(byte[] bytes) {
                            layout[0] = bytes;
                        }

                        @Override
                        public void index(byte[] bytes) {
                            index[0] = bytes;
                        }

                        @Override
                        public void blob(Digest digest, long size, InputStream content) throws IOException {
                            if (!Hashed.of(content, digest.algorithm(), buf).matches(digest, size)) {
                                throw new IOException("blob " + digest + " does not match its digest");
                            }
                            if (seen.put(digest, size) != null) {
                                throw new IOException("blob " + digest + " appears twice");
                            }
                        }
                    });
        } catch (DavitException e) {
            throw writtenBadly(e.getMessage());
        }
        if (!Arrays.equals(layout[0], LayoutPaths.LAYOUT_BYTES) || !Arrays.equals(index[0], plan.index())) {
            throw writtenBadly("oci-layout or index.json differ from what was written");
        }
        if (!seen.equals(expected)) {
            throw writtenBadly("it holds " + seen.size() + " blobs, " + expected.size() + " were written");
        }
    }

    private static DavitException writtenBadly(String why) {
        return new DavitException(Kind.STORE, "the bundle failed verification after writing (" + Text.shorten(why, 200)
                + "); check the disk and export again");
    }
}
