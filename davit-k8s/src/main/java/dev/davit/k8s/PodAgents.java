package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.vm.AgentClient;
import dev.davit.sandbox.vm.AgentFiles;
import dev.davit.sandbox.vm.VmLifecycle;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * Connections to a pod's agent: {@code agent stdio} run as a request on a link to the pod's davit-agent (or, in a
 * pod without one, through an exec stream of its own), bridged to a private unix
 * socket pair so that the microVM's hardened client ({@link AgentClient}: deadlines, bounded lines and bodies,
 * untrusted tars extracted as they arrive) serves pods unchanged: background execs and services, and the file verbs
 * ({@link AgentFiles}) in a pod without davit-agent ({@link PodFiles} sends file requests to it otherwise). One
 * connection at a time per sandbox (a lock in its state directory): the agent's transfer file is shared.
 */
final class PodAgents implements AgentFiles.Agents {
    /** How long the guest agent has, once its client closed, to end before its link is closed. */
    private static final long END_WAIT_MS = 5_000;

    private final Path stateDir;

    PodAgents(Path stateDir) {
        this.stateDir = stateDir;
    }

    @Override
    public <T> T withAgent(Sandbox s, VmLifecycle.AgentWork<T> work) {
        Cluster c = Cluster.get();
        String pod = Pods.name(s.id());
        Path dir = stateDir.resolve(s.id());
        try {
            // across processes and threads of this JVM alike (a bare file lock is neither: a second thread's lock
            // fails, and its close drops the first's)
            return dev.davit.sandbox.backend.FileLocks.holding(dir.resolve("agent.lock"), () -> connected(s, work,
                    c, pod));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock the agent of sandbox " + s.id() + ": "
                    + e.getMessage());
        }
    }

    /**
     * {@code work} on a new connection to the agent of sandbox {@code s}'s pod {@code pod}, its lock held: the guest
     * agent's {@code stdio} mode started as a command on a link to the pod's davit-agent ({@link PodLinks}: a
     * request on a stream this process holds), or, in a pod without davit-agent, on an exec stream of its own.
     */
    private <T> T connected(Sandbox s, VmLifecycle.AgentWork<T> work, Cluster c, String pod) {
        Path tmp = null;
        try {
            long lockedAt = System.nanoTime();
            // in the system's temporary directory: a socket path has at most 107 bytes, a home's may be longer
            tmp = Files.createTempDirectory("davit-k8s-", PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            Path sock = tmp.resolve("a");
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                    .bind(UnixDomainSocketAddress.of(sock));
                 SocketChannel ours = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ours.connect(UnixDomainSocketAddress.of(sock));
                try (SocketChannel near = server.accept()) {
                    // taken only now: a failed accept would leave it taken for good
                    PodLinks.Link link = PodLinks.take(c, pod);
                    if (link != null) {
                        return overLink(s, work, link, ours, near, lockedAt);
                    }
                    try (ExecWatch w = c.client.pods().inNamespace(c.settings.namespace()).withName(pod)
                            .inContainer(Pods.CONTAINER).redirectingInput().redirectingOutput()
                            .writingError(OutputStream.nullOutputStream())
                            .exec(PodExec.BUSYBOX, "sh", PodExec.AGENT, "stdio")) {
                        Thread up = pump(Channels.newInputStream(near), w.getInput(), null);
                        Thread down = pump(w.getOutput(), Channels.newOutputStream(near), near);
                        try {
                            return client(s, work, ours, () -> !w.exitCode().isDone(), lockedAt);
                        } finally {
                            up.interrupt();
                            down.interrupt();
                        }
                    }
                }
            } catch (KubernetesClientException e) {
                throw Cluster.failure("reach the agent in pod " + pod, e);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot connect to the agent of sandbox " + s.id() + ": "
                    + e.getMessage());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp.resolve("a"));
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a stale directory of davit's own
                }
            }
        }
    }

    /**
     * {@code work} with the guest agent's {@code stdio} mode run on {@code link}: its stdin fed from {@code near},
     * its stdout written to it (its stderr, the agent's log, dropped). The link goes back for the next command once
     * the guest agent ended within {@link #END_WAIT_MS} of its client's close, else it is closed (which kills what
     * it started and has not ended).
     */
    private static <T> T overLink(Sandbox s, VmLifecycle.AgentWork<T> work, PodLinks.Link link, SocketChannel ours,
                                  SocketChannel near, long lockedAt) throws IOException {
        AgentLink.Running r;
        try {
            r = link.agent().start(List.of(PodExec.BUSYBOX, "sh", PodExec.AGENT, "stdio"),
                    Map.of("PATH", "/.davit/run/bin"), "/", true);
        } catch (IOException | RuntimeException e) {
            link.agent().close();
            throw e;
        }
        AtomicReference<AgentLink.Outcome> ended = new AtomicReference<>();
        Thread runner = Thread.ofVirtual().start(() -> {
            OutputStream toClient = Channels.newOutputStream(near);
            try {
                ended.set(r.await((isErr, b, n) -> {
                    if (!isErr) {
                        try {
                            toClient.write(b, 0, n);
                        } catch (IOException gone) {
                            // the client closed: the rest of the reply is dropped
                        }
                    }
                }, Channels.newInputStream(near), null));
            } catch (IOException e) {
                // the link broke: the client sees its connection end
            } finally {
                try {
                    near.shutdownOutput();
                } catch (IOException ignored) {
                    // closed already
                }
            }
        });
        boolean done = false;
        try {
            T t = client(s, work, ours, runner::isAlive, lockedAt);
            done = true;
            return t;
        } finally {
            ours.close(); // the guest agent's stdin ends: it exits
            try {
                runner.join(Duration.ofMillis(END_WAIT_MS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            AgentLink.Outcome o = ended.get();
            if (done && o != null && o.error() == 0) {
                link.release();
            } else {
                link.agent().close();
            }
        }
    }

    /** {@code work} on an {@link AgentClient} of {@code ours}, its failures worded for sandbox {@code s}'s pod. */
    private static <T> T client(Sandbox s, VmLifecycle.AgentWork<T> work, SocketChannel ours, BooleanSupplier alive,
                                long lockedAt) {
        try (AgentClient client = AgentClient.of(ours, alive)) {
            return work.apply(client, lockedAt);
        } catch (AgentClient.GoneException e) {
            throw new DavitException(Kind.INTERNAL, "the agent in sandbox " + s.id() + "'s pod " + Pods.name(s.id())
                    + " is gone (" + e.getMessage() + "); see 'davit sandbox status " + s.id() + "'");
        } catch (AgentClient.ProtocolException e) {
            throw new DavitException(Kind.INTERNAL, "the agent in sandbox " + s.id() + "'s pod broke the"
                    + " protocol (" + e.getMessage() + "); remove the sandbox, its files are not to be trusted");
        } catch (AgentClient.TimeoutException e) {
            throw new DavitException(Kind.INTERNAL, "the agent in sandbox " + s.id() + "'s pod " + e.getMessage());
        }
    }

    /** Copies {@code in} to {@code out} until the end, then closes {@code out} ({@code half}: its output side). */
    private static Thread pump(InputStream in, OutputStream out, SocketChannel half) {
        return Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[64 * 1024];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // the other side closed
            } finally {
                try {
                    if (half != null) {
                        half.shutdownOutput();
                    } else {
                        out.close();
                    }
                } catch (IOException ignored) {
                    // closed already
                }
            }
        });
    }
}
