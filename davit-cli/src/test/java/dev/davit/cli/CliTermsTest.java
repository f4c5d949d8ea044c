package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.vm.QemuBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import picocli.CommandLine;

/**
 * The library speaks of its own methods, the CLI of its flags and commands: the library sources (davit-oci,
 * davit-env, davit-sandbox) hold no CLI flag or davit command line in a string, every library term they hold is
 * translated by {@link CliTerms}, and a library message comes out of {@link CliTerms#rewrite} as the CLI printed it
 * before the library spoke of methods.
 */
class CliTermsTest {
    private static final List<Path> LIBRARY = List.of(Path.of("../davit-oci/src/main/java"),
            Path.of("../davit-env/src/main/java"), Path.of("../davit-sandbox/src/main/java"));

    /** A library term: {@code Type.member}, {@code Type.Nested.member} or {@code Type.CONSTANT}. */
    static final Pattern TERM = Pattern.compile(
            "(?<![\\w.$-])[A-Z][A-Za-z0-9]*(?:\\.[A-Z][A-Za-z0-9]*)*\\.[A-Za-z_][A-Za-z0-9_]*");

    private static final Pattern FLAG = Pattern.compile("(?<![\\w-])--([a-z][a-z0-9-]*)");

    /**
     * Flags of other programs that happen to be davit options too, each with the text that shows it is the other
     * program's (a command line the library runs or tells the user to run as root).
     */
    private static final Map<String, String> HOST_FLAGS = Map.of(
            "user", "systemd-run --user|unshare --user",
            "format", "git log -1 --format");

    /** Texts with a davit command that are no advice: the {@code created_by} of the images davit builds. */
    private static final Set<String> NOT_ADVICE = Set.of("davit build");

    /**
     * What looks like a term and is none (a locale, a file name, a tar header key), or a term of the library's own
     * facade ({@code dev.davit.Davit}, {@code ExecRequest}) or of a use the CLI never makes (an {@code ExecSpec}
     * with stdin or tees given to {@code Sandboxes.spawn}, a capture out of range).
     */
    private static final Set<String> NOT_CLI_TERMS = Set.of("C.UTF", "SANDBOX.md", "SCHILY.xattr",
            "Davit.Builder.reapEvery", "Davit.Builder.sandboxOptions", "Davit.Builder.home", "Davit.open", "Davit.openWorkspace", "Davit.workspace", "ExecRequest.builder",
            "ExecSpec.Builder.capture", "ExecSpec.Builder.stdin", "ExecSpec.Builder.tees", "Sandboxes.spawn",
            "SandboxOptions.withBwrap");

