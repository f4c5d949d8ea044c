package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.Captured;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.agent.AgentErrors;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.agent.AgentWire;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A command in a sandbox pod: a request to the pod's davit-agent on a link this process holds ({@link PodLinks}), no
 * exec request of its own through the API server, its environment inside the stream. The agent kills the command and
 * everything it started at its timeout or past the output limit. Output streams to the tees as it arrives.
 */
final class PodExec {
    private PodExec() {
    }

    /**
     * Runs {@code argv} in sandbox {@code ref}'s pod. A working directory that is not there is exit code 125
     * with davit's line, a command not found 127, one that cannot be executed 126.
     */
    static ExecResult run(Cluster cluster, PodRef ref, List<String> argv, Map<String, String> env,
                          String workdir, Duration timeout, long maxOutput, int capture, InputStream stdin,
                          OutputStream stdoutTee, OutputStream stderrTee, long t0, String runtime) {
        String sandboxId = ref.sandboxId();
        PodLinks.Link link;
        try {
            link = PodLinks.take(cluster, ref);
        } catch (KubernetesClientException e) {
            throw Cluster.failure("run a command in sandbox " + sandboxId, e);
        }
        AtomicLong total = new AtomicLong();
        AtomicBoolean overLimit = new AtomicBoolean();
        long t1 = System.nanoTime();
        Sink out;
        Sink err;
        AgentLink.Outcome o;
        boolean kept = false;
        try {
            AgentLink.Running r;
            try {
                r = link.agent().start(argv, env, workdir, stdin != null);
            } catch (IllegalArgumentException e) {
                throw AgentErrors.tooLarge();
            } catch (KubernetesClientException e) {
                // the stream's own failure to send (fabric8's): the link is gone
                throw new java.io.IOException(Cluster.reason(e), e);
            }
            out = new Sink(capture, stdoutTee, total, maxOutput, overLimit, r::kill);
            err = new Sink(capture, stderrTee, total, maxOutput, overLimit, r::kill);
            o = r.await((isErr, b, n) -> (isErr ? err : out).write(b, 0, n), stdin, timeout);
            kept = true;
        } catch (AgentLink.InputFailed e) {
            throw AgentErrors.inputFailed(sandboxId, "the command", e);
        } catch (java.io.IOException e) {
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted while a command ran in sandbox " + sandboxId);
            }
            // the agent died or lied, or its stream ended (the pod, its node or the API server went): the agent
            // kills what a closed link started, and a dead agent's commands die with it; the next command opens
            // a new link. A pod the cluster ended (evicted, its node lost) says why, once its status does.
            String ended = endedWithin(cluster, ref, 5);
            if (ended != null) {
                throw new DavitException(Kind.STATE, "the command in sandbox " + sandboxId + " was killed: "
                        + ended);
            }
            throw new DavitException(Kind.NETWORK, "the link to the agent in sandbox " + sandboxId + "'s pod broke"
                    + " while the command ran (" + e.getMessage() + "); the command was killed with it; look at the"
                    + " sandbox's status if the next command fails too");
        } finally {
            if (kept) {
                link.release();
            } else {
                link.agent().close();
            }
        }
        int code = o.exitCode();
        switch (o.error()) {
            case 0 -> { }
            case AgentWire.E_WORKDIR, AgentWire.E_NOT_FOUND, AgentWire.E_CANNOT_EXECUTE -> {
                // a shell's exit codes and words
                code = o.error() == AgentWire.E_WORKDIR ? 125 : o.error() == AgentWire.E_NOT_FOUND ? 127 : 126;
                byte[] line = o.error() == AgentWire.E_WORKDIR ? ("davit: the working directory " + workdir
                        + " does not exist\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)
                        : AgentErrors.commandLine(o);
                err.write(line, 0, line.length);
            }
            default -> throw AgentErrors.refused(sandboxId, o);
        }
        boolean timedOut = o.timedOut() && !overLimit.get();
        if ((o.signal() == 9 || o.signal() == 15) && !timedOut && !overLimit.get() && !o.oomKilled()) {
            // killed, and neither by davit nor by the OOM killer: by the cluster, ending the pod (an eviction)?
            // asked once (a command its own script killed leaves a running pod: no wait), again only while all
            // it tells is that the container ended (an eviction's reason follows)
            String ended = PodLife.ended(cluster, ref.name(), ref.uid());
            if (ended != null) {
                throw new DavitException(Kind.STATE, "the command in sandbox " + sandboxId + " was killed (signal "
                        + o.signal() + "): " + (ended.startsWith(PodLife.CONTAINER_ENDED) ? endedWithin(cluster,
                        ref, 5) : ended));
            }
        }
        if (overLimit.get()) {
            code = ExecResult.OUTPUT_LIMIT_EXIT_CODE;
        } else if (timedOut) {
            code = ExecResult.TIMEOUT_EXIT_CODE;
        }
        long t2 = System.nanoTime();
        return new ExecResult(sandboxId, K8sDriver.NAME, runtime, code, out.captured(), err.captured(), timedOut,
                new ExecResult.Timings(ms(t1 - t0), 0, ms(t2 - t1), 0), out.truncated || err.truncated,
                o.oomKilled(), overLimit.get(), false, List.of());
    }

