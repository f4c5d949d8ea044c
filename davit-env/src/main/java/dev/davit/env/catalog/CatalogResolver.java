package dev.davit.env.catalog;

import dev.davit.env.Catalog;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.client.ArtifactClient;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.reference.Reference;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Finds the catalog to use, in this order:
 * <ol>
 *   <li>no user catalog: the built-in one;</li>
 *   <li>a local path or {@code file://} URL: that file, which must exist ({@code refresh}/{@code offline} do
 *       not matter);</li>
 *   <li>{@code oci://REF} with {@code refresh} and not {@code offline}: fetch it; on failure the cached copy by
 *       reference, then by digest, else an error naming the reference, the cache, the cause and the local-file
 *       alternative;</li>
 *   <li>{@code oci://REF} otherwise: the cached copy by reference, then by digest;</li>
 *   <li>none cached and {@code offline}: an error saying to re-run without {@code --offline} or to use a local
 *       file;</li>
 *   <li>none cached: fetch it and cache it.</li>
 * </ol>
 * A remote catalog is an OCI artifact whose single titled layer (or the layer titled {@code catalog.json},
 * {@code catalog.yaml} or {@code catalog.yml}) is the catalog file.
 */
public final class CatalogResolver {
    /** Artifact type to publish catalogs with ({@code davit artifact push --artifact-type ...}). */
    public static final String ARTIFACT_TYPE = "application/vnd.davit.catalog.v1";
    /** Layer titles recognised when an artifact holds more than one file. */
    public static final List<String> CATALOG_TITLES = List.of("catalog.json", "catalog.yaml", "catalog.yml");

    private static final Message LOCAL_HINT = Message.of("or use a local catalog file with ", Input.CATALOG);

    private final Supplier<DavitClient> client;

    /**
     * A resolver that makes its client only when it must fetch.
     *
     * @param client used only to fetch {@code oci://} catalogs; asked for lazily
     */
    public CatalogResolver(Supplier<DavitClient> client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    /**
     * A resolver with a client at hand.
     *
     * @param client used only to fetch {@code oci://} catalogs
     */
    public CatalogResolver(DavitClient client) {
        this(() -> client);
    }

    /** Where a resolved catalog came from. */
    public enum Origin {
        /** The catalog built into davit. */
        BUILT_IN,
        /** A local catalog file. */
        FILE,
        /** A remote catalog fetched from its registry just now (and cached). */
        FETCHED,
        /** A remote catalog's cached copy, found by its reference. */
        CACHED_BY_REFERENCE,
        /** A remote catalog's cached copy, found by its manifest digest. */
        CACHED_BY_DIGEST
    }

    /**
     * A catalog and where it came from.
     *
     * @param catalog  the parsed, validated catalog
     * @param origin   which of the sources it came from
     * @param location {@link Catalogs#BUILT_IN_NAME}, the file path, or {@code oci://REF}
     * @param digest   the artifact manifest digest for remote catalogs, else null
     * @param warnings things to tell the user (a failed refresh that fell back to the cache)
     */
    public record Resolved(Catalog catalog, Origin origin, String location, String digest, List<String> warnings) {
        /**
         * Copies the warnings.
         *
         * @param catalog the catalog
         * @param origin its origin
         * @param location its location
         * @param digest its artifact manifest digest, or null
         * @param warnings the warnings; not null
         */
        public Resolved {
            warnings = List.copyOf(warnings);
        }
    }

    /**
     * Finds, reads and validates the catalog {@code o} names, in the order the class comment gives.
     *
     * @param o the catalog location, refresh and offline settings
     * @return the catalog, where it came from and any warnings
     * @throws DavitException of kind USAGE for a missing or unsupported location (or an uncached catalog when
     *     offline), VERIFICATION for an invalid catalog or artifact, or the fetch's kind (NOT_FOUND, AUTH, NETWORK,
     *     STORE) when a remote catalog can be neither fetched nor found in the cache
     */
    public Resolved resolve(CatalogOptions o) {
        String spec = o.catalog();
        if (spec == null) {
            return new Resolved(Catalogs.builtIn(), Origin.BUILT_IN, Catalogs.BUILT_IN_NAME, null, List.of());
        }
        if (spec.startsWith("oci://")) {
            return remote(o, spec);
        }
        Path file = localPath(spec);
        if (!Files.exists(file)) {
            throw new DavitException(Kind.USAGE, "catalog path " + file + " does not exist");
        }
        if (!Files.isRegularFile(file)) {
            throw new DavitException(Kind.USAGE, "catalog path " + file + " is not a regular file");
        }
        return new Resolved(CatalogParser.parse(file), Origin.FILE, file.toString(), null, List.of());
    }

    private static Path localPath(String spec) {
        if (spec.startsWith("file:")) {
            try {
                return Path.of(URI.create(spec));
            } catch (IllegalArgumentException e) {
                throw new DavitException(Kind.USAGE, "invalid catalog URL '" + SourceReferences.shorten(spec)
                        + "'; use file:///absolute/path/catalog.json");
            }
        }
        int scheme = spec.indexOf("://");
        if (scheme > 0) {
            throw new DavitException(Kind.USAGE, "unsupported catalog location '" + SourceReferences.shorten(spec)
                    + "'; use a local path, file:///path/catalog.json or oci://registry/repo:tag");
        }
        return Path.of(spec);
    }

    private Resolved remote(CatalogOptions o, String spec) {
        String rest = spec.substring("oci://".length());
        Reference ref = Reference.parse(rest);
        String key = ref.toString();
        String location = "oci://" + key;
        CatalogCache cache = new CatalogCache(o.cacheDir());
        List<String> warnings = new ArrayList<>();
        if (o.refresh() && !o.offline()) {
            try {
                return fetch(cache, ref, location, warnings);
            } catch (DavitException e) {
                Optional<Resolved> cached = cached(cache, ref, location, warnings);
                if (cached.isPresent()) {
                    warnings.add("could not refresh catalog " + location + " (" + e.getMessage()
                            + "); using the cached copy");
                    Resolved r = cached.get();
                    return new Resolved(r.catalog(), r.origin(), r.location(), r.digest(), warnings);
                }
                throw fetchFailed(location, cache, e);
            }
        }
        Optional<Resolved> cached = cached(cache, ref, location, warnings);
        if (cached.isPresent()) {
            return cached.get();
        }
        if (o.offline()) {
            throw new DavitException(Kind.USAGE, Message.of("catalog " + location + " is not cached in "
                    + cache.dir() + " and ", Input.CATALOG_OFFLINE, " forbids fetching it; ",
                    dev.davit.oci.Action.RERUN_ONLINE.fix(), " to fetch it, ", LOCAL_HINT));
        }
        try {
            return fetch(cache, ref, location, warnings);
        } catch (DavitException e) {
            throw fetchFailed(location, cache, e);
        }
    }

    private static DavitException fetchFailed(String location, CatalogCache cache, DavitException cause) {
        return new DavitException(cause.kind(), Message.of("cannot fetch catalog " + location + " and no cached"
                + " copy is in " + cache.dir() + ": ", cause.message(), "; check the registry and network, ", LOCAL_HINT),
                cause);
    }

    private Optional<Resolved> cached(CatalogCache cache, Reference ref, String location, List<String> warnings) {
        String key = ref.toString();
        Optional<String> digest = cache.digestOf(key);
        if (digest.isEmpty() && ref.digest() != null) {
            digest = Optional.of(ref.digest().toString());
        }
        Path byRef = cache.byReferencePath(key);
        if (Files.isRegularFile(byRef)) {
            try {
                return Optional.of(new Resolved(CatalogParser.parse(Files.readAllBytes(byRef), location),
                        Origin.CACHED_BY_REFERENCE, location, digest.orElse(null), warnings));
            } catch (IOException | DavitException e) {
                warnings.add("ignoring the unreadable cached catalog " + byRef + ": " + e.getMessage());
            }
        }
        if (digest.isPresent()) {
            Path byDigest = cache.byDigestPath(digest.get());
            if (Files.isRegularFile(byDigest)) {
                try {
                    return Optional.of(new Resolved(CatalogParser.parse(Files.readAllBytes(byDigest), location),
                            Origin.CACHED_BY_DIGEST, location, digest.get(), warnings));
                } catch (IOException | DavitException e) {
                    warnings.add("ignoring the unreadable cached catalog " + byDigest + ": " + e.getMessage());
                }
            }
        }
        return Optional.empty();
    }

    private Resolved fetch(CatalogCache cache, Reference ref, String location, List<String> warnings) {
        Path tmp;
        try {
            Files.createDirectories(cache.tmpDir());
            tmp = Files.createTempDirectory(cache.tmpDir(), "pull-");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create a temp directory in " + cache.tmpDir() + ": "
                    + e.getMessage() + "; set DAVIT_HOME to a writable directory");
        }
        try {
            ArtifactClient.Pulled pulled = client.get().artifacts().pull(ref.toString(), tmp, Set.of(),
                    ProgressListener.NONE);
            Path file = pick(location, pulled.files());
            if (Files.size(file) > CatalogParser.MAX_SIZE) {
                throw new DavitException(Kind.VERIFICATION, "invalid catalog " + location + ": it is larger than "
                        + (CatalogParser.MAX_SIZE >> 20) + " MiB");
            }
            byte[] bytes = Files.readAllBytes(file);
            Catalog catalog = CatalogParser.parse(bytes, location);
            String digest = pulled.pull().target().digest().toString();
            cache.put(ref.toString(), digest, bytes);
            return new Resolved(catalog, Origin.FETCHED, location, digest, warnings);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the fetched catalog in " + tmp + ": " + e.getMessage());
        } finally {
            deleteTree(tmp);
        }
    }

    private static Path pick(String location, List<Artifacts.Extracted> files) {
        if (files.size() == 1) {
            return files.get(0).path();
        }
        for (String t : CATALOG_TITLES) {
            for (Artifacts.Extracted f : files) {
                if (f.title().equals(t)) {
                    return f.path();
                }
            }
        }
        throw new DavitException(Kind.VERIFICATION, "the artifact " + location + " holds " + files.size()
                + " titled files (" + String.join(", ", files.stream().map(Artifacts.Extracted::title).limit(5)
                .toList()) + ") and none is catalog.json or catalog.yaml; publish the catalog as its only file");
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // a leftover in tmp/ is harmless
                }
            });
        } catch (IOException ignored) {
            // idem
        }
    }
}
