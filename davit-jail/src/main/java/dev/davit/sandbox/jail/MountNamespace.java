package dev.davit.sandbox.jail;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.jail.Jail.Action;
import dev.davit.sandbox.jail.Jail.Namespace;
import dev.davit.sandbox.jail.Jail.Wrap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A jail's private mount namespace ({@link Jail#run}, {@link Jail#runWithBinds}): made by davit-exec's {@code jail}
 * step in front of each command the action starts (its {@link Wrap}, which also folds {@link Jail#launcher}'s steps
 * into that step), or, where the jar has no davit-exec, on a thread of davit's own that makes the mounts through the
 * FFM API ({@link Mounts}, Java 22+), joins a new session key ring and runs the action there.
 */
final class MountNamespace {
    /** The FFM API's mount calls ({@link Mounts}), else why they cannot be had (a String); null until looked at. */
    private static volatile Object mounts;

    private MountNamespace() {
    }

    /** The mount calls of the FFM way; refused with a one-line error where this JVM cannot make them. */
    static Mounts mounts() {
        Object m = mounts;
        if (m == null) {
            try {
                m = Mounts.load();
            } catch (Exception | LinkageError e) {
                m = e.getMessage() == null ? e.toString() : e.getMessage();
            }
            mounts = m;
        }
        if (m instanceof Mounts ms) {
            return ms;
        }
        throw new DavitException(Kind.USAGE, "as root, davit confines a sandbox with an idmapped mount: this davit"
                + " was built without its helper davit-exec (no gcc), and the other way needs Java 22 or later with"
                + " native access (" + m + "); run davit on a JDK 22 or later, or build it where gcc is installed");
    }

    /** {@link Jail#run}: the sandbox's root at {@link Jail#ROOT}, each of {@code binds} at {@code DIR/NAME}. */
    static <T> T run(SandboxOptions options, Namespace ns, Path rootfs, Path upper, Path work,
                     Map<String, Path> binds, Action<T> action) {
        Path helper = Jail.execHelper(options);
        if (helper != null) {
            List<String> pre = new ArrayList<>(List.of(helper.toString(), "jail", ns.path().toString(), "--root",
                    rootfs.toString(), upper.getParent().toString(), upper.getFileName().toString(),
                    work.getFileName().toString()));
            bindOptions(pre, binds, Map.of());
            return call(action, prefixed(pre));
        }
        return onThread(m -> {
            m.unshareMountNamespace();
            Files.createDirectories(Jail.DIR); // on the host's /run, once: the mount point
            m.tmpfs(Jail.DIR, "mode=0755,size=1m");
            Path lower = Files.createDirectory(Jail.DIR.resolve("lower"));
            Files.createDirectory(Jail.ROOT);
            Path layer = Files.createDirectory(Jail.DIR.resolve(".layer"));
            // upper and work under one bind, so the overlay's options name no path of the host's (commas)
            m.bind(upper.getParent(), layer, false);
            m.idmappedBind(rootfs, lower, ns.path());
            m.overlay(lower, layer.resolve(upper.getFileName()), layer.resolve(work.getFileName()), Jail.ROOT);
            bindAll(m, binds);
        }, () -> action.run(cmd -> cmd));
    }

    /** {@link Jail#runWithBinds}: each of {@code binds} and, idmapped, of {@code idmapped} at {@code DIR/NAME}. */
    static <T> T runWithBinds(SandboxOptions options, Map<String, Path> binds, Map<String, Path> idmapped,
                              IdRange idmapTo, Action<T> action) {
        if (!Jail.active()) {
            return call(action, cmd -> cmd);
        }
        try (Namespace ns = idmapped.isEmpty() ? null : Jail.newNamespace(options, idmapTo, null)) {
            Path helper = Jail.execHelper(options);
            if (helper != null) {
                List<String> pre = new ArrayList<>(List.of(helper.toString(), "jail",
                        ns == null ? "/proc/self/ns/user" : ns.path().toString()));
                bindOptions(pre, binds, idmapped);
                return call(action, prefixed(pre));
            }
            return onThread(m -> {
                m.unshareMountNamespace();
                Files.createDirectories(Jail.DIR);
                m.tmpfs(Jail.DIR, "mode=0755,size=1m");
                bindAll(m, binds);
                for (Map.Entry<String, Path> e : idmapped.entrySet()) {
                    Path point = Jail.DIR.resolve(e.getKey());
                    if (Files.isDirectory(e.getValue())) {
                        Files.createDirectory(point);
                    } else {
                        Files.createFile(point);
                    }
                    m.idmappedBind(e.getValue(), point, ns.path());
                }
            }, () -> action.run(cmd -> cmd));
        }
    }

    /** davit-exec's {@code --bind NAME SRC}, {@code --bind-ro} and {@code --idmap} options, then {@code --}. */
    private static void bindOptions(List<String> pre, Map<String, Path> binds, Map<String, Path> idmapped) {
        for (Map.Entry<String, Path> b : binds.entrySet()) {
            boolean ro = b.getKey().endsWith(":ro");
            pre.addAll(List.of(ro ? "--bind-ro" : "--bind", ro ? b.getKey().substring(0, b.getKey().length() - 3)
                    : b.getKey(), b.getValue().toString()));
        }
        for (Map.Entry<String, Path> e : idmapped.entrySet()) {
            pre.addAll(List.of("--idmap", e.getKey(), e.getValue().toString()));
        }
        pre.add("--");
    }

    private static Wrap prefixed(List<String> pre) {
        List<String> fixed = List.copyOf(pre);
        return cmd -> {
            List<String> a = new ArrayList<>(fixed);
            if (!launched(cmd)) {
                a.addAll(cmd);
                return a;
            }
            // the launcher's sh (descriptors 4-6) and setpriv (the ids) as the jail step's own last steps: the
            // same, in the same order, two programs fewer on every run's and keeper's way (see mode-jail.c)
            a.addAll(a.size() - 1, List.of("--fd", Integer.toString(Jail.USERNS_FD), cmd.get(4), "--fd",
                    Integer.toString(Jail.SECCOMP_FD), cmd.get(5), "--fd", Integer.toString(Jail.PIDNS_FD), cmd.get(6),
                    "--ids", cmd.get(8).substring("--reuid=".length()), cmd.get(9).substring("--regid=".length())));
            a.addAll(cmd.subList(12, cmd.size()));
            return a;
        };
    }

    /** Whether {@code cmd} is {@link Jail#launcher}'s: {@code /bin/sh -c LAUNCH sh NS FILTER PIDNS SETPRIV --reuid=U
     * --regid=G --clear-groups -- ...}. */
    private static boolean launched(List<String> cmd) {
        return cmd.size() > 12 && cmd.get(0).equals("/bin/sh") && cmd.get(1).equals("-c")
                && cmd.get(2).equals(Jail.LAUNCH)
                && cmd.get(3).equals("sh") && cmd.get(8).startsWith("--reuid=") && cmd.get(9).startsWith("--regid=")
                && cmd.get(10).equals("--clear-groups") && cmd.get(11).equals("--");
    }

    private static <T> T call(Action<T> action, Wrap wrap) {
        try {
            return action.run(wrap);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "cannot set up the sandbox: " + e.getMessage());
        }
    }

    /** Waits for {@code t} to end (10 s at most: it ends a killed run), an interrupt kept for afterwards. */
    private static void joinUninterruptibly(Thread t) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        boolean interrupted = false;
        while (t.isAlive() && System.nanoTime() < deadline) {
            try {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Each of {@code binds} at {@code DIR/NAME} (read-only for a name ending in {@code :ro}). */
    private static void bindAll(Mounts m, Map<String, Path> binds) throws IOException {
        for (Map.Entry<String, Path> b : binds.entrySet()) {
            boolean ro = b.getKey().endsWith(":ro");
            Path point = Jail.DIR.resolve(ro ? b.getKey().substring(0, b.getKey().length() - 3) : b.getKey());
            if (Files.isDirectory(b.getValue(), LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(point);
            } else {
                Files.createFile(point);
            }
            m.bind(b.getValue(), point, ro);
        }
    }

    /**
     * Runs {@code action} on a new thread after {@code setup} (its mounts) and a new session key ring; the caller
     * waits for it and gets its result or exception.
     */
    private static <T> T onThread(Setup setup, Callable<T> action) {
        Mounts m = mounts();
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                setup.apply(m);
                m.joinSessionKeyring();
                result.set(new Object[] {action.call()});
            } catch (Throwable e) {
                result.set(e);
            }
        }, "davit-jail");
        t.setDaemon(true);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            // the jail thread kills what it started and unmounts; the caller's clean-up comes after that
            t.interrupt();
            joinUninterruptibly(t);
            Thread.currentThread().interrupt();
            throw result.get() instanceof DavitException d && d.kind() == Kind.CANCELLED ? d
                    : new DavitException(Kind.CANCELLED, "interrupted while the sandbox ran");
        }
        Object r = result.get();
        if (r instanceof Object[] ok) {
            @SuppressWarnings("unchecked")
            T value = (T) ok[0];
            return value;
        }
        if (r instanceof RuntimeException e) {
            throw e;
        }
        if (r instanceof Error e) {
            throw e;
        }
        Throwable e = (Throwable) r;
        throw new DavitException(Kind.INTERNAL, Message.of("cannot set up the sandbox's root: " + e.getMessage()
                + " (see ", dev.davit.oci.Action.DOCTOR.fix(), ")"));
    }


    /** Set-up of a jail thread's mount namespace. */
    private interface Setup {
        void apply(Mounts m) throws Exception;
    }
}
