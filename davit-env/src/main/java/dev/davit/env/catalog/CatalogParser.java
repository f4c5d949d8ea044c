package dev.davit.env.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a catalog (JSON or YAML; a document whose first non-blank character is '{' is JSON) and validates it.
 * The schema is documented in {@code docs/reference/ENVIRONMENTS.md} ("Catalogs"). Every problem is a
 * {@link DavitException} of kind VERIFICATION with a one-line message naming the catalog, the environment and
 * the field.
 */
public final class CatalogParser {
    /** The only schema version understood. */
    public static final int SCHEMA_VERSION = 1;
    /** Largest catalog accepted, in bytes. */
    public static final int MAX_SIZE = 4 << 20;
    /** Default artifacts of a container environment. */
    public static final List<String> CONTAINER_ARTIFACTS = Environment.defaultArtifacts(Environment.Kind.CONTAINER);
    /** Default artifacts of a microVM environment. */
    public static final List<String> MICROVM_ARTIFACTS = Environment.defaultArtifacts(Environment.Kind.MICROVM);

    private static final Set<String> TOP_FIELDS = Set.of("schemaVersion", "version", "environments");
    private static final Set<String> ENV_FIELDS = Set.of("name", "version", "kind", "description", "distribution",
            "distributionVersion", "packages", "platform", "davit", "source", "artifacts");
    private static final Set<String> SOURCE_FIELDS = Set.of("profile", "reference", "digest", "archive", "build",
            "signedBy");
    /** Environment names: {@code debian:12}, {@code debian:12-build}; safe as part of a directory name. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}(:[a-z0-9][a-z0-9._-]{0,63})?");
    private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+-]{0,63}");
    private static final Pattern ARTIFACT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern BUILD_PROFILE = Pattern.compile("[a-z][a-z0-9-]{0,31}");
    private static final Pattern RANGE = Pattern.compile(
            "\\s*(?:(?:>=|<=|>|<|=)?\\s*\\d+(?:\\.\\d+){0,2}(?:-[0-9A-Za-z.]+)?\\s*)+");

    private CatalogParser() {
    }

    /** Made on first use: building a YAML mapper cost ~60 ms of every {@code davit run}, whose catalog is JSON. */
    private static final class Yaml {
        static final YAMLMapper MAPPER = new YAMLMapper();
    }

