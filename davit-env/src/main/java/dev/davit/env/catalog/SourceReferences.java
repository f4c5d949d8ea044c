package dev.davit.env.catalog;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.reference.Reference;
import java.util.Map;

/**
 * Maps an environment's {@code source.reference} to a registry reference.
 *
 * <ul>
 *   <li>{@code repo://NAME} → {@code $DAVIT_REPO_REGISTRY_BASE/NAME} (default {@value #DEFAULT_REPO_BASE})</li>
 *   <li>{@code store://NAME} → {@code $DAVIT_STORE_REGISTRY_BASE/NAME} (default {@value #DEFAULT_STORE_BASE})</li>
 *   <li>{@code oci://REF} and a plain {@code REF} → {@code REF}</li>
 * </ul>
 * When the part after {@code repo://} or {@code store://} already names a registry host (its first component
 * contains a '.' or ':' or is {@code localhost}), it is used as is. Every result is normalised by
 * {@link Reference#parse}. Any other scheme is an error.
 */
public final class SourceReferences {
    /** Environment variable naming the registry namespace {@code repo://} references live under. */
    public static final String REPO_BASE_ENV = "DAVIT_REPO_REGISTRY_BASE";
    /** Environment variable naming the registry namespace {@code store://} references live under. */
    public static final String STORE_BASE_ENV = "DAVIT_STORE_REGISTRY_BASE";
    /** Default of {@link #REPO_BASE_ENV}. */
    public static final String DEFAULT_REPO_BASE = "ghcr.io/davit-dev/environments";
    /** Default of {@link #STORE_BASE_ENV}. */
    public static final String DEFAULT_STORE_BASE = "ghcr.io/davit-dev/store";

    static final String SUPPORTED = "use repo://NAME, store://NAME, oci://REFERENCE or a plain reference such as"
            + " registry.example/repo:tag";

    private SourceReferences() {
    }

    /**
     * Resolves {@code source} with the registry bases from {@code env}.
     *
     * @param source an environment's {@code source.reference}, e.g. {@code repo://debian:12}
     * @param env the environment variables holding {@value #REPO_BASE_ENV} and {@value #STORE_BASE_ENV}; null or
     *            unset variables mean the defaults
     * @return the normalised registry reference
     * @throws DavitException of kind USAGE for an unsupported scheme or a malformed reference
     */
    public static Reference resolve(String source, Map<String, String> env) {
        if (source == null || source.isBlank()) {
            throw new DavitException(Kind.USAGE, "empty source reference; " + SUPPORTED);
        }
        String s = source.trim();
        if (s.startsWith("repo://")) {
            return Reference.parse(under(base(env, REPO_BASE_ENV, DEFAULT_REPO_BASE), rest(s, "repo://")));
        }
        if (s.startsWith("store://")) {
            return Reference.parse(under(base(env, STORE_BASE_ENV, DEFAULT_STORE_BASE), rest(s, "store://")));
        }
        if (s.startsWith("oci://")) {
            return Reference.parse(rest(s, "oci://"));
        }
        int scheme = s.indexOf("://");
        if (scheme >= 0) {
            throw new DavitException(Kind.USAGE, "unsupported source reference scheme '"
                    + shorten(s.substring(0, scheme)) + "://' in '" + shorten(s) + "'; " + SUPPORTED);
        }
        return Reference.parse(s);
    }

    /**
     * Checks the syntax of {@code source} (scheme and reference) without an environment, using the defaults.
     *
     * @param source an environment's {@code source.reference}
     * @throws DavitException of kind USAGE for an unsupported scheme or a malformed reference
     */
    public static void check(String source) {
        resolve(source, Map.of());
    }

    /** True when the first path component of {@code name} is a registry host. */
    static boolean hasRegistryHost(String name) {
        int slash = name.indexOf('/');
        if (slash <= 0) {
            return false;
        }
        String first = name.substring(0, slash);
        return first.contains(".") || first.contains(":") || first.equals("localhost") || first.startsWith("[");
    }

    private static String rest(String s, String scheme) {
        String r = s.substring(scheme.length());
        if (r.isEmpty() || r.startsWith("/")) {
            throw new DavitException(Kind.USAGE, "source reference '" + shorten(s) + "' names nothing after "
                    + scheme + "; " + SUPPORTED);
        }
        return r;
    }

    private static String under(String base, String name) {
        return hasRegistryHost(name) ? name : base + "/" + name;
    }

    private static String base(Map<String, String> env, String var, String def) {
        String v = env == null ? null : env.get(var);
        if (v == null || v.isBlank()) {
            return def;
        }
        v = v.trim();
        while (v.endsWith("/")) {
            v = v.substring(0, v.length() - 1);
        }
        if (v.isEmpty() || v.contains("://")) {
            throw new DavitException(Kind.USAGE, var + "='" + shorten(v) + "' is not a registry namespace;"
                    + " set it to a registry host and path such as registry.example/environments");
        }
        return v;
    }

    static String shorten(String s) {
        String p = s.codePoints().map(c -> c < 0x20 || c == 0x7f ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return p.length() > 80 ? p.substring(0, 77) + "..." : p;
    }
}
