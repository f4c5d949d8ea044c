package dev.davit.oci.store;

import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Fs;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.Hashed;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The content store: a standard OCI image layout ({@code oci-layout}, {@code index.json},
 * {@code blobs/<alg>/<hex>}) that any OCI tool can read, plus a private {@code .davit/} directory for locks,
 * partial downloads and temp files.
 *
 * <p>Commit points: a blob becomes visible only by an atomic rename after its digest was verified
 * ({@link BlobIngest#commit()}); a reference becomes visible only by an atomic rewrite of {@code index.json}
 * under a cross-process lock ({@link #setEntry}), after every blob of its graph was checked to be present.
 *
 * <p>Operations that add content must run inside a {@link #session()}, which holds the store lock shared;
 * {@link #gc()} holds it exclusively.
 */
public final class OciStore {
    /** The annotation naming an entry, as in the OCI image layout spec. */
    public static final String REF_NAME = "org.opencontainers.image.ref.name";
    /** The digest the reference resolved to at the registry. */
    public static final String RESOLVED_DIGEST = "dev.davit.resolved.digest";
    /** When it was resolved (ISO-8601 instant). */
    public static final String RESOLVED_AT = "dev.davit.resolved.at";
    /** The platform picked from an index, when only one was pulled. */
    public static final String PLATFORM = "dev.davit.platform";

    private static final byte[] LAYOUT = "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    private static final int MAX_INDEX_BYTES = 64 * 1024 * 1024;

    private final Path root;
    private final Path privateDir;
    private final Path ingestDir;
    private final Path tmpDir;
    private final StoreLock locks;

    private OciStore(Path root) {
        this.root = root;
        this.privateDir = root.resolve(".davit");
        this.ingestDir = privateDir.resolve("ingest");
        this.tmpDir = privateDir.resolve("tmp");
        this.locks = StoreLock.forStore(privateDir);
    }

    /**
     * Opens the OCI image layout at {@code root}, creating it when missing.
     *
     * @param root the layout's directory
     * @return the store
     * @throws DavitException {@link Kind#STORE} when {@code root} is not a directory, its {@code oci-layout} is
     *                        invalid or it cannot be created
     */
    public static OciStore open(Path root) {
        Path abs = root.toAbsolutePath().normalize();
        try {
            if (Files.exists(abs) && !Files.isDirectory(abs)) {
                throw new DavitException(Kind.STORE, Message.of("store path " + abs + " is not a directory; point DAVIT_HOME"
                        + " or ", Input.STORE, " at a directory"));
            }
            Files.createDirectories(abs.resolve(".davit").resolve("ingest"));
            Files.createDirectories(abs.resolve(".davit").resolve("tmp"));
            Files.createDirectories(abs.resolve("blobs"));
            OciStore s = new OciStore(abs);
            Path layout = abs.resolve("oci-layout");
            if (!Files.exists(layout)) {
                Fs.writeAtomically(layout, LAYOUT, s.tmpDir);
            } else {
                JsonNode n;
                try {
                    n = readJson(layout, 4096);
                } catch (IOException e) {
                    n = null;
                }
                if (n == null || !n.path("imageLayoutVersion").isTextual()) {
                    throw new DavitException(Kind.STORE, "store " + abs + " has an invalid oci-layout file;"
                            + " remove it or use another store directory");
                }
            }
            if (!Files.exists(abs.resolve("index.json"))) {
                try (var held = s.locks.index()) {
                    if (!Files.exists(abs.resolve("index.json"))) {
                        s.writeIndex(List.of());
                    }
                }
            }
            return s;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create store at " + abs + ": " + e.getMessage()
                    + "; check permissions or set DAVIT_HOME", e);
        }
    }

    /**
     * The layout's directory.
     *
     * @return its absolute, normalised path
     */
    public Path root() {
        return root;
    }

    /**
     * The store's own directory for temp files (on the store's file system, so a file made there moves into place;
     * what a crash leaves there {@link #gc} removes). Use it inside {@link #session()}.
     *
     * @return the directory, made when missing
     * @throws DavitException STORE when it cannot be made
     */
    public Path tempDir() {
        try {
            return Files.createDirectories(tmpDir);
        } catch (java.io.IOException e) {
            throw new DavitException(DavitException.Kind.STORE, "cannot create " + tmpDir + ": " + e.getMessage());
        }
    }

    /**
     * Holds the store lock shared until closed (a {@link #gc} waits for it); wrap every operation that adds content
     * in one.
     *
     * @return the held lock, released by {@code close}
     */
    public AutoCloseable session() {
        return locks.shared();
    }

    /**
     * Where blob {@code d} is (or would be) in the layout: {@code blobs/ALGORITHM/HEX}.
     *
     * @param d the blob's digest
     * @return its path
     */
    public Path blobPath(Digest d) {
        return root.resolve("blobs").resolve(d.algorithm().id()).resolve(d.hex());
    }

    /**
     * Whether blob {@code d} is in the store (its digest is not checked here: see {@link #fsck}).
     *
     * @param d the blob's digest
     * @return true when its file exists
     */
    public boolean hasBlob(Digest d) {
        return Files.isRegularFile(blobPath(d));
    }

    /**
     * Marks a blob as recently used (pulls that skip a present blob call this).
     *
     * @param d the blob's digest
     */
    public void touch(Digest d) {
        try {
            Files.setLastModifiedTime(blobPath(d), FileTime.from(Instant.now()));
        } catch (IOException ignored) {
            // informational only
        }
    }

    /**
     * Opens blob {@code d} for reading.
     *
     * @param d the blob's digest
     * @return a stream of its bytes, to close
     * @throws DavitException {@link Kind#NOT_FOUND} when it is not in the store, {@link Kind#STORE} when it cannot
     *                        be read
     */
    public InputStream openBlob(Digest d) {
        try {
            return Files.newInputStream(blobPath(d));
        } catch (NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, "blob " + d + " is not in the store; pull the image again");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read blob " + d + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a whole blob of at most {@code max} bytes.
     *
     * @param d   the blob's digest
     * @param max the most bytes it may have
     * @return its bytes
     * @throws DavitException {@link Kind#VERIFICATION} when it is larger, {@link Kind#NOT_FOUND} when it is not in
     *                        the store, {@link Kind#STORE} when it cannot be read
     */
    public byte[] readBlob(Digest d, int max) {
        Path p = blobPath(d);
        try {
            long size = Files.size(p);
            if (size > max) {
                throw new DavitException(Kind.VERIFICATION, "blob " + d + " is " + size + " bytes, over the "
                        + max + "-byte limit for this kind of content");
            }
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, "blob " + d + " is not in the store; pull the image again");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read blob " + d + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads and parses a manifest or index blob.
     *
     * @param d its descriptor (its media type picks the parser)
     * @return the manifest, its exact bytes kept
     * @throws DavitException as {@link #readBlob} does; {@link Kind#VERIFICATION} when it does not parse
     */
    public Manifest readManifest(Descriptor d) {
        byte[] b = readBlob(d.digest(), ManifestParser.MAX_MANIFEST_BYTES);
        return ManifestParser.parse(b, d.mediaType());
    }

    /**
     * Starts writing a blob; blocks while another thread or process writes the same digest.
     *
     * @param d the blob's descriptor (its size and digest are verified at {@link BlobIngest#commit})
     * @return the ingest, to close (a close before the commit keeps the partial file for a resume)
     */
    public BlobIngest ingest(Descriptor d) {
        String key = d.digest().algorithm().id() + "-" + d.digest().hex();
        StoreLock.Held held = locks.blob(key);
        return new BlobIngest(d, ingestDir.resolve(key + ".partial"), blobPath(d.digest()), held);
    }

    /**
     * Stores small content held in memory (manifests), verifying its digest first.
     *
     * @param d     its descriptor
     * @param bytes its bytes, which must match {@code d}'s size and digest
     * @throws DavitException {@link Kind#VERIFICATION} when they do not
     */
    public void putBlob(Descriptor d, byte[] bytes) {
        if (hasBlob(d.digest())) {
            return;
        }
        try (BlobIngest in = ingest(d)) {
            if (in.present()) {
                return;
            }
            in.restart();
            in.write(bytes, 0, bytes.length);
            in.commit();
        }
    }

    // ---------------------------------------------------------------- index.json

    /**
     * All named entries, in index order.
     *
     * @return a new list of the entries
     */
    public List<StoreEntry> entries() {
        List<StoreEntry> out = new ArrayList<>();
        for (Descriptor d : readIndex()) {
            String name = d.annotation(REF_NAME);
            if (name != null) {
                out.add(new StoreEntry(name, d));
            }
        }
        return out;
    }

    /**
     * The entry named {@code name}.
     *
     * @param name a fully normalised reference
     * @return the entry (the last of that name), or empty
     */
    public Optional<StoreEntry> entry(String name) {
        return entries().stream().filter(e -> e.name().equals(name)).reduce((a, b) -> b);
    }

    /**
     * Names {@code target} as {@code name} in {@code index.json}, replacing an entry of the same name. Checks
     * under the index lock that the whole graph under {@code target} is present, so the index never names
     * incomplete content.
     *
     * @param name        a fully normalised reference
     * @param target      the descriptor of the manifest or index to name
     * @param annotations annotations to record on the entry (beside {@code target}'s own)
     * @return the new entry
     * @throws DavitException {@link Kind#STORE} when a blob of the graph is missing or the index cannot be written
     */
    public StoreEntry setEntry(String name, Descriptor target, Map<String, String> annotations) {
        Map<String, String> ann = new LinkedHashMap<>(target.annotations());
        ann.putAll(annotations);
        ann.put(REF_NAME, name);
        Descriptor entry = target.withAnnotations(ann);
        try (var held = locks.index()) {
            List<String> missing = missing(target);
            if (!missing.isEmpty()) {
                throw new DavitException(Kind.STORE, "cannot name " + name + ": " + missing.size()
                        + " blob(s) are missing from the store (first " + missing.get(0)
                        + "), probably removed by a concurrent gc; pull again");
            }
            List<Descriptor> index = new ArrayList<>(readIndex());
            index.removeIf(d -> name.equals(d.annotation(REF_NAME)));
            index.add(entry);
            writeIndex(index);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot update " + root.resolve("index.json") + ": "
                    + e.getMessage(), e);
        }
        return new StoreEntry(name, entry);
    }

    /**
     * Adds {@code annotations} to the entry named {@code name} if it still names the manifest {@code expected}: one
     * step under the index lock, so an entry a concurrent pull moved to another manifest is left as that pull made
     * it (never moved back).
     *
     * @param name        a fully normalised reference
     * @param expected    the manifest the entry must still name
     * @param annotations the annotations to set on it
     * @return whether the entry was updated
     * @throws DavitException {@link Kind#STORE} when the index cannot be written
     */
    public boolean annotateEntry(String name, Digest expected, Map<String, String> annotations) {
        try (var held = locks.index()) {
            List<Descriptor> index = new ArrayList<>(readIndex());
            for (int i = index.size() - 1; i >= 0; i--) {
                Descriptor d = index.get(i);
                if (name.equals(d.annotation(REF_NAME))) {
                    if (!d.digest().equals(expected)) {
                        return false;
                    }
                    Map<String, String> ann = new LinkedHashMap<>(d.annotations());
                    ann.putAll(annotations);
                    index.set(i, d.withAnnotations(ann));
                    writeIndex(index);
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot update " + root.resolve("index.json") + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Removes the entry named {@code name}. Its blobs stay until {@link #gc()}.
     *
     * @param name a fully normalised reference
     * @return whether there was one
     */
    public boolean removeEntry(String name) {
        try (var held = locks.index()) {
            List<Descriptor> index = new ArrayList<>(readIndex());
            boolean removed = index.removeIf(d -> name.equals(d.annotation(REF_NAME)));
            if (removed) {
                writeIndex(index);
            }
            return removed;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot update " + root.resolve("index.json") + ": "
                    + e.getMessage(), e);
        }
    }

    private List<Descriptor> readIndex() {
        Path index = root.resolve("index.json");
        byte[] bytes;
        try {
            if (!Files.exists(index)) {
                return List.of();
            }
            if (Files.size(index) > MAX_INDEX_BYTES) {
                throw new IOException("file is larger than " + MAX_INDEX_BYTES + " bytes");
            }
            bytes = Files.readAllBytes(index);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, Message.of("cannot read " + index + ": " + e.getMessage() + "; run ",
                    Action.FSCK.fix()), e);
        }
        try {
            return ManifestParser.layoutIndex(bytes);
        } catch (DavitException e) {
            throw new DavitException(Kind.STORE, index + " is malformed: " + e.getMessage() + "; fix or remove it");
        }
    }

    private void writeIndex(List<Descriptor> entries) throws IOException {
        ObjectNode idx = Json.object();
        idx.put("schemaVersion", 2);
        idx.put("mediaType", MediaTypes.OCI_INDEX);
        ArrayNode arr = idx.putArray("manifests");
        for (Descriptor d : entries) {
            arr.add(ManifestJson.toJson(d));
        }
        Fs.writeAtomically(root.resolve("index.json"), Json.bytes(idx), tmpDir);
    }

    private static JsonNode readJson(Path p, int max) throws IOException {
        if (!Files.exists(p)) {
            return null;
        }
        if (Files.size(p) > max) {
            throw new IOException("file is larger than " + max + " bytes");
        }
        try {
            return Json.read(Files.readAllBytes(p));
        } catch (IOException e) {
            throw new IOException("not valid JSON", e);
        }
    }

    // ---------------------------------------------------------------- graph walking

    /**
     * The unique descriptors reachable from {@code top}, {@code top} first; missing children are skipped.
     *
     * @param top a manifest or index
     * @return the descriptors of its graph, each once
     */
    public List<Descriptor> graph(Descriptor top) {
        List<Descriptor> out = new ArrayList<>();
        walk(top, out, new ArrayList<>(), new ArrayList<>());
        return out;
    }

    /**
     * Whether every blob reachable from {@code top} is present and every manifest on the way parses.
     *
     * @param top a manifest or index
     * @return true when its graph is whole
     */
    public boolean isComplete(Descriptor top) {
        List<String> missing = new ArrayList<>();
        List<String> broken = new ArrayList<>();
        walk(top, new ArrayList<>(), missing, broken);
        return missing.isEmpty() && broken.isEmpty();
    }

    private List<String> missing(Descriptor top) {
        List<String> missing = new ArrayList<>();
        walk(top, new ArrayList<>(), missing, new ArrayList<>());
        return missing;
    }

    private void walk(Descriptor top, List<Descriptor> found, List<String> missing, List<String> broken) {
        Set<Digest> seen = new HashSet<>();
        Deque<Descriptor> todo = new ArrayDeque<>();
        todo.add(top);
        while (!todo.isEmpty()) {
            Descriptor d = todo.poll();
            if (!seen.add(d.digest())) {
                continue;
            }
            if (!hasBlob(d.digest())) {
                missing.add(d.digest().toString());
                continue;
            }
            found.add(d);
            if (MediaTypes.isManifest(d.mediaType())) {
                try {
                    Manifest m = readManifest(d);
                    todo.addAll(m.children());
                } catch (DavitException e) {
                    broken.add(d.digest() + ": " + e.getMessage());
                }
            }
        }
    }

    // ---------------------------------------------------------------- maintenance

    /**
     * What {@link #gc()} removed.
     *
     * @param removedBlobs     how many blobs no entry reached
     * @param freedBytes       their size together, in bytes
     * @param removedTempFiles how many partial and temp files were left over
     */
    public record GcReport(int removedBlobs, long freedBytes, int removedTempFiles) {
    }

    /**
     * Removes blobs that no entry reaches, and leftover partial and temp files. Holds the store lock
     * exclusively, so it waits for running pulls (in any process) to finish first.
     *
     * @return what was removed
     * @throws DavitException {@link Kind#STORE} when the store cannot be read or a file cannot be removed
     */
    public GcReport gc() {
        try (var excl = locks.exclusive(); var idx = locks.index()) {
            Set<Digest> live = new HashSet<>();
            for (StoreEntry e : entries()) {
                graph(e.descriptor()).forEach(d -> live.add(d.digest()));
                Digest resolved = e.resolvedDigest();
                if (resolved != null) {
                    live.add(resolved);
                }
            }
            int removed = 0;
            long freed = 0;
            for (Path blob : listBlobs()) {
                Digest d = digestOf(blob);
                if (d == null || !live.contains(d)) {
                    long size = Files.size(blob);
                    Files.deleteIfExists(blob);
                    removed++;
                    freed += size;
                }
            }
            int temps = 0;
            for (Path dir : List.of(ingestDir, tmpDir)) {
                // a partial file goes before its record of hashed bytes (.upto): a gc stopped between the two
                // leaves a record without a file (a new one starts empty), never a file with holes and no record
                for (boolean records : new boolean[] {false, true}) {
                    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                        for (Path p : ds) {
                            String name = p.getFileName().toString();
                            if (name.endsWith(".lock") || name.endsWith(".upto") != records) {
                                continue;
                            }
                            Files.deleteIfExists(p);
                            temps++;
                        }
                    }
                }
            }
            return new GcReport(removed, freed, temps);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "gc failed: " + e.getMessage(), e);
        }
    }

    /**
     * One problem found by {@link #fsck}.
     *
     * @param kind    what is wrong, e.g. {@code corrupt-blob} or {@code missing-blob}
     * @param subject the blob's digest or the entry's name
     * @param message one line for a person
     */
    public record Problem(String kind, String subject, String message) {
    }

    /**
     * What {@link #fsck} found.
     *
     * @param blobsChecked   how many blobs were hashed
     * @param entriesChecked how many entries' graphs were walked
     * @param problems       what is wrong, empty when nothing is
     * @param repaired       how many corrupt blobs were deleted
     */
    public record FsckReport(int blobsChecked, int entriesChecked, List<Problem> problems, int repaired) {
        /**
         * Whether the store is sound.
         *
         * @return true when no problem was found
         */
        public boolean clean() {
            return problems.isEmpty();
        }
    }

    /**
     * Verifies the store: every blob's content against its name, every entry's graph complete and parsable.
     * With {@code repair}, corrupt blobs are deleted (a later pull fetches them again).
     *
     * @param repair whether to delete corrupt blobs
     * @return what was checked and found
     */
    public FsckReport fsck(boolean repair) {
        List<Problem> problems = new ArrayList<>();
        int checked = 0;
        int repaired = 0;
        try (var held = locks.shared()) {
            for (Path blob : listBlobs()) {
                checked++;
                Digest d = digestOf(blob);
                if (d == null) {
                    problems.add(new Problem("stray-file", root.relativize(blob).toString(),
                            "file name is not a digest"));
                    continue;
                }
                Digest actual = hashFile(blob, d.algorithm());
                if (!actual.equals(d)) {
                    problems.add(new Problem("corrupt-blob", d.toString(), "content hashes to " + actual));
                    if (repair) {
                        Files.deleteIfExists(blob);
                        repaired++;
                    }
                }
            }
            List<StoreEntry> entries = entries();
            for (StoreEntry e : entries) {
                List<String> missing = new ArrayList<>();
                List<String> broken = new ArrayList<>();
                List<Descriptor> found = new ArrayList<>();
                walk(e.descriptor(), found, missing, broken);
                for (String m : missing) {
                    problems.add(new Problem("missing-blob", e.name(), "blob " + m + " is missing"));
                }
                for (String b : broken) {
                    problems.add(new Problem("bad-manifest", e.name(), b));
                }
                for (Descriptor d : found) {
                    try {
                        long size = Files.size(blobPath(d.digest()));
                        if (size != d.size()) {
                            problems.add(new Problem("size-mismatch", e.name(), "blob " + d.digest() + " is "
                                    + size + " bytes, its descriptor says " + d.size()));
                        }
                    } catch (IOException ex) {
                        problems.add(new Problem("missing-blob", e.name(), "blob " + d.digest() + " vanished"));
                    }
                }
            }
            return new FsckReport(checked, entries.size(), problems, repaired);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "fsck failed: " + e.getMessage(), e);
        }
    }

    private List<Path> listBlobs() throws IOException {
        List<Path> out = new ArrayList<>();
        Path blobs = root.resolve("blobs");
        if (!Files.isDirectory(blobs)) {
            return out;
        }
        try (DirectoryStream<Path> algs = Files.newDirectoryStream(blobs)) {
            for (Path alg : algs) {
                if (!Files.isDirectory(alg)) {
                    out.add(alg);
                    continue;
                }
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(alg)) {
                    for (Path p : ds) {
                        out.add(p);
                    }
                }
            }
        }
        out.sort(null);
        return out;
    }

    private static Digest digestOf(Path blob) {
        Path parent = blob.getParent();
        if (parent == null) {
            return null;
        }
        String text = parent.getFileName() + ":" + blob.getFileName();
        return Digest.isValid(text) ? Digest.parse(text) : null;
    }

    private static Digest hashFile(Path p, Digest.Algorithm alg) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            return Hashed.of(in, alg, new byte[1 << 16]).digest();
        }
    }
}
