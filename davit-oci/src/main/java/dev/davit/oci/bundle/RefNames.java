package dev.davit.oci.bundle;

import dev.davit.oci.DavitException;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.reference.Reference;

/**
 * What an entry's {@code org.opencontainers.image.ref.name} means, shared by import and inspect.
 *
 * <ul>
 *   <li>A name with a {@code /}, {@code :} or {@code @} that parses as a reference <b>is</b> one, normalised like
 *       every other reference in davit: {@code imported/tiny:2} is {@code docker.io/imported/tiny:2},
 *       {@code alpine:3.20} is {@code docker.io/library/alpine:3.20}, {@code reg.lan/app} is
 *       {@code reg.lan/app:latest}; what davit exports is already normalised and stays as it is.</li>
 *   <li>A bare word ({@code latest}, {@code v1.0}, also {@code alpine}) is a <b>tag</b>: that is how skopeo
 *       ({@code oci:DIR:latest}), umoci and the OCI layout specification use ref names, so it names no
 *       repository and needs {@code --as}, {@code --map} or {@code --repo}.</li>
 *   <li>Anything else (a digest such as {@code sha256:...}, upper-case repositories, invalid tags) is not a
 *       reference either.</li>
 * </ul>
 */
final class RefNames {
    private RefNames() {
    }

    /** The reference {@code name} stands for, or null when it is absent, a bare tag or not a valid reference. */
    static Reference reference(String name) {
        return problem(name) == null ? Reference.parse(name) : null;
    }

    /** {@link #reference} as its normalised text, or null. */
    static String normalized(String name) {
        Reference r = reference(name);
        return r == null ? null : r.toString();
    }

    /** Whether {@code name} is a bare tag ({@code latest}): {@code REPO:name} is a valid reference. */
    static boolean isTag(String name) {
        return name != null && name.matches("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    }

    /** Why {@code name} is not a reference, as a clause for messages; null when it is one. */
    static String problem(String name) {
        if (name == null) {
            return "it has no name";
        }
        if (name.indexOf('/') < 0 && name.indexOf(':') < 0 && name.indexOf('@') < 0) {
            return isTag(name) ? "a bare tag names no repository" : "it is neither a tag nor a reference";
        }
        if (isDigest(name)) {
            return "a digest names no repository";
        }
        try {
            Reference.parse(name);
            return null;
        } catch (DavitException e) {
            return e.getMessage().replaceFirst("(?s)^invalid reference '.*': ", "");
        }
    }

    private static boolean isDigest(String name) {
        try {
            Digest.parse(name);
            return true;
        } catch (DavitException e) {
            return false;
        }
    }
}
