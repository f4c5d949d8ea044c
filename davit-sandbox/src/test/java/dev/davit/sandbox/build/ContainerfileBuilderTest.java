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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Containerfiles built by davit over real sandboxes: two stages, build arguments and ARG scoping, ENV and WORKDIR
 * expansion, COPY from the context and from an earlier stage, here-documents for RUN and COPY, the config
 * instructions; the image runs. A failing RUN names its line and exit code; what davit does not build yet, and a
 * COPY out of the context, are one-line errors.
 */
class ContainerfileBuilderTest {
    private static final String BASE = "localhost/test/cf-base:1";

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
                "mkfifo", "stat", "chown", "ln", "find", "sort"), List.of("proc", "dev", "tmp", "etc"));
        Files.createDirectories(src.resolve("srv"));
        Files.setAttribute(src.resolve("srv"), "unix:mode", 01777);
        client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")));
        client.build(src, BASE, BuildOptions.defaults(), ProgressListener.NONE);
        sandboxes = new Sandboxes(SandboxOptions.under(home));
    }

    private ContainerfileBuilder.Result build(String text, Path context, Map<String, String> args,
                                              List<String> said) {
        return new ContainerfileBuilder(client, sandboxes, home, said::add).build(Containerfile.parse(text,
                "Containerfile"), context, null, args, "localhost/test/built:1", null);
    }

    private String run(String image, String... cmd) {
        RunTarget t = RunTargets.ofImage(client, home, image, null, null);
        RunSpec.Builder b = RunSpec.builder(t.rootfs()).image(t.image());
        if (cmd.length > 0) {
            b.command(cmd);
        }
        ExecResult r = sandboxes.run(b.build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    /** The operator's CA certificates reach no step of a build: its layers would carry them into the image. */
    @Test
    void theOperatorsCaCertificatesStayOutOfABuildsLayers() throws Exception {
        Path pem = tmp.resolve("ca.pem");
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        java.security.KeyPair kp = g.generateKeyPair();
        var name = new org.bouncycastle.asn1.x500.X500Name("CN=test proxy CA");
        var cert = new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().getCertificate(
                new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(name, java.math.BigInteger.ONE,
                        new java.util.Date(), new java.util.Date(System.currentTimeMillis() + 86_400_000L), name,
                        kp.getPublic()).build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder(
                        "SHA256withECDSA").build(kp.getPrivate())));
        Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder().encodeToString(
                cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        Sandboxes withCa = new Sandboxes(SandboxOptions.under(home).withTrustedCas(dev.davit.sandbox.TrustedCas
                .parse(List.of(pem.toString()), "--trust-ca")));
        new ContainerfileBuilder(client, withCa, home, s -> { }).build(Containerfile.parse("FROM " + BASE
                + "\nRUN echo made > /made\n", "Containerfile"), tmp, null, Map.of(), "localhost/test/ca:1", null);
        assertThat(run("localhost/test/ca:1", "cat", "/made")).isEqualTo("made\n");
        assertThat(run("localhost/test/ca:1", "sh", "-c", "test -e /etc/ssl/certs/ca-certificates.crt && echo there"
                + " || echo absent")).isEqualTo("absent\n");
    }

    @Test
    void aTwoStageContainerfileBuildsAndRuns() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx/src"));
        Files.writeString(ctx.resolve("a.txt"), "a\n");
        String file = """
                ARG GREETING=hi
                FROM %s AS build
                ARG GREETING
                ENV APP=/app
                WORKDIR $APP
                COPY src/ ./src/
                COPY src/a.txt .
                RUN echo "$GREETING from $APP" > out.txt && cat a.txt >> out.txt
                FROM %s
                COPY --from=build /app/a.txt /srv/a.txt
                RUN cat <<'EOF' > /etc/conf
                $NOT_EXPANDED
                EOF
                COPY --from=build /app/out.txt /out.txt
                COPY <<EOF /etc/motd
                motd
                EOF
                RUN <<EOF
                echo heredoc > /h.txt
                EOF
                LABEL org.example.built=yes
                EXPOSE 8080/tcp
                CMD ["cat", "/out.txt", "/h.txt", "/etc/motd", "/etc/conf"]
                """.formatted(BASE, BASE);
        List<String> said = new ArrayList<>();
        ContainerfileBuilder.Result r = build(file, tmp.resolve("ctx"), Map.of("GREETING", "hey"), said);
        assertThat(said).anyMatch(s -> s.startsWith("STEP 1/")).anyMatch(s -> s.startsWith("STEP ")
                && s.contains(": RUN echo \"$GREETING from $APP\" > out.txt") && s.endsWith("(line 8)"));
        assertThat(r.steps()).extracting(ContainerfileBuilder.Step::instruction).contains("FROM", "COPY", "RUN",
                "CMD");
        assertThat(run("localhost/test/built:1")).isEqualTo("hey from /app\na\nheredoc\nmotd\n$NOT_EXPANDED\n");
        // a COPY into /srv leaves /srv as the image has it (1777, root's)
        assertThat(run("localhost/test/built:1", "stat", "-c", "%a %u", "/srv", "/srv/a.txt")).isEqualTo("1777 0\n"
                + "644 0\n");
        var config = RunTargets.config(client, "localhost/test/built:1");
        assertThat(config.defaults().cmd()).containsExactly("cat", "/out.txt", "/h.txt", "/etc/motd", "/etc/conf");
        assertThat(client.inspectLocal("localhost/test/built:1").config().toString()).contains("org.example.built",
                "8080/tcp");
        // the build's intermediate names are gone; the base, the result and the build cache's entries stay
        assertThat(client.images()).extracting(e -> e.name()).filteredOn(n -> !n.startsWith(BuildCache.REPOSITORY
                + ":")).containsExactlyInAnyOrder(BASE, "localhost/test/built:1");
        assertThat(client.images()).extracting(e -> e.name()).filteredOn(n -> n.startsWith(BuildCache.REPOSITORY
                + ":")).hasSize(5); // three RUN steps and two COPY --from
    }

    @Test
    void aFailingRunNamesItsLineAndExitCode() {
        assertThatThrownBy(() -> build("FROM " + BASE + "\nRUN echo about to fail; exit 3\n", tmp, Map.of(),
                new ArrayList<>())).isInstanceOf(DavitException.class).hasMessageContaining("Containerfile:2: RUN"
                + " exited with 3: about to fail").satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThat(client.images()).extracting(e -> e.name()).containsExactly(BASE); // a failed step is not cached
    }

    @Test
    void whatIsNotBuiltYetAndCopiesOutOfTheContextAreRefused() throws Exception {
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD http://127.0.0.1:9/x /x\n", tmp, Map.of(),
                new ArrayList<>())).hasMessageContaining("Containerfile:2: ADD http://127.0.0.1:9/x is fetched through the"
                + " build's network, and the build has none");
        Path ctx = Files.createDirectories(tmp.resolve("ctx2"));
        assertThatThrownBy(() -> build("FROM " + BASE + "\nCOPY ../x /x\n", ctx, Map.of(), new ArrayList<>()))
                .hasMessageContaining("Containerfile:2: ../x leads out of the build's files");
        // a source through a link is followed within the context, never on the host: a link to the host's directory
        // of this test names that path inside the context
        Files.writeString(tmp.resolve("x"), "a host file\n");
        Files.createSymbolicLink(ctx.resolve("out"), tmp);
        assertThatThrownBy(() -> build("FROM " + BASE + "\nCOPY out/x /x\n", ctx, Map.of(), new ArrayList<>()))
                .hasMessageContaining("Containerfile:2: no " + tmp.toString().substring(1) + "/x in the build"
                        + " context");
        Files.createDirectories(ctx.resolve(tmp.toString().substring(1)));
        Files.writeString(ctx.resolve(tmp.toString().substring(1) + "/x"), "the context's own\n");
        build("FROM " + BASE + "\nCOPY out/x /x\nCMD [\"cat\", \"/x\"]\n", ctx, Map.of(), new ArrayList<>());
        assertThat(run("localhost/test/built:1")).isEqualTo("the context's own\n");
        // a destination with .. stays in the image (it stops at its root), never above the build's staging
        Files.writeString(ctx.resolve("f"), "f\n");
        build("FROM " + BASE + "\nWORKDIR /w\nCOPY f ../../../../../escaped-by-davit\nCMD [\"cat\","
                + " \"/escaped-by-davit\"]\n", ctx, Map.of(), new ArrayList<>());
        assertThat(run("localhost/test/built:1")).isEqualTo("f\n");
        assertThat(Path.of("/escaped-by-davit")).doesNotExist();
        // a destination through the image's links is followed within the image, never on the host: a link naming
        // the host's directory of this test by an absolute path and by ../ leads to that path inside the image
        Path hostDir = Files.createDirectories(tmp.resolve("host-side"));
        build("FROM " + BASE + "\nRUN ln -s " + hostDir + " /abs && ln -s ../../../../../../../.." + hostDir
                + " /rel\nCOPY f /abs/by-abs\nCOPY f /rel/by-rel\n", ctx, Map.of(), new ArrayList<>());
        assertThat(hostDir).isEmptyDirectory();
        Path inImage = RunTargets.ofImage(client, home, "localhost/test/built:1", null, null).rootfs()
                .resolve(hostDir.toString().substring(1)); // under /tmp, which a sandbox's own /tmp hides
        assertThat(inImage.resolve("by-abs")).hasContent("f");
        assertThat(inImage.resolve("by-rel")).hasContent("f");
        // a fifo is refused, never opened (it would block the build for ever); a RUN's fifo never reaches a layer
        Tools.run("mkfifo", ctx.resolve("p").toString());
        assertThatThrownBy(() -> build("FROM " + BASE + "\nCOPY p /p\n", ctx, Map.of(), new ArrayList<>()))
                .hasMessageContaining("Containerfile:2: p is not a file, a link or a directory");
        assertThatThrownBy(() -> build("FROM " + BASE + " AS a\nRUN mkfifo /p\nFROM " + BASE
                + "\nCOPY --from=a /p /p\n", ctx, Map.of(), new ArrayList<>()))
                .hasMessageContaining("Containerfile:4: no /p in stage or image a");
        // in a copied directory, or made by a RUN, a fifo is left out and the build says so
        Path dir = Files.createDirectories(tmp.resolve("ctx-fifo/d"));
        Files.writeString(dir.resolve("kept"), "kept\n");
        Tools.run("mkfifo", dir.resolve("pipe").toString());
        List<String> said = new ArrayList<>();
        build("FROM " + BASE + "\nCOPY . /c\nRUN mkfifo /made && mkfifo /made2\n", tmp.resolve("ctx-fifo"),
                Map.of(), said);
        assertThat(said).contains("COPY left out 1 special file (a fifo, socket or device node is never stored in a"
                + " layer): d/pipe");
        assertThat(said).contains("RUN left out 2 special files (a fifo, socket or device node is never stored in a"
                + " layer): made, made2");
        assertThat(run("localhost/test/built:1", "sh", "-c", "cat /c/d/kept; ls /c/d /; test -e /made || echo none"))
                .contains("kept").doesNotContain("pipe").contains("none");
    }

    /**
     * ADD unpacks a local tar (gzip, bzip2, xz, plain; found by its content) into the destination and copies any other
     * file as it is; a tar naming ../ is refused. FROM scratch starts from nothing; VOLUME and STOPSIGNAL are the
     * config; --chown takes the image's names (without a group, the user's primary group, as BuildKit and buildah give
     * it);
     * what comes from the context is root's.
     */
    @Test
    void addUnpacksTarsScratchStartsEmptyAndChownTakesNames() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Path tree = Files.createDirectories(tmp.resolve("tree/d"));
        Files.writeString(tree.resolve("in.txt"), "in the tar\n");
        Tools.run("tar", "-C", tmp.resolve("tree").toString(), "-czf", ctx.resolve("t.tgz").toString(), "d");
        Tools.run("tar", "-C", tmp.resolve("tree").toString(), "-cjf", ctx.resolve("t.bz").toString(), "d");
        Tools.run("tar", "-C", tmp.resolve("tree").toString(), "-cf", ctx.resolve("t.tar.not").toString(), "d");
        Tools.run("sh", "-c", "tar -C " + tmp.resolve("tree") + " -cf - d | xz -c > " + ctx.resolve("t.txz"));
        Files.writeString(ctx.resolve("plain.gz"), "not gzip at all\n"); // its name says gzip: copied as it is
        Files.writeString(ctx.resolve("f"), "f\n");
        String file = """
                FROM %s
                RUN echo 'app:x:1000:1001::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1001:' >> /etc/group \
                    && echo "$HOME" > /root-home && mkdir -p /home/app && chown 1000:1001 /home/app
                USER app
                RUN echo "$HOME" > /home/app/app-home
                USER 0
                ADD t.tgz /gz/
                ADD t.bz /bz
                ADD t.txz /xz/
                ADD t.tar.not plain.gz /plain/
                COPY --chown=app f /by-name
                COPY --chown=app:app f /by-names
                COPY f /by-root
                VOLUME /data
                VOLUME ["/cache"]
                STOPSIGNAL SIGINT
                CMD ["cat", "/gz/d/in.txt", "/bz/d/in.txt", "/xz/d/in.txt", "/plain/d/in.txt", "/plain/plain.gz"]
                """.formatted(BASE);
        build(file, ctx, Map.of(), new ArrayList<>());
        assertThat(run("localhost/test/built:1")).isEqualTo("in the tar\n".repeat(4) + "not gzip at all\n");
        assertThat(run("localhost/test/built:1", "stat", "-c", "%u:%g", "/by-name", "/by-names", "/by-root",
                "/gz/d/in.txt")).isEqualTo("1000:1001\n1000:1001\n0:0\n0:0\n");
        // a RUN's HOME is the user's home in /etc/passwd (root's /root when it has no entry), as Docker's builders set it
        assertThat(run("localhost/test/built:1", "cat", "/root-home", "/home/app/app-home")).isEqualTo(
                "/root\n/home/app\n");
        var defaults = client.inspectLocal("localhost/test/built:1").config().defaults();
        assertThat(defaults.volumes()).containsExactlyInAnyOrder("/cache", "/data");
        assertThat(defaults.stopSignal()).isEqualTo("SIGINT");
        assertThatThrownBy(() -> build("FROM " + BASE + "\nCOPY --chown=nobody f /f\n", ctx, Map.of(),
                new ArrayList<>())).hasMessageContaining("Containerfile:2: the image's user 'nobody' is not in its"
                + " /etc/passwd");

        // a RUN sees what the image has in /tmp (a COPY's requirements file, as Dockerfiles often do) and what it
        // writes there is in its layer
        build("FROM " + BASE + "\nCOPY f /tmp/req.txt\nRUN cat /tmp/req.txt > /seen && mkdir -p /run/x"
                + " && echo r > /run/x/r && echo t > /tmp/t\n", ctx, Map.of(), new ArrayList<>());
        assertThat(run("localhost/test/built:1", "cat", "/seen")).isEqualTo("f\n");
        Path unpacked = tmp.resolve("unpacked-tmp");
        client.unpack("localhost/test/built:1", unpacked);
        assertThat(unpacked.resolve("run/x/r")).hasContent("r");
        assertThat(unpacked.resolve("tmp/t")).hasContent("t");

        // a tar that names ../ is refused, and nothing of it lands beside the build
        Tools.run("tar", "-C", tmp.resolve("tree").toString(), "-cf", ctx.resolve("evil.tar").toString(),
                "--transform", "s,^d,../../escaped-by-davit-add,", "d");
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD evil.tar /x/\n", ctx, Map.of(), new ArrayList<>()))
                .isInstanceOf(DavitException.class).hasMessageContaining("Containerfile:2:");
        assertThat(tmp.resolve("escaped-by-davit-add")).doesNotExist();
        // an xz stream that asks for a 256 MiB dictionary (168 bytes of it) is refused before any is allocated
        Tools.run("sh", "-c", "tar -C " + tmp.resolve("tree") + " -cf - d | xz --lzma2=preset=0,dict=256MiB -c > "
                + ctx.resolve("bomb.txz"));
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD bomb.txz /x/\n", ctx, Map.of(), new ArrayList<>()))
                .isInstanceOf(DavitException.class).hasMessageContaining("Containerfile:2: the xz archive bomb.txz"
                + " needs over 128 MiB to unpack");

        // FROM scratch: only what is copied; RUN before anything is there is refused
        build("FROM scratch\nCOPY f /f\n", ctx, Map.of(), new ArrayList<>());
        assertThat(((dev.davit.oci.manifest.ImageManifest) client.inspectLocal("localhost/test/built:1").manifest())
                .layers()).hasSize(1);
        assertThatThrownBy(() -> build("FROM scratch\nRUN true\n", ctx, Map.of(), new ArrayList<>()))
                .hasMessageContaining("Containerfile:2: RUN in a stage FROM scratch has no program to run");
    }

    /**
     * The build cache: a second build runs no RUN (a random value it wrote is the same, every RUN step is cached and
     * the image's digest is the same); a changed COPY source rebuilds from that step on; --no-cache runs all again;
     * two builds at once into one store both finish and leave it sound; the cache's entries are store entries that
     * a removal and gc free.
     */
    @Test
    void aSecondBuildIsCachedAndAChangedSourceRebuildsFromItsStep() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Files.writeString(ctx.resolve("a"), "a1\n");
        Files.writeString(ctx.resolve("b"), "b1\n");
        String file = """
                FROM %s
                RUN echo $RANDOM$RANDOM$RANDOM > /first
                COPY a /a
                RUN echo $RANDOM$RANDOM$RANDOM > /second
                COPY b /b
                RUN echo $RANDOM$RANDOM$RANDOM > /third
                CMD ["cat", "/first", "/second", "/third"]
                """.formatted(BASE);
        ContainerfileBuilder.Options o = ContainerfileBuilder.Options.defaults();
        ContainerfileBuilder.Result one = builder().build(Containerfile.parse(file, "Containerfile"), ctx,
                "localhost/test/built:1", o);
        String first = run("localhost/test/built:1");
        assertThat(one.steps()).filteredOn(st -> st.instruction().equals("RUN")).extracting(
                ContainerfileBuilder.Step::cached).containsExactly(false, false, false);

        List<String> said = new ArrayList<>();
        ContainerfileBuilder.Result two = new ContainerfileBuilder(client, sandboxes, home, said::add).build(
                Containerfile.parse(file, "Containerfile"), ctx, "localhost/test/built:2", o);
        assertThat(two.steps()).filteredOn(st -> st.instruction().equals("RUN")).extracting(
                ContainerfileBuilder.Step::cached).containsExactly(true, true, true);
        assertThat(said).contains("--> CACHED");
        assertThat(two.image().manifest().digest()).isEqualTo(one.image().manifest().digest());
        assertThat(run("localhost/test/built:2")).isEqualTo(first);

        Files.writeString(ctx.resolve("b"), "b2\n"); // the second COPY's source: the last RUN runs again
        ContainerfileBuilder.Result three = builder().build(Containerfile.parse(file, "Containerfile"), ctx,
                "localhost/test/built:3", o);
        assertThat(three.steps()).filteredOn(st -> st.instruction().equals("RUN")).extracting(
                ContainerfileBuilder.Step::cached).containsExactly(true, true, false);
        String[] lines = run("localhost/test/built:3").split("\n");
        assertThat(lines[0] + "\n" + lines[1] + "\n").isEqualTo(first.substring(0, first.lastIndexOf('\n',
                first.length() - 2) + 1));
        assertThat(lines[2] + "\n").isNotEqualTo(first.substring(first.lastIndexOf('\n', first.length() - 2) + 1));

        ContainerfileBuilder.Result four = builder().build(Containerfile.parse(file, "Containerfile"), ctx,
                "localhost/test/built:4", o.withNoCache(true));
        assertThat(four.steps()).noneMatch(ContainerfileBuilder.Step::cached);
        assertThat(run("localhost/test/built:4")).isNotEqualTo(run("localhost/test/built:3"));

        // two builds at once into one store (a new source, so both run their steps)
        Files.writeString(ctx.resolve("a"), "a2\n");
        List<Throwable> failed = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int k = 5; k <= 6; k++) {
            String ref = "localhost/test/built:" + k;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    builder().build(Containerfile.parse(file, "Containerfile"), ctx, ref, o);
                } catch (Throwable e) {
                    failed.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failed).isEmpty();
        assertThat(run("localhost/test/built:5")).contains("\n");
        assertThat(client.fsck(false).clean()).isTrue();

        // the cache is store entries: removed, then gc frees their layers
        List<String> cache = client.images().stream().map(e -> e.name()).filter(n -> n.startsWith(
                BuildCache.REPOSITORY + ":")).toList();
        assertThat(cache).hasSizeGreaterThanOrEqualTo(5);
        cache.forEach(client::remove);
        for (int k = 1; k <= 6; k++) {
            client.remove("localhost/test/built:" + k);
        }
        assertThat(client.gc().removedBlobs()).isPositive();
        ContainerfileBuilder.Result again = builder().build(Containerfile.parse(file, "Containerfile"), ctx,
                "localhost/test/built:7", o);
        assertThat(again.steps()).noneMatch(ContainerfileBuilder.Step::cached);
    }

    /**
     * A rebuild that changed nothing unpacks no image and makes the same image, byte for byte: WORKDIR, COPY into a
     * directory it makes, --chown and USER by a name a RUN added to /etc/passwd, a link of the image on the
     * destination's way, a HOME from /etc/passwd, and a COPY --from a stage are answered from the layers' indexes
     * (issue 54: each such step unpacked the whole image, and a COPY into a new directory gave it the time of the
     * build, so every RUN after it ran again).
     */
    @Test
    void aRebuildThatChangedNothingUnpacksNoImageAndMakesTheSameOne() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Files.createDirectories(ctx.resolve("src/sub"));
        Files.writeString(ctx.resolve("src/a.txt"), "a\n");
        Files.writeString(ctx.resolve("src/sub/b.txt"), "b\n");
        String file = """
                FROM %s AS build
                RUN mkdir -p /out && echo built > /out/stamp
                FROM %s
                RUN echo 'bob:x:1001:1002::/home/bob:/bin/sh' >> /etc/passwd \
                    && echo 'staff:x:1002:' >> /etc/group && mkdir -p /data/real && ln -s /data/real /data/link
                WORKDIR /app
                COPY --chown=bob src/ /app/src/
                COPY --from=build /out/ /data/link/out/
                USER bob
                WORKDIR /home/bob/work
                RUN echo $HOME $(stat -c %%u:%%g /app/src/a.txt /data/real/out/stamp /home/bob/work) > seen
                CMD ["cat", "/home/bob/work/seen"]
                """.formatted(BASE, BASE);
        ContainerfileBuilder first = builder();
        ContainerfileBuilder.Result one = first.build(Containerfile.parse(file, "Containerfile"), ctx,
                "localhost/test/built:1", ContainerfileBuilder.Options.defaults());
        assertThat(run("localhost/test/built:1")).isEqualTo("/home/bob 1001:1002 0:0 1001:1002\n");
        assertThat(first.unpacks()).isPositive();

        // each layer's history entry is its instruction as written
        assertThat(client.inspectLocal("localhost/test/built:1").config().history().stream().map(h -> h.createdBy()))
                .contains(ContainerfileBuilder.CREATED_BY + "WORKDIR /app", ContainerfileBuilder.CREATED_BY
                        + "COPY --chown=bob src/ /app/src/", ContainerfileBuilder.CREATED_BY
                        + "COPY --from=build /out/ /data/link/out/");

        ContainerfileBuilder again = builder();
        ContainerfileBuilder.Result two = again.build(Containerfile.parse(file, "Containerfile"), ctx,
                "localhost/test/built:2", ContainerfileBuilder.Options.defaults());
        assertThat(two.image().manifest().digest()).isEqualTo(one.image().manifest().digest());
        assertThat(two.steps()).filteredOn(st -> st.instruction().equals("RUN") || st.line() == 7) // COPY --from
                .hasSize(4).allMatch(ContainerfileBuilder.Step::cached);
        assertThat(again.unpacks()).as("images unpacked by a rebuild that changed nothing").isZero();
    }

    /** Steps that made the same files from different instructions make different images (their history differs). */
    @Test
    void runStepsThatChangeNothingAreToldApartByTheirInstruction() throws Exception {
        ContainerfileBuilder.Result a = build("FROM " + BASE + "\nRUN true\n", tmp, Map.of(), new ArrayList<>());
        ContainerfileBuilder.Result b = build("FROM " + BASE + "\nRUN [\"true\", \"x\"]\n", tmp, Map.of(),
                new ArrayList<>());
        assertThat(a.image().manifest().digest()).isNotEqualTo(b.image().manifest().digest());
        assertThat(client.inspectLocal("localhost/test/built:1").config().history().stream().map(h -> h.createdBy()))
                .contains(ContainerfileBuilder.CREATED_BY + "RUN [\"true\", \"x\"]");
    }

    /**
     * HEALTHCHECK and ONBUILD land in the config as Docker's format has them; a base's triggers are never inherited
     * and never skipped: a build FROM an image that has some says so.
     */
    @Test
    void healthcheckAndOnbuildAreInTheConfigAndABasesTriggersRunInTheChildBuild() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("onbuild-ctx"));
        Files.writeString(ctx.resolve("app.txt"), "the child's file\n");
        build("FROM " + BASE + "\nHEALTHCHECK --interval=30s --retries=2 CMD [\"true\"]\nONBUILD COPY app.txt /app/\n"
                + "ONBUILD RUN echo triggered >> /app/app.txt\n", tmp, Map.of(), new ArrayList<>());
        var config = dev.davit.oci.internal.Json.read(client.inspectLocal("localhost/test/built:1").config().json()
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)).path("config");
        assertThat(config.path("Healthcheck").toString()).isEqualTo("{\"Interval\":30000000000,\"Retries\":2,"
                + "\"Test\":[\"CMD\",\"true\"]}");
        assertThat(config.path("OnBuild").toString()).isEqualTo("[\"COPY app.txt /app/\",\"RUN echo triggered >>"
                + " /app/app.txt\"]");
        client.store().setEntry("localhost/test/with-triggers:1", client.find("localhost/test/built:1").orElseThrow()
                .descriptor(), Map.of());
        // a build FROM it runs the triggers first, in the child's context, and its image keeps none of them
        List<String> said = new ArrayList<>();
        build("FROM localhost/test/with-triggers:1\nRUN cat /app/app.txt > /seen\n", ctx, Map.of(), said);
        assertThat(run("localhost/test/built:1", "cat", "/seen")).isEqualTo("the child's file\ntriggered\n");
        assertThat(said).anyMatch(l -> l.startsWith("STEP 2/4: ONBUILD COPY app.txt /app/ (line 1, the base"));
        var child = dev.davit.oci.internal.Json.read(client.inspectLocal("localhost/test/built:1").config().json()
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)).path("config");
        assertThat(child.path("OnBuild").isMissingNode() || child.path("OnBuild").isNull()
                || child.path("OnBuild").isEmpty()).as(child.toString()).isTrue();
        // a trigger no build runs (a config from elsewhere) is a one-line error naming it
        Path bad = tmp.resolve("bad-base");
        Files.createDirectories(bad);
        client.build(bad, "localhost/test/bad-trigger:1", BuildOptions.builder().onBuild(List.of("FROM x")).build(),
                ProgressListener.NONE);
        assertThatThrownBy(() -> build("FROM localhost/test/bad-trigger:1\nRUN true\n", tmp, Map.of(),
                new ArrayList<>())).hasMessage("Containerfile:1: the base image's ONBUILD trigger 'FROM x' is not an"
                + " instruction a build runs; build FROM an image without it");
        // a base image's trigger never reads the build's secrets, caches or other stages
        for (String t : List.of("RUN --mount=type=secret,id=npmrc cat /run/secrets/npmrc > /stolen",
                "COPY --from=build /x /y", "RUN --mount=type=cache,target=/root/.npm true")) {
            client.build(bad, "localhost/test/bad-trigger:2", BuildOptions.builder().onBuild(List.of(t)).build(),
                    ProgressListener.NONE);
            assertThatThrownBy(() -> build("FROM localhost/test/bad-trigger:2\nRUN true\n", tmp, Map.of(),
                    new ArrayList<>())).as(t).hasMessageStartingWith("Containerfile:1: the base image's ONBUILD"
                    + " trigger '").hasMessageContaining("which a base image's trigger may not");
        }
        // a trigger that fails says it is the base image's
        client.build(bad, "localhost/test/bad-trigger:3", BuildOptions.builder().onBuild(List.of("COPY missing /m"))
                .build(), ProgressListener.NONE);
        assertThatThrownBy(() -> build("FROM localhost/test/bad-trigger:3\nRUN true\n", tmp, Map.of(),
                new ArrayList<>())).hasMessageStartingWith("Containerfile:1: the base image's ONBUILD trigger COPY"
                + " missing /m: ");
    }

    /**
     * COPY --exclude leaves out what its patterns name (relative to a directory source, a file source by its name,
     * relative to a glob's directory: {@code *.md} there is the top level's only), never what the ignore file left
     * out; --parents keeps each source's path below the destination (after a /./ only what follows it, a glob before
     * it too), its excludes relative to the root, as BuildKit copies them.
     */
    @Test
    void copyExcludeAndParentsChooseWhatIsCopiedAndWhere() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ex-ctx"));
        for (String f : List.of("a/x.txt", "a/y.md", "a/sub/z.txt", "b/w.txt", "top.md", "a/.env", "nm/m.js")) {
            Files.createDirectories(ctx.resolve(f).getParent());
            Files.writeString(ctx.resolve(f), f + "\n");
        }
        Files.writeString(ctx.resolve(".dockerignore"), "a/.env\n");
        build("FROM " + BASE + "\nCOPY --exclude=*.md --exclude=sub a /ex/\nCOPY --exclude=*.md a/x.txt top.md /ex2/\n"
                + "COPY --parents a/sub/z.txt b/w.txt /par/\nCOPY --parents ./a/./sub/z.txt /piv/\n"
                + "COPY --parents a /pdir/\nCOPY --parents --exclude=a/sub ./*/./sub/z.txt a /pex/\n"
                + "COPY --exclude=nm --exclude=*.md * /glob/\n"
                // an exclusion never lets back in what the ignore file leaves out
                + "COPY --exclude=!.env --exclude=!a/.env a /back/\n", ctx, Map.of(), new ArrayList<>());
        assertThat(run("localhost/test/built:1", "sh", "-c", "find /ex /ex2 /par /piv /pdir /pex /glob /back -type f"
                + " | sort")).isEqualTo(String.join("\n", "/back/sub/z.txt", "/back/x.txt", "/back/y.md",
                "/ex/x.txt", "/ex2/x.txt", "/glob/.dockerignore", "/glob/sub/z.txt", "/glob/w.txt", "/glob/x.txt",
                "/glob/y.md", "/par/a/sub/z.txt",
                "/par/b/w.txt", "/pdir/a/sub/z.txt", "/pdir/a/x.txt", "/pdir/a/y.md", "/pex/a/x.txt", "/pex/a/y.md",
                "/pex/sub/z.txt", "/piv/sub/z.txt") + "\n");
        assertThat(client.inspectLocal("localhost/test/built:1").config().history().stream().map(h -> h.createdBy()))
                .anyMatch(h -> h.endsWith("COPY --exclude=*.md --exclude=sub a /ex/"))
                .anyMatch(h -> h.endsWith("COPY --parents a/sub/z.txt b/w.txt /par/"));
    }

    /** An ADD source's secrets stay out of the history and the step line, however the source is written. */
    @Test
    void anAddSourcesQueryAndPasswordAreLeftOutWhereverTheyAre() {
        assertThat(ContainerfileBuilder.redacted("\"https://u:pw@h.example/f?token=s3cr3t\""))
                .isEqualTo("\"https://h.example/f?…\"");
        assertThat(ContainerfileBuilder.redacted("${BASE}/f.tgz?sig=s3cr3t#x")).isEqualTo("${BASE}/f.tgz?…");
        assertThat(ContainerfileBuilder.redacted("'http://tok@h/a'")).isEqualTo("'http://h/a'");
        assertThat(ContainerfileBuilder.redacted("local.tar")).isEqualTo("local.tar");
    }

    private ContainerfileBuilder builder() {
        return new ContainerfileBuilder(client, sandboxes, home, null);
    }

    /**
     * The context's .dockerignore: what it leaves out is not copied (a directory left out is entered only for an
     * exception), a source it leaves out is an error naming the fix; globs in sources match what is left (sorted,
     * into a directory), and a glob matching nothing is an error.
     */
    @Test
    void theIgnoreFileAndGlobsChooseWhatIsCopied() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Files.writeString(ctx.resolve(".dockerignore"), "# secrets stay home\n*.secret\nsub\n!sub/keep\n.env\nnode_modules\n");
        for (String f : List.of("a.secret", "b.txt", "c.txt", ".env", "sub/x", "sub/keep", "node_modules/m/i.js",
                "src/one.java", "src/two.java", "src/three.kt")) {
            Files.createDirectories(ctx.resolve(f).getParent());
            Files.writeString(ctx.resolve(f), f + "\n");
        }
        build("FROM " + BASE + "\nCOPY . /ctx/\nCOPY *.txt /glob/\nCOPY src/*.java /java/\nCOPY s?b /s/\n", ctx, Map.of(),
                new ArrayList<>());
        assertThat(run("localhost/test/built:1", "/bin/busybox", "find", "/ctx", "/glob", "/java", "/s").lines())
                .containsExactlyInAnyOrder("/ctx", "/ctx/.dockerignore", "/ctx/b.txt", "/ctx/c.txt", "/ctx/src",
                        "/ctx/src/one.java", "/ctx/src/two.java", "/ctx/src/three.kt", "/ctx/sub", "/ctx/sub/keep",
                        "/glob", "/glob/b.txt", "/glob/c.txt", "/java", "/java/one.java", "/java/two.java", "/s",
                        "/s/keep");
        assertThatThrownBy(() -> build("FROM " + BASE + "\nCOPY .env /e\n", ctx, Map.of(), new ArrayList<>()))
                .hasMessageContaining("Containerfile:2: .env is left out of the build context by its ignore file");
        assertThatThrownBy(() -> build("FROM " + BASE + "\nCOPY *.secret /x/\n", ctx, Map.of(), new ArrayList<>()))
                .hasMessageContaining("Containerfile:2: no file of the build context matches *.secret");
        assertThatThrownBy(() -> build("FROM " + BASE + "\nCOPY ../*.txt /x/\n", ctx, Map.of(), new ArrayList<>()))
                .hasMessageContaining("Containerfile:2:");
    }

    /**
     * Reproducible: with a build time, two builds of the same Containerfile and context in two homes (no cache
     * shared, the context's files touched between them) give the same image digest, RUN and COPY layers included.
     */
    @Test
    void aBuildWithATimeIsReproducibleInAnotherHome() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Files.writeString(ctx.resolve("a"), "a\n");
        String file = "FROM " + BASE + "\nCOPY a /a\nRUN echo made > /made && mkdir -p /d && echo x > /d/x\n"
                + "WORKDIR /w\nCMD [\"cat\", \"/made\"]\n";
        java.time.Instant t = java.time.Instant.parse("2026-01-01T00:00:00Z");
        ContainerfileBuilder.Result one = builder().build(Containerfile.parse(file, "Containerfile"), ctx,
                "localhost/test/built:1", ContainerfileBuilder.Options.defaults().withCreated(t));
        Files.setLastModifiedTime(ctx.resolve("a"), java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
        Thread.sleep(1100); // the second RUN writes its files a second later
        Path home2 = tmp.resolve("home2");
        try (DavitClient c2 = DavitClient.create(ClientOptions.anonymous(home2.resolve("store")))) {
            Files.createDirectories(tmp.resolve("base"));
            c2.build(tmp.resolve("base"), BASE, BuildOptions.defaults(), ProgressListener.NONE);
            ContainerfileBuilder.Result two = new ContainerfileBuilder(c2, new Sandboxes(SandboxOptions.under(home2)),
                    home2, null).build(Containerfile.parse(file, "Containerfile"), ctx, "localhost/test/built:1",
                    ContainerfileBuilder.Options.defaults().withCreated(t));
            assertThat(two.steps()).noneMatch(ContainerfileBuilder.Step::cached);
            assertThat(two.image().manifest().digest()).isEqualTo(one.image().manifest().digest());
        }
    }

    /**
     * What a reviewer broke: a COPY whose first source leaves a link where its second source has a directory (from a
     * stage a RUN made, or from a hostile context) replaces the link and writes nothing through it to the host; an
     * ADD of a tar of many small files is built (the names' budget is for all names together).
     */
    @Test
    void aLinkOneSourceLeavesIsReplacedByTheNextNeverFollowed() throws Exception {
        Path hostStage = Files.createDirectories(tmp.resolve("host-target-stage"));
        Path hostCtx = Files.createDirectories(tmp.resolve("host-target-context"));
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Files.createDirectories(ctx.resolve("src1"));
        Files.createSymbolicLink(ctx.resolve("src1/x"), hostCtx);
        Files.createDirectories(ctx.resolve("src2/x"));
        Files.writeString(ctx.resolve("src2/x/pwn"), "from the context\n");
        build("FROM " + BASE + " AS a\nRUN mkdir -p /s1 /s2/x && ln -s " + hostStage + " /s1/x && echo PWNED >"
                + " /s2/x/pwn\nFROM " + BASE + "\nCOPY --from=a /s1/ /s2/ /dst/\nCOPY src* /app/\n", ctx, Map.of(),
                new ArrayList<>());
        assertThat(hostStage).isEmptyDirectory();
        assertThat(hostCtx).isEmptyDirectory();
        assertThat(run("localhost/test/built:1", "cat", "/dst/x/pwn", "/app/x/pwn")).isEqualTo("PWNED\n"
                + "from the context\n");

        Path many = Files.createDirectories(tmp.resolve("many/d"));
        for (int k = 0; k < 300; k++) {
            Files.writeString(many.resolve("file-with-a-longish-name-" + k + ".txt"), k + "\n");
        }
        Tools.run("tar", "-C", tmp.resolve("many").toString(), "-czf", ctx.resolve("many.tgz").toString(), "d");
        build("FROM " + BASE + "\nADD many.tgz /m/\n", ctx, Map.of(), new ArrayList<>());
        assertThat(run("localhost/test/built:1", "cat", "/m/d/file-with-a-longish-name-299.txt")).isEqualTo("299\n");
    }

    /**
     * The cache's entries are this home's alone: with the home's key gone (as for an entry imported from elsewhere,
     * which has no MAC under this home's key) every RUN runs again; and a build with another time does not take
     * the layers of one with the first (their times differ).
     */
    @Test
    void theCacheTakesOnlyItsHomesEntriesOfTheSameTime() throws Exception {
        String file = "FROM " + BASE + "\nRUN echo $RANDOM$RANDOM > /r\n";
        ContainerfileBuilder.Options o = ContainerfileBuilder.Options.defaults();
        builder().build(Containerfile.parse(file, "Containerfile"), tmp, "localhost/test/built:1", o);
        assertThat(builder().build(Containerfile.parse(file, "Containerfile"), tmp, "localhost/test/built:2", o)
                .steps()).anyMatch(ContainerfileBuilder.Step::cached);
        Files.delete(home.resolve("build-cache.key"));
        assertThat(builder().build(Containerfile.parse(file, "Containerfile"), tmp, "localhost/test/built:3", o)
                .steps()).noneMatch(ContainerfileBuilder.Step::cached);
        java.time.Instant t = java.time.Instant.parse("2001-01-01T00:00:00Z");
        builder().build(Containerfile.parse(file, "Containerfile"), tmp, "localhost/test/built:4", o.withCreated(t));
        assertThat(builder().build(Containerfile.parse(file, "Containerfile"), tmp, "localhost/test/built:5",
                o.withCreated(t.plusSeconds(86400))).steps()).noneMatch(ContainerfileBuilder.Step::cached);
    }

    /**
     * Disk: the steps' unpacked root filesystems go when the build ends (only the base's stays in the home's rootfs/
     * cache); an unpacked image a sandbox was made from stays through a prune after its name is
     * removed, and goes once the sandbox does.
     */
    @Test
    void theStepsUnpackedImagesGoWhenTheBuildEndsAndPruneTakesWhatNothingUses() throws Exception {
        Files.writeString(tmp.resolve("f"), "f\n");
        build("FROM " + BASE + "\nRUN echo a > /a\nCOPY f /f\nRUN echo b > /b\nRUN echo c > /c\n", tmp, Map.of(),
                new ArrayList<>());
        String base = dir(BASE);
        String built = dir("localhost/test/built:1");
        assertThat(unpacked()).containsExactly(base); // the result is unpacked when it is first run
        RunTarget t = RunTargets.ofImage(client, home, "localhost/test/built:1", null, null);
        assertThat(unpacked()).containsExactlyInAnyOrder(base, built);
        dev.davit.sandbox.Sandbox s = sandboxes.create(dev.davit.sandbox.CreateSpec.builder(t.rootfs()).build());
        client.remove("localhost/test/built:1");
        assertThat(RunTargets.prune(client, home, sandboxes::list, null, java.time.Duration.ZERO).removed()).isZero();
        assertThat(unpacked()).containsExactlyInAnyOrder(base, built);
        sandboxes.rm(s.id());
        RunTargets.Pruned p = RunTargets.prune(client, home, sandboxes::list, null, java.time.Duration.ZERO);
        assertThat(p.removed()).isEqualTo(1);
        assertThat(p.freedBytes()).isPositive();
        assertThat(unpacked()).containsExactly(base);
    }

    private String dir(String ref) {
        return client.find(ref).orElseThrow().descriptor().digest().toString().replace(':', '-');
    }

    private List<String> unpacked() throws java.io.IOException {
        try (var s = Files.list(home.resolve("rootfs"))) {
            return s.map(q -> q.getFileName().toString()).filter(n -> !n.endsWith(".owners")).toList();
        }
    }
}
