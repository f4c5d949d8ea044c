package dev.davit.sandbox;

import dev.davit.sandbox.container.BwrapBackend;
import dev.davit.sandbox.container.OciRuntimeBackend;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.vm.Accel;
import dev.davit.sandbox.vm.Elf;
import dev.davit.sandbox.vm.Machine;
import dev.davit.sandbox.vm.VmImages;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Json;
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
    private static final long PROBE_SECONDS = 15;

    private final SandboxOptions options;

    public Doctor(SandboxOptions options) {
        this.options = options;
    }

    /**
     * One backend's state.
     *
     * @param name      {@code container} (bubblewrap), {@code container/crun}, {@code container/runc} or {@code vm}
     * @param available whether davit can run sandboxes with it now
     * @param detail    one line: what works, or why not and the fix
     * @param facts     what was found (paths, versions, probe results)
     */
    public record Backend(String name, boolean available, String detail, Map<String, String> facts) {
        public Backend {
            facts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(facts));
        }

        public ObjectNode toJson() {
            ObjectNode o = Json.object();
            o.put("name", name);
            o.put("available", available);
            o.put("detail", detail);
            ObjectNode f = o.putObject("facts");
            facts.forEach(f::put);
            return o;
        }
    }

    /** Every backend, in order container, container/crun, container/runc, vm, then container/limits. */
    public record Report(List<Backend> backends) {
        public Report {
            backends = List.copyOf(backends);
        }

        /** Whether a backend works ({@link #LIMITS}, not a backend, does not count). */
        public boolean anyAvailable() {
            return backends.stream().anyMatch(b -> b.available() && !b.name().equals(LIMITS));
        }

        public ObjectNode toJson() {
            ObjectNode o = Json.object();
            var arr = o.putArray("backends");
            backends.forEach(b -> arr.add(b.toJson()));
            o.put("any_available", anyAvailable());
            return o;
        }
    }

    /** The entry that says whether container limits ({@link Limits}) can be enforced here. */
    public static final String LIMITS = "container/limits";
    /** The entry that says whether {@code --network} (NAT, {@link Network#NAT}) works here. */
    public static final String NETWORK = "container/network";

    public static final String JAIL = "container/jail";

    public Report check() {
        return new Report(List.of(container(), ociRuntime(OciRuntimeBackend.CRUN), ociRuntime(OciRuntimeBackend.RUNC),
                vm(), limits(), network(), jail()));
    }

    /**
     * What confines a container sandbox here (see {@link dev.davit.sandbox.jail.Jail}): as root, whether sandbox
     * root can be an unprivileged host uid (the idmapped mount needs Java 22+, the tools util-linux) and its range;
     * without root, which guarantees hold and which do not.
     */
    private Backend jail() {
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("capabilities", String.join(",", dev.davit.sandbox.jail.Capabilities.DEFAULT));
        facts.put("seccomp", "davit's filter (Docker's default profile without io_uring), x86-64");
        if (!dev.davit.sandbox.jail.Jail.active()) {
            return rootlessJail(facts);
        }
        String problem = dev.davit.sandbox.jail.Jail.problem(options);
        if (problem != null) {
            return new Backend(JAIL, false, "sandboxes cannot be confined as root here: " + problem, facts);
        }
        try {
            dev.davit.sandbox.jail.IdRange r = dev.davit.sandbox.jail.Jail.range();
            facts.put("uids", r.uid() + "-" + (r.uid() + r.count() - 1));
            facts.put("gids", r.gid() + "-" + (r.gid() + r.count() - 1));
            return new Backend(JAIL, true, "sandbox root is host uid " + r.uid() + " (davit's range in /etc/subuid),"
                    + " with an idmapped rootfs, the default capabilities, masked /proc and the seccomp filter", facts);
        } catch (dev.davit.oci.DavitException e) {
            return new Backend(JAIL, false, e.getMessage(), facts);
        }
    }

    /**
     * The jail without root: each guarantee of {@link dev.davit.sandbox.jail.Rootless} as a fact ({@code holds}, or
     * {@code missing: } why and the fix); available when none is missing that every sandbox needs.
     */
    private Backend rootlessJail(Map<String, String> facts) {
        facts.put("user", "rootless: sandbox root is this user, in a user namespace of bubblewrap's or the runtime's");
        List<String> missing = new ArrayList<>();
        boolean usable = true;
        for (dev.davit.sandbox.jail.Rootless.Guarantee g : dev.davit.sandbox.jail.Rootless.check(options)) {
            facts.put(g.name(), g.holds() ? "holds: " + g.what() : "missing: " + g.missing());
            if (!g.holds()) {
                missing.add(g.name());
                usable &= !g.name().equals(dev.davit.sandbox.jail.Rootless.USER_NAMESPACES);
            }
        }
        return new Backend(JAIL, usable, "sandbox root is this user, never host root; one-shot runs and execs get the"
                + " seccomp filter, no_new_privs and no more than the default capabilities" + (missing.isEmpty() ? ""
                : "; missing here: " + String.join(", ", missing) + " (see the facts for each fix; a sandbox that"
                + " needs one is refused unless " + dev.davit.sandbox.jail.Rootless.OPT_OUT_FLAG + ")"), facts);
    }

    /** Whether {@code --network} can give sandboxes their own namespace with NAT: the tools and the TUN device. */
    private Backend network() {
        Map<String, String> facts = new LinkedHashMap<>();
        try {
            Nat.Tools t = Nat.tools(options);
            facts.put("slirp4netns", t.slirp4netns().toString());
            facts.put("tun", Nat.TUN.toString());
            return new Backend(NETWORK, true, "--network gives a sandbox its own network namespace with NAT"
                    + " (slirp4netns); the host's loopback and 169.254.0.0/16 are out of reach", facts);
        } catch (dev.davit.oci.DavitException e) {
            return new Backend(NETWORK, false, e.getMessage(), facts);
        }
    }

    /**
     * Whether davit can make the cgroups that enforce container limits, for every runtime: probed by making one
     * with the default limits and removing it.
     */
    private Backend limits() {
        Map<String, String> facts = new LinkedHashMap<>();
        Limits d = Limits.DEFAULT;
        facts.put("defaults", d.memoryMiB() + " MiB, " + d.cpus() + " CPU, " + d.pids() + " processes");
        Cgroups.Support s = Cgroups.probe();
        String fix = "; a container run or sandbox create that gives --memory, --cpus or --pids fails here, one with"
                + " the defaults runs without limits and warns; limits need root or a cgroup v2 delegated to this user";
        if (!s.available()) {
            facts.put("cgroups", "unavailable: " + s.problem());
            return new Backend(LIMITS, false, "memory, CPU and process limits cannot be enforced: " + s.problem()
                    + fix, facts);
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
            return new Backend(LIMITS, false, "memory, CPU and process limits cannot be enforced: "
                    + e.getMessage() + fix, facts);
        } finally {
            if (tmp != null) {
                BwrapBackend.deleteTree(tmp);
            }
        }
        return new Backend(LIMITS, true, "memory, CPU and process limits are enforced with a cgroup per sandbox ("
                + s.describe() + ") for bwrap, crun and runc; defaults " + facts.get("defaults"), facts);
    }

    private Backend container() {
        Map<String, String> facts = new LinkedHashMap<>();
        Path bwrap = options.bwrapOrNull();
        if (bwrap == null) {
            return new Backend("container", false, "bwrap (bubblewrap) is not installed; install the bubblewrap"
                    + " package", facts);
        }
        facts.put("bwrap", bwrap.toString());
        Probe v = probe(List.of(bwrap.toString(), "--version"));
        facts.put("bwrap_version", v.ok() ? v.output().replace("bubblewrap", "").strip() : "unknown");
        Path tru = options.which("true");
        if (tru == null) {
            return new Backend("container", false, "cannot probe bwrap: no 'true' on the PATH", facts);
        }
        List<String> base = List.of(bwrap.toString(), "--unshare-all", "--die-with-parent", "--new-session",
                "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev");
        Probe run = probe(concat(base, List.of("--", tru.toString())));
        facts.put("probe_namespaces", run.ok() ? "ok" : "failed: " + run.output());
        Probe user = probe(concat(base, List.of("--unshare-user", "--uid", "1000", "--gid", "1000", "--",
                tru.toString())));
        facts.put("probe_user_namespace", user.ok() ? "ok" : "failed: " + user.output());
        if (!run.ok()) {
            return new Backend("container", false, "bwrap cannot create namespaces here (" + run.output()
                    + "); unprivileged user namespaces may be disabled (kernel.unprivileged_userns_clone,"
                    + " kernel.apparmor_restrict_unprivileged_userns) or a container runtime forbids them", facts);
        }
        return new Backend("container", true, "bubblewrap " + facts.get("bwrap_version") + " runs commands in new"
                + " namespaces" + (user.ok() ? "" : " (user namespaces failed: images with a non-root User will not"
                + " run)"), facts);
    }

    /**
     * One OCI runtime of the container backend: installed, its version, how davit handles cgroups with it here,
     * and whether it runs the host's {@code true} in a bundle whose root is the host's / (read-only), with the
     * namespaces, mounts and options davit's runs use.
     */
    private Backend ociRuntime(String runtime) {
        String name = BwrapBackend.NAME + "/" + runtime;
        Map<String, String> facts = new LinkedHashMap<>();
        Path bin = options.which(runtime);
        if (bin == null) {
            facts.put(runtime, "not installed");
            return new Backend(name, false, runtime + " is not installed; install the " + runtime + " package",
                    facts);
        }
        facts.put(runtime, bin.toString());
        Probe v = probe(List.of(bin.toString(), "--version"));
        String version = v.ok() ? v.output().replaceFirst("^" + runtime + " version ([^ ]+).*$", "$1") : "unknown";
        facts.put(runtime + "_version", version);
        facts.put("user", Overlay.ROOT ? "root" : "rootless: the runtime runs as root of a user namespace (unshare"
                + " --map-root-user)");
        facts.put("cgroups", cgroups(runtime));
        Path tru = options.which("true");
        if (tru == null) {
            return new Backend(name, false, "cannot probe " + runtime + ": no 'true' on the PATH", facts);
        }
        String failure = probeRun(runtime, tru, facts);
        facts.put("probe_run", failure == null ? "ok" : "failed: " + failure);
        if (failure != null) {
            return new Backend(name, false, runtime + " " + version + " cannot run a container here (" + failure
                    + ")", facts);
        }
        return new Backend(name, true, runtime + " " + version + " runs commands in OCI containers"
                + (runtime.equals(OciRuntimeBackend.CRUN) ? " (cgroups disabled)" : ""), facts);
    }

    /** How davit runs {@code runtime} with this host's cgroups. */
    private static String cgroups(String runtime) {
        String mode;
        if (Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers"))) {
            mode = "v2 (unified)";
        } else if (OciRuntimeBackend.hybridControllers() != null) {
            mode = "hybrid (v2 controllers: " + OciRuntimeBackend.hybridControllers() + ")";
        } else if (Files.isDirectory(Path.of("/sys/fs/cgroup"))) {
            mode = "v1";
        } else {
            mode = "none";
        }
        if (runtime.equals(OciRuntimeBackend.CRUN)) {
            return mode + "; davit runs crun with --cgroup-manager=disabled"
                    + (mode.startsWith("hybrid") ? " and hides /sys/fs/cgroup/unified in a private mount namespace"
                    + " (crun refuses hybrid cgroups with v2 controllers)" : "");
        }
        return mode + (Overlay.ROOT ? "; runc (root) puts each container in a cgroup of its own (below the"
                + " sandbox's limits cgroup when it has limits), removed with it" : "; runc (rootless) skips the cgroups it cannot create; no limits are set");
    }

    /**
     * Runs {@code true} with the runtime as a davit run does; null when it worked. The root is a temporary one
     * holding a statically linked busybox when the host has one (with the sandbox's overlay, as real runs), else
     * the host's / (read-only) with the host's {@code true}.
     */
    private String probeRun(String runtime, Path tru, Map<String, String> facts) {
        String failure = probeRunOn(runtime, tru, facts);
        if (failure != null && facts.getOrDefault("probe_root", "").startsWith("the host's /")) {
            failure += "; a statically linked busybox on the PATH gives the probe a root of its own";
        }
        return failure;
    }

    private String probeRunOn(String runtime, Path tru, Map<String, String> facts) {
        Path dir;
        try {
            dir = Files.createTempDirectory("davit-doctor-");
        } catch (IOException e) {
            return "cannot create a temporary directory: " + e.getMessage();
        }
        try {
            SandboxOptions o = new SandboxOptions(dir.resolve("state"), options.bwrap(), options.searchPath());
            Path busybox = options.which("busybox");
            RunSpec.Builder spec;
            boolean overlay;
            if (busybox != null && Elf.isStatic(busybox)) {
                Path rootfs = dir.resolve("rootfs");
                Files.createDirectories(rootfs.resolve("bin"));
                for (String d : List.of("proc", "dev", "sys", "tmp")) {
                    Files.createDirectories(rootfs.resolve(d));
                }
                Files.copy(busybox, rootfs.resolve("bin/busybox"));
                Files.createSymbolicLink(rootfs.resolve("bin/true"), Path.of("busybox"));
                spec = RunSpec.builder(rootfs).command("/bin/true");
                overlay = true;
                facts.put("probe_root", "a static busybox in a temporary directory, with an overlay");
            } else {
                spec = RunSpec.builder(Path.of("/")).command(tru.toString());
                overlay = false;
                facts.put("probe_root", "the host's / (read-only; no static busybox on the PATH)");
            }
            ExecResult r = new OciRuntimeBackend(o, runtime, overlay).run(spec.timeout(
                    java.time.Duration.ofSeconds(PROBE_SECONDS)).build(), null, null);
            if (r.timedOut()) {
                return "timed out after " + PROBE_SECONDS + " s";
            }
            String err = r.stderrText().strip().replace('\n', ' ');
            return r.exitCode() == 0 ? null : "exit " + r.exitCode() + (err.isEmpty() ? "" : ": " + err);
        } catch (IOException e) {
            return "cannot prepare the probe's root filesystem in " + dir + ": " + e.getMessage();
        } catch (dev.davit.oci.DavitException e) {
            return e.getMessage().replace(" (see 'davit doctor')", "");
        } finally {
            BwrapBackend.deleteTree(dir);
        }
    }

    /**
     * The vm backend: QEMU and its microvm machine, qemu-img, and which accelerator QEMU would use (see
     * {@link Accel}: a present /dev/kvm is tried with a test guest and, when a kernel is in davit's VM cache or a
     * vm run probed before, with a Linux boot). Available when QEMU is installed: without usable KVM it emulates
     * (TCG), slower but complete.
     */
    private Backend vm() {
        Map<String, String> facts = new LinkedHashMap<>();
        Path qemu = options.which(Machine.QEMU);
        Path kvm = Path.of("/dev/kvm");
        facts.put("kvm", Files.exists(kvm) ? (Files.isReadable(kvm) && Files.isWritable(kvm) ? "present, accessible"
                : "present, not accessible (join the kvm group)") : "absent");
        if (qemu == null) {
            facts.put("qemu", "not installed");
            return new Backend("vm", false, Machine.QEMU + " is not installed; install the qemu-system-x86 package",
                    facts);
        }
        facts.put("qemu", qemu.toString());
        Probe v = probe(List.of(qemu.toString(), "--version"));
        String version = v.ok() ? v.output().replaceAll("^QEMU emulator version ([^ ]+).*", "$1") : "unknown";
        facts.put("qemu_version", version);
        Probe machines = probe(List.of(qemu.toString(), "-M", "help"));
        boolean microvm = machines.ok() && machines.output().matches("(?s).*\\bmicrovm\\b.*");
        facts.put("microvm", microvm ? "available" : "not available");
        Path img = options.which(Machine.QEMU_IMG);
        facts.put("qemu_img", img == null ? "not installed" : img.toString());
        Accel.Choice accel = Accel.cached(qemu, options.stateDir());
        if (accel == null) {
            accel = Accel.choose(qemu, cachedKernel(), options.stateDir());
        }
        facts.put("kvm_probe", accel.kvm());
        facts.put("accel", accel.accel());
        if (!microvm) {
            return new Backend("vm", false, "QEMU " + version + " has no microvm machine; install QEMU 4.2 or later",
                    facts);
        }
        if (img == null) {
            return new Backend("vm", false, Machine.QEMU_IMG + " is not installed; install the qemu-utils package",
                    facts);
        }
        String how = !accel.isKvm() ? "with TCG (emulation, slower; KVM " + accel.kvm() + ")"
                : accel.kvm().contains("not yet probed") ? "; KVM runs a test guest, and the first boot checks it with"
                + " a Linux kernel (TCG if that fails)" : "with KVM";
        return new Backend("vm", true, "QEMU " + version + " runs microVMs " + how, facts);
    }

    /** A kernel from davit's VM cache ({@code $DAVIT_HOME/cache/vm/kernels/}), for the KVM probe; or null. */
    private Path cachedKernel() {
        Path home = options.stateDir().toAbsolutePath().getParent();
        if (home == null) {
            return null;
        }
        Path kernels = VmImages.defaultCacheDir(home).resolve("kernels");
        if (!Files.isDirectory(kernels)) {
            return null;
        }
        try (var s = Files.list(kernels)) {
            return s.map(d -> d.resolve("vmlinux")).filter(Files::isRegularFile).sorted().findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    private record Probe(boolean ok, String output) {
    }

    private static Probe probe(List<String> cmd) {
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
                BwrapBackend.killTree(p);
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

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
