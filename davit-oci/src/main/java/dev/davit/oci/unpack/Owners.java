package dev.davit.oci.unpack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;

/**
 * The owners a rootless unpack could not give: an unprivileged user cannot {@code chown}, so the tree it unpacks
 * belongs to that user alone, and the layers' uids and gids other than {@code 0:0} are recorded beside the tree
 * instead, in {@code ROOTFS.owners} (see {@link #fileOf}). A sandbox that maps the user's subordinate ids gives
 * them back to the files of its own writable layer (docs/FORMATS.md, "Owners of a rootless unpack").
 *
 * <p>The record is what the finished tree holds: a later layer's entry replaces an earlier owner (back to
 * {@code 0:0} removes it), a whiteout removes the path and what was below it, an opaque directory what earlier layers
 * had below it, and a hard link has its target's owner (so it is not recorded itself).
 */
public final class Owners {
    /** The suffix of the record's file name, beside the tree's own name. */
    public static final String SUFFIX = ".owners";

    /**
     * A numeric owner.
     *
     * @param uid the user id as the layer gave it
     * @param gid the group id as the layer gave it
     */
    public record Owner(long uid, long gid) {
    }

    private final TreeMap<String, Owner> byPath = new TreeMap<>();
    private final Set<String> thisLayer = new HashSet<>();

    Owners() {
    }

    /**
     * {@return the record's file for the tree {@code rootfs}: {@code ROOTFS.owners}, its sibling} It need not exist.
     *
     * @param rootfs the unpacked tree's directory
     */
    public static Path fileOf(Path rootfs) {
        return rootfs.resolveSibling(rootfs.getFileName() + SUFFIX);
    }

    /** Takes over {@code recorded}: the record of the tree this one starts from. */
    void seed(Map<String, Owner> recorded) {
        byPath.putAll(recorded);
    }

    void startLayer() {
        thisLayer.clear();
    }

    /** Entry {@code rel} was written with this owner ({@code directory}: what was below it stays). */
    void set(String rel, long uid, long gid, boolean directory) {
        if (!directory) {
            below(rel).clear();
        }
        if (uid == 0 && gid == 0) {
            byPath.remove(rel);
        } else {
            byPath.put(rel, new Owner(uid, gid));
        }
        thisLayer.add(rel);
    }

    /** A whiteout removed {@code rel} and everything below it. */
    void gone(String rel) {
        byPath.remove(rel);
        below(rel).clear();
    }

    /** An opaque whiteout of {@code dir}: what earlier layers had below it is gone, this layer's entries stay. */
    void opaque(String dir) {
        below(dir).keySet().removeIf(k -> !thisLayer.contains(k));
    }

    private NavigableMap<String, Owner> below(String rel) {
        return rel.isEmpty() ? byPath : byPath.subMap(rel + "/", true, rel + "0", false); // '0' follows '/'
    }

    /** The owners by root-relative path ({@code /}-separated), sorted. */
    Map<String, Owner> all() {
        return Collections.unmodifiableMap(byPath);
    }

    /**
     * Writes the record of the tree {@code rootfs} ({@link #fileOf}), or, when nothing is recorded, removes a stale
     * one (only a file that is such a record: a file of that name that is not one is left alone). Written after the
     * tree is published: a tree without its record for a moment gives its files to sandbox root, never to a user.
     */
    void writeFor(Path rootfs) throws IOException {
        Path f = fileOf(rootfs);
        if (byPath.isEmpty()) {
            try {
                read(rootfs);
                Files.deleteIfExists(f);
            } catch (IOException e) {
                // not a record of davit's: not ours to remove
            }
            return;
        }
        ObjectNode o = Json.object();
        o.put("version", 1);
        ArrayNode a = o.putArray("owners");
        for (Map.Entry<String, Owner> e : byPath.entrySet()) {
            a.addArray().add(e.getKey()).add(e.getValue().uid()).add(e.getValue().gid());
        }
        dev.davit.oci.internal.Fs.writeAtomically(f, Json.bytes(o), f.getParent());
    }

    /**
     * Moves the record of the tree {@code from} (when there is one) to be that of {@code to}, once the tree itself
     * was renamed (a tree without its record for a moment gives its files to sandbox root, never to a user).
     *
     * @param from the tree's old directory
     * @param to the tree's new directory
     * @throws IOException if the record cannot be moved (atomically, replacing one at the target)
     */
    public static void moveRecord(Path from, Path to) throws IOException {
        Path f = fileOf(from);
        if (Files.exists(f, LinkOption.NOFOLLOW_LINKS)) {
            Files.move(f, fileOf(to), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /**
     * The owners recorded for the tree {@code rootfs}, by root-relative path; empty when there is no record (an
     * unpack as root, or one with every entry owned by {@code 0:0}).
     *
     * @param rootfs the unpacked tree's directory
     * @return the owners by {@code /}-separated path relative to the tree, in path order
     * @throws IOException when the record cannot be read or is not one
     */
    public static Map<String, Owner> read(Path rootfs) throws IOException {
        byte[] b;
        try {
            Path f = fileOf(rootfs);
            if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                return Map.of();
            }
            b = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return Map.of();
        }
        JsonNode o = Json.read(b);
        if (o.path("version").asInt() != 1 || !o.path("owners").isArray()) {
            throw new IOException(fileOf(rootfs) + " is not a record of owners (version 1)");
        }
        Map<String, Owner> m = new LinkedHashMap<>();
        for (JsonNode e : o.get("owners")) {
            if (!e.isArray() || e.size() != 3 || !e.get(0).isTextual() || !e.get(1).canConvertToLong()
                    || !e.get(2).canConvertToLong()) {
                throw new IOException(fileOf(rootfs) + " has an entry that is not [path, uid, gid]");
            }
            m.put(e.get(0).asText(), new Owner(e.get(1).asLong(), e.get(2).asLong()));
        }
        return m;
    }
}
