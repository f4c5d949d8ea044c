package dev.davit.env.json;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.env.Environment;
import dev.davit.env.catalog.CatalogResolver;
import dev.davit.env.freshness.Freshness;
import dev.davit.env.install.InstallStatus;
import dev.davit.env.install.Installer;
import dev.davit.env.resolve.NameResolver;
import dev.davit.oci.internal.Json;
import java.util.Locale;

/**
 * The JSON forms of environments, their catalog and freshness: the {@code env list} and {@code env inspect}
 * documents (docs/reference/JSON.md) of the CLI and the MCP server alike. Not API. A text that may name a library method (a
 * reason, a registry's error) goes through {@code words}, the door's own terms.
 */
public final class EnvJson {
    private EnvJson() {
    }

    /**
     * Where the catalog came from.
     *
     * @param r the resolved catalog
     * @return {@code origin}, {@code location}, {@code version} and {@code digest}
     */
    public static ObjectNode catalog(CatalogResolver.Resolved r) {
        return Json.object().put("origin", r.origin().name().toLowerCase(Locale.ROOT)).put("location", r.location())
                .put("version", r.catalog().version()).put("digest", r.digest());
    }

    /**
     * A freshness check's answer.
     *
     * @param f     the answer
     * @param words the door's terms for its error
     * @return {@code reference}, {@code status}, {@code installed_digest}, {@code remote_digest},
     *         {@code checked_at}, {@code cached} and {@code error}
     */
    public static ObjectNode freshness(Freshness f, java.util.function.Function<dev.davit.oci.Message, String> words) {
        ObjectNode o = Json.object();
        o.put("reference", f.reference());
        o.put("status", f.status().name().toLowerCase(Locale.ROOT));
        o.put("installed_digest", f.installedDigest());
        o.put("remote_digest", f.remoteDigest());
        o.put("checked_at", f.checkedAt() == null ? null : f.checkedAt().toString());
        o.put("cached", f.cached());
        o.put("error", f.error() == null ? null : words.apply(f.error()));
        return o;
    }

    /**
     * One environment of {@code env list}.
     *
     * @param s          its install status
     * @param needs      what it needs ({@link NameResolver#catalogEnvironment})
     * @param compatible whether it works with this davit
     * @return the status's fields with {@code action}, {@code action_reason}, {@code description},
     *         {@code platform} and {@code compatible}
     */
    public static ObjectNode listed(InstallStatus s, NameResolver.Resolution needs, boolean compatible) {
        ObjectNode o = (ObjectNode) s.toJson();
        o.put("action", needs.action().name().toLowerCase(Locale.ROOT));
        o.put("action_reason", needs.reason());
        o.put("description", s.environment().description());
        o.put("platform", s.environment().platform());
        o.put("compatible", compatible);
        return o;
    }

    /**
     * The {@code env inspect} document.
     *
     * @param e                 the environment
     * @param s                 its install status
     * @param registryReference its image in a registry, or null
     * @param compatible        whether it works with this davit
     * @param catalog           {@link #catalog}
     * @param freshness         {@link #freshness}, or null
     * @return the environment's catalog entry, {@code install}, {@code catalog} and {@code freshness}
     */
    public static ObjectNode inspect(Environment e, InstallStatus s, String registryReference, boolean compatible,
                                     ObjectNode catalog, ObjectNode freshness) {
        ObjectNode doc = Json.object();
        doc.put("name", e.name());
        doc.put("version", e.version());
        doc.put("kind", e.kind().name().toLowerCase(Locale.ROOT));
        doc.put("description", e.description());
        doc.put("distribution", e.distribution());
        doc.put("distribution_version", e.distributionVersion());
        doc.put("platform", e.platform());
        doc.put("davit_versions", e.davitVersions());
        doc.put("compatible", compatible);
        ArrayNode pk = doc.putArray("packages");
        e.packages().forEach(pk::add);
        ArrayNode af = doc.putArray("artifacts");
        e.artifacts().forEach(af::add);
        ObjectNode src = doc.putObject("source");
        src.put("profile", e.source().profile());
        src.put("reference", e.source().reference());
        src.put("registry_reference", registryReference);
        src.put("digest", e.source().digest());
        src.put("archive", e.source().archive());
        src.put("build", e.source().build());
        // who must have signed it (the catalog's signedBy; installs verify it): its kind, or null for no one
        src.put("signed_by", e.source().signedBy() == null ? null : e.source().signedBy().kind());
        doc.set("install", s.toJson());
        doc.set("catalog", catalog);
        if (freshness != null) {
            doc.set("freshness", freshness);
        } else {
            doc.putNull("freshness");
        }
        return doc;
    }
}
