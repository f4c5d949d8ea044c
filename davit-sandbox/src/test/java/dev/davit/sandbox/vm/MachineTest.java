package dev.davit.sandbox.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The QEMU command line, without running QEMU. */
class MachineTest {
    static final Machine.Tools TOOLS = new Machine.Tools(Path.of("/usr/bin/qemu-system-x86_64"),
            Path.of("/usr/bin/qemu-img"));
    static final Machine.Environment ENV = new Machine.Environment(Path.of("/env"), Path.of("/env/vmlinux"),
            Path.of("/env/initrd"), Path.of("/env/rootfs.ext4"));
    static final Accel.Choice TCG = new Accel.Choice("tcg", "absent");
    static final Accel.Choice KVM = new Accel.Choice("kvm", "usable");

    @Test
    void aOneShotMicroVmHasNoNetworkAndACopyOnWriteDisk() {
        List<String> c = Machine.command(TOOLS, ENV, Path.of("/state/sb-1"), "sb-1", 2, 384, false, TCG, false);
        String line = String.join(" ", c);
        // TCG's translation cache bounded, so that QEMU's cgroup overhead covers it
        assertThat(c.subList(0, 5)).containsExactly("/usr/bin/qemu-system-x86_64", "-M", "microvm", "-accel",
                "tcg,tb-size=" + Machine.TCG_TB_SIZE_MIB);
        assertThat(line).contains("-nodefaults -no-user-config -display none -no-reboot -smp 2 -m 384")
                .contains("-kernel /env/vmlinux -initrd /env/initrd")
                .contains("-drive id=root,file=/state/sb-1/vmm/disk.qcow2,format=qcow2,if=none")
                .contains("socket,id=agent,path=/state/sb-1/vmm/agent.sock,server=on,wait=off")
                .contains("virtserialport,chardev=agent,name=davit.agent")
                .contains("file,id=console,path=/state/sb-1/vmm/console.log")
                .doesNotContain("rootfs.ext4") // only ever the overlay's backing file, opened read-only
                .doesNotContain("netdev").doesNotContain("-daemonize").doesNotContain("-cpu");
        String append = c.get(c.indexOf("-append") + 1);
        assertThat(append).startsWith("console=ttyS0 quiet panic=-1").contains("davit.hostname=sb-1")
                .doesNotContain("davit.net").doesNotContain("root=");
    }

