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
                .contains("file,id=console,path=/state/sb-1/vmm/console.pipe")
                .doesNotContain("rootfs.ext4") // only ever the overlay's backing file, opened read-only
                .doesNotContain("netdev").doesNotContain("-daemonize").doesNotContain("-cpu");
        String append = c.get(c.indexOf("-append") + 1);
        assertThat(append).startsWith("console=ttyS0 quiet panic=-1").contains("davit.hostname=sb-1")
                .doesNotContain("davit.net").doesNotContain("root=").doesNotContain("init=");
        // davit-agent's command ports, one socket each: the one way into the guest
        for (int n = 0; n < Machine.EXEC_PORTS; n++) {
            assertThat(line).contains("-chardev socket,id=exec" + n + ",path=/state/sb-1/vmm/exec" + n
                    + ".sock,server=on,wait=off -device virtserialport,chardev=exec" + n + ",name=davit.exec." + n);
        }
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
    void commasInPathsAreDoubledInOptionValues() {
        List<String> c = Machine.command(TOOLS, ENV, Path.of("/s/a,b"), "x", 1, 512, false, TCG, false);
        assertThat(String.join(" ", c)).contains("file=/s/a,,b/vmm/disk.qcow2").contains("path=/s/a,,b/vmm/exec0.sock");
    }

    @Test
    void qemusCgroupLimitsComeFromTheVmsSize() {
        dev.davit.sandbox.Limits tcg = Machine.limits(512, 2, dev.davit.sandbox.Limits.NONE, TCG);
        assertThat(tcg.memoryMiB()).isEqualTo(512 + 256 + 256);
        assertThat(tcg.pids()).isEqualTo(128 + 2);
        assertThat(tcg.cpus()).isZero(); // no quota unless asked
        dev.davit.sandbox.Limits kvm = Machine.limits(1024, 4, new dev.davit.sandbox.Limits(0, 4, 0,
                dev.davit.sandbox.Limits.DEFAULT_DISK_MIB), KVM);
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

    /** The console log davit quotes in errors is never read through a link. */
    @Test
    void theConsoleTailNeverFollowsALink(@TempDir Path tmp) throws Exception {
        Path state = tmp.resolve("state");
        Files.createDirectories(state.resolve(Machine.OUT));
        Files.writeString(state.resolve(Machine.CONSOLE), "davit-init: cannot mount the disk\n");
        assertThat(Machine.consoleTail(state, 3)).isEqualTo("davit-init: cannot mount the disk");
        Path secret = Files.writeString(tmp.resolve("secret"), "davit-agent: host-secret\n");
        Files.delete(state.resolve(Machine.CONSOLE));
        Files.createSymbolicLink(state.resolve(Machine.CONSOLE), secret);
        assertThat(Machine.consoleTail(state, 3)).isEmpty();
    }

    /**
     * What a guest prints is kept under the cap however much it prints, while no davit runs: a stand-in for QEMU
     * (started below the cappers as QEMU is) waits before it opens its FIFOs (as a jail that closed the descriptors
     * it inherited would make it), then writes 3 MiB to the serial console, 2 MiB to a shell's console and 1 MiB of
     * its own messages; with a cap of 256 KiB each file pair keeps at most that, the newest bytes, and the cappers end
     * with it.
     */
    @Test
    void theCappersKeepWhatTheGuestPrintsUnderTheCap(@TempDir Path tmp) throws Exception {
        Path state = tmp.resolve("state");
        Files.createDirectories(state.resolve(Machine.VMM));
        Files.createDirectories(state.resolve(Machine.OUT));
        Machine.createOutputs(state, true);
        String qemu = "sleep 0.4; cd \"$0\"; head -c 3145728 /dev/zero > vmm/console.pipe; echo serial-end > vmm/console.pipe;"
                + " exec 5<>vmm/sh2.out; head -c 2097152 /dev/zero >&5; echo shell-end >&5;"
                + " head -c 1048576 /dev/zero; echo qemu-end >&2";
        System.setProperty("davit.logs.capBytes", Long.toString(256 << 10));
        Process p;
        try {
            List<String> cmd = Machine.capped(dev.davit.sandbox.SandboxOptions.under(tmp.resolve("home")), state,
                    true, List.of("/bin/sh", "-c", qemu, state.toString()));
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } finally {
            System.clearProperty("davit.logs.capBytes");
        }
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("the stand-in for QEMU ends").isTrue();
        assertThat(p.exitValue()).isZero();
        // the cappers drain their FIFOs and end once QEMU's pid is gone
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (cappers(state) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(cappers(state)).as("cappers still running").isZero();
        for (String[] f : List.of(new String[] {Machine.CONSOLE, "serial-end", "3145728"},
                new String[] {Machine.OUT + "/sh2.out", "shell-end", "2097152"},
                new String[] {Machine.QEMU_LOG, "qemu-end", "1048576"})) {
            Path now = state.resolve(f[0]);
            Path old = now.resolveSibling(now.getFileName() + ".1");
            long kept = Files.size(now) + Files.size(old);
            assertThat(kept).as(f[0]).isLessThanOrEqualTo(256 << 10).isGreaterThanOrEqualTo(128 << 10);
            assertThat(Files.readString(now, java.nio.charset.StandardCharsets.ISO_8859_1)).as(f[0]).endsWith(f[1] + "\n");
            long dropped = Long.parseLong(Files.readString(now.resolveSibling(now.getFileName() + ".dropped")).strip());
            assertThat(dropped + kept).as(f[0] + ": what was kept and what was dropped").isEqualTo(
                    Long.parseLong(f[2]) + f[1].length() + 1);
        }
        assertThat(Machine.consoleTail(state, 1)).isEqualTo("serial-end");
        assertThat(Machine.log(state)).isEqualTo("qemu-end");
        // a console no guest wrote to is an empty file, not a missing one
        assertThat(Files.size(state.resolve(Machine.OUT + "/sh1.out"))).isZero();
    }

    /** How many processes have a FIFO of {@code state} open (the cappers). */
    private static long cappers(Path state) throws java.io.IOException {
        long n = 0;
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(d -> d.getFileName().toString().matches("[0-9]+")).toList()) {
                try (var fds = Files.list(proc.resolve("fd"))) {
                    for (Path fd : fds.toList()) {
                        try {
                            if (Files.readSymbolicLink(fd).startsWith(state)) {
                                n++;
                                break;
                            }
                        } catch (java.io.IOException e) {
                            // gone
                        }
                    }
                } catch (java.io.IOException e) {
                    // gone, or not ours to see
                }
            }
        }
        return n;
    }
}
