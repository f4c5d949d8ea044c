package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.jail.Jail;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The same Containerfiles built by davit and by buildah, an independent builder, give the same root filesystem and
 * agreeing configs (issue 38's interop test).
 *
 * <p><b>The corpus.</b> {@code src/test/resources/containerfiles/<case>/} holds a {@code Containerfile} and its build
 * context; {@code @BASE@} in it stands for the base image. A {@code case.properties} (not part of the context) may
 * give {@code build-arg.NAME=VALUE} (passed to both builders), {@code mode.PATH=OCTAL} (the context's files are
 * 0644 and its directories 0755 otherwise: Maven and git keep no modes), {@code context-owner=UID:GID} (the
 * context's owner, else root's), {@code buildah-format=docker} (see SHELL below), and for a case davit does not
 * build yet {@code not-yet=TEXT}, what its refusal says (e.g. {@code Containerfile:3:}). Every case is in exactly
 * one of {@link #COMPARED}, {@link #NOT_YET} and {@link #KNOWN_DIFFERENT}. {@code -Ddavit.buildah.cases=a,b} runs
 * only those cases.
 *
 * <p><b>The base.</b> A static busybox with its applets ({@code sleep} among them: davit's RUN sandbox needs it for
 * its keeper process), {@code /etc/passwd} and {@code /etc/group} (root; {@code app}, 1000:1000, with
 * {@code /home/app}), {@code /tmp} and {@code /srv} 1777, a file, directories and a link for the cases that delete,
 * replace or go through them, and the mount points a RUN needs ({@code /proc}, {@code /dev}, {@code /sys},
 * {@code /run}); config: PATH, {@code Cmd ["sh"]}, a label, no WorkingDir. davit's {@link DavitClient#build} makes
 * it in a home of its own and pushes it to a {@code docker-registry} on a free port of 127.0.0.1; davit's builds run
 * in another home, which pulls it from there, and buildah pulls it with {@code --tls-verify=false}: both start from
 * the same image, by reference.
 *
 * <p><b>The builds.</b> davit: {@link ContainerfileBuilder} (no creation time), then {@link DavitClient#push}.
 * buildah (1.28 in Debian 12): {@code buildah bud --isolation chroot --layers=false --timestamp 0
 * --identity-label=false} (no {@code io.buildah.version} label), then {@code buildah push}; with a storage
 * ({@code vfs}), {@code registries.conf}, {@code containers.conf}, {@code storage.conf}, signature policy, auth file
 * and temporary directory of the test's own and proxies unset, so nothing of the host's configuration is used and
 * no traffic leaves 127.0.0.1; {@code buildah pull} takes the base once, and each {@code buildah bud} runs with
 * {@code --pull=never} under {@code unshare --net}, without a network (chroot isolation has none of its own). Its
 * RUN steps run in chroot isolation on the host's file system: the corpus's RUNs only write inside the root
 * filesystem. Both images are copied into an OCI layout by {@code skopeo} and unpacked by
 * {@code umoci} (as root: owners kept), an unpacker neither builder shares.
 *
 * <p><b>What is compared.</b> The root filesystems, path by path: the type, the mode (permission, set-id and sticky
 * bits; not for links), the owner (uid:gid), a link's target, a file's content (SHA-256) and its link count (hard
 * links). Modification times are not compared (davit writes none without {@code --created}, buildah writes
 * {@code --timestamp 0}'s, and each builder gives the directories a step touches its own time); extended attributes
 * are not (the corpus sets none). The configs ({@code config} of the image configuration, read from the OCI
 * layout): every field either writes (Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes,
 * StopSignal, ...), with an absent field, {@code null}, {@code []}, {@code {}} and {@code ""} taken as the same (the
 * runtime reads them the same). Any difference fails the case with the list of differences (small files' contents
 * shown). The history, the layer count and the digests are not compared: the builders lay out layers differently
 * by design.
 *
 * <p><b>Exclusions</b>, each for something buildah 1.28 is known to do differently from Docker's builders, and each
 * as narrow as that:
 * <ul>
 *   <li>{@link #BUILDAH_ONLY}: the empty {@code /etc/hostname}, {@code /etc/hosts}, {@code /etc/resolv.conf} its
 *       RUN leaves behind, only in exactly that shape and only when davit's image has nothing there;</li>
 *   <li>{@link #volumeMountPoint}: the empty directories it makes for the last VOLUME of a stage;</li>
 *   <li>Env's order ({@link #environment}): it moves a variable set again to the end, Docker keeps its place;
 *       names and values are compared, and a name twice is a difference;</li>
 *   <li>SHELL: in the OCI format buildah ignores SHELL, even for RUN (containers/buildah#953, #3537), so the
 *       {@code shell} case has buildah build Docker's format ({@code buildah-format=docker}), where it keeps SHELL
 *       in a config field of Docker's, {@code Shell}, which the OCI config has not and which is left out of that
 *       case's comparison (what SHELL does is compared through what the RUNs write). A shell-form CMD or
 *       ENTRYPOINT after SHELL is not in the corpus: buildah gives it {@code /bin/sh -c} whatever SHELL says
 *       (openshift/imagebuilder#154), Docker's reference and davit the SHELL.</li>
 * </ul>
 * And one of davit's, tracked: while {@code workdir-unset} is in {@link #KNOWN_DIFFERENT}, the other cases take
 * davit's {@code WorkingDir "/"} and buildah's none as the same.
 *
 * <p><b>buildah 1.28 and here-documents.</b> buildah learned {@code RUN <<EOF} and {@code COPY <<EOF} after 1.28
 * (1.28 reads the document's lines as instructions). When a probe build shows it does not know them, a case with a
 * {@code Containerfile.plain} (the same build without here-documents, each written as Docker's reference defines
 * the here-document) is built by buildah from that file, and davit's build of the here-documents is compared with
 * it; a buildah that knows them builds the {@code Containerfile} itself.
 *
 * <p>Runs as root only (CI runs as root): buildah's chroot isolation and umoci's unpack keep owners only as root.
 */
class ContainerfileBuildahTest {
    /** Built by davit and by buildah, compared. */
    static final List<String> COMPARED = List.of(
            "multi-stage-copy-from",
            "run-chmod-hard-link",
            "arg-scoping",
            "env-expansion",
            "workdir",
            "run-forms",
            "run-heredoc",
            "copy-heredoc",
            "copy-directories",
            "copy-chown-chmod",
            "config-instructions",
            "shell",
            "entrypoint-resets-base-cmd",
            "entrypoint-resets-stage-cmd",
            "entrypoint-cmd-order",
            "run-whiteout",
            "run-replace-directory",
            "copy-context-owner",
            "add-tar",
            "add-file",
            "volume",
            "stopsignal",
            "copy-chown-names",
            "copy-chown-primary-group",
            "copy-link-source",
            "automatic-args",
            "user-name",
            "copy-glob",
            "dockerignore",
            "copy-into-image-directory",
            "copy-chown-made-parents",
            "workdir-unset",
            "workdir-as-user",
            "copy-hard-links",
            "from-scratch",
            "copy-through-image-link",
            "add-xz-tar",
            "run-writes-tmp");

    /**
     * Not built by davit yet (buildah builds them): davit must refuse each with a one-line USAGE error saying what its
     * {@code not-yet} property says. Move a case to {@link #COMPARED} when davit builds it (this test fails until
     * then, as the refusal is gone).
     */
    static final List<String> NOT_YET = List.of();

    /**
     * Built by both and different because of a davit bug, with the difference: the test asserts they still differ,
     * so the fix fails it until the case is moved to {@link #COMPARED}.
     */
    static final Map<String, String> KNOWN_DIFFERENT = Map.ofEntries(
            Map.entry("run-append-hard-link", "a RUN that writes into a file of two names changes it under the name"
                    + " it wrote to only: the overlay copies that name up, and without its index (root only, and"
                    + " not over an idmapped image) a change in place cannot be told from a new file made under the"
                    + " name; a change of mode or owner alone keeps both names (run-chmod-hard-link)"),
            Map.entry("run-user-environment", "a RUN has no supplementary groups (id shows no groups=; buildah"
                    + " gives the user's groups, groups=0(root), groups=1000(app), as Docker does); its HOME is the"
                    + " user's from /etc/passwd, as buildah's"));

    /**
     * What buildah leaves in an image that davit does not: a path of the image and the only shape it is excluded in,
     * when davit's image has nothing there (anything else there is compared, e.g. a file a RUN writes).
     *
     * <p>buildah 1.28 with chroot isolation bind-mounts its own {@code /etc/hostname}, {@code /etc/hosts} and
     * {@code /etc/resolv.conf} into a RUN's root and, when the image lacks them, makes empty files (0755) to mount
     * them on, which stay in the layer (Docker's builders do not leave them; davit's sandbox mounts its own and
     * leaves none). A RUN that writes one of them is compared as any file.
     */
    static final Map<String, String> BUILDAH_ONLY = Map.of(
            "/etc/hostname", "file 0755 0:0 links=1 0B e3b0c44298fc1c14",
            "/etc/hosts", "file 0755 0:0 links=1 0B e3b0c44298fc1c14",
            "/etc/resolv.conf", "file 0755 0:0 links=1 0B e3b0c44298fc1c14");

    /**
     * buildah 1.28 makes the directories (0755, root's) of the volumes of a VOLUME that is a stage's last
     * instruction (the mount points of its last container), Docker's builders make none: excluded when empty, on
     * buildah's side only, and only at a path of the config's Volumes (the runtime makes such a directory anyway).
     */
    private static boolean volumeMountPoint(String path, String buildahEntry, JsonNode buildahConfig) {
        return "dir 0755 0:0".equals(buildahEntry) && buildahConfig.path("Volumes").has(path);
    }

    private static final Path CORPUS = Path.of("src/test/resources/containerfiles");
    /** {@code -Ddavit.buildah.cases=a,b}: only these cases (while working on one). */
    private static final String ONLY = System.getProperty("davit.buildah.cases", "");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BASE_CMD = "sh";

    @TempDir
    static Path tmp;

    static TestRegistry registry;
    static String base;
    static Path home;
    static DavitClient client;
    static Sandboxes sandboxes;
    static Map<String, String> buildahEnv;
    static boolean buildahHeredocs;

    @BeforeAll
    static void up() throws Exception {
        Tools.assumeAvailable("buildah", Tools.UMOCI, Tools.SKOPEO, Tools.REGISTRY, "bwrap", "busybox", "unshare");
        Assumptions.assumeTrue(Jail.AS_ROOT, "as root (CI runs as root): buildah's chroot isolation and umoci's"
                + " unpack keep owners only as root");
        registry = TestRegistry.start();
        base = registry.hostPort() + "/base/busybox:1";
        baseImage();
        home = tmp.resolve("home");
        client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")));
        sandboxes = new Sandboxes(SandboxOptions.under(home));
        buildahEnv = buildahEnvironment();
        // the base into buildah's storage once: its builds run without a network (see budArgs)
        exec(tmp.resolve("base.pull.log"), buildah("pull", "--tls-verify=false", "--signature-policy",
                tmp.resolve("buildah-conf/policy.json").toString(), base));
        buildahHeredocs = probeHeredocs();
    }

    @AfterAll
    static void down() {
        if (client != null) {
            client.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    /** The base: made and pushed by a home of its own, so the builds' home pulls it as buildah does. */
    private static void baseImage() throws IOException {
        Path src = tmp.resolve("base");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : List.of("sh", "echo", "cat", "ls", "mkdir", "rm", "mv", "cp", "chmod", "chown", "ln",
                "touch", "true", "false", "printf", "pwd", "test", "id", "env", "sed", "stat", "sleep")) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "sys", "run", "etc", "opt/old", "opt/dir-to-file")) {
            Files.createDirectories(src.resolve(d));
        }
        for (String d : List.of("tmp", "srv")) {
            Files.setAttribute(Files.createDirectories(src.resolve(d)), "unix:mode", 01777);
        }
        Files.setAttribute(Files.createDirectories(src.resolve("root")), "unix:mode", 0700);
        Files.createDirectories(src.resolve("home/app"));
        Files.writeString(src.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n"
                + "app:x:1000:1000:app:/home/app:/bin/sh\n");
        Files.writeString(src.resolve("etc/group"), "root:x:0:\napp:x:1000:\n");
        Files.writeString(src.resolve("etc/gone.conf"), "going\n");
        Files.writeString(src.resolve("opt/old/a"), "a\n");
        Files.writeString(src.resolve("opt/old/b"), "b\n");
        Files.writeString(src.resolve("opt/dir-to-file/inner"), "inner\n");
        Files.createSymbolicLink(src.resolve("opt/link"), Path.of("old"));
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("base-home/store")))) {
            c.build(src, base, BuildOptions.builder().env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin"
                    + ":/usr/bin:/sbin:/bin").cmd(List.of(BASE_CMD)).label("org.example.base", "base")
                    .owners(Map.of("home/app", new BuildOptions.Owner(1000, 1000))).build(), ProgressListener.NONE);
            c.push(base, null);
        }
    }

    /** buildah's and skopeo's configuration: the test's own, nothing of the host's. */
    private static Map<String, String> buildahEnvironment() throws IOException {
        Path conf = Files.createDirectories(tmp.resolve("buildah-conf"));
        Path storage = tmp.resolve("buildah-storage");
        Path runroot = tmp.resolve("buildah-run");
        Files.writeString(conf.resolve("registries.conf"), """
                unqualified-search-registries = []
                [[registry]]
                location = "%s"
                insecure = true
                """.formatted(registry.hostPort()));
        Files.writeString(conf.resolve("storage.conf"), """
                [storage]
                driver = "vfs"
                graphroot = "%s"
                runroot = "%s"
                """.formatted(storage, runroot));
        Files.writeString(conf.resolve("containers.conf"), "");
        Files.writeString(conf.resolve("policy.json"), "{\"default\": [{\"type\": \"insecureAcceptAnything\"}]}\n");
        Files.writeString(conf.resolve("auth.json"), "{}\n");
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CONTAINERS_REGISTRIES_CONF", conf.resolve("registries.conf").toString());
        env.put("CONTAINERS_STORAGE_CONF", conf.resolve("storage.conf").toString());
        env.put("CONTAINERS_CONF", conf.resolve("containers.conf").toString());
        env.put("REGISTRY_AUTH_FILE", conf.resolve("auth.json").toString());
        env.put("BUILDAH_ISOLATION", "chroot");
        env.put("TMPDIR", Files.createDirectories(tmp.resolve("buildah-tmp")).toString());
        env.put("NO_PROXY", "127.0.0.1,localhost");
        env.put("no_proxy", "127.0.0.1,localhost");
        return env;
    }

    private static List<String> buildah(String... args) {
        List<String> cmd = new ArrayList<>(List.of("buildah", "--root", tmp.resolve("buildah-storage").toString(),
                "--runroot", tmp.resolve("buildah-run").toString(), "--storage-driver", "vfs"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Whether this buildah builds here-documents (1.28 reads their lines as instructions: "Unknown instruction"). */
    private static boolean probeHeredocs() throws IOException {
        Path ctx = Files.createDirectories(tmp.resolve("probe"));
        Path file = Files.writeString(tmp.resolve("probe.Containerfile"), "FROM " + base
                + "\nRUN <<EOF\ntrue\nEOF\n");
        try {
            exec(tmp.resolve("probe.log"), budArgs(file, Map.of(), "localhost/probe:1", ctx, "oci"));
            return true;
        } catch (IllegalStateException e) {
            if (e.getMessage().contains("Unknown instruction")) {
                return false;
            }
            throw e; // another failure: say it, never take it for an old buildah
        }
    }

    /**
     * {@code buildah bud} in a network namespace of its own ({@code unshare --net}: only a loopback that is down), its
     * base from its storage ({@code --pull=never}): chroot isolation runs a RUN in the host's network namespace and
     * refuses {@code --network none}, so this keeps the RUNs off every network.
     */
    private static List<String> budArgs(Path file, Map<String, String> args, String ref, Path ctx, String format) {
        List<String> cmd = new ArrayList<>(List.of("unshare", "--net"));
        cmd.addAll(buildah("bud", "--pull=never", "--format", format, "--isolation", "chroot", "--layers=false",
                "--timestamp", "0", "--identity-label=false", "--tls-verify=false", "--signature-policy", tmp.resolve(
                        "buildah-conf/policy.json").toString(), "-f", file.toString(), "-t", ref));
        args.forEach((k, v) -> cmd.addAll(List.of("--build-arg", k + "=" + v)));
        cmd.add(ctx.toString());
        return cmd;
    }

    /** Runs a command with the test's buildah environment, its output in {@code log}; its end in the error. */
    private static void exec(Path log, List<String> cmd) {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.toLowerCase(java.util.Locale.ROOT).endsWith("_proxy")
                || k.startsWith("CONTAINERS_") || k.startsWith("BUILDAH_") || k.equals("REGISTRY_AUTH_FILE"));
        env.putAll(buildahEnv);
        try {
            pb.environment().put("HOME", Files.createDirectories(tmp.resolve("tool-home")).toString());
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
            if (p.exitValue() != 0) {
                String out = Files.readString(log);
                throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue() + ":\n"
                        + (out.length() > 4000 ? "..." + out.substring(out.length() - 4000) : out));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static Stream<String> compared() {
        return COMPARED.stream().filter(ContainerfileBuildahTest::selected);
    }

    static Stream<String> notYet() {
        return NOT_YET.stream().filter(ContainerfileBuildahTest::selected);
    }

    static Stream<String> knownDifferent() {
        return KNOWN_DIFFERENT.keySet().stream().sorted().filter(ContainerfileBuildahTest::selected);
    }

    private static boolean selected(String name) {
        return ONLY.isBlank() || List.of(ONLY.split(",")).contains(name);
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("compared")
    void davitAndBuildahBuildTheSameImage(String name) throws Exception {
        List<String> differences = differences(name);
        if (!differences.isEmpty()) {
            fail(name + ": davit's image differs from buildah's in " + differences.size() + " place(s) (davit | "
                    + "buildah):\n  " + String.join("\n  ", differences));
        }
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("knownDifferent")
    void aKnownDifferenceIsStillThere(String name) throws Exception {
        List<String> differences = differences(name);
        System.out.println(name + " (known to differ: " + KNOWN_DIFFERENT.get(name) + "):\n  "
                + String.join("\n  ", differences));
        assertThat(differences).as(name + " is built the same by davit and buildah now: move it from"
                + " KNOWN_DIFFERENT to COMPARED (" + KNOWN_DIFFERENT.get(name) + ")").isNotEmpty();
    }

    @ParameterizedTest(name = "{0}", allowZeroInvocations = true)
    @MethodSource("notYet")
    void whatDavitDoesNotBuildYetIsRefusedInOneLine(String name) throws Exception {
        Case c = Case.load(name);
        String expected = c.props().getProperty("not-yet");
        assertThat(expected).as(name + "/case.properties needs not-yet=WHAT THE REFUSAL SAYS").isNotBlank();
        // the independent builder builds it: the case is ready to be compared once davit builds it
        buildahBuild(c);
        assertThatThrownBy(() -> davitBuild(c)).as(name + " is built by davit now: move it from NOT_YET to"
                + " COMPARED").isInstanceOf(DavitException.class).satisfies(e -> {
                    assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
                    assertThat(e.getMessage()).contains(expected).doesNotContain("\n");
                });
    }

    @Test
    void everyCaseOfTheCorpusIsInOneList() throws IOException {
        List<String> listed = new ArrayList<>(COMPARED);
        listed.addAll(NOT_YET);
        listed.addAll(KNOWN_DIFFERENT.keySet());
        try (Stream<Path> s = Files.list(CORPUS)) {
            assertThat(listed).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(s.map(p -> p.getFileName()
                    .toString()).toList());
        }
        for (String name : listed) {
            assertThat(Case.properties(CORPUS.resolve(name)).containsKey("not-yet")).as(name + ": a not-yet property"
                    + " exactly when the case is in NOT_YET").isEqualTo(NOT_YET.contains(name));
        }
    }

    /** A case: its name, its Containerfile with the base put in, its properties, its context. */
    private record Case(String name, String text, String plain, Properties props, Path context,
                        Map<String, String> args) {
        static Properties properties(Path dir) throws IOException {
            Properties props = new Properties();
            if (Files.exists(dir.resolve("case.properties"))) {
                try (InputStream in = Files.newInputStream(dir.resolve("case.properties"))) {
                    props.load(in);
                }
            }
            return props;
        }

        static Case load(String name) throws IOException {
            Path dir = CORPUS.resolve(name);
            Properties props = properties(dir);
            Map<String, String> args = new TreeMap<>();
            for (String k : props.stringPropertyNames()) {
                if (k.startsWith("build-arg.")) {
                    args.put(k.substring("build-arg.".length()), props.getProperty(k));
                }
            }
            Path ctx = tmp.resolve("ctx").resolve(name);
            FileTreeCopy.context(dir, ctx, props);
            String text = Files.readString(dir.resolve("Containerfile")).replace("@BASE@", base);
            Path plainFile = dir.resolve("Containerfile.plain");
            String plain = Files.exists(plainFile) ? Files.readString(plainFile).replace("@BASE@", base) : null;
            return new Case(name, text, plain, props, ctx, args);
        }

        /** {@code buildah-format=docker}: buildah builds Docker's image format (where it keeps SHELL). */
        boolean dockerFormat() {
            return "docker".equals(props.getProperty("buildah-format"));
        }

        String ref(String builder) {
            return registry.hostPort() + "/" + builder + "/" + name + ":1";
        }
    }

    private static void davitBuild(Case c) {
        List<String> said = new ArrayList<>();
        new ContainerfileBuilder(client, sandboxes, home, said::add).build(Containerfile.parse(c.text(),
                "Containerfile"), c.context(), null, c.args(), c.ref("davit"), null);
    }

    private static void buildahBuild(Case c) throws IOException {
        String text = c.plain() != null && !buildahHeredocs ? c.plain() : c.text();
        Path file = Files.writeString(tmp.resolve(c.name() + ".Containerfile"), text);
        exec(tmp.resolve(c.name() + ".buildah.log"), budArgs(file, c.args(), c.ref("buildah"), c.context(),
                c.dockerFormat() ? "docker" : "oci"));
    }

    /** An image, unpacked: its root filesystem and its config. */
    private record Unpacked(Path rootfs, JsonNode config) {
    }

    /**
     * Builds the case with both (buildah's build, push and unpack beside davit's, each in its own storage and OCI
     * layout), unpacks both and lists what differs.
     */
    private static List<String> differences(String name) throws Exception {
        Case c = Case.load(name);
        CompletableFuture<Unpacked> buildah = CompletableFuture.supplyAsync(() -> {
            try {
                buildahBuild(c);
                exec(tmp.resolve(name + ".push.log"), buildah("push", "--tls-verify=false", "--signature-policy",
                        tmp.resolve("buildah-conf/policy.json").toString(), c.ref("buildah"), "docker://"
                        + c.ref("buildah")));
                return unpack(c, "buildah");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Unpacked davit;
        try {
            davitBuild(c);
            client.push(c.ref("davit"), null);
            davit = unpack(c, "davit");
        } finally {
            try {
                buildah.join(); // never left running past the case
            } catch (CompletionException ignored) {
                // reported below when davit's side succeeded
            }
        }
        Unpacked other;
        try {
            other = buildah.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
        List<String> out = new ArrayList<>();
        compareTrees(davit.rootfs(), other.rootfs(), other.config(), out);
        compareConfigs(name, c.dockerFormat(), davit.config(), other.config(), out);
        return out;
    }

    /** The builder's image of the case, copied from the registry into an OCI layout by skopeo, unpacked by umoci. */
    private static Unpacked unpack(Case c, String builder) throws IOException {
        Path layout = tmp.resolve("layout-" + builder);
        String tag = c.name();
        exec(tmp.resolve(tag + "." + builder + ".skopeo.log"), List.of("skopeo", "copy", "--src-tls-verify=false",
                "--policy", tmp.resolve("buildah-conf/policy.json").toString(), "docker://" + c.ref(builder), "oci:"
                + layout + ":" + tag));
        Path bundle = tmp.resolve("bundles").resolve(builder).resolve(tag);
        Files.createDirectories(bundle.getParent());
        exec(tmp.resolve(tag + "." + builder + ".umoci.log"), List.of("umoci", "unpack", "--image", layout + ":"
                + tag, bundle.toString()));
        return new Unpacked(bundle.resolve("rootfs"), config(layout, tag));
    }

    /** The {@code config} of the image configuration tagged {@code tag} in the OCI layout. */
    private static JsonNode config(Path layout, String tag) throws IOException {
        JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
        for (JsonNode m : index.path("manifests")) {
            if (tag.equals(m.path("annotations").path("org.opencontainers.image.ref.name").asText())) {
                JsonNode manifest = JSON.readTree(blob(layout, m.path("digest").asText()).toFile());
                JsonNode image = JSON.readTree(blob(layout, manifest.path("config").path("digest").asText()).toFile());
                return image.path("config");
            }
        }
        throw new IllegalStateException("no " + tag + " in " + layout);
    }

    private static Path blob(Path layout, String digest) {
        int colon = digest.indexOf(':');
        return layout.resolve("blobs").resolve(digest.substring(0, colon)).resolve(digest.substring(colon + 1));
    }

    /**
     * Config fields, absent and empty taken as the same; Env as variables and their values (see
     * {@link #environment}); in a Docker-format case, buildah's {@code Shell} left out (the OCI config has no such
     * field; what SHELL does is compared through what the RUNs write); while {@code workdir-unset} is a known
     * difference, an unset WorkingDir and davit's {@code "/"} taken as the same (see {@link #KNOWN_DIFFERENT}).
     */
    private static void compareConfigs(String name, boolean dockerFormat, JsonNode davit, JsonNode buildah,
                                       List<String> out) {
        ObjectNode a = normalized(davit);
        ObjectNode b = normalized(buildah);
        if (dockerFormat) {
            b.remove("Shell");
        }
        if (KNOWN_DIFFERENT.containsKey("workdir-unset") && !name.equals("workdir-unset")
                && a.path("WorkingDir").asText().equals("/") && !b.has("WorkingDir")) {
            a.remove("WorkingDir");
        }
        for (ObjectNode o : List.of(a, b)) {
            if (o.has("Env")) {
                o.set("Env", JSON.valueToTree(environment(o.get("Env"), o == a ? "davit" : "buildah", out)));
            }
        }
        Set<String> fields = new TreeSet<>();
        a.fieldNames().forEachRemaining(fields::add);
        b.fieldNames().forEachRemaining(fields::add);
        for (String f : fields) {
            if (!a.path(f).equals(b.path(f))) {
                out.add("config." + f + ": " + shown(a.get(f)) + " | " + shown(b.get(f)));
            }
        }
    }

    /**
     * Env as a map of names to values, each name once (a name twice is a difference of its own). Its order is not
     * compared: a variable set again keeps its place in Docker's builders and davit (BuildKit's addEnv replaces it in
     * place) and moves to the end in buildah 1.28; the runtime's environment is the same.
     */
    private static Map<String, String> environment(JsonNode env, String builder, List<String> out) {
        Map<String, String> vars = new TreeMap<>();
        for (JsonNode e : env) {
            String kv = e.asText();
            int eq = kv.indexOf('=');
            String k = eq < 0 ? kv : kv.substring(0, eq);
            if (vars.put(k, eq < 0 ? "" : kv.substring(eq + 1)) != null) {
                out.add("config.Env of " + builder + " sets " + k + " twice: " + env);
            }
        }
        return vars;
    }

    private static String shown(JsonNode n) {
        return n == null ? "(none)" : n.toString();
    }

    private static ObjectNode normalized(JsonNode config) {
        ObjectNode o = config.isObject() ? ((ObjectNode) config).deepCopy() : JSON.createObjectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext();) {
            JsonNode v = it.next().getValue();
            if (v.isNull() || (v.isContainerNode() && v.isEmpty()) || (v.isTextual() && v.asText().isEmpty())) {
                it.remove();
            }
        }
        return o;
    }

    /** Every path of both trees: what it is in each, exclusions aside. */
    private static void compareTrees(Path davit, Path buildah, JsonNode buildahConfig, List<String> out)
            throws IOException {
        Map<String, String> a = listing(davit);
        Map<String, String> b = listing(buildah);
        Set<String> paths = new TreeSet<>(a.keySet());
        paths.addAll(b.keySet());
        for (String p : paths) {
            String x = a.get(p);
            String y = b.get(p);
            if (x != null && x.equals(y)) {
                continue;
            }
            if (x == null && y != null && (y.equals(BUILDAH_ONLY.get(p)) || volumeMountPoint(p, y, buildahConfig)
                    && isEmptyDirectory(buildah.resolve(p.substring(1))))) {
                continue; // buildah's own doing, see BUILDAH_ONLY
            }
            out.add(p + ": " + (x == null ? "(none)" : x) + " | " + (y == null ? "(none)" : y)
                    + contents(x, davit, y, buildah, p));
        }
    }

    private static boolean isEmptyDirectory(Path p) throws IOException {
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }

    /** For two small files whose content differs, their contents, printable: for a readable failure. */
    private static String contents(String x, Path davit, String y, Path buildah, String p) throws IOException {
        if (x == null || y == null || !x.startsWith("file ") || !y.startsWith("file ")) {
            return "";
        }
        Path a = davit.resolve(p.substring(1));
        Path b = buildah.resolve(p.substring(1));
        if (Files.size(a) > 512 || Files.size(b) > 512 || Files.mismatch(a, b) < 0) {
            return "";
        }
        return "\n      davit:   " + printable(Files.readString(a, StandardCharsets.ISO_8859_1)) + "\n      buildah: "
                + printable(Files.readString(b, StandardCharsets.ISO_8859_1));
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            b.append(ch == '\n' ? "\\n" : ch < 0x20 || ch > 0x7e ? String.format("\\x%02x", (int) ch)
                    : String.valueOf(ch));
        }
        return b.append('"').toString();
    }

    /** Path (from /) to type, mode, owner and content or target. */
    static Map<String, String> listing(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                String rel = "/" + root.relativize(p).toString();
                out.put(rel, describe(p));
            }
        }
        return out;
    }

    private static String describe(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,nlink,size", LinkOption.NOFOLLOW_LINKS);
        String owner = a.get("uid") + ":" + a.get("gid");
        String mode = String.format("%04o", ((Integer) a.get("mode")) & 07777);
        if (Files.isSymbolicLink(p)) {
            return "link -> " + Files.readSymbolicLink(p) + " " + owner;
        }
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            return "dir " + mode + " " + owner;
        }
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            return "file " + mode + " " + owner + " links=" + a.get("nlink") + " " + a.get("size") + "B "
                    + sha256(p);
        }
        return "other " + mode + " " + owner;
    }

    private static String sha256(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The case's directory as a build context: its own files, the modes and owner its properties give. */
    private static final class FileTreeCopy {
        private static final Set<String> NOT_CONTEXT = Set.of("Containerfile", "Containerfile.plain",
                "case.properties");

        static void context(Path from, Path to, Properties props) throws IOException {
            if (Files.exists(to)) {
                return; // loaded before in this run
            }
            Files.createDirectories(to);
            String owner = props.getProperty("context-owner", "0:0");
            int uid = Integer.parseInt(owner.split(":")[0]);
            int gid = Integer.parseInt(owner.split(":")[1]);
            List<Path> made = new ArrayList<>();
            try (Stream<Path> all = Files.walk(from)) {
                for (Path p : all.toList()) {
                    String rel = from.relativize(p).toString();
                    if (rel.isEmpty() || NOT_CONTEXT.contains(rel)) {
                        continue;
                    }
                    Path t = to.resolve(rel);
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                        Files.setAttribute(t, "unix:mode", mode(props, rel, 0755));
                    } else {
                        Files.copy(p, t);
                        Files.setAttribute(t, "unix:mode", mode(props, rel, 0644));
                    }
                    made.add(t);
                }
            }
            made.add(to);
            for (Path t : made) {
                Files.setAttribute(t, "unix:uid", uid);
                Files.setAttribute(t, "unix:gid", gid);
            }
        }

        private static int mode(Properties props, String rel, int dflt) {
            String m = props.getProperty("mode." + rel);
            return m == null ? dflt : Integer.parseInt(m, 8);
        }
    }
}
