package dev.davit.sandbox.vm;

import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.SandboxOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The vm backend's {@code doctor} entry: QEMU with its microvm machine, and whether KVM really runs guests. */
final class VmDoctor {
    private final SandboxOptions options;

    VmDoctor(SandboxOptions options) {
        this.options = options;
    }

    /**
     * The vm backend: QEMU and its microvm machine, qemu-img, and which accelerator QEMU would use (see
     * {@link Accel}: a present /dev/kvm is tried with a test guest and, when a kernel is in davit's VM cache or a
     * vm run probed before, with a Linux boot). Available when QEMU is installed: without usable KVM it emulates
     * (TCG), slower but complete.
     */
    Doctor.Backend vm() {
        Map<String, String> facts = new LinkedHashMap<>();
        Path qemu = options.which(Machine.QEMU);
        Path kvm = Path.of("/dev/kvm");
        facts.put("kvm", Files.exists(kvm) ? (Files.isReadable(kvm) && Files.isWritable(kvm) ? "present, accessible"
                : "present, not accessible (join the kvm group)") : "absent");
        if (qemu == null) {
            facts.put("qemu", "not installed");
            return new Doctor.Backend("vm", false, Machine.QEMU + " is not installed; install the qemu-system-x86 package",
                    facts);
        }
        facts.put("qemu", qemu.toString());
        Doctor.Probe v = Doctor.probe(List.of(qemu.toString(), "--version"));
        String version = v.ok() ? v.output().replaceAll("^QEMU emulator version ([^ ]+).*", "$1") : "unknown";
        facts.put("qemu_version", version);
        Doctor.Probe machines = Doctor.probe(List.of(qemu.toString(), "-M", "help"));
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
            return new Doctor.Backend("vm", false, "QEMU " + version + " has no microvm machine; install QEMU 4.2 or later",
                    facts);
        }
        if (img == null) {
            return new Doctor.Backend("vm", false, Machine.QEMU_IMG + " is not installed; install the qemu-utils package",
                    facts);
        }
        String agent = dev.davit.sandbox.jail.Jail.agentState();
        facts.put("agent", agent);
        if (!dev.davit.sandbox.jail.Jail.hasAgent()) {
            return new Doctor.Backend("vm", false, "this davit has no davit-agent, a microVM's PID 1; " + agent,
                    facts);
        }
        String how = !accel.isKvm() ? "with TCG (emulation, slower; KVM " + accel.kvm() + ")"
                : accel.kvm().contains("not yet probed") ? "; KVM runs a test guest, and the first boot checks it with"
                + " a Linux kernel (TCG if that fails)" : "with KVM";
        return new Doctor.Backend("vm", true, "QEMU " + version + " runs microVMs " + how, facts);
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
}
