package dev.davit.oci.reference;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import dev.davit.oci.digest.Digest;

/**
 * A fully normalised image reference: {@code registry/repository[:tag][@digest]}.
 *
 * <p>Parsing follows Docker's normalisation: a first path component is a registry only when it contains a
 * {@code .} or a {@code :}, is {@code localhost}, or has upper-case letters; otherwise the registry is
 * {@code docker.io}, and single-component Docker Hub names get the {@code library/} prefix. A reference with
 * neither tag nor digest gets the tag {@code latest}. A reference may carry both a tag and a digest; the digest
 * then decides what is fetched.
 *
 * @param registry the registry host[:port] as written, e.g. {@code docker.io} or {@code localhost:5000}; Docker
 *     Hub is always {@code docker.io}
 * @param repository the repository path inside the registry, e.g. {@code library/alpine}
 * @param tag the tag, e.g. {@code 3.20}; null when the reference has only a digest
 * @param digest the content digest the reference is pinned to; null when it has only a tag
 */
public record Reference(String registry, String repository, String tag, Digest digest) {

    /** The canonical name of Docker Hub. */
    public static final String DOCKER_HUB = "docker.io";
    /** The host that actually serves Docker Hub's registry API. */
    public static final String DOCKER_HUB_API = "registry-1.docker.io";
    /** The tag used when none is given. */
    public static final String DEFAULT_TAG = "latest";

    private static final int MAX_NAME_LENGTH = 255;
    private static final int MAX_TAG_LENGTH = 128;

    /**
     * Checks the components; {@link #parse(String)} is the usual way to make a reference.
     *
     * @param registry the registry host[:port], not null or empty
     * @param repository the repository path, not null or empty
     * @param tag the tag, or null if {@code digest} is given
     * @param digest the digest, or null if {@code tag} is given
     * @throws IllegalArgumentException if registry or repository is missing, or both tag and digest are null
     */
    public Reference {
        if (registry == null || registry.isEmpty() || repository == null || repository.isEmpty()) {
            throw new IllegalArgumentException("registry and repository are required");
        }
        if (tag == null && digest == null) {
            throw new IllegalArgumentException("a reference needs a tag or a digest");
        }
    }

    /**
     * Parses and normalises a reference such as {@code alpine}, {@code ghcr.io/o/r:1},
     * {@code localhost:5000/a/b@sha256:...}.
     *
     * @param text the reference as a user writes it; null or empty is rejected
     * @return the normalised reference, with tag {@code latest} when neither tag nor digest is given
     * @throws DavitException of kind USAGE with a message naming the problem
     */
    public static Reference parse(String text) {
        Parsed p = parseParts(text);
        String tag = p.tag;
        if (tag == null && p.digest == null) {
            tag = DEFAULT_TAG;
        }
        return new Reference(p.registry, p.repository, tag, p.digest);
    }

    /**
     * Parses a repository name ({@code alpine}, {@code 127.0.0.1:5000/test/tiny}); a tag or digest, if given,
     * is ignored. Returns the reference with tag {@code latest}, whose {@link #repositoryName()} is the result.
     *
     * @param text the repository name as a user writes it, optionally with a tag or digest
     * @return the normalised reference with tag {@code latest} and no digest
     * @throws DavitException of kind USAGE if the name is malformed
     */
    public static Reference parseRepository(String text) {
        Parsed p = parseParts(text);
        return new Reference(p.registry, p.repository, DEFAULT_TAG, null);
    }

    private record Parsed(String registry, String repository, String tag, Digest digest) {
    }

