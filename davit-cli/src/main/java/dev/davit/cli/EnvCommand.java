package dev.davit.cli;

import dev.davit.cli.words.CliWords;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.env.catalog.CatalogOptions;
import dev.davit.env.catalog.CatalogParser;
import dev.davit.env.catalog.CatalogResolver;
import dev.davit.env.catalog.Catalogs;
import dev.davit.env.catalog.DavitVersions;
import dev.davit.env.catalog.SourceReferences;
import dev.davit.env.freshness.Freshness;
import dev.davit.env.freshness.FreshnessChecker;
import dev.davit.env.json.EnvJson;
import dev.davit.env.install.InstallStatus;
import dev.davit.env.install.Installer;
import dev.davit.env.install.PruneResult;
import dev.davit.env.resolve.NameResolver;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.client.DavitHome;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit env list|inspect|pull|prune|resolve}: named, versioned environments from a catalog. */
@Command(name = "environment", aliases = "env", mixinStandardHelpOptions = true,
        description = "Environments: list, inspect, pull (install), prune, resolve names and build from Debian.",
        subcommands = {EnvCommand.ListCmd.class, EnvCommand.InspectCmd.class, EnvCommand.PullCmd.class,
            EnvCommand.PruneCmd.class, EnvCommand.ResolveCmd.class, EnvBuildCommand.class})
final class EnvCommand extends GroupCommand {
    /** Base of the env subcommands: catalog, installer and freshness built on the command's client. */
    abstract static class Sub extends DavitCommand {
        @picocli.CommandLine.Mixin
        CatalogFlagsMixin flags = new CatalogFlagsMixin();

        private CatalogResolver.Resolved resolved;

        Path home() {
            return DavitHome.resolve(main.env());
        }

        CatalogResolver.Resolved catalog(Output out) {
            if (resolved == null) {
                CatalogOptions o = new CatalogOptions(flags.catalog, flags.refresh, flags.offline, main.env(), home());
                catalogNotice(out);
                resolved = new CatalogResolver(this::client).resolve(o);
                resolved.warnings().forEach(out::warn);
            }
            return resolved;
        }

        private void catalogNotice(Output out) {
            out.notice("==> catalog " + (flags.catalog == null ? "(built-in)" : flags.catalog));
        }

        /**
         * False when the catalog cannot have an environment called {@code name}: it is the built-in one and the name
         * is not a valid environment name (an image reference with a registry, a repository path or a digest).
         * Then the catalog is not parsed at all (a quarter of a short {@code davit run}); its notice is printed all
         * the same. A user's catalog is always read, so that its errors are reported as before.
         */
        boolean catalogMayName(Output out, String name) {
            if (resolved != null || flags.catalog != null || CatalogParser.isEnvironmentName(name)) {
                return true;
            }
            catalogNotice(out);
            return false;
        }

        /** An installer for status and listing (never installs anything itself). */
        Installer installer() {
            return new Installer(home(), client(), ref -> SourceReferences.resolve(ref, main.env()).toString());
        }

        /**
         * An installer that installs: pulls unless --offline, falls back to a local build of the environment's
         * build profile, and tells the user about each fallback.
         */
        Installer installer(Output out) {
            return new Installer(home(), client(), ref -> SourceReferences.resolve(ref, main.env()).toString(),
                    new Installer.Options(localBuilder(out), flags.offline, note -> out.notice(Message.of("note: ", note))));
        }

        EnvLocalBuilder localBuilder(Output out) {
            return new EnvLocalBuilder(this::client, home(), main.env(), out);
        }

        /** What {@link NameResolver} needs to know about this machine, asked as it needs it. */
        NameResolver.Facts facts(Catalog catalog, Output out) {
            return NameResolver.facts(catalog, installer(out), client(), flags.offline);
        }

        /** Freshness asks once, without retries, so an unreachable registry costs one quick failure. */
        FreshnessChecker freshness() {
            return FreshnessChecker.quick(main.clientOptions(), home());
        }

        /** A usage error when {@code e} does not work with this davit's version. */
        static void requireCompatible(Environment e) {
            if (!DavitVersions.accepts(e.davitVersions(), Main.version())) {
                throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "environment "
                        + e.name() + " " + e.version() + " needs davit " + e.davitVersions() + ", this is davit "
                        + Main.version() + "; upgrade davit or use a catalog with a compatible version");
            }
        }

        String registryReference(Environment e) {
            if (e.source().reference() == null) {
                return null;
            }
            return SourceReferences.resolve(e.source().reference(), main.env()).toString();
        }

