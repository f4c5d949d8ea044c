package dev.davit.k8s;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * davit's pods of the namespace as the API server last told them: one list and one watch for the process (an
 * informer, which resumes its watch by itself when it breaks: an API server restarted, a connection cut), in place
 * of a GET per pod per look and a list and a watch per wait. Made by the first wait of a process (a start, a delete);
 * a process that only looks (a CLI command) asks with a GET instead ({@link PodLife#running}).
 */
final class PodCache implements ResourceEventHandler<Pod> {
    private final SharedIndexInformer<Pod> informer;
    private final String namespace;
    /** Per pod name that someone waits for, what they wait on (and how many they are); woken at its events. */
    private final ConcurrentHashMap<String, Waiters> waiting = new ConcurrentHashMap<>();

    private static final class Waiters {
        int count;
    }

    private PodCache(Cluster c) {
        this.namespace = c.settings.namespace();
        // started, and its first list in, before it is used (inform returns once it has synced)
        this.informer = c.client.pods().inNamespace(namespace).withLabel(Pods.MANAGED_BY, Pods.DAVIT).inform(this, 0);
    }

    /** The cluster's cache, made and filled now if it was not. */
    static PodCache of(Cluster c) {
        PodCache p = c.pods;
        if (p == null) {
            synchronized (c) {
                if (c.pods == null) {
                    try {
                        c.pods = new PodCache(c);
                    } catch (KubernetesClientException e) {
                        throw Cluster.failure("watch davit's pods", e);
                    }
                }
                p = c.pods;
            }
        }
        return p;
    }

    /** The cluster's cache if this process made one, else null. */
    static PodCache ifMade(Cluster c) {
        return c.pods;
    }

    /** Pod {@code name} as last told, or null when there is none. */
    Pod get(String name) {
        return informer.getStore().getByKey(namespace + "/" + name);
    }

    /**
     * Waits until {@code done} holds for pod {@code name} as told (null: there is none), at most {@code seconds}.
     *
     * @return the pod it held for (or null)
     * @throws java.util.concurrent.TimeoutException when the time is up first
     */
    Pod await(String name, Predicate<Pod> done, long seconds) throws java.util.concurrent.TimeoutException,
            InterruptedException {
        Waiters m = waiting.compute(name, (k, w) -> {
            Waiters x = w == null ? new Waiters() : w;
            x.count++;
            return x;
        });
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        try {
            synchronized (m) {
                while (true) {
                    Pod p = get(name);
                    if (done.test(p)) {
                        return p;
                    }
                    long left = end - System.nanoTime();
                    if (left <= 0) {
                        throw new java.util.concurrent.TimeoutException("pod " + name + " did not change in time");
                    }
                    // woken by its events (a look and a wait under the same lock as the wake: none is missed), and
                    // each second all the same
                    m.wait(Math.max(1, Math.min(1000, TimeUnit.NANOSECONDS.toMillis(left))));
                }
            }
        } finally {
            waiting.compute(name, (k, w) -> w == null || --w.count == 0 ? null : w);
        }
    }

    private void wake(Pod p) {
        Waiters m = waiting.get(p.getMetadata().getName());
        if (m != null) {
            synchronized (m) {
                m.notifyAll();
            }
        }
    }

    @Override
    public void onAdd(Pod p) {
        wake(p);
    }

    @Override
    public void onUpdate(Pod old, Pod p) {
        wake(p);
    }

    @Override
    public void onDelete(Pod p, boolean unknownFinalState) {
        wake(p);
    }
}