    /** One string of a library source: a literal, or adjacent literals joined with {@code +}. */
    record Literal(Path file, int line, String text) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + text;
        }
    }

    @Test
    void libraryStringsNameNoCliFlag() {
        Set<String> options = new TreeSet<>();
        for (CommandLine c : ShellDocs.commands(ShellDocs.commandLine())) {
            c.getCommandSpec().options().forEach(o -> Stream.of(o.names()).filter(n -> n.startsWith("--"))
                    .forEach(n -> options.add(n.substring(2))));
        }
        assertThat(options).contains("network", "publish", "remote", "allow-weaker-sandbox", "offline");
        List<String> found = new ArrayList<>();
        for (Literal l : literals()) {
            if (l.text().matches("--[a-z0-9-]+(=.*)?")) {
                continue; // an argument of a program davit runs
            }
            Matcher m = FLAG.matcher(l.text());
            while (m.find()) {
                String flag = m.group(1);
                if (options.contains(flag) && !(HOST_FLAGS.containsKey(flag)
                        && Pattern.compile(HOST_FLAGS.get(flag)).matcher(l.text()).find())) {
                    found.add("--" + flag + " in " + l);
                }
            }
        }
        assertThat(found).as("CLI flags in library strings (name the library's method instead)").isEmpty();
    }

    @Test
    void libraryStringsNameNoDavitCommand() {
        Set<String> commands = new TreeSet<>(ShellDocs.commandLine().getSubcommands().keySet());
        assertThat(commands).contains("workspace", "login", "fsck", "doctor");
        Pattern command = Pattern.compile("'davit |\\bdavit (" + String.join("|", commands) + ")\\b");
        List<Literal> found = literals().stream().filter(l -> command.matcher(l.text()).find()
                && !NOT_ADVICE.contains(l.text())).toList();
        assertThat(found).as("davit command lines in library strings (name the library's method instead)").isEmpty();
    }

    @Test
    void everyLibraryTermHasARule() {
        Set<String> missing = new TreeSet<>();
        int terms = 0;
        for (Literal l : literals()) {
            Matcher m = TERM.matcher(l.text());
            while (m.find()) {
                String term = m.group();
                if (m.start() > 0 && l.text().charAt(m.start() - 1) == '(' || NOT_CLI_TERMS.contains(term)) {
                    continue; // an argument of a term (Platform.parse in PlatformSelector.of(...))
                }
                terms++;
                if (CliTerms.RULES.stream().noneMatch(r -> r.library().startsWith(term))) {
                    missing.add(term + " (" + l + ")");
                }
            }
        }
        assertThat(terms).as("library terms found").isGreaterThan(50);
        assertThat(missing).as("library terms without a rule in CliTerms").isEmpty();
    }

    @Test
    void everyRuleLeavesCliTextOnly() {
        for (CliTerms.Rule r : CliTerms.RULES) {
            String sample = r.library().replaceAll("\\{\\w+}", "x1");
            String after = r.pattern().pattern().endsWith("$") ? "" : " after";
            String cli = CliTerms.rewrite("before " + sample + after);
            assertThat(cli).as(r.library()).isNotEqualTo("before " + sample + after).startsWith("before ")
                    .endsWith(after);
            assertThat(TERM.matcher(cli).find()).as(r.library() + " -> " + cli).isFalse();
            assertThat(cli).as(r.library()).doesNotContain("{");
        }
    }

    @Test
    void libraryErrorsComeOutAsTheCliPrintedThem() {
        Path root = Path.of("/r");
        cli(() -> Network.parse("wifi"), "unknown network 'wifi'; use --network (nat: the outside only),"
                + " --network=host (the host's network, loopback included) or --network=none");
        cli(() -> new Limits(8, 0, 0), "--memory must be 0 (no limit) or at least 16 MiB, not 8");
        cli(() -> new Limits(0, 5000, 0), "--cpus must be 0 (no limit) or between 0.01 and 4096, not 5000.0");
        cli(() -> new Limits(0, 0, 2), "--pids must be 0 (no limit) or at least 8, not 2");
        cli(() -> PortMapping.parse("8080"), "invalid --publish '8080'; use HOST_PORT:PORT (on 127.0.0.1) or"
                + " ADDR:HOST_PORT:PORT, e.g. --publish 8080:80");
        cli(() -> new PortMapping("::1", 80, 80), "--publish needs an IPv4 host address, not '::1'");
        cli(() -> PortMapping.parse("80:0"), "a --publish port must be between 1 and 65535, not 0");
        cli(() -> CreateSpec.builder(root).publish(List.of(PortMapping.parse("8080:80"))).build(), "--publish needs"
                + " --network (the sandbox's own network namespace); with --network=host the sandbox's ports are"
                + " already the host's");
        cli(() -> RunSpec.builder(root).vcpus(0).build(), "--vcpus must be between 1 and 64, not 0");
        cli(() -> RunSpec.builder(root).memoryMiB(10).build(), "--memory must be at least 64 MiB, not 10");
        cli(() -> dev.davit.sandbox.ExecSpec.builder("true").workdir("tmp").build(),
                "--workdir must be an absolute path in the sandbox, not tmp");
        cli(() -> dev.davit.sandbox.ExecSpec.builder().build(), "give a command to run");
        cli(() -> dev.davit.sandbox.workspace.ServiceSpec.builder("web", "true").readyTimeout(java.time.Duration
                .ofSeconds(-1)).build(), "--ready-timeout must be positive, not -1000 ms");
        cli(() -> RunSpec.builder(root).maxOutput(-1).build(),
                "--max-output must be a positive number of bytes, not -1");
        cli(() -> QemuBackend.refuseMaxOutput(1), "--max-output is not supported by the vm backend (its output"
                + " arrives when the command ends); use the container backend, or drop --max-output");
    }

    @Test
    void libraryMessagesComeOutAsTheCliPrintedThem() {
        String[][] pairs = {
            {"registry r.example requires authentication for repository:a/b:pull; run DavitClient.login(\"r.example\","
                    + " credentials)", "registry r.example requires authentication for repository:a/b:pull; run 'davit"
                    + " login r.example'"},
            {"manifest not found in a/b; check the name and tag with DavitClient.tags(\"a/b\")",
                "manifest not found in a/b; check the name and tag with 'davit tags a/b'"},
            {"cannot reach registry r:5000: x; if the registry serves plain HTTP, pass"
                    + " ClientOptions.withInsecureRegistries(Set.of(\"r:5000\"))",
                "cannot reach registry r:5000: x; if the registry serves plain HTTP, pass --insecure-registry r:5000"},
            {"base image a:1 is not in the store; pull it first (DavitClient.pull(\"a:1\", ...))",
                "base image a:1 is not in the store; pull it first (davit pull a:1)"},
            {"base a:1 is linux/amd64, not linux/arm64; pull it for that platform (DavitClient.pull(\"a:1\","
                    + " PlatformSelector.of(Platform.parse(\"linux/arm64\")), ...)) or drop BuildOptions.Builder.platform",
                "base a:1 is linux/amd64, not linux/arm64; pull it for that platform (davit pull --platform"
                    + " linux/arm64 a:1) or drop --platform"},
            {"unpack needs one platform of a:1; give PlatformSelector.of(platform) instead of"
                    + " PlatformSelector.allPlatforms()", "unpack needs one platform of a:1; give --platform instead of"
                    + " --all-platforms"},
            {"blob sha256:1 in the store is corrupt (its content does not match its digest); run"
                    + " DavitClient.fsck(true) and pull again", "blob sha256:1 in the store is corrupt (its content"
                    + " does not match its digest); run davit fsck --repair and pull again"},
            {"layer f is not valid zstd (x); the blob sha256:1 is damaged: run DavitClient.fsck(true) and pull again",
                "layer f is not valid zstd (x); the blob sha256:1 is damaged: run 'davit fsck --repair' and pull"
                    + " again"},
            {"cannot remove the damaged blob /b: x; run DavitClient.fsck(true)",
                "cannot remove the damaged blob /b: x; run 'davit fsck --repair'"},
            {"a:1 is not in the store; pull or build it first (see DavitClient.images())",
                "a:1 is not in the store; pull or build it first (see 'davit images')"},
            {"a:1 is not in the store; pull it first or use DavitClient.inspectRemote",
                "a:1 is not in the store; pull it first or use --remote"},
            {"b.tar: entry 'latest' is not a reference: a bare tag names no repository; import it with"
                    + " ImportOptions.withAs(REF) (one-entry bundles), ImportOptions.withMap('latest'=REF) or"
                    + " ImportOptions.withRepository(REPO) (as REPO:latest)", "b.tar: entry 'latest' is not a"
                    + " reference: a bare tag names no repository; import it with --as REF (one-entry bundles), --map"
                    + " 'latest'=REF or --repo REPO (as REPO:latest)"},
            {"ImportOptions.withMap(tiny:2=...): b.tar has no entry named so",
                "--map tiny:2=...: b.tar has no entry named so"},
            {"catalog oci://r/c:1 is not cached in /c and CatalogOptions.withOffline(true) forbids fetching it;"
                    + " re-run with CatalogOptions.withOffline(false) to fetch it, or use a local catalog file with"
                    + " CatalogOptions.withCatalog(PATH)", "catalog oci://r/c:1 is not cached in /c and --offline"
                    + " forbids fetching it; re-run without --offline to fetch it, or use a local catalog file with"
                    + " --catalog PATH"},
            {"environment 'debian:12' is neither installed nor in the store, and Installer.Options.offline forbids"
                    + " pulling or building it; run Installer.install(catalog, debian:12) once with network access,"
                    + " then use it offline", "environment 'debian:12' is neither installed nor in the store, and"
                    + " --offline forbids pulling or building it; run 'davit env pull debian:12' once with network"
                    + " access, then use it offline"},
            {"resource limits cannot be enforced here: x; run without limits (Limits.NONE), or run davit as root"
                    + " (see Sandboxes.doctor())", "resource limits cannot be enforced here: x; run without limits with"
                    + " --no-limits (or --memory 0 --cpus 0 --pids 0), or run davit as root (see 'davit doctor')"},
            {"refused: this rootless sandbox would lack a guarantee of the jail (x); or pass"
                    + " SandboxOptions.withAllowWeakerSandbox(true) (or set DAVIT_ALLOW_WEAKER_SANDBOX=1) to run it"
                    + " anyway (see Sandboxes.doctor())", "refused: this rootless sandbox would lack a guarantee of the"
                    + " jail (x); or pass --allow-weaker-sandbox (or set DAVIT_ALLOW_WEAKER_SANDBOX=1) to run it"
                    + " anyway (see 'davit doctor')"},
            {"slirp4netns is not installed; Network.NAT needs it: install the slirp4netns package (or use"
                    + " Network.HOST to share the host's network)", "slirp4netns is not installed; --network needs"
                    + " it: install the slirp4netns package (or use --network=host to share the host's network)"},
            {"runc cannot run the image's non-root user 'u' without root privileges (x); set RunSpec.runtime to crun"
                    + " or bwrap, or run davit as root", "runc cannot run the image's non-root user 'u' without root"
                    + " privileges (x); use --runtime crun or bwrap, or run davit as root"},
            {"unshare (util-linux) is not installed; crun needs it; install util-linux or set RunSpec.runtime to"
                    + " runc", "unshare (util-linux) is not installed; crun needs it; install util-linux or use"
                    + " --runtime runc"},
            {"no workspace ws-9; see Workspaces.list()", "no workspace ws-9; see 'davit workspace ls'"},
            {"workspace ws-1 is stopped; start it with Workspaces.start(\"ws-1\")",
                "workspace ws-1 is stopped; start it with 'davit workspace start ws-1'"},
            {"workspace ws-1's /run/secrets is not its own tmpfs; restart it with Workspaces.stop(id) and"
                    + " Workspaces.start(id)", "workspace ws-1's /run/secrets is not its own tmpfs; restart it with"
                    + " 'davit workspace stop' and 'davit workspace start'"},
            {"workspace ws-1 already has a snapshot v1; pick another name or remove it with"
                    + " Workspaces.removeSnapshot(\"ws-1\", \"v1\")", "workspace ws-1 already has a snapshot v1; pick"
                    + " another name or remove it with 'davit workspace snapshot rm ws-1 v1'"},
            {"service web exited with code 1 before it was ready; its log ends: x (see"
                    + " Workspaces.services(\"ws-1\").logs(\"web\", lines))", "service web exited with code 1 before"
                    + " it was ready; its log ends: x (see 'davit workspace service logs ws-1 web')"},
            {"service web was not ready (port 80) within 30 s and was stopped; its log ends: x (if it only starts"
                    + " slowly, give Services.start a longer timeout)", "service web was not ready (port 80) within 30"
                    + " s and was stopped; its log ends: x (if it only starts slowly, give a longer --ready-timeout)"},
            {"shell sh-0123abcd did not take its input within 10 s (is the program reading?"
                    + " Workspaces.shells(\"ws-1\").read(\"sh-0123abcd\", options))", "shell sh-0123abcd did not take"
                    + " its input within 10 s (is the program reading? 'davit workspace shell read ws-1"
                    + " sh-0123abcd')"},
            {"workspace w is running; its disk is read only while it is stopped: use Workspaces.listFiles,"
                    + " Workspaces.readFile or Workspaces.export, or stop it first", "workspace w is running; its disk"
                    + " is read only while it is stopped: use 'davit workspace file ls|read' or 'davit workspace"
                    + " export' (MCP: workspace_file_list, workspace_file_read, workspace_export), or stop it first"},
            {"workspace w has no secrets (secretEnv); give them when creating it (Workspaces.create with Secrets.of)",
                "workspace w has no secrets (--secret-env); give them when creating it (--secret NAME=VALUE or"
                    + " --secret-file NAME=PATH)"},
            {"secret A holds 3 bytes, fewer than 8; give a longer value (Secrets.of)",
                "secret A holds 3 bytes, fewer than 8; give a longer value (--secret)"},
            {"workspace w has no secret 'k' (secretEnv TOKEN=NAME); its secrets: none",
                "workspace w has no secret 'k' (--secret-env TOKEN=NAME); its secrets: none"},
            {"/workspace/big in sandbox sb-1 has 9 bytes, more than the 64 MiB a read of a whole file takes; read its"
                    + " first bytes with a maximum (Workspaces.readFile(id, path, maxBytes))", "/workspace/big in"
                    + " sandbox sb-1 has 9 bytes, more than the 64 MiB a read of a whole file takes; read its first"
                    + " bytes with a maximum (davit workspace file read --max-bytes N)"},
            {"sandbox sb-1 has failed (its processes are gone); start it again with Sandboxes.start(\"sb-1\")",
                "sandbox sb-1 has failed (its processes are gone); start it again with 'davit sandbox start sb-1'"},
            {"neither installed nor in the store, and NameResolver.Facts.offline() forbids pulling or building it",
                "neither installed nor in the store, and --offline forbids pulling or building it"},
            {"davit: warm pool: spares still being made or removed; Sandboxes.reap() removes what is left within 10"
                    + " minutes", "davit: warm pool: spares still being made or removed; 'davit sandbox reap' removes"
                    + " what is left within 10 minutes"},
            {"workspace ws-1 has 16 services running (the most); stop one first with"
                    + " Workspaces.services(\"ws-1\").stop(name)", "workspace ws-1 has 16 services running (the"
                    + " most); stop one first with 'davit workspace service stop ws-1 NAME'"},
            {"workspace ws-1 has 16 shells open (the most); close one first with Workspaces.shells(\"ws-1\").close(id)",
                "workspace ws-1 has 16 shells open (the most); close one first with 'davit workspace shell close ws-1"
                    + " SHELL'"},
            {"the install of debian:12 has no rootfs/ directory; Davit.image(\"debian:12\") installs it again",
                "the install of debian:12 has no rootfs/ directory; run 'davit env pull debian:12' to repair it"},
            {"workspace w has 32 snapshots, the most it may have; remove one, e.g. the oldest with"
                    + " Workspaces.removeSnapshot(\"w\", \"s0\")", "workspace w has 32 snapshots, the most it may"
                    + " have; remove one, e.g. the oldest with 'davit workspace snapshot rm w s0'"},
            {"the snapshot of /workspace would write more than 16 MiB, what is left; remove a snapshot (see"
                    + " Workspaces.snapshots(\"w\")) or large files from /workspace", "the snapshot of /workspace"
                    + " would write more than 16 MiB, what is left; remove a snapshot (see 'davit workspace snapshot"
                    + " ls w') or large files from /workspace"},
        };
        for (String[] p : pairs) {
            assertThat(CliTerms.rewrite(p[0])).as(p[0]).isEqualTo(p[1]);
        }
    }

    @Test
    void aTermInsideALongerNameIsLeftAlone() {
        // a service's log or a path quoted in a message: only whole terms are library terms
        String log = "service web exited with code 1; its log ends: at com.acme.Secrets.ofEnv(Main.java:3)"
                + " Network.NATIVE ResourceLimits.NONE secretEnvironment";
        assertThat(CliTerms.rewrite(log)).isEqualTo(log);
        assertThat(CliTerms.rewrite("use Network.NAT")).isNotEqualTo("use Network.NAT");
    }

    @Test
    void cliMessagesStayAsTheyAre() {
        for (String m : List.of("--publish needs --network", "no workspace ws-9; see 'davit workspace ls'",
                "cannot read --token-file /t: x", "invalid size 'lots' for --max-size")) {
            assertThat(CliTerms.rewrite(m)).isEqualTo(m);
        }
        assertThat(CliTerms.rewrite(null)).isNull();
    }

    private static void cli(Executable library, String cli) {
        assertThatThrownBy(library::execute).isInstanceOf(DavitException.class)
                .satisfies(e -> assertThat(CliTerms.rewrite(e.getMessage())).isEqualTo(cli));
    }

    /** The string literals of the library's main sources (text blocks too), adjacent ones joined. */
    static List<Literal> literals() {
        List<Literal> all = new ArrayList<>();
        for (Path dir : LIBRARY) {
            assertThat(dir).isDirectory();
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                    all.addAll(literals(f, Files.readString(f)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return all;
    }

    private static final Pattern TOKEN = Pattern.compile(
            "\"\"\"[\\s\\S]*?\"\"\"|\"(?:[^\"\\\\\\n]|\\\\.)*\"|'(?:[^'\\\\\\n]|\\\\.)'|//[^\\n]*|/\\*[\\s\\S]*?\\*/");

    /**
     * A null check of a public entry point ({@code dev.davit.oci.internal.Args}): its message is for the programmer
     * who passed null, which the CLI never does, so it names library methods and needs no rule.
     */
    private static final Pattern NULL_CHECK = Pattern.compile("\\bArgs\\.(given|reference)\\(");

    static List<Literal> literals(Path file, String src) {
        List<Literal> out = new ArrayList<>();
        Matcher m = TOKEN.matcher(src);
        int lastEnd = -1;
        boolean lastSkipped = false;
        while (m.find()) {
            String t = m.group();
            if (!t.startsWith("\"")) {
                continue;
            }
            String text = t.startsWith("\"\"\"") ? t.substring(3, t.length() - 3) : t.substring(1, t.length() - 1)
                    .replace("\\\"", "\"").replace("\\\\", "\\");
            boolean joined = lastEnd >= 0 && src.substring(lastEnd, m.start()).matches("\\s*\\+\\s*");
            int statement = Math.max(src.lastIndexOf(';', m.start()), Math.max(src.lastIndexOf('{', m.start()),
                    src.lastIndexOf('}', m.start())));
            if (joined ? lastSkipped : NULL_CHECK.matcher(src.substring(statement + 1, m.start())).find()) {
                lastSkipped = true;
                lastEnd = m.end();
                continue;
            }
            lastSkipped = false;
            if (joined) {
                Literal prev = out.removeLast();
                out.add(new Literal(file, prev.line(), prev.text() + text));
            } else {
                out.add(new Literal(file, 1 + (int) src.substring(0, m.start()).chars().filter(c -> c == '\n')
                        .count(), text));
            }
            lastEnd = m.end();
        }
        return out;
    }
}
