package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import dev.davit.sandbox.target.RunTargets;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.jail.SandboxProbe;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Containerfile's RUN is a davit sandbox like any other: the attacker's probe ({@link SandboxProbe}) run by a RUN
 * sees what it sees in {@code davit run} (sandbox root mapped to a host uid of its own, the default capabilities,
 * no_new_privs, seccomp, every dangerous call refused, a new user namespace among them); the host's loopback is not
 * reachable, a host file is not there, a {@code /proc/sys} write fails; a step that forks without end is held to the
 * default pids limit and one that eats memory is killed by the default memory limit. The probes run only inside the
 * build's sandboxes, never on the host.
 */
class ContainerfileRunConfinedTest {
    private static final String BASE = "localhost/test/confined-base:1";

    @TempDir
    Path tmp;

    Path home;
    DavitClient client;
    Sandboxes sandboxes;
    ServerSocket server;
    final AtomicInteger accepted = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(Jail.active(), "the jail is davit's as root");
        home = tmp.resolve("home");
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        SandboxProbe.install(rootfs);
        client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")));
        client.build(rootfs, BASE, BuildOptions.builder().preserveOwner(true).keepMtimes(true).build(),
                ProgressListener.NONE);
        sandboxes = new Sandboxes(SandboxOptions.under(home));
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.startVirtualThread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    accepted.incrementAndGet();
                } catch (java.io.IOException e) {
                    return;
                }
            }
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
        if (client != null) {
            client.close();
        }
    }

    private String read(String image, String path) throws Exception {
        return Files.readString(RunTargets.ofImage(client, home, image, null, null).rootfs().resolve(path)).strip();
    }

    @Test
    void aRunStepIsConfinedAsDavitRunIs() throws Exception {
        Path secret = Files.writeString(tmp.resolve("host-secret"), "the host's own\n");
        String file = """
                FROM %s
                RUN /bin/probe > /probe.out; true
                RUN (nc -w 2 127.0.0.1 %d </dev/null >/dev/null 2>&1 && echo reached || echo refused) > /loopback.out
                RUN (cat %s 2>/dev/null || echo absent) > /hostfile.out
                RUN (echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null; echo "rc=$?" > /procsys.out
                """.formatted(BASE, server.getLocalPort(), secret);
        new ContainerfileBuilder(client, sandboxes, home, null).build(Containerfile.parse(file, "Containerfile"),
                tmp, "localhost/test/confined:1", ContainerfileBuilder.Options.defaults());
        String image = "localhost/test/confined:1";
        SandboxProbe.assertConfined(SandboxProbe.parse(read(image, "probe.out")), true);
        assertThat(read(image, "loopback.out")).isEqualTo("refused");
        assertThat(accepted.get()).as("connections the host's loopback server took").isZero();
        assertThat(read(image, "hostfile.out")).isEqualTo("absent");
        assertThat(read(image, "procsys.out")).isNotEqualTo("rc=0");
    }

    @Test
    void forkingWithoutEndAndEatingMemoryAreStoppedByTheDefaultLimits() throws Exception {
        // bounded, so that a broken limit cannot take the machine down: 3000 sleepers against the limit of 1024;
        // the shell's fork fails at the limit, and the step with it
        String forks = """
                FROM %s
                RUN i=0; while [ $i -lt 3000 ]; do sleep 60 >/dev/null 2>&1 </dev/null & i=$((i+1)); done; \
                    echo all-forked
                """.formatted(BASE);
        assertThatThrownBy(() -> new ContainerfileBuilder(client, sandboxes, home, null).build(Containerfile.parse(
                forks, "Containerfile"), tmp, "localhost/test/forks:1", ContainerfileBuilder.Options.defaults()))
                .isInstanceOf(DavitException.class).hasMessageStartingWith("Containerfile:2: RUN exited with ")
                .hasMessageContaining("can't fork").satisfies(e -> assertThat(e.getMessage())
                        .doesNotContain("all-forked"));
        assertThat(sandboxes.list()).as("the step's sandbox and its sleepers are gone").isEmpty();
        // 1.5 GiB in a shell variable against the default 1024 MiB: killed, and the build says which line
        String memory = "FROM " + BASE + "\nRUN x=$(head -c 1500000000 /dev/zero | tr '\\0' a); echo survived\n";
        assertThatThrownBy(() -> new ContainerfileBuilder(client, sandboxes, home, null).build(Containerfile.parse(
                memory, "Containerfile"), tmp, "localhost/test/memory:1", ContainerfileBuilder.Options.defaults()))
                .isInstanceOf(DavitException.class).hasMessageStartingWith("Containerfile:2: RUN exited with ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("survived"));
    }
}
