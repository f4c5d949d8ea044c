package dev.davit.sandbox.jail;

import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.jail.Jail.RootEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How a VMM (QEMU, qemu-img) is confined ({@link Jail#vmmLauncher}): as root with davit-exec, its {@code vmm} step
 * (a root of its own holding only the given {@link RootEntry entries}, a uid of its own, the kvm group, no
 * capabilities, no_new_privs); as root without it, {@code setpriv} with the same uid; without root, no_new_privs.
 */
final class VmmConfinement {
    private VmmConfinement() {
    }

    /** {@link Jail#vmmLauncher}: the command that runs {@code vmm} confined. */
    static List<String> launcher(SandboxOptions options, String sandboxId, List<RootEntry> root, List<String> vmm) {
        List<String> a = new ArrayList<>();
        Path helper = Jail.active() ? Jail.execHelper(options) : null;
        if (helper != null) {
            long[] ids = Jail.vmmIds(sandboxId);
            Integer kvm = kvmGroup();
            a.addAll(List.of(helper.toString(), "vmm", Long.toString(ids[0]), Long.toString(ids[1]),
                    kvm == null ? "-" : kvm.toString()));
            for (RootEntry e : root) {
                a.addAll(List.of(e.kind().option, e.at(), e.source()));
            }
            a.add("--");
            a.addAll(vmm);
            return a;
        }
        a.add(Jail.tool(options, "setpriv").toString());
        if (Jail.active()) {
            long[] ids = Jail.vmmIds(sandboxId);
            a.addAll(List.of("--reuid=" + ids[0], "--regid=" + ids[1]));
            Integer kvm = kvmGroup();
            a.add(kvm == null ? "--clear-groups" : "--groups=" + kvm);
            a.addAll(List.of("--inh-caps=-all", "--bounding-set=-all"));
        }
        a.addAll(List.of("--no-new-privs", "--"));
        a.addAll(vmm);
        return a;
    }

    /** The group of /dev/kvm when it is not root's (Debian: kvm), else null. */
    private static Integer kvmGroup() {
        try {
            int gid = (Integer) Files.getAttribute(Path.of("/dev/kvm"), "unix:gid");
            return gid == 0 ? null : gid;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
