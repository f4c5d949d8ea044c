package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.agent.AgentLink;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Links to the davit-agent of sandbox pods ({@code davit-agent serve --stdio}, docs/reference/AGENT.md), each over
 * one long-lived exec stream of the pod: a command is a request on a link this process holds already, not an exec
 * request of its own through the API server. A link serves one command at a time; a pod's idle links are kept for
 * the next (a pod gets a second stream only while two commands run on it at once). A link whose stream ended (the
 * pod went away, the kubelet closed an idle stream) is dropped when it is next taken. Pods are known by namespace
 * and name.
 */
final class PodLinks {
    /** The agent's file in the pod (copied in by the init container beside the busybox, see {@link Pods}). */
    static final String PROGRAM = "/.davit/davit-agent";
    /** Idle links kept per pod: more are closed as their commands end. */
    private static final int IDLE_PER_POD = 4;

    private static final Map<String, ConcurrentLinkedDeque<Link>> IDLE = new ConcurrentHashMap<>();

    private PodLinks() {
    }

    /** A link and the exec stream it runs over, to the pod of key {@code key} (namespace/name). */
    record Link(String key, AgentLink agent, ExecWatch stream) {
        /** Whether it can carry another command: not closed, and its stream not ended. */
        boolean usable() {
            return !agent.isClosed() && !stream.exitCode().isDone();
        }

        /** Gives it back for the next command, or closes it when it cannot carry one or enough are idle. */
        void release() {
            boolean[] kept = {false};
            if (usable()) {
                // atomic with take's removal of an empty entry: a link is never pushed where none will look
                IDLE.computeIfPresent(key, (k, idle) -> {
                    if (idle.size() < IDLE_PER_POD) {
                        idle.push(this);
                        kept[0] = true;
                    }
                    return idle;
                });
            }
            if (!kept[0]) {
                agent.close(); // also when its pod was forgotten (deleted) meanwhile
            }
        }
    }

    private static String key(Cluster c, String pod) {
        return c.settings.namespace() + "/" + pod;
    }

    /**
     * A link to the agent of sandbox {@code ref}'s pod, held by the caller alone until it {@link Link#release}s
     * or closes it: an idle one, else a new exec stream of the agent's {@code serve --stdio} (the one exec request of
     * the pod's, once per davit process, and again only when its stream ended or two commands run at once).
     *
     * @return the link
     * @throws KubernetesClientException when the API server refused the exec stream
     * @throws DavitException            when the pod's agent answered anything but its HELLO (a pod made by a davit
     *                                   before davit-agent, or one whose agent its sandbox replaced), or did not
     *                                   answer within {@link AgentLink#HELLO_WAIT} twice
     */
    static Link take(Cluster c, PodRef ref) {
        String sandboxId = ref.sandboxId();
        String pod = ref.name();
        String key = key(c, pod);
        ConcurrentLinkedDeque<Link> idle = IDLE.get(key);
        boolean dead = false;
        for (Link l; idle != null && (l = idle.poll()) != null; ) {
            if (l.usable()) {
                return l;
            }
            l.agent().close();
            dead = true;
        }
        if (dead) {
            // its streams ended (the pod may be gone, removed by another process): no entry kept for it until a new
            // link is made (unless a release put one back meanwhile)
            IDLE.computeIfPresent(key, (k, d) -> d.isEmpty() ? null : d);
        }
        Link made = open(c, ref, key);
        if (made == null) {
            made = open(c, ref, key); // one more stream: slow once (a loaded node) is not an error
        }
        if (made == null) {
            throw new DavitException(Kind.NETWORK, "the agent in sandbox " + sandboxId + "'s pod " + pod + " did not"
                    + " answer within " + AgentLink.HELLO_WAIT.toSeconds() + " s, twice (a loaded node or cluster?);"
                    + " try again, and look at the sandbox's status if it keeps failing");
        }
        IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()); // where its release keeps it
        return made;
    }

    /**
     * A new exec stream of the agent in sandbox {@code ref}'s pod and a link over it, its HELLO read; null when
     * the agent said nothing within {@link AgentLink#HELLO_WAIT}.
     */
    private static Link open(Cluster c, PodRef ref, String key) {
        String sandboxId = ref.sandboxId();
        String pod = ref.name();
        ExecWatch w = c.client.pods().inNamespace(c.settings.namespace()).withName(pod).inContainer(Pods.CONTAINER)
                .redirectingInput().redirectingOutput().writingError(OutputStream.nullOutputStream())
                .exec(PROGRAM, "serve", "--stdio");
        try {
            // the closer ends the reader's stream first: a websocket's close alone waits for the other side's answer
            // (up to a minute), which no deadline of the link's may depend on
            return new Link(key, AgentLink.over(w.getOutput(), w.getInput(), () -> {
                try {
                    w.getOutput().close();
                } finally {
                    w.close();
                }
            }), w);
        } catch (IOException e) {
            // how the stream ended, as fabric8 saw it before the read failed (read first: the close below ends it
            // too): the program's exit status, none (closed without one), or a stream that failed
            CompletableFuture<Integer> ended = w.exitCode();
            boolean done = ended.isDone();
            boolean failed = done && (ended.isCompletedExceptionally() || ended.getNow(null) == null);
            Integer exit = done && !failed ? ended.getNow(null) : null;
            try {
                w.getOutput().close();
            } catch (IOException ignored) {
                // closed already
            }
            w.close();
            if (Thread.currentThread().isInterrupted()) {
                throw new DavitException(Kind.CANCELLED, "interrupted while reaching the agent of sandbox "
                        + sandboxId);
            }
            if (e instanceof AgentLink.Broken b && b.silent()) {
                return null;
            }
            if (failed) {
                throw new DavitException(Kind.NETWORK, "the exec stream to the agent in sandbox " + sandboxId
                        + "'s pod " + pod + " broke before its HELLO (" + Cluster.reason(e) + "); look at the sandbox's"
                        + " status");
            }
            // it runs and said something else, or it ended (or could not be started: no davit-agent there)
            String why = exit == null ? Cluster.reason(e) : exit == -1 ? PROGRAM + " could not be started"
                    : PROGRAM + " ended with exit code " + exit + " before a HELLO";
            throw new DavitException(Kind.INTERNAL, "the agent in sandbox " + sandboxId + "'s pod " + pod + " did not"
                    + " answer as davit-agent (" + why + "): one whose agent its sandbox replaced, or a pod made by a"
                    + " davit before davit-agent (stop it with the davit that made it, which saves its files, and start"
                    + " it with this one); else remove the sandbox and create it again");
        }
    }

    /** Closes every idle link to pod {@code pod} of {@code c}'s namespace (it is being deleted). */
    static void forget(Cluster c, String pod) {
        String key = key(c, pod);
        ConcurrentLinkedDeque<Link> idle = IDLE.remove(key);
        for (Link l; idle != null && (l = idle.poll()) != null; ) {
            l.agent().close();
        }
    }
}
