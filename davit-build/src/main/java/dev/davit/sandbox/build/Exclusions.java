package dev.davit.sandbox.build;

import dev.davit.oci.containerfile.IgnoreRules;

/**
 * A COPY source's --exclude patterns: {@code rules}, relative to {@code base} (a path of the context or stage),
 * applied besides the ignore file's, never in place of them; {@code source} the source's own path.
 */
record Exclusions(IgnoreRules rules, String base, String source) {
    /** {@code path} (of the context or stage) relative to the base; null when it is not below it. */
    String relative(String path) {
        return base.isEmpty() ? path : path.equals(base) ? "" : path.startsWith(base + "/")
                ? path.substring(base.length() + 1) : null;
    }

    boolean excludes(String path) {
        String r = relative(path);
        return r != null && !r.isEmpty() && rules.excluded(r);
    }

    boolean mayIncludeUnder(String path) {
        String r = relative(path);
        return r == null || r.isEmpty() || rules.mayIncludeUnder(r);
    }

    /** Whether the source itself is excluded (a glob's match, a file, a path --parents keeps). */
    boolean dropsSource() {
        return excludes(source) && !mayIncludeUnder(source);
    }
}
