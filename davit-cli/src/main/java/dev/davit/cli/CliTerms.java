package dev.davit.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A library message in the CLI's terms. The library (davit-oci, davit-env, davit-sandbox) names its own methods in
 * errors ({@code Network.NAT needs it}, {@code see Workspaces.list()}); a CLI user gets the flag or command that does
 * the same ({@code --network needs it}, {@code see 'davit workspace ls'}). The MCP server goes on from here to its
 * tool terms ({@code dev.davit.cli.mcp.ModelTerms}).
 *
 * <p>One table, applied in order: whole phrases where the CLI's wording differs from a term-by-term translation,
 * then each library term with its arguments, then each bare term. A {@code {name}} in a library text stands for a
 * value (an id, a reference, a registry): inside quotes anything up to the closing quote, else a run of characters
 * without blanks, quotes, parentheses, commas or semicolons. Every library term in a library message has a rule
 * here (CliTermsTest scans the library sources for them).
 */
public final class CliTerms {
    /** One library text and its CLI text. */
    record Rule(String library, String cli, Pattern pattern, List<String> names) {
    }

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{(\\w+)}");

    static final List<Rule> RULES = List.of(
            // phrases
            rule("run without limits (Limits.NONE)",
                    "run without limits with --no-limits (or --memory 0 --cpus 0 --pids 0)"),
            rule("a RunSpec or CreateSpec with memory or CPU limits fails here",
                    "a container run or sandbox create that gives --memory or --cpus fails here, one with the"
                            + " defaults runs with only its processes bounded (RLIMIT_NPROC) and warns"),
            rule("or with a process limit only (Limits.memoryMiB and Limits.cpus 0: RLIMIT_NPROC bounds it)",
                    "or with --memory 0 --cpus 0 (its processes bounded by RLIMIT_NPROC)"),
            rule("(Limits.enforceableHere())", "(as davit run does with the default limits)"),
            rule("use nat (the outside only), host (the host's network, loopback included) or none",
                    "use --network (nat: the outside only), --network=host (the host's network, loopback included)"
                            + " or --network=none"),
            rule("a PortMapping needs", "--publish needs"),
            rule("PortMapping.parse cannot read '{s}'", "invalid --publish '{s}'"),
            rule("ADDR:HOST_PORT:PORT, e.g. 8080:80", "ADDR:HOST_PORT:PORT, e.g. --publish 8080:80"),
            rule("a PortMapping port", "a --publish port"),
            rule("an output limit (RunSpec.maxOutput, the maxOutput of Sandboxes.exec)", "--max-output"),
            rule("drop the output limit", "drop --max-output"),
            rule("the maxOutput of Sandboxes.exec", "--max-output"),
            rule("give Services.start a longer timeout", "give a longer --ready-timeout"),
            rule("ExecSpec.builder needs a command to run", "give a command to run"),
            rule("ServiceSpec.builder needs a command to run", "give a command to run"),
            rule("ServiceSpec.builder needs a service name", "give a service name"),
            rule("(see DavitClient.images())", "(see 'davit images')"),
            rule("is damaged: run DavitClient.fsck(true)", "is damaged: run 'davit fsck --repair'"),
            atEnd("; run DavitClient.fsck(true)", "; run 'davit fsck --repair'"),
            rule("re-run with CatalogOptions.withOffline(false)", "re-run without --offline"),
            rule("use Workspaces.listFiles, Workspaces.readFile or Workspaces.export, or stop it first",
                    "use 'davit workspace file ls|read' or 'davit workspace export' (MCP: workspace_file_list,"
                            + " workspace_file_read, workspace_export), or stop it first"),
            rule("(Workspaces.create with Secrets.of)", "(--secret NAME=VALUE or --secret-file NAME=PATH)"),
            rule("set RunSpec.runtime to {a} or {b}", "use --runtime {a} or {b}"),
            rule("set RunSpec.runtime to {a}", "use --runtime {a}"),
            rule("(Workspaces.readFile(id, path, maxBytes))", "(davit workspace file read --max-bytes N)"),
            rule("the artifactType of DavitClient.artifactPush", "--artifact-type"),
            rule("(secretEnv", "(--secret-env"),
            // terms with arguments
            rule("DavitClient.login(\"{registry}\", credentials)", "'davit login {registry}'"),
            rule("DavitClient.tags(\"{repository}\")", "'davit tags {repository}'"),
            rule("DavitClient.pull(\"{ref}\", PlatformSelector.of(Platform.parse(\"{platform}\")), ...)",
                    "davit pull --platform {platform} {ref}"),
            rule("DavitClient.pull(\"{ref}\", ...)", "davit pull {ref}"),
            rule("DavitClient.fsck(true)", "davit fsck --repair"),
            rule("DavitClient.fsck(false)", "davit fsck"),
            rule("DavitClient.images()", "davit images"),
            rule("PlatformSelector.of(Platform.parse(\"{platform}\"))", "--platform {platform}"),
            rule("PlatformSelector.of(platform)", "--platform"),
            rule("PlatformSelector.allPlatforms()", "--all-platforms"),
            rule("ClientOptions.withInsecureRegistries(Set.of(\"{registry}\"))", "--insecure-registry {registry}"),
            rule("ImportOptions.withMap('{name}'={ref})", "--map '{name}'={ref}"),
            rule("ImportOptions.withMap({name}={ref})", "--map {name}={ref}"),
            rule("ImportOptions.withAs({ref})", "--as {ref}"),
            rule("ImportOptions.withRepository({repository})", "--repo {repository}"),
            rule("BuildOptions.Builder.keepMtimes(true)", "--keep-mtimes"),
            rule("CatalogOptions.withCatalog(PATH)", "--catalog PATH"),
            rule("CatalogOptions.withOffline(true)", "--offline"),
            rule("Davit.image(\"{name}\") installs it again", "run 'davit env pull {name}' to repair it"),
            rule("Installer.install(catalog, {name})", "'davit env pull {name}'"),
            rule("NameResolver.Facts.offline()", "--offline"),
            rule("SandboxOptions.withAllowWeakerSandbox(true)", "--allow-weaker-sandbox"),
            rule("Sandboxes.doctor()", "'davit doctor'"),
            rule("Sandboxes.reap()", "'davit sandbox reap'"),
            rule("Sandboxes.start(\"{id}\")", "'davit sandbox start {id}'"),
            rule("Workspaces.list()", "'davit workspace ls'"),
            rule("Workspaces.start(\"{id}\")", "'davit workspace start {id}'"),
            rule("Workspaces.start(id)", "'davit workspace start'"),
            rule("Workspaces.stop(\"{id}\")", "'davit workspace stop {id}'"),
            rule("Workspaces.stop(id)", "'davit workspace stop'"),
            rule("Workspaces.rm(\"{id}\")", "'davit workspace rm {id}'"),
            rule("Workspaces.reset(id, null)", "'davit workspace reset'"),
            rule("Workspaces.snapshots(\"{id}\")", "'davit workspace snapshot ls {id}'"),
            rule("Workspaces.removeSnapshot(\"{id}\", \"{name}\")", "'davit workspace snapshot rm {id} {name}'"),
            rule("Workspaces.services(\"{id}\").stop(\"{name}\")", "'davit workspace service stop {id} {name}'"),
            rule("Workspaces.services(\"{id}\").stop(name)", "'davit workspace service stop {id} NAME'"),
            rule("Workspaces.shells(\"{id}\").close(id)", "'davit workspace shell close {id} SHELL'"),
            rule("Workspaces.services(\"{id}\").logs(\"{name}\", lines)",
                    "'davit workspace service logs {id} {name}'"),
            rule("Workspaces.services(\"{id}\").list()", "'davit workspace service ls {id}'"),
            rule("Workspaces.shells(\"{id}\").list()", "'davit workspace shell ls {id}'"),
            rule("Workspaces.shells(\"{id}\").read(\"{shell}\", options)",
                    "'davit workspace shell read {id} {shell}'"),
            rule("Shells.read(id, options)", "'davit workspace shell read'"),
            // bare terms
            rule("BuildOptions.Builder.fileMtime", "SOURCE_DATE_EPOCH"),
            rule("BuildOptions.Builder.platform", "--platform"),
            rule("ClientOptions.withInsecureRegistries", "--insecure-registry"),
            rule("ClientOptions.withStore", "--store"),
            rule("CreateSpec.Builder.publish", "--publish"),
            rule("DavitClient.artifactPush", "'davit artifact push'"),
            rule("DavitClient.inspectRemote", "--remote"),
            rule("ImportOptions.withMap", "--map"),
            rule("ImportOptions.withAs", "--as"),
            rule("ImportOptions.withRepository", "--repo"),
            rule("ImportOptions.withMaxTotalBytes", "--max-size"),
            rule("Installer.Options.offline", "--offline"),
            rule("Workspaces.ownedBy", "--owner"),
            rule("Limits.memoryMiB", "--memory"),
            rule("Limits.cpus", "--cpus"),
            rule("Limits.pids", "--pids"),
            rule("Limits.diskMiB", "--disk"),
            rule("Limits.NONE", "--no-limits"),
            rule("Totals.NONE, or run davit as root", "no totals (mcp serve --allow-unlimited), or run davit as root"),
            rule("Sandboxes.setTotals", "set by davit mcp serve"),
            rule("Totals.memoryMiB", "--max-memory"),
            rule("Totals.cpus", "--max-cpus"),
            rule("Totals.pids", "the process total"),
            rule("Network.NAT", "--network"),
            rule("Network.HOST", "--network=host"),
            rule("Network.NONE", "--network=none"),
            rule("RunSpec.vcpus", "--vcpus"),
            rule("RunSpec.memoryMiB", "--memory"),
            rule("RunSpec.maxOutput", "--max-output"),
            rule("ExecSpec.Builder.workdir", "--workdir"),
            rule("ExecSpec.Builder.timeout", "--timeout"),
            rule("ExecSpec.Builder.maxOutput", "--max-output"),
            rule("ServiceSpec.Builder.readyTimeout", "--ready-timeout"),
            rule("RunSpec.runtime", "--runtime"),
            rule("UnpackOptions.Builder.maxEntries", "--max-entries"),
            rule("UnpackOptions.Builder.maxBytes", "--max-size"),
            rule("Sandboxes.exec", "'davit sandbox exec'"),
            rule("Secrets.of", "--secret"),
            rule("Services.start", "'davit workspace service start'"),
            rule("Workspaces.create", "'davit workspace create'"),
            rule("Workspaces.listFiles", "'davit workspace file ls'"),
            rule("Workspaces.readFile", "'davit workspace file read'"),
            rule("WorkspaceDiff.page", "'davit workspace diff' (--patch-offset, --patch-max)"),
            rule("Workspaces.export", "'davit workspace export'"));