        ObjectNode catalogJson(CatalogResolver.Resolved r) {
            return EnvJson.catalog(r);
        }

        static ObjectNode freshnessJson(Freshness f) {
            return EnvJson.freshness(f, CliWords::text);
        }
    }

    /** Catalog options shared by the subcommands. */
    static final class CatalogFlagsMixin {
        static final String CATALOG_TEXT = "A catalog file (path or file://) or oci://REGISTRY/REPO:TAG (default: "
                + "the built-in one).";
        static final String REFRESH_TEXT = "Fetch a remote catalog again (falls back to the cache on failure).";
        static final String OFFLINE_TEXT = "Never use the network: the catalog from a local file or the cache, "
                + "environments from their install or the store (no pull, no build).";
        @Option(names = "--catalog", paramLabel = "CATALOG",
                description = CATALOG_TEXT)
        String catalog;

        @Option(names = "--refresh", description = REFRESH_TEXT)
        boolean refresh;

        @Option(names = "--offline", description = OFFLINE_TEXT)
        boolean offline;
    }

    /** {@code davit env list [--check]}. */
    @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true,
            description = "List the catalog's environments and whether each is installed.")
    static final class ListCmd extends Sub {
        @Option(names = "--check", description = "Also ask the registry whether a newer digest exists (cached 24 h).")
        boolean check;

        @Override
        protected int run(Output out) {
            CatalogResolver.Resolved r = catalog(out);
            ObjectNode doc = Json.object();
            doc.set("catalog", catalogJson(r));
            ArrayNode arr = doc.putArray("environments");
            FreshnessChecker fc = check ? freshness() : null;
            NameResolver.Facts facts = facts(r.catalog(), out);
            for (InstallStatus s : installer().list(r.catalog())) {
                NameResolver.Resolution needs = NameResolver.catalogEnvironment(s.environment().name(), facts);
                ObjectNode o = EnvJson.listed(s, needs, DavitVersions.accepts(s.environment().davitVersions(),
                        Main.version()));
                String ref = fc == null ? null : registryReference(s.environment());
                if (ref != null) {
                    Freshness f = fc.check(ref, s.sourceDigest());
                    o.set("freshness", freshnessJson(f));
                    String profile = facts.buildProfile(s.environment().name());
                    if (needs.action() == NameResolver.Action.PULL && f.remoteDigest() == null && f.error() != null
                            && profile != null && !facts.catalogEnvironmentInStore(s.environment().name())) {
                        // the registry was asked and cannot serve it: the install will build
                        o.put("action", "build");
                        o.put("action_reason", "catalog environment, not installed; the registry cannot serve it ("
                                + CliWords.text(f.error()) + "), build it from profile " + profile);
                    }
                }
                arr.add(o);
            }
            out.result(doc, w -> {
                w.printf("%-20s %-12s %-10s %-14s %s%n", "NAME", "VERSION", "KIND", "NEEDS", "DESCRIPTION");
                arr.forEach(o -> w.printf("%-20s %-12s %-10s %-14s %s%n", Text.printable(o.path("name").asText()),
                        Text.printable(o.path("version").asText()), o.path("kind").asText(),
                        o.path("action").asText()
                                + ("update_available".equals(o.at("/freshness/status").asText()) ? "*" : ""),
                        Text.printable(o.path("description").asText(""))));
            });
            return 0;
        }
    }

    /** {@code davit env inspect NAME}. */
    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Show an environment: catalog entry, install status and freshness at the registry.")
    static final class InspectCmd extends Sub {
        @Parameters(paramLabel = "NAME", description = "An environment name, e.g. debian:12.")
        String name;

        @Override
        protected int run(Output out) {
            CatalogResolver.Resolved r = catalog(out);
            Environment e = Catalogs.require(r.catalog(), name);
            InstallStatus s = installer().status(e);
            String ref = registryReference(e);
            Freshness f = ref == null ? null : freshness().check(ref, s.sourceDigest());
            ObjectNode doc = EnvJson.inspect(e, s, ref, DavitVersions.accepts(e.davitVersions(), Main.version()),
                    catalogJson(r), f == null ? null : freshnessJson(f));
            out.result(doc, w -> {
                w.println(Text.printable(e.name()) + " " + Text.printable(e.version()) + " ("
                        + e.kind().name().toLowerCase(Locale.ROOT) + ", " + Text.printable(String.valueOf(e.platform()))
                        + ")");
                if (e.description() != null) {
                    w.println("  " + Text.printable(e.description()));
                }
                w.println("  installed: " + (s.installed() ? "yes, at " + s.path() : "no (" + Text.printable(s.reason()) + ")"));
                if (ref != null) {
                    w.println("  source:    " + Text.printable(ref));
                }
                Environment.Signer signer = e.source().signedBy();
                String installedBy = doc.path("install").path("signed_by").asText(null);
                w.println("  signed by: " + (signer == null ? "not required (the catalog names no signer)"
                        : switch (signer.kind()) {
                            case "sigstore" -> "a sigstore key, required";
                            case "gpg" -> "a GPG key, required";
                            default -> Text.printable(signer.subjectEmail()) + " (" + Text.printable(signer.oidcIssuer())
                                    + "), keyless, required";
                        }) + (installedBy != null ? "; installed: " + Text.printable(installedBy) : ""));
                if (f != null) {
                    w.println("  freshness: " + f.status().name().toLowerCase(Locale.ROOT).replace('_', ' ')
                            + (f.error() != null && f.status() == Freshness.Status.UNKNOWN ? " (" + Text.shorten(CliWords.text(f.error()), 120) + ")" : ""));
                }
            });
            return 0;
        }
    }

    /** {@code davit env pull NAME}. */
    @Command(name = "pull", aliases = "install", mixinStandardHelpOptions = true,
            description = "Install an environment (or repair an invalid install); a valid install is kept as it is.")
    static final class PullCmd extends Sub {
        @Parameters(paramLabel = "NAME", description = "An environment name, e.g. debian:12.")
        String name;

        @Override
        protected int run(Output out) {
            CatalogResolver.Resolved r = catalog(out);
            Environment e = Catalogs.require(r.catalog(), name);
            requireCompatible(e);
            out.notice("==> installing " + e.name() + " " + e.version());
            Installer.InstallResult res = installer(out).install(r.catalog(), e);
            out.notice("==> done");
            ObjectNode doc = Json.object();
            doc.put("name", e.name());
            doc.put("version", e.version());
            doc.put("kind", e.kind().name().toLowerCase(Locale.ROOT));
            doc.put("path", res.path().toString());
            doc.put("origin", res.origin().name().toLowerCase(Locale.ROOT));
            doc.put("source_digest", res.sourceDigest());
            doc.put("repaired", res.repaired());
            out.result(doc, w -> w.println((res.origin() == Installer.Origin.EXISTING ? "already installed: "
                    : "installed: ") + Text.printable(e.name()) + " " + Text.printable(e.version()) + " at "
                    + res.path() + (res.repaired() != null ? " (repaired: " + Text.printable(res.repaired()) + ")" : "")));
            return 0;
        }
    }

    /** {@code davit env prune}. */
    @Command(name = "prune", mixinStandardHelpOptions = true,
            description = "Delete partial, invalid and stale installs (names or versions the catalog no longer has).")
    static final class PruneCmd extends Sub {
        @Override
        protected int run(Output out) {
            CatalogResolver.Resolved r = catalog(out);
            PruneResult p = installer().prune(r.catalog());
            out.result(p.toJson(), w -> {
                p.deletedEnvironmentDirs().forEach(d -> w.println("deleted " + Text.printable(d)));
                w.println(p.count() + (p.count() == 1 ? " directory" : " directories") + " deleted");
            });
            return 0;
        }
    }

    /** {@code davit env resolve NAME}: what a name is and what it needs, without side effects. */
    @Command(name = "resolve", mixinStandardHelpOptions = true,
            description = "Classify a name (catalog environment, registry image, bundle, directory to build) and the"
                    + " action it needs (installed, pull, build, missing). Changes nothing.")
    static final class ResolveCmd extends Sub {
        @Parameters(paramLabel = "NAME", description = "What would be run.")
        String name;

        @Override
        protected int run(Output out) {
            NameResolver.Resolution res = NameResolver.resolve(name, facts(catalog(out).catalog(), out));
            ObjectNode doc = Json.object();
            doc.put("name", res.name());
            doc.put("kind", res.kind().name().toLowerCase(Locale.ROOT));
            doc.put("action", res.action().name().toLowerCase(Locale.ROOT));
            doc.put("target", res.target());
            doc.put("reason", res.reason());
            out.result(doc, w -> w.println(Text.printable(res.name()) + ": " + doc.get("kind").asText() + ", action "
                    + doc.get("action").asText() + " (" + doc.get("reason").asText() + ")"));
            return 0;
        }
    }
}
