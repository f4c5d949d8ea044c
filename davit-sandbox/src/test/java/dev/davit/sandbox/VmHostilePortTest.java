package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.host.Host;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attacker's test of the microVM's command ports (real QEMU, TCG here): root in the guest kills davit-agent (its
 * init, PID 1, starts it again a second later) and takes the port {@code davit.exec.0} itself first (a read of a port no
 * host holds ends at once, a write waits for one), then lies to the host's next command: silence, a flood without a HELLO, a HELLO that carries the host's nonce back followed by a
 * reply for another process. Each command fails within its bounds with one line, the VM lives on (its guest hurt
 * only itself), and a restart of the sandbox brings davit-agent back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmHostilePortTest {
    Sandboxes sandboxes;
    Sandbox sandbox;

    @BeforeAll
    void boot(@TempDir Path dir) throws IOException {
        sandboxes = new Sandboxes(SandboxOptions.of(dir.resolve("state")));
        sandbox = sandboxes.start(sandboxes.create(CreateSpec.builder(VmTestEnvironment.get()).backend("vm").vcpus(1)
                .memoryMiB(256).build()).id());
    }

    @AfterAll
    void cleanUp() {
        if (sandboxes != null) {
            for (Sandbox s : sandboxes.list()) {
                sandboxes.rm(s.id());
            }
        }
    }

    private ExecResult exec(String script) {
        return sandboxes.exec(sandbox.id(), List.of("sh", "-c", script), Map.of(), null, Duration.ofSeconds(60));
    }

    /**
     * Starts {@code lie} in the guest, in a session of its own that outlives davit-agent: a second later it kills the
     * agent, opens the port davit.exec.0 as descriptor 3 ({@code $P} its device) before the init starts the agent
     * again (which then finds the port taken, and serves the others) and runs.
     */
    private void takeThePort(String lie) throws InterruptedException {
        String liar = "sleep 1; for p in /proc/[0-9]*; do case $(tr '\\0' ' ' < $p/cmdline 2>/dev/null) in"
                + " '/.davit/run/davit-agent serve'*) kill -KILL ${p#/proc/} ;; esac; done; sleep 0.3;"
                + " for d in /sys/class/virtio-ports/*; do [ \"$(cat $d/name)\" = davit.exec.0 ] && P=/dev/${d##*/};"
                + " done; exec 3<>$P; " + lie;
        ExecResult r = exec("setsid sh -c '" + liar.replace("'", "'\\''") + "' </dev/null >/dev/null 2>&1 &");
        assertThat(r.exitCode()).isZero();
        Thread.sleep(3000);
    }

    private void assertOneLineAndTheVmLives(Throwable t, String says) {
        assertThat(t).isInstanceOf(DavitException.class).hasMessageContaining(says).hasMessageNotContaining("\n");
        assertThat(Host.alive(sandbox.qemuPid(), sandbox.qemuStart())).as("the VM lives on").isTrue();
    }

    private void restart() {
        sandboxes.stop(sandbox.id());
        sandbox = sandboxes.start(sandbox.id());
        assertThat(exec("echo back").stdoutText()).isEqualTo("back\n");
    }

    @Test
    @Order(1)
    void aSilentPortIsGivenUpAfterTheHellosWait() throws InterruptedException {
        // a read of a port no host holds ends at once: it reads on, and answers nothing
        takeThePort("while :; do cat <&3 >/dev/null; sleep 0.05; done");
        Throwable t = catchThrowable(() -> exec("true"));
        assertOneLineAndTheVmLives(t, "did not answer on its port davit.exec.0");
        restart();
    }

    @Test
    @Order(2)
    void aFloodWithoutAHelloIsBounded() throws InterruptedException {
        takeThePort("while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done >&3");
        Throwable t = catchThrowable(() -> exec("true"));
        assertOneLineAndTheVmLives(t, "did not answer on its port davit.exec.0");
        restart();
    }

    @Test
    @Order(3)
    void aLiarThatKnowsTheNonceAndAnswersForAnotherProcessIsCaught() throws InterruptedException {
        // the SYNC read whole, a HELLO with its nonce, the EXEC read, then STARTED for process 999
        takeThePort("while :; do dd bs=33 count=1 iflag=fullblock <&3 >/tmp/sync 2>/dev/null;"
                + " [ $(wc -c </tmp/sync) -eq 33 ] && break; sleep 0.05; done;"
                + " { printf '\\0\\0\\0\\035\\001\\0\\0\\0\\0\\0\\0\\0\\001\\0\\0\\0\\007';"
                + " dd if=/tmp/sync bs=1 skip=17 count=16 2>/dev/null; } >&3;"
                + " dd bs=65536 count=1 <&3 >/dev/null 2>&1;"
                + " printf '\\0\\0\\0\\011\\040\\0\\0\\003\\347\\0\\0\\0\\001' >&3; sleep 30");
        Throwable t = catchThrowable(() -> exec("true"));
        assertOneLineAndTheVmLives(t, "answered for process 999");
        restart();
    }

    /** {@code signal} sent, a second later, to davit-agent itself (not its loop), from a session of its own. */
    private void signalTheAgent(String signal) {
        String agent = "sleep 1; for p in /proc/[0-9]*; do case $(tr '\\0' ' ' < $p/cmdline 2>/dev/null) in"
                + " '/.davit/run/davit-agent serve'*) kill -" + signal + " ${p#/proc/} ;; esac; done";
        ExecResult r = exec("setsid sh -c '" + agent.replace("'", "'\\''") + "' </dev/null >/dev/null 2>&1 &");
        assertThat(r.exitCode()).isZero();
    }

    /** Runs {@code argv} with {@code timeout} on a thread of its own; what it threw, or null, when it is joined. */
    private java.util.concurrent.CompletableFuture<Throwable> running(Duration timeout, String... argv) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> catchThrowable(() -> sandboxes.exec(
                sandbox.id(), List.of(argv), Map.of(), null, timeout)), r -> Thread.ofPlatform().daemon().start(r));
    }

    @Test
    @Order(4)
    void aCommandWhoseAgentWasKilledEndsWhenTheAgentStartsAgain() throws Exception {
        // without a timeout, the host would wait for good: the port stays open through QEMU while the agent is gone
        var sleeper = running(null, "sleep", "600");
        Thread.sleep(2000);
        signalTheAgent("KILL");
        Throwable t = sleeper.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertOneLineAndTheVmLives(t, "davit-agent started again");
        assertThat(exec("echo back").stdoutText()).as("the agent's loop started it again").isEqualTo("back\n");
    }

    @Test
    @Order(5)
    void aStoppedAgentInALiveGuestDoesNotCostTheVm() throws Exception {
        // the command's timeout kills it, the stopped agent never says so: its guest still answers, so it is not hung
        var sleeper = running(Duration.ofSeconds(3), "sleep", "600");
        Thread.sleep(1000);
        signalTheAgent("STOP");
        Throwable t = sleeper.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertOneLineAndTheVmLives(t, "though its guest does");
        restart();
    }
}