    private CliTerms() {
    }

    /** {@code message} (a library's, or the CLI's own, which has no library terms) in the CLI's terms. */
    public static String rewrite(String message) {
        if (message == null) {
            return null;
        }
        String m = message;
        for (Rule r : RULES) {
            m = apply(r, m);
        }
        return m;
    }

    private static String apply(Rule r, String m) {
        Matcher x = r.pattern().matcher(m);
        StringBuilder out = new StringBuilder();
        while (x.find()) {
            String cli = r.cli();
            for (int i = 0; i < r.names().size(); i++) {
                cli = cli.replace("{" + r.names().get(i) + "}", x.group(i + 1));
            }
            x.appendReplacement(out, Matcher.quoteReplacement(cli));
        }
        x.appendTail(out);
        return out.toString();
    }

    private static Rule rule(String library, String cli) {
        return compile(library, cli, "");
    }

    /** A rule for a library text that ends the message. */
    private static Rule atEnd(String library, String cli) {
        return compile(library, cli, "$");
    }

    private static Rule compile(String library, String cli, String anchor) {
        StringBuilder re = new StringBuilder();
        // a term is matched whole: never inside a longer name of the message's other text (a log line, a path:
        // com.acme.Secrets.ofEnv, Network.NATIVE)
        if (Character.isJavaIdentifierPart(library.charAt(0))) {
            re.append("(?<![\\w.$])");
        }
        List<String> names = new ArrayList<>();
        Matcher p = PLACEHOLDER.matcher(library);
        int at = 0;
        while (p.find()) {
            re.append(Pattern.quote(library.substring(at, p.start())));
            char before = p.start() > 0 ? library.charAt(p.start() - 1) : ' ';
            re.append(before == '"' ? "([^\"]*)" : before == '\'' ? "([^']*)" : "([^\\s\"'(),;]+)");
            names.add(p.group(1));
            at = p.end();
        }
        re.append(Pattern.quote(library.substring(at)));
        if (Character.isJavaIdentifierPart(library.charAt(library.length() - 1))) {
            re.append("(?![\\w$])");
        }
        re.append(anchor);
        return new Rule(library, cli, Pattern.compile(re.toString()), List.copyOf(names));
    }
}