    /**
     * Reads and validates the catalog file at {@code file}.
     *
     * @param file a JSON or YAML catalog file, at most {@link #MAX_SIZE} bytes
     * @return the catalog
     * @throws DavitException of kind USAGE when the file does not exist or cannot be read, VERIFICATION when it is
     *     too large or not a valid catalog
     */
    public static Catalog parse(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_SIZE) {
                throw invalid(file.toString(), "it is larger than " + (MAX_SIZE >> 20) + " MiB");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DavitException(Kind.USAGE, "catalog path " + file + " does not exist");
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read catalog " + file + ": " + e.getMessage());
        }
        return parse(bytes, file.toString(), file.toAbsolutePath().normalize().getParent());
    }

    /**
     * Parses and validates a catalog document.
     *
     * @param bytes  the JSON or YAML document, at most {@link #MAX_SIZE} bytes
     * @param origin where it came from, for messages (a path or reference)
     * @return the catalog
     * @throws DavitException of kind VERIFICATION when it is too large or not a valid catalog
     */
    public static Catalog parse(byte[] bytes, String origin) {
        return parse(bytes, origin, null);
    }

    /**
     * {@link #parse(byte[], String)} of a catalog file in directory {@code dir}: its {@code source.build} may be
     * {@code containerfile:PATH}, a Containerfile (relative to {@code dir}, or absolute) whose directory is the
     * build context; the parsed entry names it absolutely. Only a local catalog may: a fetched one naming a host path
     * would build the host's files into an environment.
     */
    private static Catalog parse(byte[] bytes, String origin, Path dir) {
        if (bytes.length > MAX_SIZE) {
            throw invalid(origin, "it is larger than " + (MAX_SIZE >> 20) + " MiB");
        }
        JsonNode root;
        boolean json = isJson(bytes);
        try {
            root = json ? Json.read(bytes) : Yaml.MAPPER.readTree(bytes);
        } catch (IOException | RuntimeException e) {
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst()
                    .orElse("");
            throw invalid(origin, "it is not valid " + (json ? "JSON" : "YAML") + " (" + SourceReferences.shorten(msg)
                    + ")");
        }
        if (root == null || !root.isObject()) {
            throw invalid(origin, "it must be an object with schemaVersion, version and environments");
        }
        return read(root, origin, dir);
    }

    private static boolean isJson(byte[] bytes) {
        for (byte b : bytes) {
            if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
                continue;
            }
            return b == '{' || b == '[';
        }
        return false;
    }

    private static Catalog read(JsonNode root, String origin, Path dir) {
        unknownFields(root, TOP_FIELDS, origin, "");
        JsonNode sv = root.get("schemaVersion");
        if (sv == null || sv.isNull()) {
            throw invalid(origin, "missing field 'schemaVersion' (use " + SCHEMA_VERSION + ")");
        }
        if (!sv.isIntegralNumber() || sv.asInt() != SCHEMA_VERSION) {
            throw invalid(origin, "unsupported schemaVersion " + SourceReferences.shorten(sv.toString())
                    + "; this davit reads schemaVersion " + SCHEMA_VERSION + " (upgrade davit for newer catalogs)");
        }
        String version = text(root, "version", origin, "", true);
        JsonNode envs = root.get("environments");
        if (envs == null || envs.isNull()) {
            throw invalid(origin, "missing field 'environments'");
        }
        if (!envs.isArray()) {
            throw invalid(origin, "field 'environments' must be a list");
        }
        List<Environment> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        int i = 0;
        for (JsonNode e : envs) {
            i++;
            Environment env = environment(e, origin, i, dir);
            if (!names.add(env.name())) {
                throw invalid(origin, "environment '" + env.name() + "' is defined twice; names must be unique");
            }
            out.add(env);
        }
        return new Catalog(version, out);
    }

    /**
     * True when {@code name} is a valid environment name (lower-case letters, digits, '.', '_', '-', at most one
     * ':'). No catalog holds any other name, since parsing rejects it; an image reference with a registry,
     * repository path or digest is never one.
     *
     * @param name the text to check; not null
     * @return whether it is a valid environment name
     */
    public static boolean isEnvironmentName(String name) {
        return NAME.matcher(name).matches();
    }

    private static Environment environment(JsonNode e, String origin, int index, Path dir) {
        String where = "environment #" + index + ": ";
        if (!e.isObject()) {
            throw invalid(origin, where + "must be an object");
        }
        String name = text(e, "name", origin, where, true);
        if (!NAME.matcher(name).matches()) {
            throw invalid(origin, where + "invalid name '" + SourceReferences.shorten(name)
                    + "'; use lower-case letters, digits, '.', '_', '-' and at most one ':' (e.g. debian:12-build)");
        }
        where = "environment '" + name + "': ";
        unknownFields(e, ENV_FIELDS, origin, where);
        String version = text(e, "version", origin, where, true);
        if (!VERSION.matcher(version).matches()) {
            throw invalid(origin, where + "invalid version '" + SourceReferences.shorten(version)
                    + "'; use letters, digits, '.', '_', '+' and '-'");
        }
        String kindText = text(e, "kind", origin, where, true);
        Environment.Kind kind = switch (kindText) {
            case "container" -> Environment.Kind.CONTAINER;
            case "microvm" -> Environment.Kind.MICROVM;
            default -> throw invalid(origin, where + "unknown kind '" + SourceReferences.shorten(kindText)
                    + "'; expected container or microvm");
        };
        String platform = text(e, "platform", origin, where, true);
        if (platform.chars().filter(c -> c == '/').count() < 1) {
            throw invalid(origin, where + "invalid platform '" + SourceReferences.shorten(platform)
                    + "'; use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8");
        }
        try {
            Platform.parse(platform);
        } catch (DavitException x) {
            throw invalid(origin, where + x.getMessage());
        }
        String davit = text(e, "davit", origin, where, false);
        if (davit != null && !RANGE.matcher(davit).matches()) {
            throw invalid(origin, where + "invalid davit version range '" + SourceReferences.shorten(davit)
                    + "'; use comparators such as >=0.1.0 <1.0.0");
        }
        List<String> packages = list(e, "packages", origin, where);
        List<String> artifacts = list(e, "artifacts", origin, where);
        if (artifacts == null || artifacts.isEmpty()) {
            artifacts = kind == Environment.Kind.CONTAINER ? CONTAINER_ARTIFACTS : MICROVM_ARTIFACTS;
        }
        Set<String> seen = new HashSet<>();
        for (String a : artifacts) {
            if (!ARTIFACT.matcher(a).matches()) {
                throw invalid(origin, where + "invalid artifact name '" + SourceReferences.shorten(a)
                        + "'; use a plain file name such as rootfs.ext4");
            }
            if (!seen.add(a)) {
                throw invalid(origin, where + "artifact '" + a + "' is listed twice");
            }
        }
        Environment.Source source = source(e, origin, where, dir);
        return new Environment(name, version, kind, text(e, "description", origin, where, false),
                text(e, "distribution", origin, where, false), text(e, "distributionVersion", origin, where, false),
                packages, platform, davit, source, artifacts);
    }

    private static Environment.Source source(JsonNode e, String origin, String where, Path dir) {
        JsonNode s = e.get("source");
        if (s == null || s.isNull()) {
            throw invalid(origin, where + "missing field 'source'");
        }
        if (!s.isObject()) {
            throw invalid(origin, where + "field 'source' must be an object with reference, digest, profile,"
                    + " archive or build");
        }
        String w = where + "source: ";
        unknownFields(s, SOURCE_FIELDS, origin, w);
        String profile = text(s, "profile", origin, w, false);
        String reference = text(s, "reference", origin, w, false);
        String digest = text(s, "digest", origin, w, false);
        String archive = text(s, "archive", origin, w, false);
        String build = text(s, "build", origin, w, false);
        if (profile == null && reference == null && archive == null && build == null) {
            throw invalid(origin, where + "source needs at least one of reference, profile, archive or build");
        }
        if (build != null && build.startsWith(Environment.CONTAINERFILE)) {
            String path = build.substring(Environment.CONTAINERFILE.length());
            if (dir == null) {
                throw invalid(origin, w + "build '" + SourceReferences.shorten(build) + "': only a catalog file on"
                        + " this machine may name a Containerfile; build the Containerfile and publish its image");
            }
            if (path.isBlank() || path.indexOf('\0') >= 0) {
                throw invalid(origin, w + "build 'containerfile:' needs a path, e.g. containerfile:envs/Containerfile");
            }
            build = Environment.CONTAINERFILE + dir.resolve(path).normalize();
        } else if (build != null && !BUILD_PROFILE.matcher(build).matches()) {
            throw invalid(origin, w + "build profile '" + SourceReferences.shorten(build) + "' is not a profile"
                    + " name; use base, git, build or busybox, or containerfile:PATH");
        }
        if (reference != null) {
            try {
                SourceReferences.check(reference);
            } catch (DavitException x) {
                throw invalid(origin, w + x.getMessage());
            }
        }
        if (digest != null) {
            try {
                Digest.parse(digest);
            } catch (DavitException x) {
                throw invalid(origin, w + "bad digest '" + SourceReferences.shorten(digest)
                        + "'; a digest looks like sha256:<64 lower-case hex characters>");
            }
        }
        if (archive != null) {
            String lower = archive.toLowerCase(Locale.ROOT);
            if (!(lower.startsWith("file://") || lower.startsWith("http://") || lower.startsWith("https://"))) {
                throw invalid(origin, w + "archive '" + SourceReferences.shorten(archive)
                        + "' must be a file://, http:// or https:// URL");
            }
        }
        Environment.Signer signer = null;
        JsonNode sb = s.get("signedBy");
        if (sb != null && !sb.isNull()) {
            String sw = w + "signedBy: ";
            if (!sb.isObject()) {
                throw invalid(origin, sw + "must be an object with sigstoreKey (a PEM public key), gpgKey (an"
                        + " armored GPG public key) or fulcio (a keyless signer)");
            }
            unknownFields(sb, Set.of("sigstoreKey", "gpgKey", "fulcio", "rekorKey"), origin, sw);
            String sk = text(sb, "sigstoreKey", origin, sw, false);
            String gk = text(sb, "gpgKey", origin, sw, false);
            String rk = text(sb, "rekorKey", origin, sw, false);
            JsonNode fn = sb.get("fulcio");
            if ((sk != null ? 1 : 0) + (gk != null ? 1 : 0) + (fn != null ? 1 : 0) != 1) {
                throw invalid(origin, sw + "give exactly one of sigstoreKey, gpgKey and fulcio");
            }
            if (reference == null) {
                throw invalid(origin, sw + "needs source.reference, the image whose signature is checked");
            }
            if (sk != null && !sk.contains("-----BEGIN PUBLIC KEY-----")) {
                throw invalid(origin, sw + "sigstoreKey must be a PEM public key (-----BEGIN PUBLIC KEY-----)");
            }
            if (gk != null && !gk.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
                throw invalid(origin, sw + "gpgKey must be an armored GPG public key (gpg --export --armor)");
            }
            if (gk != null && rk != null) {
                throw invalid(origin, sw + "rekorKey goes with sigstoreKey or fulcio, not gpgKey");
            }
            if (fn != null && rk == null) {
                throw invalid(origin, sw + "fulcio needs rekorKey, the Rekor public key whose timestamp dates the"
                        + " certificate");
            }
            if (rk != null && !rk.contains("-----BEGIN PUBLIC KEY-----")) {
                throw invalid(origin, sw + "rekorKey must be a PEM public key (-----BEGIN PUBLIC KEY-----)");
            }
            String ca = null;
            String issuer = null;
            String email = null;
            if (fn != null) {
                String fw = sw + "fulcio: ";
                if (!fn.isObject()) {
                    throw invalid(origin, fw + "must be an object with caCertificates, oidcIssuer and subjectEmail");
                }
                unknownFields(fn, Set.of("caCertificates", "oidcIssuer", "subjectEmail"), origin, fw);
                ca = text(fn, "caCertificates", origin, fw, true);
                issuer = text(fn, "oidcIssuer", origin, fw, true);
                email = text(fn, "subjectEmail", origin, fw, true);
                if (!ca.contains("-----BEGIN CERTIFICATE-----")) {
                    throw invalid(origin, fw + "caCertificates must be PEM certificates (-----BEGIN CERTIFICATE-----)");
                }
            }
            signer = new Environment.Signer(sk, gk, ca, issuer, email, rk);
        }
        return new Environment.Source(profile, reference, digest, archive, build, signer);
    }

    private static void unknownFields(JsonNode node, Set<String> known, String origin, String where) {
        Iterator<String> it = node.fieldNames();
        while (it.hasNext()) {
            String f = it.next();
            if (!known.contains(f)) {
                throw invalid(origin, where + "unknown field '" + SourceReferences.shorten(f) + "'; expected one of: "
                        + String.join(", ", known.stream().sorted().toList()));
            }
        }
    }

    private static String text(JsonNode node, String field, String origin, String where, boolean required) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw invalid(origin, where + "missing field '" + field + "'");
            }
            return null;
        }
        if (!v.isTextual() && !v.isNumber()) {
            throw invalid(origin, where + "field '" + field + "' must be a string");
        }
        String s = v.asText().trim();
        if (s.isEmpty()) {
            if (required) {
                throw invalid(origin, where + "field '" + field + "' is empty");
            }
            return null;
        }
        return s;
    }

    private static List<String> list(JsonNode node, String field, String origin, String where) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw invalid(origin, where + "field '" + field + "' must be a list of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode x : v) {
            if (!x.isTextual() || x.asText().isBlank()) {
                throw invalid(origin, where + "field '" + field + "' must be a list of non-empty strings");
            }
            out.add(x.asText().trim());
        }
        return out;
    }

    private static DavitException invalid(String origin, String why) {
        return new DavitException(Kind.VERIFICATION, "invalid catalog " + SourceReferences.shorten(origin) + ": "
                + why);
    }
}
