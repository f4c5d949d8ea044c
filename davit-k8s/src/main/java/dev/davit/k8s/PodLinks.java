package dev.davit.k8s;

import dev.davit.sandbox.agent.AgentLink;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Links to the davit-agent of sandbox pods ({@code davit-agent serve --stdio}, docs/reference/AGENT.md), each over
 * one long-lived exec stream of the pod: a command is a request on a link this process holds already, not an exec
 * request of its own through the API server. A link serves one command at a time; a pod's idle links are kept for
 * the next (a pod gets a second stream only while two commands run on it at once). A link whose stream ended (the
 * pod went away, the kubelet closed an idle stream) is dropped when it is next taken.
 */
final class PodLinks {
    /** The agent's file in the pod (copied in by the init container beside the busybox, see {@link Pods}). */
    static final String PROGRAM = "/.davit/davit-agent";
    /** Idle links kept per pod: more are closed as their commands end. */
    private static final int IDLE_PER_POD = 4;

    private static final Map<String, ConcurrentLinkedDeque<Link>> IDLE = new ConcurrentHashMap<>();
    /** Pods whose agent could not be reached by this process (made by a davit without one): the exec way there. */
    private static final Set<String> WITHOUT = ConcurrentHashMap.newKeySet();

    private PodLinks() {
    }

    /** A link and the exec stream it runs over. */
    record Link(String pod, AgentLink agent, ExecWatch stream) {
        /** Whether it can carry another command: not closed, and its stream not ended. */
        boolean usable() {
            return !agent.isClosed() && !stream.exitCode().isDone();
        }

        /** Gives it back for the next command, or closes it when it cannot carry one or enough are idle. */
        void release() {
            if (!usable() || WITHOUT.contains(pod)) {
                agent.close();
                return;
            }
            ConcurrentLinkedDeque<Link> idle = IDLE.computeIfAbsent(pod, p -> new ConcurrentLinkedDeque<>());
            if (idle.size() >= IDLE_PER_POD) {
                agent.close();
            } else {
                idle.push(this);
            }
        }
    }

    /**
     * A link to pod {@code pod}'s agent, held by the caller alone until it {@link Link#release}s or closes it: an idle
     * one, else a new exec stream.
     *
     * @return the link, or null when the pod has no agent this process could reach (the exec way then)
     * @throws KubernetesClientException when the API server refused the exec stream
     */
    static Link take(Cluster c, String pod) {
        if (WITHOUT.contains(pod)) {
            return null;
        }
        ConcurrentLinkedDeque<Link> idle = IDLE.get(pod);
        for (Link l; idle != null && (l = idle.poll()) != null; ) {
            if (l.usable()) {
                return l;
            }
            l.agent().close();
        }
        ExecWatch w = c.client.pods().inNamespace(c.settings.namespace()).withName(pod).inContainer(Pods.CONTAINER)
                .redirectingInput().redirectingOutput().writingError(OutputStream.nullOutputStream())
                .exec(PROGRAM, "serve", "--stdio");
        try {
            return new Link(pod, AgentLink.over(w.getOutput(), w.getInput(), w::close), w);
        } catch (IOException e) {
            w.close();
            if (!(e instanceof AgentLink.Broken b && b.silent())) {
                // no agent there (a pod of a davit before it, or one its sandbox removed or replaced by a liar):
                // this process execs the old way in that pod from now on
                WITHOUT.add(pod);
            } // else slow (a loaded cluster or node): the old way this time, a new link next time
            return null;
        }
    }

    /** Closes every idle link to pod {@code pod} (it is being deleted). */
    static void forget(String pod) {
        WITHOUT.remove(pod);
        ConcurrentLinkedDeque<Link> idle = IDLE.remove(pod);
        for (Link l; idle != null && (l = idle.poll()) != null; ) {
            l.agent().close();
        }
    }
}
