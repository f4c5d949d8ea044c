package dev.davit.sandbox.engine;

import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.Doctor.Backend;
import dev.davit.sandbox.Doctor.Report;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.backend.Driver;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.host.CgroupProbe;
import dev.davit.sandbox.host.Host;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link Sandboxes#doctor}'s checks of this host: each driver's entries, then whether limits and the network work
 * here ({@link Doctor}'s values).
 */
final class HostChecks {
    private final SandboxOptions options;

    /**
     * The checks for the sandboxes of {@code options} (its search path finds the tools it checks).
     *
     * @param options the options whose tools and state directory are checked
     */
    HostChecks(SandboxOptions options) {
        this.options = options;
    }

    /**
     * Every driver's entries: first each backend's runtimes (named {@code BACKEND} or {@code BACKEND/RUNTIME}), in
     * driver order, then {@link Doctor#LIMITS} and {@link Doctor#NETWORK}, then the drivers' other entries ({@link Doctor#JAIL}).
     * Runs probes (each up to {@link Doctor#PROBE_SECONDS}), so it takes a moment.
     *
     * @return every entry; problems are entries that say so, never exceptions
     */
    Report check() {
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
            return new Backend(Doctor.NETWORK, true, Message.of(Input.NETWORK, " gives a sandbox its own network"
                    + " namespace with NAT (slirp4netns, unprivileged, in a sandbox of its own with its seccomp"
                    + " filter); the host's loopback and 169.254.0.0/16 are out of reach"), facts);
        } catch (dev.davit.oci.DavitException e) {
            return new Backend(Doctor.NETWORK, false, e.message(), facts);
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
        CgroupProbe.Support s = CgroupProbe.probe();
        Message fix = Message.of("; ", Action.LIMITED_RUN.fix(), "; limits need root or a cgroup v2 delegated to"
                + " this user");
        if (!s.available()) {
            facts.put("cgroups", "unavailable: " + s.problem());
            facts.put("memory", "not enforced");
            facts.put("cpus", "not enforced");
            facts.put("pids", "RLIMIT_NPROC (" + dev.davit.sandbox.jail.NprocLimit.NAME + "): the sandbox's process"
                    + " limit on top of what this user runs, counted with all of the user's processes");
            facts.put("totals", "not enforced");
            return new Backend(Doctor.LIMITS, false, Message.of("memory and CPU limits (and Totals) cannot be"
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
            return new Backend(Doctor.LIMITS, false, Message.of("memory, CPU and process limits cannot be enforced: ",
                    Message.from(e), fix), facts);
        } finally {
            if (tmp != null) {
                Host.deleteTree(tmp);
            }
        }
        return new Backend(Doctor.LIMITS, true, "memory, CPU and process limits are enforced with a cgroup per sandbox ("
                + s.describe() + ") for bwrap, crun and runc; defaults " + facts.get("defaults"), facts);
    }
}