    /**
     * Why sandbox {@code ref}'s pod ended ({@link PodLife#ended}), asked until the pod's own reason shows (an
     * eviction's comes after its containers ended) or {@code seconds} passed (null when it still runs then).
     */
    private static String endedWithin(Cluster c, PodRef ref, int seconds) {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            String ended = PodLife.ended(c, ref.name(), ref.uid());
            if (ended != null && !ended.startsWith(PodLife.CONTAINER_ENDED) || System.nanoTime() > end) {
                return ended;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    /** At most {@code max} bytes kept; the rest dropped. */
    static final class Capped extends OutputStream {
        private final ByteArrayOutputStream to;
        private final int max;

        Capped(ByteArrayOutputStream to, int max) {
            this.to = to;
            this.max = max;
        }

        @Override
        public void write(int b) {
            if (to.size() < max) {
                to.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            to.write(b, off, Math.max(0, Math.min(len, max - to.size())));
        }
    }

    /** One output stream of a command: copied to its tee, its first {@code capture} bytes kept. */
    private static final class Sink extends OutputStream {
        private final int capture;
        private final OutputStream tee;
        private final AtomicLong total;
        private final long maxOutput;
        private final AtomicBoolean overLimit;
        private final Runnable kill;
        private final List<byte[]> chunks = new ArrayList<>();
        private int size;
        boolean truncated;

        Sink(int capture, OutputStream tee, AtomicLong total, long maxOutput, AtomicBoolean overLimit,
             Runnable kill) {
            this.capture = capture;
            this.tee = tee;
            this.total = total;
            this.maxOutput = maxOutput;
            this.overLimit = overLimit;
            this.kill = kill;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            if (overLimit.get()) {
                return;
            }
            long before = total.getAndAdd(len);
            if (maxOutput > 0 && before + len > maxOutput) {
                len = (int) Math.max(0, maxOutput - before);
                if (overLimit.compareAndSet(false, true)) {
                    Thread.ofVirtual().start(kill);
                }
            }
            if (tee != null && len > 0) {
                try {
                    tee.write(b, off, len);
                    tee.flush();
                } catch (java.io.IOException e) {
                    // the reader left; the command goes on
                }
            }
            int keep = Math.min(len, capture - size);
            if (keep > 0) {
                chunks.add(java.util.Arrays.copyOfRange(b, off, off + keep));
                size += keep;
            }
            if (keep < len) {
                truncated = true;
            }
        }

        synchronized Captured captured() {
            return Captured.of(chunks, size);
        }
    }
}
