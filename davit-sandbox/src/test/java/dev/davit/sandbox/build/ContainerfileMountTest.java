package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import dev.davit.sandbox.target.RunTargets;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code RUN --mount} over real sandboxes, as BuildKit gives it: a cache kept between builds and out of the image, a
 * secret readable in its step (as a file or a variable) and in no layer, history entry or cache entry of the home, a
 * read-only copy of the context or of a stage (its content in the cache key), a tmpfs; a target the image leads
 * elsewhere with a link stays in the image, and one below a file is a one-line error.
 */
class ContainerfileMountTest {
    private static final String BASE = "localhost/test/mount-base:1";
    private static final String SECRET = "s3cr3t-VALUE-8e1f2a";

    @TempDir
    Path tmp;

    Path home;
    DavitClient client;
    Sandboxes sandboxes;

    @BeforeEach
    void base() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        home = tmp.resolve("home");
        Path src = BusyboxBase.make(tmp.resolve("base"), List.of("sh", "echo", "cat", "sleep", "true", "mkdir", "ls",
                "stat", "ln", "test", "touch", "wc", "rm"), List.of("proc", "dev", "tmp", "etc", "run"));
        client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")));
        client.build(src, BASE, BuildOptions.defaults(), ProgressListener.NONE);
        sandboxes = new Sandboxes(SandboxOptions.under(home));
    }

    private ContainerfileBuilder.Result build(String text, Path context, ContainerfileBuilder.Options options) {
        return new ContainerfileBuilder(client, sandboxes, home, null).build(Containerfile.parse(text,
                "Containerfile"), context, "localhost/test/mounted:1", options);
    }

    private String run(String... cmd) {
        RunTarget t = RunTargets.ofImage(client, home, "localhost/test/mounted:1", null, null);
        ExecResult r = sandboxes.run(RunSpec.builder(t.rootfs()).image(t.image()).command(cmd).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    @Test
    void aCacheIsKeptBetweenBuildsSharedByIdAndLeftOutOfTheImage() throws Exception {
        String file = "FROM " + BASE + "\n"
                + "RUN --mount=type=cache,target=/var/cache/x sh -c 'n=$(cat /var/cache/x/n 2>/dev/null || echo 0);"
                + " echo $((n + 1)) > /var/cache/x/n; cat /var/cache/x/n > /seen'\n"
                + "RUN --mount=type=cache,id=/var/cache/x,target=/other,readonly cat /other/n > /seen-by-id\n";
        var options = ContainerfileBuilder.Options.defaults().withNoCache(true);
        build(file, tmp, options);
        assertThat(run("cat", "/seen")).isEqualTo("1\n");
        build(file, tmp, options);
        assertThat(run("cat", "/seen", "/seen-by-id")).isEqualTo("2\n2\n");
        // neither the mount points nor the directories made to hold them are in the image
        assertThat(inImage("var")).isFalse();
        assertThat(inImage("other")).isFalse();
        assertThat(Files.list(home.resolve(StepMounts.CACHES)).filter(Files::isDirectory).count()).isEqualTo(1);
    }

    @Test
    void aCachedStepWithACacheMountRunsNoSandbox() throws Exception {
        String file = "FROM " + BASE + "\nRUN --mount=type=cache,target=/c,sharing=locked sh -c 'date > /c/t;"
                + " echo ran > /ran'\n";
        build(file, tmp, ContainerfileBuilder.Options.defaults());
        var again = build(file, tmp, ContainerfileBuilder.Options.defaults());
        assertThat(again.steps().get(again.steps().size() - 1).cached()).isTrue();
    }

    @Test
    void aSecretIsReadInItsStepAndIsInNoLayerHistoryOrCacheOfTheHome() throws Exception {
        Path secret = tmp.resolve("token");
        Files.writeString(secret, SECRET);
        List<String> before = shmSecrets();
        String file = "FROM " + BASE + "\n"
                + "RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /len\n"
                + "RUN --mount=type=secret,id=tok,env=TOK sh -c 'echo ${#TOK} > /envlen'\n"
                + "RUN --mount=type=secret,id=tok,target=/etc/app/key,mode=0440,uid=7 stat -c '%a %u' /etc/app/key"
                + " > /key-meta\n"
                + "RUN --mount=type=secret,id=absent sh -c 'test -e /run/secrets/absent && echo there > /absent"
                + " || echo none > /absent'\n";
        var options = ContainerfileBuilder.Options.defaults().withSecrets(Map.of("tok",
                new ContainerfileBuilder.Secret(secret, null)));
        build(file, tmp, options);
        assertThat(run("cat", "/len", "/envlen", "/key-meta", "/absent")).isEqualTo(SECRET.length() + "\n"
                + SECRET.length() + "\n440 7\nnone\n");
        // the history names the mounts, never the value
        assertThat(client.inspectLocal("localhost/test/mounted:1").config().history().stream()
                .map(h -> h.createdBy())).anyMatch(c -> c.contains("--mount=type=secret,id=tok"))
                .noneMatch(c -> c.contains(SECRET));
        // nothing of the home holds the value: no layer (the secret file's mount point is empty and left out), no
        // unpacked tree, no key or entry of the build cache, no sandbox's state
        assertThat(holding(home, SECRET.getBytes(StandardCharsets.UTF_8))).isEmpty();
        assertThat(shmSecrets()).isEqualTo(before); // the in-memory copy is gone
        assertThat(inImage("run/secrets")).isFalse();
        assertThat(inImage("etc/app")).isFalse();
        // the same build again: every step a cache hit, the secret not even read (its file is gone)
        Files.delete(secret);
        var again = build(file, tmp, options);
        assertThat(again.steps().stream().filter(s -> s.instruction().equals("RUN")).allMatch(
                ContainerfileBuilder.Step::cached)).isTrue();
        assertThat(holding(home, SECRET.getBytes(StandardCharsets.UTF_8))).isEmpty();
        // the check itself finds a value a step wrote into its layer on purpose
        Files.writeString(secret, SECRET);
        build("FROM " + BASE + "\nRUN --mount=type=secret,id=tok cat /run/secrets/tok > /leaked\n", tmp, options);
        assertThat(holding(home.resolve("store"), SECRET.getBytes(StandardCharsets.UTF_8))).isNotEmpty();
    }

    @Test
    void aRequiredSecretNotGivenIsAOneLineError() {
        String file = "FROM " + BASE + "\nRUN --mount=type=secret,id=npmrc,required cat /run/secrets/npmrc\n";
        assertThatThrownBy(() -> build(file, tmp, ContainerfileBuilder.Options.defaults()))
                .isInstanceOf(DavitException.class).hasMessageStartingWith("Containerfile:2: ")
                .hasMessageContaining("build secret npmrc")
                .hasMessageNotContaining("\n");
    }

    @Test
    void aBindIsAReadOnlyCopyOfTheContextOrAStageWithItsContentInTheKey() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx/data"));
        Files.writeString(ctx.resolve("a.txt"), "A1\n");
        Files.writeString(tmp.resolve("ctx/.dockerignore"), "data/skip\n");
        Files.writeString(ctx.resolve("skip"), "ignored\n");
        String file = "FROM " + BASE + " AS s1\nRUN echo from-stage > /f\n"
                + "FROM " + BASE + "\n"
                + "RUN --mount=type=bind,source=data,target=/mnt/data sh -c 'cat /mnt/data/a.txt > /got;"
                + " ls /mnt/data > /listed; touch /mnt/data/new 2>/dev/null && echo writable > /w || echo ro > /w'\n"
                + "RUN --mount=type=bind,source=data,target=/mnt/data,rw touch /mnt/data/new\n"
                + "RUN --mount=type=bind,from=s1,source=/f,target=/x/f cat /x/f > /g\n";
        build(file, tmp.resolve("ctx"), ContainerfileBuilder.Options.defaults());
        assertThat(run("cat", "/got", "/listed", "/w", "/g")).isEqualTo("A1\na.txt\nro\nfrom-stage\n");
        assertThat(ctx.resolve("new")).doesNotExist(); // a writable bind's writes are dropped with its copy
        assertThat(inImage("mnt")).isFalse();
        assertThat(inImage("x")).isFalse();
        Files.writeString(ctx.resolve("a.txt"), "A2\n");
        var again = build(file, tmp.resolve("ctx"), ContainerfileBuilder.Options.defaults());
        assertThat(again.steps().stream().filter(s -> s.instruction().equals("RUN") && !s.cached())).isNotEmpty();
        assertThat(run("cat", "/got")).isEqualTo("A2\n");
    }

    @Test
    void aTmpfsIsTheStepsOwnAndLeavesNothing() throws Exception {
        build("FROM " + BASE + "\nRUN --mount=type=tmpfs,target=/scratch,size=1m sh -c 'echo x > /scratch/a;"
                + " stat -f -c %T /scratch > /fs; cat /scratch/a > /t'\n", tmp,
                ContainerfileBuilder.Options.defaults());
        assertThat(run("cat", "/fs", "/t")).isEqualTo("tmpfs\nx\n");
        assertThat(inImage("scratch")).isFalse();
    }

    /**
     * Attacker's test: a mount inside another is refused, whatever the order: bubblewrap would make the inner one's
     * mount point through the outer one's content (a cache's links a step left), where the host's root still is.
     */
    @Test
    void aMountInsideAnotherIsRefused() {
        for (String mounts : List.of("--mount=type=cache,target=/c --mount=type=tmpfs,target=/c/x",
                "--mount=type=secret,id=s,target=/c/b/k --mount=type=cache,target=/c",
                "--mount=type=tmpfs,target=/t --mount=type=cache,target=/t")) {
            assertThatThrownBy(() -> build("FROM " + BASE + "\nRUN " + mounts + " true\n", tmp,
                    ContainerfileBuilder.Options.defaults())).as(mounts).isInstanceOf(DavitException.class)
                    .hasMessageStartingWith("Containerfile:2: RUN --mount targets /").hasMessageNotContaining("\n");
        }
    }

    /** Attacker's test: a link a step made is followed within the image, never to the host's path it names. */
    @Test
    void aTargetThroughALinkOfTheImageStaysInTheImageAndOneBelowAFileIsRefused() throws Exception {
        Path hostDir = tmp.resolve("host-side");
        build("FROM " + BASE + "\nRUN ln -s " + hostDir + " /evil\n"
                + "RUN --mount=type=tmpfs,target=/evil/x sh -c 'echo in > /evil/x/f; cat /evil/x/f > /seen'\n", tmp,
                ContainerfileBuilder.Options.defaults());
        assertThat(run("cat", "/seen")).isEqualTo("in\n");
        assertThat(hostDir).doesNotExist();
        assertThatThrownBy(() -> build("FROM " + BASE + "\nRUN touch /f\nRUN --mount=type=tmpfs,target=/f/x true\n",
                tmp, ContainerfileBuilder.Options.defaults())).isInstanceOf(DavitException.class)
                .hasMessageStartingWith("Containerfile:3: cannot mount on /f/x: the image has something other than a"
                        + " directory at /f").hasMessageNotContaining("\n");
    }

    /** Whether the built image has {@code rel} (a link itself, not followed). */
    private boolean inImage(String rel) {
        Path root = RunTargets.ofImage(client, home, "localhost/test/mounted:1", null, null).rootfs();
        return Files.exists(root.resolve(rel), java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /** The home's files (gzip layers read through) that hold {@code needle}, as paths. */
    private static List<String> holding(Path root, byte[] needle) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                byte[] b = Files.readAllBytes(p);
                if (b.length > 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b) {
                    try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(b))) {
                        ByteArrayOutputStream o = new ByteArrayOutputStream();
                        in.transferTo(o);
                        b = o.toByteArray();
                    } catch (IOException e) {
                        // not gzip after all: as it is
                    }
                }
                if (new String(b, StandardCharsets.ISO_8859_1).contains(new String(needle,
                        StandardCharsets.ISO_8859_1))) {
                    out.add(root.relativize(p).toString());
                }
            }
        }
        return out;
    }

    private static List<String> shmSecrets() throws IOException {
        Path shm = Path.of("/dev/shm");
        if (!Files.isDirectory(shm)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(shm)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("davit-secret-")).sorted().toList();
        }
    }
}
