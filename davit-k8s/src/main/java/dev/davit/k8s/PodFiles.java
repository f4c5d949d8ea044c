package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.unpack.UnpackResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.agent.AgentErrors;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.agent.LinkFiles;
import dev.davit.sandbox.backend.GuestFiles;
import dev.davit.sandbox.vm.AgentFiles;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The files of a sandbox's pod: each call a file request to the pod's davit-agent on a link this process holds
 * ({@link PodLinks}, {@link LinkFiles}: no exec request through the API server, no shell in the pod); in a pod
 * without davit-agent (made by a davit before it), the guest agent's file verbs ({@link AgentFiles} over
 * {@link PodAgents}).
 */
final class PodFiles implements GuestFiles {
    private final Path stateDir;
    private final Sandbox sandbox;

    PodFiles(Path stateDir, Sandbox sandbox) {
        this.stateDir = stateDir;
        this.sandbox = sandbox;
    }

    /**
     * Runs {@code call} with file requests to the pod's davit-agent (a link taken only when the call sends one, and
     * given back or closed after it), else (a pod without it) with the guest agent's verbs.
     */
    private <T> T either(java.util.function.Function<GuestFiles, T> call) {
        LinkFiles byAgent = LinkFiles.of(links(), sandbox.id());
        try {
            return call.apply(byAgent);
        } catch (LinkFiles.NoAgent e) {
            return call.apply(new AgentFiles(new PodAgents(stateDir), sandbox));
        }
    }

    /**
     * Links to the pod's davit-agent, each taken when a call sends its request and given back (or closed, when it
     * broke) after it; {@link LinkFiles.NoAgent} before any request in a pod without davit-agent.
     *
     * @return the links
     */
    LinkFiles.Links links() {
        return new LinkFiles.Links() {
            @Override
            public <U> U withLink(LinkFiles.Use<U> use) {
                PodLinks.Link link;
                try {
                    link = PodLinks.take(Cluster.get(), Pods.name(sandbox.id()));
                } catch (KubernetesClientException e) {
                    throw Cluster.failure("reach the agent of sandbox " + sandbox.id(), e);
                }
                if (link == null) {
                    throw new LinkFiles.NoAgent(); // before any request: the other way does the whole call
                }
                return over(link, use);
            }
        };
    }

    private void doing(java.util.function.Consumer<GuestFiles> call) {
        either(f -> {
            call.accept(f);
            return null;
        });
    }

    /** {@code use} on {@code link}, given back for the next call when it can carry one, else closed. */
    private <T> T over(PodLinks.Link link, LinkFiles.Use<T> use) {
        boolean broke = false;
        try {
            return use.apply(link.agent());
        } catch (AgentLink.InputFailed e) {
            broke = true;
            throw AgentErrors.inputFailed(sandbox.id(), "the file request", e);
        } catch (IOException e) {
            broke = true;
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted while a file request ran in sandbox "
                        + sandbox.id());
            }
            // the agent died or lied, or its stream ended (the pod, its node or the API server went)
            throw new DavitException(Kind.NETWORK, "the link to the agent in sandbox " + sandbox.id() + "'s pod broke"
                    + " while a file request ran (" + e.getMessage() + "); see 'davit sandbox status " + sandbox.id()
                    + "' if the next one fails too");
        } catch (KubernetesClientException e) {
            broke = true;
            throw Cluster.failure("reach the agent of sandbox " + sandbox.id(), e);
        } finally {
            if (broke) {
                link.agent().close();
            } else {
                link.release(); // after a refusal too: LinkFiles closes a link it left with answers unread
            }
        }
    }

    @Override
    public void putTar(String dir, Path tar) {
        doing(f -> f.putTar(dir, tar));
    }

    @Override
    public List<UnpackResult.Skipped> copyTree(String dir, Path into) {
        return either(f -> f.copyTree(dir, into));
    }

    @Override
    public Content read(String file, long maxBytes) {
        return either(f -> f.read(file, maxBytes));
    }

    @Override
    public void remove(List<String> paths) {
        doing(f -> f.remove(paths));
    }

    @Override
    public void move(String from, String to) {
        doing(f -> f.move(from, to));
    }

    @Override
    public void swap(String dir, String fresh, String old) {
        doing(f -> f.swap(dir, fresh, old));
    }

    @Override
    public void sync() {
        doing(GuestFiles::sync);
    }
}
