package dev.davit.mcp;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.davit.sandbox.target.RunTargets;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.env.Environment;
import dev.davit.env.catalog.CatalogResolver;
import dev.davit.env.json.EnvJson;
import dev.davit.env.resolve.NameResolver;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.RunTarget;
import java.util.Map;

/**
 * The env_ tools' calls and what they share with run and workspace_create: the catalog, installing one of its
 * environments (environment_pull, and before a run or workspace of it: {@link Installs}), and the environment or image
 * a call names.
 */
final class EnvCalls {
    private final Policy policy;
    /** This davit's version (an environment says which versions it works with). */
    private final String version;
    /** The registry client over the home's store ({@link ToolCalls}', made at its first use). */
    private final java.util.function.Supplier<dev.davit.oci.client.DavitClient> client;
    /** The library's client defaults with davit's User-Agent ({@link ToolCalls}'). */
    private final java.util.function.Supplier<dev.davit.oci.client.ClientOptions> clientOptions;

    /** The model's words for a library note (an install's fallback and why); set once the tools are known. */
    private volatile java.util.function.Function<dev.davit.oci.Message, String> words = String::valueOf;

    EnvCalls(Policy policy, String version, java.util.function.Supplier<dev.davit.oci.client.DavitClient> client,
             java.util.function.Supplier<dev.davit.oci.client.ClientOptions> clientOptions) {
        this.policy = policy;
        this.version = version;
        this.client = client;
        this.clientOptions = clientOptions;
    }

    /** The catalog: the built-in one (as the CLI's without --catalog). */
    dev.davit.env.Catalog catalog() {
        return resolved().catalog();
    }

    private CatalogResolver.Resolved resolved() {
        return new CatalogResolver(client).resolve(new dev.davit.env.catalog.CatalogOptions(null, false, false,
                System.getenv(), policy.davitHome()));
    }

    /** Whether {@code e} works with this davit. */
    private boolean compatible(Environment e) {
        return dev.davit.env.catalog.DavitVersions.accepts(e.davitVersions(), version);
    }

    ObjectNode envList(Map<String, Object> a, Tool.Call call) {
        CatalogResolver.Resolved r = resolved();
        dev.davit.env.install.Installer installer = installer(null);
        NameResolver.Facts facts = NameResolver.facts(r.catalog(), installer, client.get(), false);
        ObjectNode doc = Json.object();
        doc.set("catalog", EnvJson.catalog(r));
        ArrayNode arr = doc.putArray("environments");
        for (dev.davit.env.install.InstallStatus s : installer.list(r.catalog())) {
            arr.add(EnvJson.listed(s, NameResolver.catalogEnvironment(s.environment().name(), facts),
                    compatible(s.environment())));
        }
        return doc;
    }

    ObjectNode envInspect(Map<String, Object> a, Tool.Call call) {
        CatalogResolver.Resolved r = resolved();
        Environment e = dev.davit.env.catalog.Catalogs.require(r.catalog(), (String) a.get("name"));
        dev.davit.env.install.InstallStatus s = installer(null).status(e);
        String ref = e.source().reference() == null ? null
                : dev.davit.env.catalog.SourceReferences.resolve(e.source().reference(), System.getenv()).toString();
        dev.davit.env.freshness.Freshness f = ref == null ? null : dev.davit.env.freshness.FreshnessChecker.quick(
                clientOptions.get(), policy.davitHome()).check(ref, s.sourceDigest());
        return EnvJson.inspect(e, s, ref, compatible(e), EnvJson.catalog(r), f == null ? null
                : EnvJson.freshness(f, call::inModelTerms));
    }

    /** Library notes (an install's steps, a fallback and why) worded for the model by {@code words}. */
    void speaking(java.util.function.Function<dev.davit.oci.Message, String> words) {
        this.words = words;
    }

    dev.davit.env.install.Installer installer(java.util.function.Consumer<String> progress) {
        return dev.davit.env.install.Installer.local(client.get(), policy.davitHome(), null,
                progress == null ? null : m -> progress.accept(words.apply(m)));
    }

    /**
     * Installs catalog environment {@code name} unless it is installed (environment_pull, and before a run or workspace of
     * it: see {@link Installs}), telling {@code progress} each step.
     */
    ObjectNode install(String name, java.util.function.Consumer<String> progress) {
        dev.davit.env.Catalog c = catalog();
        Environment e = dev.davit.env.catalog.Catalogs.require(c, name);
        if (!compatible(e)) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "environment " + e.name()
                    + " " + e.version() + " needs davit " + e.davitVersions() + ", this is davit " + version
                    + "; use an environment that works with it (environment_list says which: compatible)");
        }
        progress.accept("installing " + e.name() + " " + e.version());
        dev.davit.env.install.Installer.InstallResult r = installer(progress).install(c, e);
        return Json.object().put("name", e.name()).put("version", e.version())
                .put("kind", e.kind().name().toLowerCase(java.util.Locale.ROOT)).put("path", r.path().toString())
                .put("origin", r.origin().name().toLowerCase(java.util.Locale.ROOT))
                .put("source_digest", r.sourceDigest()).put("repaired", r.repaired());
    }

    /** What a run or workspace runs: a catalog environment (installed already, see Installs) or an image. */
    RunTarget target(Map<String, Object> a, Tool.Call call) {
        return RunTargets.resolve(client.get(), policy.davitHome(), null, (String) a.get("environment"), null,
                m -> call.progress(words.apply(m)));
    }
}
