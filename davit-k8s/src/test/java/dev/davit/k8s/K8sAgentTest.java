package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ExecSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Commands on the cluster go to the pod's davit-agent over one long-lived exec stream ({@link PodLinks}), the only way
 * into a pod: the API server counts one {@code pods/exec} request for a sandbox, whatever number of commands ran in
 * it; a second stream only while two commands run at once. An agent killed from inside is reported and replaced by
 * the next command's link. One that does not answer is given one more stream, then reported as not answering; one
 * replaced by a liar, or missing (a pod made by a davit before davit-agent), is refused at once and never believed.
 * Counted from the API server's own {@code apiserver_request_total} (this JVM runs the K8s tests one at a time,
 * nothing else execs meanwhile).
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sAgentTest {
    private static final Pattern EXEC_REQUESTS = Pattern.compile(
            "(?m)^apiserver_(?:request_total|longrunning_requests)\\{([^}]*)\\} ([0-9.e+]+)$");

    /** The API server's count of requests for the {@code exec} subresource of pods, all verbs and codes. */
    private static long execRequests() {
        // read until two reads 300 ms apart agree: a stream that just ended leaves the open ones' gauge and enters
        // the ended ones' count in two steps, between which a read counts it twice or not at all
        long last = requests("resource=\"pods\"", "subresource=\"exec\"");
        for (int i = 0; i < 20; i++) {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long now = requests("resource=\"pods\"", "subresource=\"exec\"");
            if (now == last) {
                return now;
            }
            last = now;
        }
        return last;
    }

    /**
     * The API server's count of requests whose labels include each of {@code labels} ({@code name="value"}), made so
     * far: those that ended ({@code apiserver_request_total}, counted when a request ends) and the long-running ones
     * still open ({@code apiserver_longrunning_requests}: an exec stream whose program goes on after davit closed it
     * ends only with that program).
     */
    static long requests(String... labels) {
        String metrics = K8sSandboxTest.cluster.client.raw(K8sSandboxTest.cluster.client.getMasterUrl() + "metrics");
        assertThat(metrics).as("the API server's metrics").contains("apiserver_request_total");
        long n = 0;
        Matcher m = EXEC_REQUESTS.matcher(metrics);
        while (m.find()) {
            String all = m.group(1);
            if (java.util.Arrays.stream(labels).allMatch(all::contains)) {
                n += (long) Double.parseDouble(m.group(2));
            }
        }
        return n;
    }

    private static ExecResult sh(Sandboxes sb, Sandbox s, String script) {
        return sb.exec(s.id(), List.of("sh", "-c", script), Map.of("X", "x"), null, Duration.ofSeconds(60));
    }

    /** Writes {@code /.davit/NAME}: a stand-in for the agent that runs {@code script}, then says nothing for good. */
    private static void put(Sandboxes sb, Sandbox s, String name, String script) {
        String text = "#!/.davit/busybox sh\n" + script + "\nexec /.davit/busybox sleep 1000\n";
        ExecResult r = sb.exec(s.id(), ExecSpec.builder("sh", "-c", "cat > /.davit/" + name + " && chmod 755 /.davit/"
                + name).capture(1 << 20).stdin(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)))
                .build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
    }

    /** Puts stand-in {@code name} in the agent's place; the pod's idle links closed, the next command runs it. */
    private static void standIn(Sandboxes sb, Sandbox s, String name) {
        assertThat(sh(sb, s, "mv -f /.davit/" + name + " " + PodLinks.PROGRAM).exitCode()).isZero();
        PodLinks.forget(K8sSandboxTest.cluster, Pods.name(s.id()));
    }

    @Test
    void commandsShareOneExecStreamAndAKilledAgentIsReplaced() throws Exception {
        K8sSandboxTest.image();
        Sandboxes sb = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
        Sandbox s = sb.create(CreateSpec.builder(K8sSandboxTest.rootfs).image(K8sSandboxTest.config)
                .backend(K8sDriver.NAME).build());
        try {
            // a pod whose agent its sandbox can replace, as davit's pods were before /.davit was mounted read-only
            // (K8sSandboxTest: now not even root can): davit's side must hold against the stand-ins below all the same
            Pods.agentReadOnly = false;
            try {
                sb.start(s.id());
            } finally {
                Pods.agentReadOnly = true;
            }
            long before = execRequests();
            for (int i = 0; i < 20; i++) {
                ExecResult r = sh(sb, s, "echo $X " + i + "; echo e >&2; exit " + (i % 3));
                assertThat(r.exitCode()).isEqualTo(i % 3);
                assertThat(r.stdoutText()).isEqualTo("x " + i + "\n");
                assertThat(r.stderrText()).isEqualTo("e\n");
            }
            ExecResult piped = sb.exec(s.id(), ExecSpec.builder(List.of("cat")).capture(1 << 20)
                    .stdin(new ByteArrayInputStream("through the agent".getBytes(StandardCharsets.UTF_8))).build());
            assertThat(piped.stdoutText()).isEqualTo("through the agent");
            ExecResult noDir = sb.exec(s.id(), List.of("true"), null, "/no/such/dir", null);
            assertThat(noDir.exitCode()).isEqualTo(125);
            assertThat(noDir.stderrText()).contains("/no/such/dir does not exist");
            // the environment travels in the stream: at most one request for all of it (none when the start's own
            // look into the pod opened the link already)
            assertThat(execRequests() - before).as("pods/exec requests for 23 commands").isLessThanOrEqualTo(1);

            // two at once: a second stream, kept for the next pair
            long pairBefore = execRequests();
            for (int round = 0; round < 3; round++) {
                CompletableFuture<ExecResult> a = CompletableFuture.supplyAsync(() -> sh(sb, s, "sleep 1; echo a"),
                        r -> Thread.ofVirtual().start(r));
                ExecResult b = sh(sb, s, "sleep 1; echo b");
                assertThat(a.get().stdoutText()).isEqualTo("a\n");
                assertThat(b.stdoutText()).isEqualTo("b\n");
            }
            assertThat(execRequests() - pairBefore).as("pods/exec requests for three pairs").isLessThanOrEqualTo(1);

            // the agent killed from inside (the command's parent is the agent): said so, and the next command's
            // link is a new stream to a new agent
            assertThatThrownBy(() -> sh(sb, s, "kill -9 $PPID; sleep 30"))
                    .isInstanceOf(DavitException.class).hasMessageContaining("broke");
            assertThat(sh(sb, s, "echo again").stdoutText()).isEqualTo("again\n");

            // the agent's file replaced in the pod (the sandbox's code can): each stand-in below, when the exec
            // stream runs it, puts the next in its place. One that says nothing: a second stream, to the real agent
            assertThat(sh(sb, s, "cp " + PodLinks.PROGRAM + " /.davit/real").exitCode()).isZero();
            put(sb, s, "slow", "/.davit/busybox mv -f /.davit/real " + PodLinks.PROGRAM);
            put(sb, s, "mute", "/.davit/busybox mv -f /.davit/mute2 " + PodLinks.PROGRAM);
            put(sb, s, "mute2", "/.davit/busybox mv -f /.davit/liar " + PodLinks.PROGRAM);
            put(sb, s, "liar", "/.davit/busybox rm -f " + PodLinks.PROGRAM + "; echo I am the agent");
            standIn(sb, s, "slow");
            long slowBefore = execRequests();
            long t0 = System.nanoTime();
            assertThat(sh(sb, s, "echo slow once").stdoutText()).isEqualTo("slow once\n");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(
                    dev.davit.sandbox.agent.AgentLink.HELLO_WAIT.minusMillis(500));
            assertThat(execRequests() - slowBefore).as("pods/exec requests: the silent stream and one more")
                    .isEqualTo(2);

            // one that says nothing twice: not answering, said so (no third stream, no other way in)
            standIn(sb, s, "mute");
            long muteBefore = execRequests();
            assertThatThrownBy(() -> sh(sb, s, "echo never")).isInstanceOfSatisfying(DavitException.class, e -> {
                assertThat(e.kind()).isEqualTo(DavitException.Kind.NETWORK);
                assertThat(e.getMessage()).contains("did not answer within 5 s, twice").doesNotContain("\n");
            });
            assertThat(execRequests() - muteBefore).as("pods/exec requests for a mute agent").isEqualTo(2);

            // a liar: what it says is not believed, and it is not tried again; then no agent at all (as in a pod of
            // a davit before davit-agent): the same words
            long liarBefore = execRequests();
            for (int i = 0; i < 2; i++) {
                long t1 = System.nanoTime();
                assertThatThrownBy(() -> sh(sb, s, "echo never")).isInstanceOfSatisfying(DavitException.class, e -> {
                    assertThat(e.kind()).isEqualTo(DavitException.Kind.INTERNAL);
                    assertThat(e.getMessage()).contains("did not answer as davit-agent")
                            .endsWith("remove the sandbox and create it again").doesNotContain("\n");
                });
                assertThat(Duration.ofNanos(System.nanoTime() - t1)).isLessThan(
                        dev.davit.sandbox.agent.AgentLink.HELLO_WAIT);
            }
            assertThat(execRequests() - liarBefore).as("pods/exec requests: one per refused command").isEqualTo(2);
        } finally {
            sb.rm(s.id());
        }
    }
}
