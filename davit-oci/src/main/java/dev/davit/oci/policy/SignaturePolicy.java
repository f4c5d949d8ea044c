package dev.davit.oci.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.reference.Reference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A signature verification policy as podman, skopeo, buildah and CRI-O read it ({@code containers-policy.json(5)}):
 * a global {@code default} list of requirements and, per transport, requirements per scope. Only the {@code docker}
 * transport's scopes are davit's (images come from registries); the other transports' sections are read, checked
 * for their shape and kept out of every decision.
 *
 * <p>Read strictly, as containers/image reads it: an unknown or duplicated field, a requirement of an unknown type,
 * an empty list of requirements or a scope that is not one is an error naming where it is, and the whole policy is
 * refused (a policy half understood could accept what its author meant to refuse).
 *
 * <p>Scopes of the {@code docker} transport, from the most specific: the image's full reference with its tag or
 * digest ({@code docker.io/library/busybox:1}), its repository, each namespace above it
 * ({@code docker.io/library}), its registry ({@code docker.io}, {@code localhost:5000}), then wildcards of the
 * registry's parent domains ({@code *.example.com} for {@code a.b.example.com}: {@code *.b.example.com} first); then
 * the transport's default (the scope {@code ""}), then the global default. The requirements of the first scope that
 * is in the policy apply, all of them ({@link #requirementsFor}).
 *
 * <p>Immutable.
 */
public final class SignaturePolicy {
    /** The transport davit's images come by. */
    public static final String DOCKER = "docker";
    /** The most bytes a policy file may have. */
    public static final int MAX_BYTES = 4 << 20;

    private final List<Requirement> defaults;
    private final Map<String, List<Requirement>> docker;
    private final String source;
    /** The SHA-256 of the file's bytes, hex ({@code none} for {@link #ACCEPT_ANYTHING}). */
    private final String digest;
    private final List<String> warnings;

    /** SLF4J starts on first use (5-10 ms in a fresh JVM): only a policy with something to warn of pays it. */
    private static final class Log {
        static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SignaturePolicy.class);
    }

    /** A requirement an image must meet: see {@code containers-policy.json(5)}. */
    public sealed interface Requirement permits InsecureAcceptAnything, Reject, SignedBy, SigstoreSigned {
        /** {@return the requirement's {@code type} as the file spells it} */
        String type();
    }

    /** Anything is accepted (no signature is looked at). */
    public record InsecureAcceptAnything() implements Requirement {
        @Override
        public String type() {
            return "insecureAcceptAnything";
        }
    }

    /** Nothing is accepted. */
    public record Reject() implements Requirement {
        @Override
        public String type() {
            return "reject";
        }
    }

    /**
     * A "simple signing" signature made with one of the GPG keys given (from files, or inline).
     *
     * @param keyType  {@code GPGKeys} (the one type davit reads keys of)
     * @param keyPaths the files of the keys (absolute), or empty when {@code keyData} gives them
     * @param keyData  the keys themselves (a keyring, binary or armored), or null
     * @param identity what the signature's claimed identity must be to match the image
     */
    public record SignedBy(String keyType, List<Path> keyPaths, byte[] keyData, SignedIdentity identity)
            implements Requirement {
        /** Copies the list. */
        public SignedBy {
            keyPaths = List.copyOf(keyPaths);
        }

        @Override
        public String type() {
            return "signedBy";
        }
    }

    /**
     * A sigstore (cosign) signature made with the key given, or by a certificate a Fulcio trust root issued.
     *
     * @param keyPath           the public key's file (PEM), or null
     * @param keyData           the public key itself (PEM), or null
     * @param fulcio            the Fulcio trust root, or null when a key is given
     * @param rekorPublicKeyPath the Rekor public key's file, or null
     * @param rekorPublicKeyData the Rekor public key, or null
     * @param identity          what the signature's claimed identity must be to match the image
     * @param keyPaths          the files of several public keys, any of which may have signed (or empty)
     * @param keyDatas          several public keys (PEM), any of which may have signed (or empty)
     */
    public record SigstoreSigned(Path keyPath, byte[] keyData, Fulcio fulcio, Path rekorPublicKeyPath,
                                 byte[] rekorPublicKeyData, SignedIdentity identity, List<Path> keyPaths,
                                 List<byte[]> keyDatas) implements Requirement {
        /** Copies the lists; null lists are empty. */
        public SigstoreSigned {
            keyPaths = keyPaths == null ? List.of() : List.copyOf(keyPaths);
            keyDatas = keyDatas == null ? List.of() : List.copyOf(keyDatas);
        }

        /**
         * A requirement of one key (or of a Fulcio identity), without {@code keyPaths} and {@code keyDatas}.
         *
         * @param keyPath            the public key's file (PEM), or null
         * @param keyData            the public key itself (PEM), or null
         * @param fulcio             the Fulcio trust root, or null when a key is given
         * @param rekorPublicKeyPath the Rekor public key's file, or null
         * @param rekorPublicKeyData the Rekor public key, or null
         * @param identity           what the signature's claimed identity must be to match the image
         */
        public SigstoreSigned(Path keyPath, byte[] keyData, Fulcio fulcio, Path rekorPublicKeyPath,
                              byte[] rekorPublicKeyData, SignedIdentity identity) {
            this(keyPath, keyData, fulcio, rekorPublicKeyPath, rekorPublicKeyData, identity, List.of(), List.of());
        }

        @Override
        public String type() {
            return "sigstoreSigned";
        }
    }

    /**
     * A Fulcio trust root: the CA certificates, and the OIDC issuer and subject email the signing certificate must
     * name.
     *
     * @param caPath       the CA certificates' file (PEM), or null
     * @param caData       the CA certificates (PEM), or null
     * @param oidcIssuer   the issuer the certificate must name
     * @param subjectEmail the email the certificate must name
     */
    public record Fulcio(Path caPath, byte[] caData, String oidcIssuer, String subjectEmail) {
    }

    /**
     * How a signature's claimed identity (the {@code docker-reference} it signs) must relate to the image's
     * reference; {@code matchRepoDigestOrExact} when a requirement says nothing.
     *
     * @param type             {@code matchExact}, {@code matchRepoDigestOrExact}, {@code matchRepository},
     *                         {@code exactReference}, {@code exactRepository} or {@code remapIdentity}
     * @param dockerReference  {@code exactReference}'s reference
     * @param dockerRepository {@code exactRepository}'s repository
     * @param prefix           {@code remapIdentity}'s prefix of the image's reference
     * @param signedPrefix     {@code remapIdentity}'s prefix it stands for in the signature
     */
    public record SignedIdentity(String type, String dockerReference, String dockerRepository, String prefix,
                                 String signedPrefix) {
        /** The default: {@code matchRepoDigestOrExact}. */
        public static final SignedIdentity DEFAULT = new SignedIdentity("matchRepoDigestOrExact", null, null, null,
                null);

        /**
         * Whether a signature claiming {@code signed} matches an image pulled as {@code image}.
         *
         * @param image  the image's reference (by tag or by digest)
         * @param signed the identity the signature claims, as written in it
         * @return true when this rule accepts it
         */
        public boolean matches(Reference image, String signed) {
            Reference claimed;
            try {
                claimed = Reference.parse(signed);
            } catch (RuntimeException e) {
                return false;
            }
            return switch (type) {
                case "matchExact" -> image.digest() == null ? sameTagged(image, claimed)
                        : image.equals(claimed);
                case "matchRepoDigestOrExact" -> image.digest() != null ? sameRepository(image, claimed)
                        : sameTagged(image, claimed);
                case "matchRepository" -> sameRepository(image, claimed);
                case "exactReference" -> claimed.equals(Reference.parse(dockerReference));
                case "exactRepository" -> sameRepository(claimed, Reference.parseRepository(dockerRepository));
                case "remapIdentity" -> {
                    String name = image.registry() + "/" + image.repository();
                    Reference remapped = image;
                    if (within(name, prefix)) {
                        String rest = name.substring(prefix.length());
                        Reference r = Reference.parseRepository(signedPrefix + rest);
                        remapped = new Reference(r.registry(), r.repository(), image.tag(), image.digest());
                    }
                    yield remapped.digest() != null ? sameRepository(remapped, claimed)
                            : sameTagged(remapped, claimed);
                }
                default -> false;
            };
        }

        private static boolean sameRepository(Reference a, Reference b) {
            return a.registry().equals(b.registry()) && a.repository().equals(b.repository());
        }

        private static boolean sameTagged(Reference image, Reference claimed) {
            return image.tag() != null && claimed.digest() == null && sameRepository(image, claimed)
                    && image.tag().equals(claimed.tag());
        }

        /** Whether {@code name} is {@code prefix} or below it at a {@code /} (a host prefix: the host itself). */
        private static boolean within(String name, String prefix) {
            return name.equals(prefix) || name.startsWith(prefix) && (prefix.endsWith("/")
                    || name.charAt(prefix.length()) == '/');
        }
    }

    /**
     * The requirements that apply to an image, and where the policy says so.
     *
     * @param scope        the scope that matched: a {@code docker} scope, {@code ""} (the transport's default) or
     *                     null (the global default)
     * @param requirements the requirements, every one of which must be met
     */
    public record Applied(String scope, List<Requirement> requirements) {
        /** Copies the list. */
        public Applied {
            requirements = List.copyOf(requirements);
        }

        /** {@return where the requirements come from, in words: {@code docker scope "x"}, ...} */
        public String where() {
            return scope == null ? "the policy's default" : scope.isEmpty() ? "the docker transport's default"
                    : "docker scope \"" + scope + "\"";
        }

        /** {@return true when the requirements accept anything without a signature} */
        public boolean acceptsAnything() {
            return requirements.stream().allMatch(r -> r instanceof InsecureAcceptAnything);
        }

        /** {@return true when a requirement rejects everything} */
        public boolean rejects() {
            return requirements.stream().anyMatch(r -> r instanceof Reject);
        }
    }

    private SignaturePolicy(List<Requirement> defaults, Map<String, List<Requirement>> docker, String source,
                            String digest, List<String> warnings) {
        this.defaults = List.copyOf(defaults);
        this.docker = Map.copyOf(docker);
        this.source = source;
        this.digest = digest;
        this.warnings = List.copyOf(warnings);
    }

    /** A policy that accepts anything: what davit does when no policy file is found. */
    public static final SignaturePolicy ACCEPT_ANYTHING = new SignaturePolicy(List.of(new InsecureAcceptAnything()),
            Map.of(), "(none)", "none", List.of());

    /**
     * A policy of one requirement for every image, made in code (a catalog entry's {@code signedBy}).
     *
     * @param requirement the requirement
     * @param source      what to call it in messages, e.g. {@code the catalog's signedBy of debian:12}
     * @return the policy
     */
    public static SignaturePolicy requiring(Requirement requirement, String source) {
        return new SignaturePolicy(List.of(requirement), Map.of(), source, dev.davit.oci.digest.Digest.sha256(
                (source + requirement).getBytes(java.nio.charset.StandardCharsets.UTF_8)).hex(), List.of());
    }

    /** {@return the SHA-256 of the policy file's bytes, hex; {@code none} for {@link #ACCEPT_ANYTHING}} */
    public String digest() {
        return digest;
    }

    /** {@return every requirement of the policy, of every docker scope and the default} */
    public List<Requirement> allRequirements() {
        List<Requirement> all = new ArrayList<>(defaults);
        docker.values().forEach(all::addAll);
        return all;
    }

    /**
     * Reads the policy file {@code file}.
     *
     * @param file the file
     * @return the policy
     * @throws DavitException USAGE when it cannot be read or is not a valid policy, naming the file, where in it and
     *                        why
     */
    public static SignaturePolicy read(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new DavitException(Kind.USAGE, "the signature policy " + file + " is over " + (MAX_BYTES >> 20)
                        + " MiB");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read the signature policy " + file + ": " + Text.reason(e));
        }
        return parse(bytes, file.toString());
    }

    /**
     * Parses a policy.
     *
     * @param json   the policy file's bytes
     * @param source what to call it in errors (its file name)
     * @return the policy
     * @throws DavitException USAGE when it is not a valid policy, naming {@code source}, where and why
     */
    public static SignaturePolicy parse(byte[] json, String source) {
        JsonNode root;
        try {
            // davit's own reader (duplicate names refused), not Jackson's mapper: a run reads the policy every time
            root = Json.read(json);
        } catch (IOException e) {
            throw bad(source, "", "is not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
        if (root == null || !root.isObject()) {
            throw bad(source, "", "must be a JSON object with \"default\" and, optionally, \"transports\"");
        }
        only(root, source, "", Set.of("default", "transports"));
        if (!root.has("default")) {
            throw bad(source, "", "has no \"default\" requirements (e.g. [{\"type\": \"reject\"}])");
        }
        List<String> warnings = new ArrayList<>();
        List<Requirement> defaults = requirements(root.get("default"), source, "default", warnings);
        Map<String, List<Requirement>> docker = new LinkedHashMap<>();
        JsonNode transports = root.get("transports");
        if (transports != null) {
            if (!transports.isObject()) {
                throw bad(source, "transports", "must be an object of transports");
            }
            for (Map.Entry<String, JsonNode> t : transports.properties()) {
                String where = "transports." + t.getKey();
                if (!t.getValue().isObject()) {
                    throw bad(source, where, "must be an object of scopes");
                }
                for (Map.Entry<String, JsonNode> s : t.getValue().properties()) {
                    String scopeWhere = where + "[\"" + s.getKey() + "\"]";
                    List<Requirement> reqs = requirements(s.getValue(), source, scopeWhere, warnings);
                    if (t.getKey().equals(DOCKER)) {
                        String lax = checkDockerScope(s.getKey());
                        if (lax != null) {
                            warnings.add(warning(source, scopeWhere, lax));
                        }
                        docker.put(s.getKey(), reqs);
                    }
                }
            }
        }
        for (String w : warnings) {
            Log.LOG.warn("{}", w);
        }
        return new SignaturePolicy(defaults, docker, source, dev.davit.oci.digest.Digest.sha256(json).hex(),
                warnings);
    }

    /**
     * What the policy holds that containers/image accepts though it is likely a mistake (a scope that matches no
     * image, a key file named relative to the working directory): accepted as containers/image accepts it, and
     * logged as a warning when read.
     *
     * @return the warnings, each naming the file, where in it and why
     */
    public List<String> warnings() {
        return warnings;
    }

    /** {@return what the policy was read from} */
    public String source() {
        return source;
    }

    /**
     * The requirements that apply to {@code image}, pulled from a registry (the {@code docker} transport).
     *
     * @param image the image's reference
     * @return the requirements and the scope they come from
     */
    public Applied requirementsFor(Reference image) {
        for (String scope : scopes(image)) {
            List<Requirement> r = docker.get(scope);
            if (r != null) {
                return new Applied(scope, r);
            }
        }
        List<Requirement> r = docker.get("");
        return r != null ? new Applied("", r) : new Applied(null, defaults);
    }

    /**
     * The scopes of {@code image}, most specific first: its full reference, its repository, each namespace above it,
     * its registry, then wildcards of the registry's parent domains (not of an address or a host without dots).
     *
     * @param image the image's reference
     * @return the scopes
     */
    public static List<String> scopes(Reference image) {
        List<String> out = new ArrayList<>();
        // a registry's name is case-insensitive: Registry.Example.com is registry.example.com's scope
        String registry = image.registry().toLowerCase(Locale.ROOT);
        String repo = registry + "/" + image.repository();
        if (image.digest() != null) {
            out.add(repo + "@" + image.digest());
        } else if (image.tag() != null) {
            out.add(repo + ":" + image.tag());
        }
        for (String r = repo; ; ) {
            out.add(r);
            int slash = r.lastIndexOf('/');
            if (slash < 0) {
                break;
            }
            r = r.substring(0, slash);
        }
        // wildcards of the host's parent domains, its port left out (as containers/image matches them)
        String host = registry.startsWith("[") ? registry : registry.replaceFirst(":[0-9]+$", "");
        if (!host.contains(":") && !host.matches("[0-9.]+")) {
            for (int dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
                String rest = host.substring(dot + 1);
                if (!rest.isEmpty()) {
                    out.add("*." + rest);
                }
            }
        }
        return out;
    }

    /**
     * What is likely wrong with {@code scope}, or null: containers/image accepts any string as a docker scope and
     * compares it with an image's canonical scopes ({@link #scopes}), so such a scope is accepted here too, with a
     * warning.
     */
    private static String checkDockerScope(String scope) {
        String never = lax(scope);
        return never == null || never.startsWith("is the namespace") ? never : never + "; it matches no image"
                + " (containers/image accepts such a scope and never uses it)";
    }

    private static String lax(String scope) {
        if (scope.isEmpty()) {
            return null;
        }
        if (scope.startsWith("*.")) {
            if (!scope.substring(2).matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")) {
                return "is not a wildcard of a domain, e.g. *.example.com";
            }
            return null;
        }
        if (scope.contains("*") || scope.startsWith("/") || scope.endsWith("/") || scope.contains("//")
                || !scope.equals(scope.strip())) {
            return "is not a docker scope: a registry, a namespace, a repository, a reference or"
                    + " *.domain";
        }
        int slash = scope.indexOf('/');
        String host = slash < 0 ? scope : scope.substring(0, slash);
        if (!host.matches("[a-z0-9.-]+(:[0-9]{1,5})?|\\[[0-9a-f:.]+\\](:[0-9]{1,5})?")
                || !(host.contains(".") || host.contains(":") || host.equals("localhost"))) {
            // a scope names a registry first, as containers/image's canonical form does: never library/busybox,
            // never an upper-case host (it could not match a reference)
            return "does not start with a registry in its canonical form (a lower-case host with a"
                    + " dot or a port, or localhost), e.g. docker.io/library/busybox";
        }
        if (host.equals("docker.io") && slash >= 0 && scope.indexOf('/', slash + 1) < 0
                && !scope.substring(slash + 1).equals("library")) {
            String name = scope.substring(slash + 1);
            return "is the namespace " + name + " of docker.io, not its official image docker.io/library/" + name
                    + ": it matches only the images below it (docker.io/" + name + "/...), as for containers/image";
        }
        if (slash >= 0) {
            String path = scope.substring(slash + 1);
            String repoPart = path.replaceFirst("(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})$", "");
            if (!repoPart.matches("[a-z0-9]+([._-][a-z0-9]+|__)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*")) {
                return "has a repository path that is not valid (lower-case, /-separated)";
            }
        }
        return null;
    }

    private static List<Requirement> requirements(JsonNode node, String source, String where,
                                                  List<String> warnings) {
        if (node == null || !node.isArray()) {
            throw bad(source, where, "must be a list of requirements");
        }
        if (node.isEmpty()) {
            throw bad(source, where, "is an empty list; give at least one requirement (e.g. {\"type\": \"reject\"})");
        }
        List<Requirement> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            out.add(requirement(node.get(i), source, where + "[" + i + "]", warnings));
        }
        return out;
    }

    private static Requirement requirement(JsonNode r, String source, String where, List<String> warnings) {
        if (!r.isObject() || !r.path("type").isTextual()) {
            throw bad(source, where, "must be an object with a \"type\"");
        }
        String type = r.get("type").asText();
        switch (type) {
            case "insecureAcceptAnything" -> {
                only(r, source, where, Set.of("type"));
                return new InsecureAcceptAnything();
            }
            case "reject" -> {
                only(r, source, where, Set.of("type"));
                return new Reject();
            }
            case "signedBy" -> {
                only(r, source, where, Set.of("type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"));
                String keyType = text(r, "keyType", source, where);
                if (!"GPGKeys".equals(keyType)) {
                    throw bad(source, where, "has keyType " + (keyType == null ? "missing" : "\"" + keyType + "\"")
                            + "; davit reads \"GPGKeys\"");
                }
                int given = (r.has("keyPath") ? 1 : 0) + (r.has("keyPaths") ? 1 : 0) + (r.has("keyData") ? 1 : 0);
                if (given != 1) {
                    throw bad(source, where, "must have exactly one of keyPath, keyPaths and keyData");
                }
                List<Path> paths = new ArrayList<>();
                if (r.has("keyPath")) {
                    paths.add(absolute(text(r, "keyPath", source, where), source, where + ".keyPath", warnings));
                }
                if (r.has("keyPaths")) {
                    JsonNode ps = r.get("keyPaths");
                    if (!ps.isArray() || ps.isEmpty()) {
                        throw bad(source, where + ".keyPaths", "must be a non-empty list of files");
                    }
                    for (int i = 0; i < ps.size(); i++) {
                        if (!ps.get(i).isTextual()) {
                            throw bad(source, where + ".keyPaths[" + i + "]", "must be a file name");
                        }
                        paths.add(absolute(ps.get(i).asText(), source, where + ".keyPaths[" + i + "]", warnings));
                    }
                }
                byte[] data = r.has("keyData") ? base64(r, "keyData", source, where) : null;
                return new SignedBy(keyType, paths, data, identity(r.get("signedIdentity"), source,
                        where + ".signedIdentity"));
            }
            case "sigstoreSigned" -> {
                only(r, source, where, Set.of("type", "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio",
                        "rekorPublicKeyPath", "rekorPublicKeyData", "signedIdentity"));
                int given = 0;
                for (String k : List.of("keyPath", "keyPaths", "keyData", "keyDatas", "fulcio")) {
                    given += r.has(k) ? 1 : 0;
                }
                if (given != 1) {
                    throw bad(source, where, "must have exactly one of keyPath, keyPaths, keyData, keyDatas and"
                            + " fulcio");
                }
                if (r.has("rekorPublicKeyPath") && r.has("rekorPublicKeyData")) {
                    throw bad(source, where, "may have rekorPublicKeyPath or rekorPublicKeyData, not both");
                }
                Fulcio fulcio = null;
                if (r.has("fulcio")) {
                    JsonNode f = r.get("fulcio");
                    String fw = where + ".fulcio";
                    if (!f.isObject()) {
                        throw bad(source, fw, "must be an object");
                    }
                    only(f, source, fw, Set.of("caPath", "caData", "oidcIssuer", "subjectEmail"));
                    if (f.has("caPath") == f.has("caData")) {
                        throw bad(source, fw, "must have exactly one of caPath and caData");
                    }
                    String issuer = text(f, "oidcIssuer", source, fw);
                    String email = text(f, "subjectEmail", source, fw);
                    if (issuer == null || email == null || issuer.isEmpty() || email.isEmpty()) {
                        throw bad(source, fw, "must name the oidcIssuer and the subjectEmail the certificate must"
                                + " have");
                    }
                    if (!r.has("rekorPublicKeyPath") && !r.has("rekorPublicKeyData")) {
                        throw bad(source, where, "with fulcio needs rekorPublicKeyPath or rekorPublicKeyData");
                    }
                    fulcio = new Fulcio(f.has("caPath") ? absolute(text(f, "caPath", source, fw), source,
                            fw + ".caPath", warnings) : null, f.has("caData") ? base64(f, "caData", source, fw) : null, issuer,
                            email);
                }
                return new SigstoreSigned(r.has("keyPath") ? absolute(text(r, "keyPath", source, where), source,
                        where + ".keyPath", warnings) : null, r.has("keyData") ? base64(r, "keyData", source, where) : null,
                        fulcio, r.has("rekorPublicKeyPath") ? absolute(text(r, "rekorPublicKeyPath", source, where),
                        source, where + ".rekorPublicKeyPath", warnings) : null, r.has("rekorPublicKeyData")
                        ? base64(r, "rekorPublicKeyData", source, where) : null,
                        identity(r.get("signedIdentity"), source, where + ".signedIdentity"),
                        stringList(r, "keyPaths", source, where).stream().map(k -> absolute(k, source, where
                                + ".keyPaths", warnings)).toList(),
                        stringList(r, "keyDatas", source, where).stream().map(k -> decode(k, source, where
                                + ".keyDatas")).toList());
            }
            default -> throw bad(source, where, "has an unknown type \"" + type + "\" (insecureAcceptAnything,"
                    + " reject, signedBy, sigstoreSigned)");
        }
    }

    private static SignedIdentity identity(JsonNode n, String source, String where) {
        if (n == null) {
            return SignedIdentity.DEFAULT;
        }
        if (!n.isObject() || !n.path("type").isTextual()) {
            throw bad(source, where, "must be an object with a \"type\"");
        }
        String type = n.get("type").asText();
        switch (type) {
            case "matchExact", "matchRepoDigestOrExact", "matchRepository" -> {
                only(n, source, where, Set.of("type"));
                return new SignedIdentity(type, null, null, null, null);
            }
            case "exactReference" -> {
                only(n, source, where, Set.of("type", "dockerReference"));
                String ref = text(n, "dockerReference", source, where);
                if (ref == null || !validReference(ref, true)) {
                    throw bad(source, where, "needs a dockerReference with a tag or digest, e.g."
                            + " registry.example.com/app:1");
                }
                return new SignedIdentity(type, ref, null, null, null);
            }
            case "exactRepository" -> {
                only(n, source, where, Set.of("type", "dockerRepository"));
                String repo = text(n, "dockerRepository", source, where);
                if (repo == null || !validReference(repo, false)) {
                    throw bad(source, where, "needs a dockerRepository, e.g. registry.example.com/app");
                }
                return new SignedIdentity(type, null, repo, null, null);
            }
            case "remapIdentity" -> {
                only(n, source, where, Set.of("type", "prefix", "signedPrefix"));
                String prefix = text(n, "prefix", source, where);
                String signedPrefix = text(n, "signedPrefix", source, where);
                if (prefix == null || signedPrefix == null || prefix.isEmpty() || signedPrefix.isEmpty()) {
                    throw bad(source, where, "needs a prefix and a signedPrefix (a registry, namespace or"
                            + " repository each)");
                }
                return new SignedIdentity(type, null, null, prefix, signedPrefix);
            }
            default -> throw bad(source, where, "has an unknown type \"" + type + "\"");
        }
    }

    private static boolean validReference(String text, boolean needsTagOrDigest) {
        try {
            if (needsTagOrDigest) {
                Reference r = Reference.parse(text);
                int slash = text.indexOf('/');
                boolean explicit = text.indexOf(':', slash < 0 ? 0 : slash) > 0 || text.contains("@");
                return explicit && r.toString().equals(text);
            }
            Reference r = Reference.parseRepository(text);
            return (r.registry() + "/" + r.repository()).equals(text);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * The file {@code p} names: as given when absolute; a relative name is read from the working directory, as
     * containers/image reads it (with a warning: the policy then means another file in another directory).
     */
    private static Path absolute(String p, String source, String where, List<String> warnings) {
        if (p == null || p.isEmpty()) {
            throw bad(source, where, "must be a file name");
        }
        Path path;
        try {
            path = Path.of(p);
        } catch (java.nio.file.InvalidPathException e) {
            throw bad(source, where, "is not a file name");
        }
        if (path.isAbsolute()) {
            return path;
        }
        Path resolved = path.toAbsolutePath();
        warnings.add(warning(source, where, "\"" + p + "\" is relative: it is read from the working directory, as"
                + " containers/image reads it (" + resolved + "); give an absolute file name"));
        return resolved;
    }

    private static byte[] base64(JsonNode o, String field, String source, String where) {
        return decode(text(o, field, source, where), source, where + "." + field);
    }

    private static byte[] decode(String v, String source, String where) {
        try {
            return Base64.getDecoder().decode(v);
        } catch (IllegalArgumentException e) {
            throw bad(source, where, "is not base64");
        }
    }

    /** The strings of {@code field}, a non-empty list of strings when present; empty when absent. */
    private static List<String> stringList(JsonNode o, String field, String source, String where) {
        JsonNode v = o.get(field);
        if (v == null) {
            return List.of();
        }
        if (!v.isArray() || v.isEmpty()) {
            throw bad(source, where + "." + field, "must be a non-empty list of strings");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw bad(source, where + "." + field + "[" + i + "]", "must be a string");
            }
            out.add(v.get(i).asText());
        }
        return out;
    }

    private static String text(JsonNode o, String field, String source, String where) {
        JsonNode v = o.get(field);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw bad(source, where + "." + field, "must be a string");
        }
        return v.asText();
    }

    private static void only(JsonNode o, String source, String where, Set<String> fields) {
        for (String name : (Iterable<String>) o::fieldNames) {
            if (!fields.contains(name)) {
                throw bad(source, where.isEmpty() ? name : where + "." + name, "is not a field davit knows there ("
                        + String.join(", ", fields.stream().sorted().toList()) + ")");
            }
        }
    }

    private static String firstLine(String m) {
        String s = m == null ? "" : m;
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).toLowerCase(Locale.ROOT);
    }

    private static String warning(String source, String where, String why) {
        return "the signature policy " + source + ": " + where + " " + why;
    }

    private static DavitException bad(String source, String where, String why) {
        return new DavitException(Kind.USAGE, "the signature policy " + source + (where.isEmpty() ? "" : ": "
                + where) + " " + why);
    }
}
