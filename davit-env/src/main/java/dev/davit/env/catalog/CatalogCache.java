package dev.davit.env.catalog;

import dev.davit.oci.internal.FileLocking;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Fs;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The cache of remote catalogs under {@code $DAVIT_HOME/catalogs} (layout in {@code docs/reference/ENVIRONMENTS.md},
 * "Catalog cache"):
 * <pre>
 * catalogs/
 *   index.json                {"schemaVersion":1,"references":{"REF":"sha256:..."}}
 *   by-ref/&lt;sha256 of REF&gt;    the catalog file last fetched for REF
 *   by-digest/sha256/&lt;hex&gt;     the catalog file of the artifact manifest with that digest
 *   tmp/                      temp files and pull directories
 * </pre>
 * REF is the normalised reference (registry/repo:tag or @digest), the digest is the artifact manifest's. Every file
 * is written atomically (temp file, fsync, rename) under a lock file, and a file whose content would not change is
 * not rewritten.
 */
public final class CatalogCache {
    private final Path dir;

    /**
     * A cache in {@code dir}; nothing is created until something is stored.
     *
     * @param dir the cache directory, usually {@link CatalogOptions#cacheDir()}
     */
    public CatalogCache(Path dir) {
        this.dir = dir;
    }

    /** {@return the cache directory} */
    public Path dir() {
        return dir;
    }

    /**
     * {@return where the copy fetched for {@code reference} is kept (it may not exist)}
     *
     * @param reference the normalised reference, e.g. {@code ghcr.io/o/catalog:1}
     */
    public Path byReferencePath(String reference) {
        return dir.resolve("by-ref").resolve(Digest.sha256(reference.getBytes(StandardCharsets.UTF_8)).hex());
    }

    /**
     * {@return where the copy of the artifact with manifest digest {@code digest} is kept (it may not exist)}
     *
     * @param digest the artifact manifest's digest, e.g. {@code sha256:...}
     * @throws DavitException of kind USAGE if {@code digest} is not a valid digest
     */
    public Path byDigestPath(String digest) {
        Digest d = Digest.parse(digest);
        return dir.resolve("by-digest").resolve(d.algorithm().id()).resolve(d.hex());
    }

    /** {@return the index file, {@code index.json} in the cache directory (it may not exist)} */
    public Path indexPath() {
        return dir.resolve("index.json");
    }

    Path tmpDir() {
        return dir.resolve("tmp");
    }

    /**
     * {@return the digest last fetched for {@code reference}, from the index; empty when none is recorded}
     *
     * @param reference the normalised reference
     */
    public Optional<String> digestOf(String reference) {
        return Optional.ofNullable(readIndex().get(reference));
    }

    /**
     * {@return the index: reference → manifest digest, sorted by reference} An unreadable index counts as empty
     * (the copies are still used); a new, modifiable map each call.
     */
    public Map<String, String> readIndex() {
        Map<String, String> out = new TreeMap<>();
        Path p = indexPath();
        if (!Files.isRegularFile(p)) {
            return out;
        }
        try {
            JsonNode refs = Json.read(Files.readAllBytes(p)).path("references");
            Iterator<Map.Entry<String, JsonNode>> it = refs.fields();
            while (it.hasNext()) {
                var e = it.next();
                if (e.getValue().isTextual() && Digest.isValid(e.getValue().asText())) {
                    out.put(e.getKey(), e.getValue().asText());
                }
            }
        } catch (IOException | RuntimeException e) {
            return new TreeMap<>();
        }
        return out;
    }

    /**
     * Records {@code bytes} as the catalog of {@code reference} at manifest {@code digest}. Writes only what
     * changed.
     *
     * @param reference the normalised reference the catalog was fetched for
     * @param digest the artifact manifest's digest
     * @param bytes the catalog file's content
     * @return true when any file was written
     * @throws DavitException of kind STORE when the cache cannot be written, USAGE if {@code digest} is invalid
     */
    public boolean put(String reference, String digest, byte[] bytes) {
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock ignored = FileLocking.await(ch)) {
                boolean wrote = writeIfChanged(byDigestPath(digest), bytes);
                wrote |= writeIfChanged(byReferencePath(reference), bytes);
                Map<String, String> index = readIndex();
                if (!digest.equals(index.get(reference))) {
                    index.put(reference, digest);
                    ObjectNode root = Json.object();
                    root.put("schemaVersion", 1);
                    ObjectNode refs = root.putObject("references");
                    index.forEach(refs::put);
                    Fs.writeAtomically(indexPath(), Json.pretty(root).getBytes(StandardCharsets.UTF_8), tmpDir());
                    wrote = true;
                }
                return wrote;
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the catalog cache " + dir + ": " + e.getMessage()
                    + "; check its permissions and free space, or set DAVIT_HOME to a writable directory");
        }
    }

    private boolean writeIfChanged(Path target, byte[] bytes) throws IOException {
        if (Files.isRegularFile(target) && Files.size(target) == bytes.length
                && Arrays.equals(Files.readAllBytes(target), bytes)) {
            return false;
        }
        Files.createDirectories(target.getParent());
        Fs.writeAtomically(target, bytes, tmpDir());
        return true;
    }
}
