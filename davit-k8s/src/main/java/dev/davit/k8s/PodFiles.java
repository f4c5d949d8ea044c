package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.agent.AgentErrors;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.agent.LinkFiles;
import dev.davit.sandbox.backend.GuestFiles;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;

/**
 * The files of a sandbox's pod: each call a file request to the pod's davit-agent on a link this process holds
 * ({@link PodLinks}, {@link LinkFiles}): no exec request through the API server, no shell in the pod.
 */
final class PodFiles {
    private PodFiles() {
    }

    /** The files of sandbox {@code ref}'s pod. */
    static GuestFiles of(PodRef ref) {
        return LinkFiles.of(links(ref), ref.sandboxId());
    }

    /**
     * Links to the davit-agent of sandbox {@code ref}'s pod, each taken when a call sends its request and given
     * back (or closed, when it broke) after it.
     *
     * @return the links
     */
    static LinkFiles.Links links(PodRef ref) {
        String sandboxId = ref.sandboxId();
        return new LinkFiles.Links() {
            @Override
            public <U> U withLink(LinkFiles.Use<U> use) {
                PodLinks.Link link;
                try {
                    link = PodLinks.take(Cluster.get(), ref);
                } catch (KubernetesClientException e) {
                    throw Cluster.failure("reach the agent of sandbox " + sandboxId, e);
                }
                return over(sandboxId, link, use);
            }
        };
    }

    /** {@code use} on {@code link}, given back for the next call when it can carry one, else closed. */
    private static <T> T over(String sandboxId, PodLinks.Link link, LinkFiles.Use<T> use) {
        boolean broke = false;
        try {
            return use.apply(link.agent());
        } catch (AgentLink.InputFailed e) {
            broke = true;
            throw AgentErrors.inputFailed(sandboxId, "the file request", e);
        } catch (IOException e) {
            broke = true;
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted while a file request ran in sandbox "
                        + sandboxId);
            }
            // the agent died or lied, or its stream ended (the pod, its node or the API server went)
            throw new DavitException(Kind.NETWORK, "the link to the agent in sandbox " + sandboxId + "'s pod broke"
                    + " while a file request ran (" + e.getMessage() + "); look at the sandbox's status if the next one"
                    + " fails too");
        } catch (KubernetesClientException e) {
            broke = true;
            throw Cluster.failure("reach the agent of sandbox " + sandboxId, e);
        } finally {
            if (broke) {
                link.agent().close();
            } else {
                link.release(); // after a refusal too: LinkFiles closes a link it left with answers unread
            }
        }
    }
}
