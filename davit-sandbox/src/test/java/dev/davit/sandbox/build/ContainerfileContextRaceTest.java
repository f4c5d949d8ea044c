package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import dev.davit.sandbox.target.RunTargets;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A build context changed while a COPY reads it: the static racer (renameat2 RENAME_EXCHANGE, for ever) swaps a
 * directory of the context with a link to a host directory, and a file of it with a link to a host file, while
 * builds copy them. Every build either fails or copies what the context had; no host byte ever reaches an image
 * (the COPY reads through descriptors, each directory opened below its parent with no link followed, each file
 * checked to be the one listed).
 *
 * <p>Most builds meet a change and are refused (which is right); how many depends on how the racers get the CPU, so
 * the test builds at least {@value #ROUNDS} times and goes on, up to {@value #MAX_ROUNDS}, until {@value #COPIED}
 * builds have copied while the racers ran (a CI run with a loaded machine once had all of 30 refused, and then the
 * secret check had nothing to look at).
 */
class ContainerfileContextRaceTest {
    private static final String BASE = "localhost/test/race-base:1";
    private static final String SECRET = "HOST SECRET";
    private static final int ROUNDS = 30;
    private static final int MAX_ROUNDS = 600;
    private static final int COPIED = 3;

    @TempDir
    Path tmp;

    @Test
    void aContextSwappedForLinksWhileItIsCopiedNeverGivesAHostFile() throws Exception {
        Tools.assumeAvailable("gcc", "busybox", "bwrap");
        Path racer = tmp.resolve("racer");
        Path src = tmp.resolve("racer.c");
        try (InputStream in = getClass().getResourceAsStream("/dev/davit/sandbox/racer.c")) {
            Files.write(src, in.readAllBytes());
        }
        Tools.run("gcc", "-static", "-O2", "-o", racer.toString(), src.toString());
        Path host = Files.createDirectories(tmp.resolve("host"));
        for (int k = 0; k < 20; k++) {
            Files.writeString(host.resolve("f" + k), SECRET + "\n");
        }
        Path ctx = Files.createDirectories(tmp.resolve("ctx/d"));
        for (int k = 0; k < 20; k++) {
            Files.writeString(ctx.resolve("f" + k), "context\n");
        }
        Path context = tmp.resolve("ctx");
        Files.createSymbolicLink(context.resolve("alt"), host);
        Files.writeString(context.resolve("file"), "context\n");
        Files.createSymbolicLink(context.resolve("altfile"), host.resolve("f0"));

        Path home = tmp.resolve("home");
        Path base = Files.createDirectories(tmp.resolve("base/bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), base.resolve("busybox"));
        Files.createSymbolicLink(base.resolve("sleep"), Path.of("busybox"));
        try (DavitClient client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            client.build(tmp.resolve("base"), BASE, BuildOptions.defaults(), ProgressListener.NONE);
            Sandboxes sandboxes = new Sandboxes(SandboxOptions.under(home));
            Process dirs = new ProcessBuilder(racer.toString(), context.resolve("d").toString(),
                    context.resolve("alt").toString()).redirectErrorStream(true).start();
            Process files = new ProcessBuilder(racer.toString(), context.resolve("file").toString(),
                    context.resolve("altfile").toString()).redirectErrorStream(true).start();
            int built = 0;
            int failed = 0;
            try {
                for (int round = 0; round < MAX_ROUNDS && (round < ROUNDS || built < COPIED); round++) {
                    String ref = "localhost/test/race:" + round;
                    try {
                        new ContainerfileBuilder(client, sandboxes, home, null).build(Containerfile.parse("FROM "
                                + BASE + "\nCOPY d /app/\nCOPY file /file\n", "Containerfile"), context, ref,
                                ContainerfileBuilder.Options.defaults());
                        built++;
                    } catch (DavitException e) {
                        failed++; // met a link or a change: refused, which is fine
                        continue;
                    }
                    Path rootfs = RunTargets.ofImage(client, home, ref, null, null).rootfs();
                    try (Stream<Path> all = Files.walk(rootfs)) {
                        // regular files only, never through a link: a link the context had at that moment is
                        // copied as a link (as Docker copies one), and only the host would follow it
                        for (Path p : all.filter(q -> Files.isRegularFile(q, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                                .toList()) {
                            if (p.getFileName().toString().equals("busybox")) {
                                continue;
                            }
                            assertThat(Files.readString(p)).as("round " + round + ": " + rootfs.relativize(p))
                                    .doesNotContain(SECRET);
                        }
                    }
                }
            } finally {
                dirs.destroyForcibly().waitFor();
                files.destroyForcibly().waitFor();
            }
            assertThat(built + failed).isBetween(ROUNDS, MAX_ROUNDS);
            assertThat(built).as("builds that copied while the racers ran (" + failed + " refused)")
                    .isGreaterThanOrEqualTo(COPIED);
            System.out.println("context race: " + built + " built, " + failed + " refused");
            assertThat(List.of(dirs.exitValue(), files.exitValue())).as("the racers ran until they were killed")
                    .doesNotContain(1);
        }
    }
}
