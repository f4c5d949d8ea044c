package dev.davit.sandbox;

import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.backend.Driver;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.backend.Nat;
import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Which sandbox backends work on this host, and why not: bubblewrap present and able to run {@code true} in new
 * namespaces (the {@code container} backend); crun and runc present and able to run {@code true} in an OCI
 * container (the container backend's other runtimes); QEMU with its microvm machine, and whether KVM really runs
 * guests or QEMU emulates (the {@code vm} backend).
 */
public final class Doctor {
    /** How long one probe of a doctor's entry may take. */
    public static final long PROBE_SECONDS = 15;

    private final SandboxOptions options;

    /**
     * A doctor for the sandboxes of {@code options} (its search path finds the tools it checks).
     *
     * @param options the options whose tools and state directory are checked
     */
    public Doctor(SandboxOptions options) {
        this.options = options;
    }

    /**
     * One backend's state.
     *
     * @param name      {@code container} (bubblewrap), {@code container/crun}, {@code container/runc} or {@code vm}
     * @param available whether davit can run sandboxes with it now
     * @param why       one line: what works, or why not and the fix, as data for each door to word
     * @param facts     what was found (paths, versions, probe results)
     */
    public record Backend(String name, boolean available, Message why, Map<String, String> facts) {
        /** Copies {@code facts}, keeping their order. */
        public Backend {
            facts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(facts));
        }

        /**
         * One backend's state, {@code detail} plain text.
         *
         * @param name      as in the record
         * @param available as in the record
         * @param detail    one line: what works, or why not and the fix
         * @param facts     as in the record
         */
        public Backend(String name, boolean available, String detail, Map<String, String> facts) {
            this(name, available, Message.of(detail), facts);
        }

        /**
         * {@link #why} in the library's words.
         *
         * @return one line: what works, or why not and the fix
         */
        public String detail() {
            return why.toString();
        }
    }

    /**
     * What {@link #check} found.
     *
     * @param backends every entry: the backends and runtimes (container, container/crun, container/runc, vm), then
     *                 {@link #LIMITS}, {@link #NETWORK} and the other entries ({@link #JAIL})
     */
    public record Report(List<Backend> backends) {
        /** Copies {@code backends}. */
        public Report {
            backends = List.copyOf(backends);
        }

        /**
         * Whether a backend works ({@link #LIMITS}, not a backend, does not count).
         *
         * @return true when at least one backend or runtime is available
         */
        public boolean anyAvailable() {
            return backends.stream().anyMatch(b -> b.available() && !b.name().equals(LIMITS));
        }
    }

    /** The entry that says whether container limits ({@link Limits}) can be enforced here. */
    public static final String LIMITS = "container/limits";
    /** The entry that says whether {@code --network} (NAT, {@link Network#NAT}) works here. */
    public static final String NETWORK = "container/network";

    /** The entry that says how container sandboxes are confined here ({@link dev.davit.sandbox.jail.Jail}). */
    public static final String JAIL = "container/jail";

    /**
     * Every driver's entries: first each backend's runtimes (named {@code BACKEND} or {@code BACKEND/RUNTIME}), in
     * driver order, then {@link #LIMITS} and {@link #NETWORK}, then the drivers' other entries ({@link #JAIL}).
     * Runs probes (each up to {@link #PROBE_SECONDS}), so it takes a moment.
     *
     * @return every entry; problems are entries that say so, never exceptions
     */
    public Report check() {
        List<Backend> runtimes = new ArrayList<>();
        List<Backend> others = new ArrayList<>();
        for (Driver d : Driver.all()) {
            java.util.Set<String> names = new java.util.HashSet<>(List.of(d.name()));
            d.runtimes(options).forEach(r -> names.add(d.name() + "/" + r.runtime()));
            for (Backend b : d.doctor(options)) {
                (names.contains(b.name()) ? runtimes : others).add(b);
            }
        }
        runtimes.add(limits());
        runtimes.add(network());
        runtimes.addAll(others);
        return new Report(runtimes);
    }

    /** Whether {@code --network} can give sandboxes their own namespace with NAT: the tools and the TUN device. */
    private Backend network() {
        Map<String, String> facts = new LinkedHashMap<>();
        try {
            Nat.Tools t = Nat.tools(options);
            facts.put("slirp4netns", t.slirp4netns().toString());
            facts.put("tun", Nat.TUN.toString());
            facts.put("slirp4netns_runs_as", dev.davit.sandbox.jail.Jail.AS_ROOT ? "a uid of the range "
                    + dev.davit.sandbox.jail.IdRange.NET_OWNER + " per sandbox" : "this user");
            return new Backend(NETWORK, true, Message.of(Input.NETWORK, " gives a sandbox its own network"
                    + " namespace with NAT (slirp4netns, unprivileged, in a sandbox of its own with its seccomp"
                    + " filter); the host's loopback and 169.254.0.0/16 are out of reach"), facts);
        } catch (dev.davit.oci.DavitException e) {
            return new Backend(NETWORK, false, e.message(), facts);
        }
    }

    /**
     * Whether davit can make the cgroups that enforce container limits, for every runtime: probed by making one
     * with the default limits and removing it.
     */
    private Backend limits() {
        Map<String, String> facts = new LinkedHashMap<>();
        Limits d = Limits.DEFAULT;
        facts.put("defaults", d.memoryMiB() + " MiB, " + d.cpus() + " CPU, " + d.pids() + " processes, "
                + d.diskMiB() + " MiB of disk");
        facts.put("disk", dev.davit.sandbox.jail.Disk.available()
                ? "a filesystem of the limit's size per sandbox: an ext4 image loop-mounted nosuid,nodev (long-lived),"
                + " a tmpfs charged to its memory (one-shot)"
                : "only a one-shot run's /tmp, /run, /var/tmp and /dev/shm (tmpfs of the limit's size); the layer and a"
                + " long-lived sandbox's scratch directories are not bounded without root");
        Cgroups.Support s = Cgroups.probe();
        Message fix = Message.of("; ", Action.LIMITED_RUN.fix(), "; limits need root or a cgroup v2 delegated to"
                + " this user");
        if (!s.available()) {
            facts.put("cgroups", "unavailable: " + s.problem());
            facts.put("memory", "not enforced");
            facts.put("cpus", "not enforced");
            facts.put("pids", "RLIMIT_NPROC (" + dev.davit.sandbox.jail.NprocLimit.NAME + "): the sandbox's process"
                    + " limit on top of what this user runs, counted with all of the user's processes");
            facts.put("totals", "not enforced");
            return new Backend(LIMITS, false, Message.of("memory and CPU limits (and Totals) cannot be"
                    + " enforced: " + s.problem() + "; a sandbox's processes are bounded by RLIMIT_NPROC instead ",
                    Action.DEFAULT_LIMITS.fix(), fix), facts);
        }
        s.bases().forEach((c, base) -> facts.put(c, (s.v2().contains(c) ? "cgroup v2 " : "cgroup v1 ")
                + base.resolve(Cgroups.PARENT)));
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("davit-doctor-");
            Cgroups.create("doctor-" + ProcessHandle.current().pid(), d, tmp).destroy();
            facts.put("probe", "ok");
        } catch (IOException | RuntimeException e) {
            facts.put("probe", "failed: " + e.getMessage());
            return new Backend(LIMITS, false, Message.of("memory, CPU and process limits cannot be enforced: ",
                    Message.from(e), fix), facts);
        } finally {
            if (tmp != null) {
                Host.deleteTree(tmp);
            }
        }
        return new Backend(LIMITS, true, "memory, CPU and process limits are enforced with a cgroup per sandbox ("
                + s.describe() + ") for bwrap, crun and runc; defaults " + facts.get("defaults"), facts);
    }

    /**
     * What {@link #probe} found.
     *
     * @param ok     whether the command exited 0 in time
     * @param output its output (stdout and stderr, up to 4 KiB, as one line), or why it failed
     */
    public record Probe(boolean ok, String output) {
    }

    /**
     * Runs {@code cmd} (no environment, no input, {@link #PROBE_SECONDS} at most) for a doctor's entry.
     *
     * @param cmd the command and its arguments
     * @return whether it succeeded, and what it said; a failure to start is a failed probe, not an exception
     */
    public static Probe probe(List<String> cmd) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().clear();
            Process p = pb.start();
            byte[] out;
            try (var in = p.getInputStream()) {
                out = in.readNBytes(4096);
            }
            if (!p.waitFor(PROBE_SECONDS, TimeUnit.SECONDS)) {
                Host.killTree(p);
                return new Probe(false, "timed out after " + PROBE_SECONDS + " s");
            }
            String text = new String(out, StandardCharsets.UTF_8).strip().replace('\n', ' ');
            return p.exitValue() == 0 ? new Probe(true, text)
                    : new Probe(false, text.isEmpty() ? "exit " + p.exitValue() : text);
        } catch (IOException e) {
            return new Probe(false, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Probe(false, "interrupted");
        }
    }

    /**
     * Two argument lists joined.
     *
     * @param a the first arguments
     * @param b the arguments after them
     * @return a new list: {@code a} then {@code b}
     */
    public static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
