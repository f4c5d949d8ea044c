package dev.davit.oci.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Text;
import dev.davit.oci.reference.Reference;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Where an image's signatures are, as {@code containers-registries.d(5)} says for podman and skopeo: the YAML files
 * ({@code *.yaml}) of a directory, each with an optional {@code default-docker} section and a {@code docker} map of
 * scopes (registry, namespace or repository, the most specific first, as {@link SignaturePolicy#scopes}), each with
 * {@code lookaside} (or its old name {@code sigstore}: the URL of a lookaside store of simple signing signatures,
 * {@code file://} or {@code http(s)://}), {@code lookaside-staging} (or {@code sigstore-staging}: where signatures
 * are written) and {@code use-sigstore-attachments} (sigstore signatures kept in the registry beside the image).
 * A scope given in two files is an error, as it is for containers/image. Immutable.
 */
public final class RegistriesD {
    /** No configuration: no lookaside store, no sigstore attachments. */
    public static final RegistriesD NONE = new RegistriesD(Map.of(), null, "(none)");
    /** The most bytes one file may have. */
    private static final int MAX_BYTES = 1 << 20;
    private static final Set<String> FIELDS = Set.of("lookaside", "lookaside-staging", "sigstore", "sigstore-staging",
            "use-sigstore-attachments");

    /**
     * The YAML parser (Jackson's mapper and SnakeYAML, ~700 classes), built when a file is first read: only a
     * requirement that looks for signatures reads registries.d, never a run whose policy accepts anything.
     */
    private static final class Yaml {
        static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory());
    }

    private final Map<String, Entry> docker;
    private final Entry defaults;
    private final String source;
    /** Read on first use ({@link #at}), or null when read already. */
    private final Path lazyDir;
    private volatile RegistriesD loaded;
    /** {@link #withAttachments}: this one's entries, reading sigstore attachments everywhere. */
    private final RegistriesD base;

    /**
     * What one scope (or the default) says.
     *
     * @param lookaside              where signatures are read, or null
     * @param lookasideStaging       where signatures are written, or null (then {@code lookaside})
     * @param useSigstoreAttachments whether sigstore signatures are read from (and written to) the registry
     */
    public record Entry(URI lookaside, URI lookasideStaging, boolean useSigstoreAttachments) {
        /** Nothing configured. */
        public static final Entry NONE = new Entry(null, null, false);

        /** {@return where signatures are written: the staging URL, else the lookaside, else null} */
        public URI writeTo() {
            return lookasideStaging != null ? lookasideStaging : lookaside;
        }
    }

    private RegistriesD(Map<String, Entry> docker, Entry defaults, String source) {
        this.docker = Map.copyOf(docker);
        this.defaults = defaults;
        this.source = source;
        this.lazyDir = null;
        this.base = null;
    }

    private RegistriesD(Path dir) {
        this.docker = Map.of();
        this.defaults = null;
        this.source = dir.toString();
        this.lazyDir = dir;
        this.base = null;
    }

    private RegistriesD(RegistriesD base) {
        this.docker = Map.of();
        this.defaults = null;
        this.source = base.source;
        this.lazyDir = null;
        this.base = base;
    }

    /**
     * This configuration, with sigstore attachments read for every image (what a requirement that names its own
     * sigstore key needs, e.g. a catalog's {@code signedBy}); the lookaside stores stay as they are.
     *
     * @return the configuration
     */
    public RegistriesD withAttachments() {
        return new RegistriesD(this);
    }

    /**
     * The {@code *.yaml} files of {@code dir}, read when first asked ({@link #forImage}): a command that pulls nothing
     * signed never parses them.
     *
     * @param dir the directory
     * @return the configuration, read later
     */
    public static RegistriesD at(Path dir) {
        return new RegistriesD(dir);
    }

    /**
     * Reads the {@code *.yaml} files of {@code dir}; a missing directory is {@link #NONE}.
     *
     * @param dir the directory
     * @return the configuration
     * @throws DavitException USAGE for a file that cannot be read or is not valid, naming it, where and why
     */
    public static RegistriesD read(Path dir) {
        if (!Files.isDirectory(dir)) {
            return NONE;
        }
        Map<String, Entry> docker = new LinkedHashMap<>();
        Entry defaults = null;
        String defaultsFrom = null;
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".yaml") && Files.isRegularFile(p)).sorted()
                    .toList();
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read the registries.d directory " + dir + ": "
                    + Text.reason(e));
        }
        for (Path f : files) {
            JsonNode root;
            try {
                if (Files.size(f) > MAX_BYTES) {
                    throw bad(f, "", "is over 1 MiB");
                }
                root = Yaml.MAPPER.readTree(Files.readAllBytes(f));
            } catch (IOException e) {
                throw bad(f, "", "is not valid YAML (" + firstLine(e.getMessage()) + ")");
            }
            if (root == null || root.isMissingNode() || root.isNull()) {
                continue;
            }
            if (!root.isObject()) {
                throw bad(f, "", "must be a map with default-docker and docker");
            }
            for (String k : (Iterable<String>) root::fieldNames) {
                if (!k.equals("default-docker") && !k.equals("docker")) {
                    throw bad(f, k, "is not a section davit knows (default-docker, docker)");
                }
            }
            if (root.has("default-docker")) {
                if (defaults != null) {
                    throw bad(f, "default-docker", "is given again (also in " + defaultsFrom + ")");
                }
                defaults = entry(root.get("default-docker"), f, "default-docker");
                defaultsFrom = f.getFileName().toString();
            }
            JsonNode d = root.get("docker");
            if (d != null && !d.isNull()) {
                if (!d.isObject()) {
                    throw bad(f, "docker", "must be a map of scopes");
                }
                for (Map.Entry<String, JsonNode> e : d.properties()) {
                    if (docker.containsKey(e.getKey())) {
                        throw bad(f, "docker." + e.getKey(), "is given in two files");
                    }
                    docker.put(e.getKey(), entry(e.getValue(), f, "docker." + e.getKey()));
                }
            }
        }
        return new RegistriesD(docker, defaults, dir.toString());
    }

    /** {@return the directory it was read from} */
    public String source() {
        return source;
    }

    /**
     * What applies to {@code image}: its most specific scope's entry, else {@code default-docker}'s, else nothing.
     *
     * @param image the image's reference
     * @return the entry
     * @throws DavitException USAGE for a file that cannot be read or is not valid (read now, for {@link #at})
     */
    public Entry forImage(Reference image) {
        if (base != null) {
            Entry e = base.forImage(image);
            return new Entry(e.lookaside(), e.lookasideStaging(), true);
        }
        if (lazyDir != null) {
            RegistriesD r = loaded;
            if (r == null) {
                r = read(lazyDir);
                loaded = r;
            }
            return r.forImage(image);
        }
        for (String scope : SignaturePolicy.scopes(image)) {
            Entry e = docker.get(scope);
            if (e != null) {
                return e;
            }
        }
        return defaults != null ? defaults : Entry.NONE;
    }

    private static Entry entry(JsonNode n, Path f, String where) {
        if (n == null || n.isNull()) {
            return Entry.NONE;
        }
        if (!n.isObject()) {
            throw bad(f, where, "must be a map");
        }
        for (String k : (Iterable<String>) n::fieldNames) {
            if (!FIELDS.contains(k)) {
                throw bad(f, where + "." + k, "is not a field davit knows (" + String.join(", ",
                        FIELDS.stream().sorted().toList()) + ")");
            }
        }
        if (n.has("lookaside") && n.has("sigstore") || n.has("lookaside-staging") && n.has("sigstore-staging")) {
            throw bad(f, where, "gives both lookaside and its old name sigstore");
        }
        URI look = url(n.has("lookaside") ? n.get("lookaside") : n.get("sigstore"), f, where);
        URI staging = url(n.has("lookaside-staging") ? n.get("lookaside-staging") : n.get("sigstore-staging"), f,
                where);
        JsonNode att = n.get("use-sigstore-attachments");
        if (att != null && !att.isBoolean()) {
            throw bad(f, where + ".use-sigstore-attachments", "must be true or false");
        }
        return new Entry(look, staging, att != null && att.asBoolean());
    }

    private static URI url(JsonNode n, Path f, String where) {
        if (n == null || n.isNull()) {
            return null;
        }
        try {
            URI u = new URI(n.asText());
            String scheme = u.getScheme() == null ? "" : u.getScheme();
            if (!scheme.equals("file") && !scheme.equals("http") && !scheme.equals("https")) {
                throw bad(f, where, "has a lookaside URL that is not file://, http:// or https://");
            }
            return u;
        } catch (java.net.URISyntaxException e) {
            throw bad(f, where, "has a lookaside URL that is not valid");
        }
    }

    private static String firstLine(String m) {
        String s = m == null ? "" : m;
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static DavitException bad(Path f, String where, String why) {
        return new DavitException(Kind.USAGE, "the registries.d file " + f + (where.isEmpty() ? "" : ": " + where)
                + " " + why);
    }
}
