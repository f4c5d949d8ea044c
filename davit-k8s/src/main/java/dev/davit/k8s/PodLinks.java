package dev.davit.k8s;

import dev.davit.sandbox.agent.AgentLink;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
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
    /** How long a pod whose agent could not be reached is served the exec way before its agent is tried again. */
    private static final long WITHOUT_NANOS = 60_000_000_000L;

    private static final Map<String, ConcurrentLinkedDeque<Link>> IDLE = new ConcurrentHashMap<>();
    /** Pods whose agent could not be reached (made by a davit without one, or a liar in its place): until when. */
    private static final Map<String, Long> WITHOUT = new ConcurrentHashMap<>();

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
     * A link to pod {@code pod}'s agent, held by the caller alone until it {@link Link#release}s or closes it: an idle
     * one, else a new exec stream.
     *
     * @return the link, or null when the pod has no agent this process could reach (the exec way then)
     * @throws KubernetesClientException when the API server refused the exec stream
     */
    static Link take(Cluster c, String pod) {
        String key = key(c, pod);
        Long until = WITHOUT.get(key);
        if (until != null) {
            if (System.nanoTime() - until < 0) {
                return null;
            }
            WITHOUT.remove(key, until);
        }
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
        ExecWatch w = c.client.pods().inNamespace(c.settings.namespace()).withName(pod).inContainer(Pods.CONTAINER)
                .redirectingInput().redirectingOutput().writingError(OutputStream.nullOutputStream())
                .exec(PROGRAM, "serve", "--stdio");
        try {
            // the closer ends the reader's stream first: a websocket's close alone waits for the other side's answer
            // (up to a minute), which no deadline of the link's may depend on
            Link made = new Link(key, AgentLink.over(w.getOutput(), w.getInput(), () -> {
                try {
                    w.getOutput().close();
                } finally {
                    w.close();
                }
            }), w);
            IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()); // where its release keeps it
            return made;
        } catch (IOException e) {
            try {
                w.getOutput().close();
            } catch (IOException ignored) {
                // closed already
            }
            w.close();
            if (!(e instanceof AgentLink.Broken b && b.silent())) {
                // no agent there (a pod of a davit before it, or one its sandbox removed or replaced by a liar), or
                // a stream that failed (the pod's process limit): the exec way in that pod for a while
                long now = System.nanoTime();
                WITHOUT.values().removeIf(t -> now - t >= 0); // pods whose while is over, deleted ones too
                WITHOUT.put(key, now + WITHOUT_NANOS);
            } // else slow (a loaded cluster or node): the exec way this time, a new link next time
            return null;
        }
    }

    /** Closes every idle link to pod {@code pod} of {@code c}'s namespace (it is being deleted). */
    static void forget(Cluster c, String pod) {
        String key = key(c, pod);
        WITHOUT.remove(key);
        ConcurrentLinkedDeque<Link> idle = IDLE.remove(key);
        for (Link l; idle != null && (l = idle.poll()) != null; ) {
            l.agent().close();
        }
    }
}
