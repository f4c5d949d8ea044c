package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
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
 * Commands on the cluster go to the pod's davit-agent over one long-lived exec stream ({@link PodLinks}): the API
 * server counts one {@code pods/exec} request for a sandbox, whatever number of commands ran in it; a second stream
 * only while two commands run at once. An agent killed from inside is reported and replaced by the next command's
 * link; one replaced by a liar is refused at its HELLO, never believed (the exec way serves that pod then). Counted from the API server's
 * own {@code apiserver_request_total} (this JVM runs the K8s tests one at a time, nothing else execs meanwhile).
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sAgentTest {
    private static final Pattern EXEC_REQUESTS = Pattern.compile(
            "(?m)^apiserver_request_total\\{([^}]*)\\} ([0-9.e+]+)$");

    /** The API server's count of requests for the {@code exec} subresource of pods, all verbs and codes. */
    private static long execRequests() {
        return requests("resource=\"pods\"", "subresource=\"exec\"");
    }

    /** The API server's count of requests whose labels include each of {@code labels} ({@code name="value"}). */
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

    @Test
    void commandsShareOneExecStreamAndAKilledAgentIsReplaced() throws Exception {
        K8sSandboxTest.image();
        Sandboxes sb = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
        Sandbox s = sb.create(CreateSpec.builder(K8sSandboxTest.rootfs).image(K8sSandboxTest.config)
                .backend(K8sDriver.NAME).build());
        try {
            sb.start(s.id());
            long before = execRequests();
            for (int i = 0; i < 20; i++) {
                ExecResult r = sh(sb, s, "echo $X " + i + "; echo e >&2; exit " + (i % 3));
                assertThat(r.exitCode()).isEqualTo(i % 3);
                assertThat(r.stdoutText()).isEqualTo("x " + i + "\n");
                assertThat(r.stderrText()).isEqualTo("e\n");
            }
            ExecResult piped = sb.exec(s.id(), List.of("cat"), null, null, null, 0, 1 << 20,
                    new ByteArrayInputStream("through the agent".getBytes(StandardCharsets.UTF_8)), null, null);
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

            // replaced by a liar: what it says is not believed, and no command waits on it past the HELLO's wait
            assertThat(sh(sb, s, "printf '#!/.davit/busybox sh\\necho I am the agent; sleep 1000\\n'"
                    + " > /.davit/davit-agent.new && chmod 755 /.davit/davit-agent.new"
                    + " && mv /.davit/davit-agent.new " + PodLinks.PROGRAM).exitCode()).isZero();
            PodLinks.forget(K8sSandboxTest.cluster, Pods.name(s.id())); // its idle links closed: the next command opens one to the liar
            ExecResult after = sh(sb, s, "echo still served");
            assertThat(after.stdoutText()).isEqualTo("still served\n"); // the exec way, in a pod without an agent
        } finally {
            sb.rm(s.id());
        }
    }
}