    private static Parsed parseParts(String text) {
        if (text == null || text.isEmpty()) {
            throw invalid("", "it is empty; give a name such as alpine:3.20 or registry.example/repo:tag");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c <= ' ' || c >= 0x7f) {
                throw invalid(text, "it contains whitespace or non-ASCII characters");
            }
        }
        String rest = text;
        Digest digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            String d = rest.substring(at + 1);
            rest = rest.substring(0, at);
            try {
                digest = Digest.parse(d);
            } catch (DavitException e) {
                throw invalid(text, "the part after '@' is not a valid digest (sha256:<64 hex> or sha512:<128 hex>)");
            }
            if (rest.isEmpty()) {
                throw invalid(text, "the repository name before '@' is missing");
            }
        }
        String tag = null;
        int colon = rest.lastIndexOf(':');
        int slash = rest.lastIndexOf('/');
        if (colon > slash) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!isValidTag(tag)) {
                throw invalid(text, "the tag '" + Text.shorten(tag, 40)
                        + "' must be 1-128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'");
            }
            if (rest.isEmpty()) {
                throw invalid(text, "the repository name before ':' is missing");
            }
        }
        String registry;
        String path;
        int firstSlash = rest.indexOf('/');
        if (firstSlash < 0) {
            registry = DOCKER_HUB;
            path = rest;
        } else {
            String first = rest.substring(0, firstSlash);
            boolean isRegistry = first.indexOf('.') >= 0 || first.indexOf(':') >= 0 || first.equals("localhost")
                    || !first.equals(first.toLowerCase(java.util.Locale.ROOT));
            if (isRegistry) {
                registry = first;
                path = rest.substring(firstSlash + 1);
                if (!isValidRegistry(registry)) {
                    throw invalid(text, "'" + Text.shorten(registry, 60) + "' is not a valid registry host[:port]");
                }
            } else {
                registry = DOCKER_HUB;
                path = rest;
            }
        }
        if (registry.equals("index.docker.io") || registry.equals(DOCKER_HUB_API)) {
            registry = DOCKER_HUB;
        }
        if (path.isEmpty()) {
            throw invalid(text, "the repository name is missing");
        }
        if (!path.equals(path.toLowerCase(java.util.Locale.ROOT))) {
            throw invalid(text, "repository names must be lower-case");
        }
        if (!isValidPath(path)) {
            throw invalid(text, "repository path components are lower-case letters and digits separated by"
                    + " '.', '_', '__' or '-', joined by '/'");
        }
        if (registry.equals(DOCKER_HUB) && path.indexOf('/') < 0) {
            if (firstSlash < 0 && tag == null && digest == null && path.length() == 64 && isHex(path)) {
                throw invalid(text, "a 64-character hex string is an image ID, not a name; use name@sha256:" + path);
            }
            path = "library/" + path;
        }
        if (registry.length() + 1 + path.length() > MAX_NAME_LENGTH) {
            throw invalid(text, "the name is longer than " + MAX_NAME_LENGTH + " characters");
        }
        return new Parsed(registry, path, tag, digest);
    }

    /**
     * {@return the API endpoint host[:port] for this registry} {@code docker.io} is served from
     * registry-1.docker.io; every other registry from its own name.
     */
    public String apiHost() {
        return registry.equals(DOCKER_HUB) ? DOCKER_HUB_API : registry;
    }

    /** {@return {@code registry/repository}, without tag or digest} */
    public String repositoryName() {
        return registry + "/" + repository;
    }

    /** {@return what to ask the registry for: the digest when there is one, else the tag} Never null. */
    public String identifier() {
        return digest != null ? digest.toString() : tag;
    }

    /**
     * {@return this reference pinned to {@code d}, keeping the tag}
     *
     * @param d the digest to pin to; null drops the digest, which is allowed only when there is a tag
     */
    public Reference withDigest(Digest d) {
        return new Reference(registry, repository, tag, d);
    }

    /**
     * {@return this reference with tag {@code t} and no digest}
     *
     * @param t the new tag: 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'
     * @throws DavitException of kind USAGE if the tag is invalid
     */
    public Reference withTag(String t) {
        if (!isValidTag(t)) {
            throw invalid(t, "invalid tag");
        }
        return new Reference(registry, repository, t, null);
    }

    /** The fully normalised form, e.g. {@code docker.io/library/alpine:3.20}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(repositoryName());
        if (tag != null) {
            b.append(':').append(tag);
        }
        if (digest != null) {
            b.append('@').append(digest);
        }
        return b.toString();
    }

    static boolean isValidTag(String tag) {
        if (tag == null || tag.isEmpty() || tag.length() > MAX_TAG_LENGTH) {
            return false;
        }
        for (int i = 0; i < tag.length(); i++) {
            char c = tag.charAt(i);
            boolean word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
            if (!word && (i == 0 || (c != '.' && c != '-'))) {
                return false;
            }
        }
        return true;
    }

    static boolean isValidPath(String path) {
        int start = 0;
        while (true) {
            int slash = path.indexOf('/', start);
            String comp = slash < 0 ? path.substring(start) : path.substring(start, slash);
            if (!isValidComponent(comp)) {
                return false;
            }
            if (slash < 0) {
                return true;
            }
            start = slash + 1;
        }
    }

    /** {@code [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*} */
    static boolean isValidComponent(String c) {
        int n = c.length();
        if (n == 0 || !isLowerAlnum(c.charAt(0)) || !isLowerAlnum(c.charAt(n - 1))) {
            return false;
        }
        int i = 0;
        while (i < n) {
            char ch = c.charAt(i);
            if (isLowerAlnum(ch)) {
                i++;
                continue;
            }
            int j = i;
            while (j < n && !isLowerAlnum(c.charAt(j))) {
                j++;
            }
            String sep = c.substring(i, j);
            boolean ok = sep.equals(".") || sep.equals("_") || sep.equals("__") || sep.chars().allMatch(x -> x == '-');
            if (!ok) {
                return false;
            }
            i = j;
        }
        return true;
    }

    static boolean isValidRegistry(String r) {
        String host = r;
        String port = null;
        if (r.startsWith("[")) {
            int close = r.indexOf(']');
            if (close < 0) {
                return false;
            }
            String inner = r.substring(1, close);
            if (inner.isEmpty() || !inner.chars().allMatch(x -> isHexChar((char) x) || x == ':' || x == '.')) {
                return false;
            }
            String after = r.substring(close + 1);
            if (after.isEmpty()) {
                return true;
            }
            if (!after.startsWith(":")) {
                return false;
            }
            return isPort(after.substring(1));
        }
        int colon = r.indexOf(':');
        if (colon >= 0) {
            host = r.substring(0, colon);
            port = r.substring(colon + 1);
            if (!isPort(port)) {
                return false;
            }
        }
        if (host.isEmpty()) {
            return false;
        }
        for (String label : host.split("\\.", -1)) {
            int n = label.length();
            if (n == 0 || n > 63 || !isAlnum(label.charAt(0)) || !isAlnum(label.charAt(n - 1))) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                char ch = label.charAt(i);
                if (!isAlnum(ch) && ch != '-') {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean isPort(String p) {
        if (p.isEmpty() || p.length() > 5 || !p.chars().allMatch(x -> x >= '0' && x <= '9')) {
            return false;
        }
        int v = Integer.parseInt(p);
        return v > 0 && v <= 65535;
    }

    private static boolean isLowerAlnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    }

    private static boolean isAlnum(char c) {
        return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
    }

    private static boolean isHexChar(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static boolean isHex(String s) {
        return s.chars().allMatch(x -> isHexChar((char) x) && !(x >= 'A' && x <= 'F'));
    }

    private static DavitException invalid(String text, String why) {
        return new DavitException(DavitException.Kind.USAGE,
                "invalid reference '" + Text.shorten(text, 120) + "': " + why);
    }
}
