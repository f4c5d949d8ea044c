package dev.davit.sandbox.backend;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Consumer;

/**
 * A sandbox backend as a package: its one-shot runtimes, its long-lived sandboxes, its {@code doctor} entries and the
 * clean-up of its orphaned runs. The core ({@code Sandboxes}, {@link Lifecycle}, {@link OneShot}, {@link Doctor})
 * knows backends only through this interface; each backend's package names its driver in
 * {@code META-INF/services/dev.davit.sandbox.backend.Driver}, so a new backend is a new package and one line there.
 */
public interface Driver {
    /**
     * The backend's name, as {@code --backend} takes it.
     *
     * @return {@link RunSpec#CONTAINER}, {@link RunSpec#VM} or a new backend's name
     */
    String name();

    /**
     * The backend's one-shot runtimes, in the order an automatic choice tries them.
     *
     * @param options where the runtimes find their tools and keep their state
     * @return at least one runtime (an uninstalled one reports what is missing when it runs)
     */
    List<Backend> runtimes(SandboxOptions options);

    /**
     * The backend's long-lived sandboxes.
     *
     * @param options where the sandboxes find their tools and keep their state
     * @param save    records a sandbox's state (atomically), e.g. after a start
     * @return the backend's side of {@link Lifecycle}
     */
    LongLived longLived(SandboxOptions options, Consumer<Sandbox> save);

    /**
     * What works on this host for this backend, and why not: {@code doctor}'s entries.
     *
     * @param options where the tools are found
     * @return one entry per runtime (named {@code BACKEND} or {@code BACKEND/RUNTIME}) and any others it has
     */
    List<Doctor.Backend> doctor(SandboxOptions options);

    /**
     * Removes what this backend made outside {@code runDir} for an orphaned one-shot run (its davit died), before
     * the core deletes the directory; its recorded process is already killed. Best effort; by default nothing.
     *
     * @param options the options the run was made with
     * @param runDir  the orphaned run's state directory ({@code <stateDir>/sb-...})
     */
    default void reapOrphan(SandboxOptions options, Path runDir) {
    }

    /**
     * Removes what this backend made elsewhere for sandboxes of {@code options}' home that have no record there any
     * more (a k8s pod whose sandbox's state directory is gone). Best effort; by default nothing.
     *
     * @param options the home's options
     * @return the names of what was removed
     */
    default List<String> sweep(SandboxOptions options) {
        return List.of();
    }

    /**
     * The bound the backend's own system puts on all of this home's sandboxes together, where it has one (a k8s
     * namespace's ResourceQuota): each resource's amount in use and most, as {@code "used/hard"}.
     *
     * @param options the home's options
     * @return by resource name ({@code pods}, {@code limits.memory}…); empty where it has none; null where the
     *         backend has no such thing (this host's own totals are {@link Machinery#setTotals})
     */
    default java.util.Map<String, String> quota(SandboxOptions options) {
        return null;
    }

    /**
     * Keeps {@code count} started sandboxes of {@code spec}'s kind ready in the backend's own warm pool (a k8s
     * cluster's agent-sandbox {@code SandboxWarmPool}), from which a start of such a sandbox of this process then
     * takes one; 0 ends the pool. davit's own warm pool ({@code WarmPool}) makes no spares of a kind whose backend
     * keeps them.
     *
     * @param options the home's options
     * @param spec    the kind: a sandbox's spec, its ttl and variables aside
     * @param count   how many to keep ready; 0: none (the pool removed)
     * @return whether the backend keeps them; false by default (davit's own pool does)
     */
    default boolean keepWarm(SandboxOptions options, CreateSpec spec, int count) {
        return false;
    }

    /**
     * The drivers of this davit: the default backend ({@link RunSpec#CONTAINER}) first, then {@link RunSpec#VM},
     * then others (k8s) by name.
     *
     * @return the drivers found by {@link java.util.ServiceLoader}, loaded once
     */
    static List<Driver> all() {
        return Loaded.ALL;
    }

    /**
     * The driver of a backend.
     *
     * @param name the backend's name, e.g. {@link RunSpec#VM}
     * @return its driver, or null when this davit has none of that name
     */
    static Driver named(String name) {
        for (Driver d : Loaded.ALL) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }

    /** Loaded once per class loader. */
    final class Loaded implements java.util.Comparator<Driver> {
        static final List<Driver> ALL = load();

        private Loaded() {
        }

        /**
         * The drivers, the host's own backends first in a fixed order whatever the class path's, then others by
         * name. (A named comparator and a loop: the comparator lambdas and streams this replaced were spun at run
         * time, outside the AOT cache, on every command that makes a sandbox.)
         */
        private static List<Driver> load() {
            List<Driver> all = new java.util.ArrayList<>();
            for (Driver d : ServiceLoader.load(Driver.class, Driver.class.getClassLoader())) {
                all.add(d);
            }
            all.sort(new Loaded());
            return List.copyOf(all);
        }

        private static int rank(Driver d) {
            return d.name().equals(RunSpec.CONTAINER) ? 0 : d.name().equals(RunSpec.VM) ? 1 : 2;
        }

        @Override
        public int compare(Driver a, Driver b) {
            int r = Integer.compare(rank(a), rank(b));
            return r != 0 ? r : a.name().compareTo(b.name());
        }
    }
}
