package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One Containerfile, both kinds of environment: its image made into a microVM environment ({@code davit build
 * --vm}: {@link EnvBuilder#microVm}) boots in QEMU with Debian's kernel, and the files its RUN and COPY steps made
 * are there, with their owners; the same image and time give the same artifact.
 */
class ContainerfileVmTest {
    @TempDir
    Path tmp;

    @Test
    void aContainerfilesImageBootsAsAMicroVm() throws Exception {
        Tools.assumeAvailable("busybox", "bwrap", "qemu-system-x86_64", "mkfs.ext4", "dpkg-deb");
        Path home = tmp.resolve("home");
        Path src = tmp.resolve("base");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : List.of("sh", "echo", "cat", "stat", "sleep")) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp", "etc", "sys", "run")) {
            Files.createDirectories(src.resolve(d));
        }
        Path ctx = Files.createDirectories(tmp.resolve("ctx"));
        Files.writeString(ctx.resolve("hello"), "copied\n");
        try (DavitClient client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            client.build(src, "localhost/test/vm-base:1", BuildOptions.defaults(), ProgressListener.NONE);
            Sandboxes sandboxes = new Sandboxes(SandboxOptions.under(home));
            new ContainerfileBuilder(client, sandboxes, home, null).build(Containerfile.parse("""
                    FROM localhost/test/vm-base:1
                    RUN echo made-by-run > /made
                    COPY --chown=1000:1000 hello /srv/hello
                    """, "Containerfile"), ctx, "localhost/test/vm-app:1", ContainerfileBuilder.Options.defaults());
            Instant epoch = Instant.parse("2026-01-01T00:00:00Z");
            List<String> phases = new ArrayList<>();
            EnvBuilder.Result r = new EnvBuilder(client, home.resolve("builds")).microVm("localhost/test/vm-app:1",
                    "localhost/test/vm-app-vm:1", vmCache(), epoch, "containerfile", "1", new EnvBuilder.Listener() {
                        @Override
                        public void phase(String line) {
                            phases.add(line);
                        }
                    });
            assertThat(phases).anyMatch(p -> p.startsWith("unpacking localhost/test/vm-app:1"));
            assertThat(client.find("localhost/test/vm-app-vm:1")).isPresent();
            assertThat(r.vmDir().resolve("rootfs.ext4")).isRegularFile();
            ExecResult vm = sandboxes.run(RunSpec.builder(r.vmDir()).backend("vm").memoryMiB(256)
                    .command("sh", "-c", "cat /made /srv/hello; stat -c %u:%g /srv/hello")
                    .timeout(Duration.ofSeconds(90)).build());
            assertThat(vm.exitCode()).as(vm.stderrText()).isZero();
            assertThat(vm.stdoutText()).isEqualTo("made-by-run\ncopied\n1000:1000\n");
            // again, from the same image and time: the same artifact
            EnvBuilder.Result again = new EnvBuilder(client, home.resolve("builds")).microVm("localhost/test/vm-app:1",
                    "localhost/test/vm-app-vm:2", vmCache(), epoch, "containerfile", "1", line -> { });
            assertThat(again.vm().digest()).isEqualTo(r.vm().digest());
        }
    }

    private static Path vmCache() {
        String cache = System.getProperty("davit.test.cache");
        return (cache != null ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "davit-test"))
                .resolve("vm");
    }
}