    @Test
    void networkKvmAndDetached() {
        List<String> c = Machine.command(TOOLS, ENV, Path.of("/s/x"), "x", 1, 512, true, KVM, true);
        String line = String.join(" ", c);
        assertThat(line).contains("-accel kvm -cpu host").contains("-netdev user,id=net0")
                .contains("-device virtio-net-device,netdev=net0").contains("-pidfile /s/x/vmm/qemu.pid").doesNotContain("-daemonize")
                .endsWith("-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
        String append = c.get(c.indexOf("-append") + 1);
        assertThat(append).contains("davit.net=1").doesNotContain("tsc_early_khz");
        // a long-lived VM has four virtio consoles for shells, on pipe chardevs in its state directory
        for (int n = 1; n <= Machine.CONSOLES; n++) {
            assertThat(line).contains("-chardev pipe,id=sh" + n + ",path=/s/x/vmm/sh" + n + " -device virtconsole,chardev=sh"
                    + n + ",name=davit.sh" + n);
        }
        assertThat(String.join(" ", Machine.command(TOOLS, ENV, Path.of("/s/y"), "y", 1, 512, false, TCG, false)))
                .doesNotContain("virtconsole"); // a one-shot run has no shells
    }

    @Test
    void withoutInitrdTheKernelMountsTheDiskAndStartsTheAgent() {
        Machine.Environment noInitrd = new Machine.Environment(Path.of("/e"), Path.of("/e/vmlinux"), null,
                Path.of("/e/rootfs.ext4"));
        List<String> c = Machine.command(TOOLS, noInitrd, Path.of("/s/a,b"), "x", 1, 512, false, TCG, false);
        assertThat(c).doesNotContain("-initrd");
        assertThat(c.get(c.indexOf("-append") + 1)).contains("root=/dev/vda rootfstype=ext4 rw init=/.davit/agent");
        assertThat(String.join(" ", c)).contains("file=/s/a,,b/vmm/disk.qcow2"); // commas doubled in option values
    }

    @Test
    void qemusCgroupLimitsComeFromTheVmsSize() {
        dev.davit.sandbox.Limits tcg = Machine.limits(512, 2, dev.davit.sandbox.Limits.NONE, TCG);
        assertThat(tcg.memoryMiB()).isEqualTo(512 + 256 + 256);
        assertThat(tcg.pids()).isEqualTo(128 + 2);
        assertThat(tcg.cpus()).isZero(); // no quota unless asked
        dev.davit.sandbox.Limits kvm = Machine.limits(1024, 4, new dev.davit.sandbox.Limits(0, 4, 0), KVM);
        assertThat(kvm.memoryMiB()).isEqualTo(1024 + 256);
        assertThat(kvm.cpus()).isEqualTo(4);
        System.setProperty("davit.vm.memoryOverheadMiB", "64");
        try {
            assertThat(Machine.limits(256, 1, dev.davit.sandbox.Limits.NONE, TCG).memoryMiB()).isEqualTo(320);
        } finally {
            System.clearProperty("davit.vm.memoryOverheadMiB");
        }
    }

    @Test
    void theVmmsRootMirrorsLinksAndBindsRealPathsOnly(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws java.io.IOException {
        // tmp/lib -> usr/lib, tmp/usr/lib/libz.so.1 -> libz.so.1.2 (relative), tmp/abs -> tmp/usr (absolute)
        java.nio.file.Files.createDirectories(tmp.resolve("usr/lib"));
        java.nio.file.Files.writeString(tmp.resolve("usr/lib/libz.so.1.2"), "z");
        java.nio.file.Files.createSymbolicLink(tmp.resolve("lib"), Path.of("usr/lib"));
        java.nio.file.Files.createSymbolicLink(tmp.resolve("usr/lib/libz.so.1"), Path.of("libz.so.1.2"));
        java.nio.file.Files.createSymbolicLink(tmp.resolve("abs"), tmp.resolve("usr"));
        Path real = tmp.toRealPath();
        java.util.Map<String, dev.davit.sandbox.jail.Jail.RootEntry> out = new java.util.LinkedHashMap<>();
        VmmRoot.mirror(real.resolve("lib/libz.so.1"), out);
        VmmRoot.mirror(real.resolve("abs/lib/../lib/libz.so.1.2"), out);
        assertThat(out.values().stream().map(e -> e.kind() + " " + e.at() + " " + e.source()).toList()).containsExactly(
                "LINK " + real.resolve("lib") + " usr/lib",
                "LINK " + real.resolve("usr/lib/libz.so.1") + " libz.so.1.2",
                "RO " + real.resolve("usr/lib/libz.so.1.2") + " " + real.resolve("usr/lib/libz.so.1.2"),
                "LINK " + real.resolve("abs") + " " + tmp.resolve("usr"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> VmmRoot.mirror(real.resolve("missing"), out))
                .hasMessageContaining("does not exist").hasMessageNotContaining("\n");
    }

    @Test
    void theVmmsRootHoldsQemusProgramLibrariesAndFirmware() {
        Path qemu = Path.of("/usr/bin/qemu-system-x86_64");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(qemu), "QEMU is installed");
        List<dev.davit.sandbox.jail.Jail.RootEntry> root = VmmRoot.of(qemu, false, List.of());
        List<String> at = root.stream().map(dev.davit.sandbox.jail.Jail.RootEntry::at).toList();
        assertThat(at).contains("/usr/bin/qemu-system-x86_64", "/usr/share/qemu", "/etc/ld.so.cache", "/dev/null",
                "/dev/urandom").doesNotContain("/dev/kvm", "/etc/passwd", "/usr", "/etc", "/proc", "/sys");
        assertThat(at).anyMatch(p -> p.matches(".*/libc\\.so\\.6")).anyMatch(p -> p.contains("libglib-2.0.so"));
        // every bind is of a real path at the same path (a device or a library), no two nested
        root.stream().filter(e -> e.kind() != dev.davit.sandbox.jail.Jail.RootEntry.Kind.LINK).forEach(e -> {
            assertThat(e.at()).isEqualTo(e.source());
            assertThat(root.stream().filter(o -> o != e && e.at().startsWith(o.at() + "/")
                    && o.kind() != dev.davit.sandbox.jail.Jail.RootEntry.Kind.LINK).toList()).as(e.at()).isEmpty();
        });
        assertThat(VmmRoot.of(qemu, true, List.of()).stream().map(dev.davit.sandbox.jail.Jail.RootEntry::at))
                .contains("/dev/kvm");
    }

    /** QEMU's uid owns vmm/: the console log davit quotes in errors is never read through a link it put there. */
    @Test
    void theConsoleTailNeverFollowsALink(@TempDir Path tmp) throws Exception {
        Path state = tmp.resolve("state");
        Files.createDirectories(state.resolve(Machine.VMM));
        Files.writeString(state.resolve(Machine.CONSOLE), "davit-init: cannot mount the disk\n");
        assertThat(Machine.consoleTail(state, 3)).isEqualTo("davit-init: cannot mount the disk");
        Path secret = Files.writeString(tmp.resolve("secret"), "davit-agent: host-secret\n");
        Files.delete(state.resolve(Machine.CONSOLE));
        Files.createSymbolicLink(state.resolve(Machine.CONSOLE), secret);
        assertThat(Machine.consoleTail(state, 3)).isEmpty();
    }
}
