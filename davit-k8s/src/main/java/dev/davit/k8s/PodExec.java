package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.Captured;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.agent.AgentErrors;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.agent.AgentWire;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import io.fabric8.kubernetes.client.dsl.PodResource;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A command in a sandbox pod: a request to the pod's davit-agent on a link this process holds ({@link PodLinks}), or,
 * in a pod without one, through an exec stream of its own: the agent's {@code xrun} records the command's pid,
 * enters the working directory and runs it with exactly davit's environment; a timeout or the output limit has the
 * agent's {@code xkill} kill it and everything it started. Output streams to the tees as it arrives.
 */
final class PodExec {
    static final String BUSYBOX = "/.davit/busybox";
    static final String AGENT = "/.davit/agent";
    /** How long a killed command has to be seen ending. */
    private static final long KILL_WAIT_MS = 10_000;

    private PodExec() {
    }

    static ExecResult run(Cluster cluster, String sandboxId, String pod, List<String> argv, Map<String, String> env,
                          String workdir, Duration timeout, long maxOutput, int capture, InputStream stdin,
                          OutputStream stdoutTee, OutputStream stderrTee, long t0, String runtime) {
        PodLinks.Link link;
        try {
            link = PodLinks.take(cluster, pod);
        } catch (KubernetesClientException e) {
            throw Cluster.failure("run a command in sandbox " + sandboxId, e);
        }
        if (link != null) {
            return byAgent(link, sandboxId, argv, env, workdir, timeout, maxOutput, capture, stdin, stdoutTee,
                    stderrTee, t0, runtime);
        }
        String token = dev.davit.oci.internal.RandomHex.of(8);
        List<String> cmd = new ArrayList<>(List.of(BUSYBOX, "sh", AGENT, "xrun", token));
        if (stdin != null) {
            cmd.add("-i"); // framed: see feed
        }
        cmd.add(workdir);
        env.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.add("--");
        cmd.addAll(argv);
        AtomicLong total = new AtomicLong();
        AtomicBoolean overLimit = new AtomicBoolean();
        PodResource p = cluster.client.pods().inNamespace(cluster.settings.namespace()).withName(pod);
        Runnable kill = () -> kill(cluster, pod, token);
        Sink out = new Sink(capture, stdoutTee, total, maxOutput, overLimit, kill);
        Sink err = new Sink(capture, stderrTee, total, maxOutput, overLimit, kill);
        long t1 = System.nanoTime();
        boolean timedOut = false;
        int code;
        try (ExecWatch w = (stdin == null ? p.inContainer(Pods.CONTAINER).writingOutput(out)
                : p.inContainer(Pods.CONTAINER).redirectingInput().writingOutput(out)).writingError(err)
                .exec(cmd.toArray(String[]::new))) {
            Thread feeder = stdin == null ? null : Thread.ofVirtual().start(() -> feed(stdin, w.getInput(), w));
            Integer exit;
            try {
                exit = await(w, timeout, overLimit);
            } catch (TimeoutException e) {
                timedOut = !overLimit.get();
                kill.run();
                exit = waitKilled(w);
            } finally {
                if (feeder != null) {
                    feeder.interrupt();
                }
            }
            if (overLimit.get()) {
                code = ExecResult.OUTPUT_LIMIT_EXIT_CODE; // the limit's kill, whatever else ended it
            } else if (timedOut) {
                code = ExecResult.TIMEOUT_EXIT_CODE;
            } else if (exit == null) {
                throw new DavitException(Kind.NETWORK, "the exec stream to sandbox " + sandboxId + "'s pod ended"
                        + " without the command's exit status (the pod or its node may be gone); see 'davit sandbox"
                        + " status " + sandboxId + "'");
            } else if (exit < 0) {
                throw new DavitException(Kind.INTERNAL, "the command could not be started in sandbox " + sandboxId
                        + "'s pod: davit's agent there is missing or broken; remove the sandbox");
            } else {
                code = exit;
            }
        } catch (KubernetesClientException e) {
            throw Cluster.failure("run a command in sandbox " + sandboxId, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill.run();
            throw new DavitException(Kind.CANCELLED, "interrupted while a command ran in sandbox " + sandboxId);
        } catch (ExecutionException e) {
            throw new DavitException(Kind.NETWORK, "the exec stream to sandbox " + sandboxId + "'s pod broke ("
                    + Cluster.reason(e) + ")");
        }
        long t2 = System.nanoTime();
        return new ExecResult(sandboxId, K8sDriver.NAME, runtime, code, out.captured(), err.captured(), timedOut,
                new ExecResult.Timings(ms(t1 - t0), 0, ms(t2 - t1), 0), out.truncated || err.truncated, false,
                overLimit.get(), false, List.of());
    }

    /**
     * {@link #run} as a request to the pod's davit-agent on a link this process holds ({@link PodLinks}): no exec
     * request through the API server, the environment inside the stream. The result is the one the exec way gives
     * (the output limit, the timeout, a working directory that is not there as exit code 125 with davit's line).
     */
    private static ExecResult byAgent(PodLinks.Link link, String sandboxId, List<String> argv, Map<String, String> env,
                                      String workdir, Duration timeout, long maxOutput, int capture,
                                      InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee, long t0,
                                      String runtime) {
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
            // a new link
            throw new DavitException(Kind.NETWORK, "the link to the agent in sandbox " + sandboxId + "'s pod broke"
                    + " while the command ran (" + e.getMessage() + "); the command was killed with it; see 'davit"
                    + " sandbox status " + sandboxId + "' if the next command fails too");
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
                // the exit codes and words of the exec way (the agent's shell and busybox env)
                code = o.error() == AgentWire.E_WORKDIR ? 125 : o.error() == AgentWire.E_NOT_FOUND ? 127 : 126;
                byte[] line = o.error() == AgentWire.E_WORKDIR ? ("davit: the working directory " + workdir
                        + " does not exist\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)
                        : AgentErrors.commandLine(o);
                err.write(line, 0, line.length);
            }
            default -> throw AgentErrors.refused(sandboxId, o);
        }
        boolean timedOut = o.timedOut() && !overLimit.get();
        if (overLimit.get()) {
            code = ExecResult.OUTPUT_LIMIT_EXIT_CODE;
        } else if (timedOut) {
            code = ExecResult.TIMEOUT_EXIT_CODE;
        }
        long t2 = System.nanoTime();
        return new ExecResult(sandboxId, K8sDriver.NAME, runtime, code, out.captured(), err.captured(), timedOut,
                new ExecResult.Timings(ms(t1 - t0), 0, ms(t2 - t1), 0), out.truncated || err.truncated, false,
                overLimit.get(), false, List.of());
    }

