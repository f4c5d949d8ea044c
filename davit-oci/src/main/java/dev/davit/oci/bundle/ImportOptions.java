package dev.davit.oci.bundle;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Options of an import: how bundle entries are named in the store, and limits.
 *
 * <p>Naming: an entry whose {@code org.opencontainers.image.ref.name} is a reference is imported under it,
 * normalised like every reference in davit: what {@code davit export} writes (e.g.
 * {@code 127.0.0.1:5000/team/app:1}) stays as it is, {@code imported/tiny:2} (as in skopeo's
 * {@code oci-archive:FILE:imported/tiny:2}) becomes {@code docker.io/imported/tiny:2}. A name without {@code /},
 * {@code :} and {@code @} is a bare tag ({@code latest}, as skopeo and umoci write them; also {@code alpine}), and
 * names that do not parse (upper-case repositories, a bare digest) are no references either; those need one of:
 * <ul>
 *   <li>{@code as}: the reference for the bundle's only entry (whatever its name);</li>
 *   <li>{@code map}: ref name in the bundle (as written, or the reference it stands for) or digest to reference,
 *       per entry (also renames entries named by a reference);</li>
 *   <li>{@code repository}: a repository for every entry whose name is a plain tag ({@code latest} becomes
 *       {@code REPOSITORY:latest}).</li>
 * </ul>
 * An entry that none of these names is an error (nothing is imported). A name the store already gives another
 * image is not renamed unless {@code overwrite} says so: the import is refused, naming each such reference, and
 * nothing is named (a bundle cannot retarget a name the user already runs).
 *
 * @param as            reference for a one-entry bundle, or null
 * @param map           bundle ref name to reference
 * @param repository    repository for entries named by a plain tag, or null
 * @param maxTotalBytes the most uncompressed bytes read from the bundle (the tar stream); stops compression bombs
 * @param maxEntries    the most tar entries, and the most {@code index.json} entries
 * @param overwrite     whether a name the store already gives another image may be moved to the bundle's
 * @param only          which entries to import, by their reference (as named, normalised): the others are left
 *                      out, unnamed (their blobs stay until {@code gc}); null for all
 */
public record ImportOptions(String as, Map<String, String> map, String repository, long maxTotalBytes,
                            int maxEntries, boolean overwrite, java.util.function.Predicate<String> only) {
    /** Default size limit: 64 GiB of uncompressed tar. */
    public static final long DEFAULT_MAX_TOTAL_BYTES = 64L << 30;
    /** Default entry limit. */
    public static final int DEFAULT_MAX_ENTRIES = 100_000;

    /**
     * Copies the map and checks the limits.
     *
     * @param as the reference for a one-entry bundle, or null
     * @param map ref names (or digests) to references, or null for none
     * @param repository the repository for plain tags, or null
     * @param maxTotalBytes the byte limit, positive
     * @param maxEntries the entry limit, positive
     * @param overwrite whether names the store already has may be moved
     * @param only which entries to import (by reference), or null for all
     * @throws IllegalArgumentException if a limit is not positive
     */
    public ImportOptions {
        map = map == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(map));
        if (maxTotalBytes <= 0 || maxEntries <= 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    /**
     * Options that keep the store's existing names ({@code overwrite} false).
     *
     * @param as the reference for a one-entry bundle, or null
     * @param map ref names (or digests) to references, or null for none
     * @param repository the repository for plain tags, or null
     * @param maxTotalBytes the byte limit, positive
     * @param maxEntries the entry limit, positive
     * @throws IllegalArgumentException if a limit is not positive
     */
    public ImportOptions(String as, Map<String, String> map, String repository, long maxTotalBytes, int maxEntries) {
        this(as, map, repository, maxTotalBytes, maxEntries, false, null);
    }

    /** {@return the defaults: names from the bundle, default limits, no existing name moved} */
    public static ImportOptions defaults() {
        return new ImportOptions(null, Map.of(), null, DEFAULT_MAX_TOTAL_BYTES, DEFAULT_MAX_ENTRIES);
    }

    /**
     * {@return these options allowing (or not) a name the store already gives another image to be moved}
     *
     * @param yes true to move such names to the bundle's images (as a pull of a moved tag does)
     */
    public ImportOptions withOverwrite(boolean yes) {
        return new ImportOptions(as, map, repository, maxTotalBytes, maxEntries, yes, only);
    }

    /**
     * {@return these options with the reference for a one-entry bundle}
     *
     * @param ref a reference such as {@code app:1}, or null for none; parsed when importing
     */
    public ImportOptions withAs(String ref) {
        return new ImportOptions(ref, map, repository, maxTotalBytes, maxEntries, overwrite, only);
    }

    /**
     * {@return these options importing only the entries whose reference {@code which} accepts}
     *
     * @param which gets each entry's reference (as named in the bundle, normalised; entries named by no reference
     *              are left out); null for every entry
     */
    public ImportOptions withOnly(java.util.function.Predicate<String> which) {
        return new ImportOptions(as, map, repository, maxTotalBytes, maxEntries, overwrite, which);
    }

    /**
     * {@return these options with per-entry names}
     *
     * @param m bundle ref name (or digest) to reference; null for none
     */
    public ImportOptions withMap(Map<String, String> m) {
        return new ImportOptions(as, m, repository, maxTotalBytes, maxEntries, overwrite, only);
    }

    /**
     * {@return these options with a repository for entries named by a plain tag}
     *
     * @param repo a repository without tag or digest, e.g. {@code registry.example/team/app}; null for none
     */
    public ImportOptions withRepository(String repo) {
        return new ImportOptions(as, map, repo, maxTotalBytes, maxEntries, overwrite, only);
    }

    /**
     * {@return these options with another byte limit}
     *
     * @param max the most uncompressed bytes read, positive
     * @throws IllegalArgumentException if {@code max} is not positive
     */
    public ImportOptions withMaxTotalBytes(long max) {
        return new ImportOptions(as, map, repository, max, maxEntries, overwrite, only);
    }

    /**
     * {@return these options with another entry limit}
     *
     * @param max the most tar and {@code index.json} entries, positive
     * @throws IllegalArgumentException if {@code max} is not positive
     */
    public ImportOptions withMaxEntries(int max) {
        return new ImportOptions(as, map, repository, maxTotalBytes, max, overwrite, only);
    }
}