    /**
     * Copies {@code in} to the command in frames (a line with a length, then that many bytes; {@code 0} at the end),
     * which the agent's {@code xrun -i} unframes: the exec stream has no way to close the command's input by itself.
     */
    private static void feed(InputStream in, OutputStream to, ExecWatch w) {
        byte[] buf = new byte[64 * 1024];
        try {
            for (int n; !w.exitCode().isDone() && (n = in.read(buf)) >= 0; ) {
                if (n > 0) {
                    to.write((n + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    to.write(buf, 0, n);
                    to.flush();
                }
            }
            to.write("0\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            to.flush();
        } catch (java.io.IOException e) {
            // the command ended, or its input failed
        }
    }

    /**
     * The command's exit code, once it ended; a {@link TimeoutException} at the timeout, or {@link #KILL_WAIT_MS}
     * after the output limit was passed (its kill may not end a stream a process left behind holds open).
     */
    private static Integer await(ExecWatch w, Duration timeout, AtomicBoolean overLimit)
            throws InterruptedException, ExecutionException, TimeoutException {
        long end = timeout == null ? Long.MAX_VALUE : System.nanoTime() + Math.max(1, timeout.toNanos());
        long limitEnd = Long.MAX_VALUE;
        while (true) {
            long now = System.nanoTime();
            if (overLimit.get() && limitEnd == Long.MAX_VALUE) {
                limitEnd = now + TimeUnit.MILLISECONDS.toNanos(KILL_WAIT_MS);
            }
            long until = Math.min(end, limitEnd);
            if (now >= until) {
                throw new TimeoutException();
            }
            try {
                return w.exitCode().get(Math.min(200_000_000L, until - now), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                // looked again: the output limit may have been passed meanwhile
            }
        }
    }

    private static Integer waitKilled(ExecWatch w) throws InterruptedException, ExecutionException {
        try {
            return w.exitCode().get(KILL_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException gone) {
            return null; // the stream is closed with the watch
        }
    }

    /** Kills the command of {@code token} and what it started (the agent's xkill); best effort. */
    static void kill(Cluster cluster, String pod, String token) {
        try (ExecWatch w = cluster.client.pods().inNamespace(cluster.settings.namespace()).withName(pod)
                .inContainer(Pods.CONTAINER).writingOutput(OutputStream.nullOutputStream())
                .writingError(OutputStream.nullOutputStream())
                .exec(BUSYBOX, "sh", AGENT, "xkill", token)) {
            w.exitCode().get(KILL_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // the pod or its process may be gone already
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
