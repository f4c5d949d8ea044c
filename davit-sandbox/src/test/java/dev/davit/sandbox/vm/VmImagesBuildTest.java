package dev.davit.sandbox.vm;

import dev.davit.sandbox.elf.Elf;
import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.VmTestEnvironment;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Tools;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The artifacts VmImages builds (the real Debian kernel, from the test cache). */
class VmImagesBuildTest {
    @TempDir
    Path tmp;

    @Test
    void theKernelIsABootableElfWithItsModulesInOrder() throws Exception {
        Path env = VmTestEnvironment.get();
        VmImages images = new VmImages(VmTestEnvironment.cacheDir());
        VmImages.Kernel k = images.kernel(); // cached: nothing is downloaded again
        assertThat(Elf.hasPvhEntry(k.vmlinux())).isTrue();
        assertThat(k.modules()).contains("virtio_mmio", "virtio_blk", "virtio_console", "ext4");
        assertThat(k.modules().indexOf("virtio_ring")).isLessThan(k.modules().indexOf("virtio_mmio"));
        assertThat(k.modules().indexOf("jbd2")).isLessThan(k.modules().indexOf("ext4"));
        assertThat(k.modules().indexOf("crc32c_generic")).isLessThan(k.modules().indexOf("ext4"));
        System.out.println("kernel " + k.packageName() + " modules " + k.modules());

        Map<String, CpioArchiveEntry> entries = new LinkedHashMap<>();
        byte[] order;
        try (InputStream in = Files.newInputStream(env.resolve("initrd"));
             CpioArchiveInputStream cpio = new CpioArchiveInputStream(in)) {
            CpioArchiveEntry e;
            order = null;
            while ((e = cpio.getNextEntry()) != null) {
                entries.put(e.getName(), e);
                if (e.getName().equals("modules/order")) {
                    order = cpio.readAllBytes();
                }
            }
        }
        assertThat(entries).containsKeys("init", "bin/busybox", "dev/console", "modules/ext4.ko")
                .doesNotContainKey(VmInitrd.AGENT); // a VM gets this davit's at boot (VmInitrd.current)
        assertThat(entries.get("init").getMode() & 0777).isEqualTo(0755);
        assertThat(entries.get("dev/console").isCharacterDevice()).isTrue();
        assertThat(entries.get("dev/console").getRemoteDeviceMaj()).isEqualTo(5);
        assertThat(new String(order, java.nio.charset.StandardCharsets.UTF_8).lines().toList())
                .isEqualTo(k.modules());
    }

    @Test
    void theGuestGoesIntoTheRootfsAndTheImageHoldsIt() throws Exception {
        VmTestEnvironment.assumeTools();
        Tools.assumeAvailable("debugfs");
        VmImages images = new VmImages(VmTestEnvironment.cacheDir());
        Path rootfs = BusyboxRootfs.populate(tmp.resolve("rootfs"));
        images.installGuest(rootfs);
        assertThat(rootfs.resolve(".davit/busybox")).isExecutable();
        assertThat(Elf.isStatic(Files.readAllBytes(rootfs.resolve(".davit/busybox")))).isTrue();
        assertThat(rootfs.resolve(".davit/run")).isEmptyDirectory();
        assertThat(rootfs.resolve(".davit/agent")).doesNotExist(); // davit-agent comes from the initrd at boot
        Path image = tmp.resolve("out/rootfs.ext4");
        images.buildRootfsImage(rootfs, image, 16L << 20);
        String stat = Tools.run("debugfs", "-R", "stat /.davit/busybox", image.toString());
        assertThat(stat).contains("Mode:  0755").contains("User:     0");
        assertThat(Tools.run("debugfs", "-R", "stat /.davit/run", image.toString())).contains("Mode:  0700");
        String ls = Tools.run("debugfs", "-R", "ls -l /bin", image.toString());
        assertThat(ls).contains("busybox");
        List<String> leftovers = new ArrayList<>();
        try (var s = Files.list(image.getParent())) {
            s.forEach(p -> leftovers.add(p.getFileName().toString()));
        }
        assertThat(leftovers).containsExactly("rootfs.ext4"); // no temporary file left
        // sparse: the free space costs nothing on disk
        long allocated = Long.parseLong(Tools.run("stat", "-c", "%b", image.toString()).strip()) * 512;
        assertThat(allocated).isLessThan(Files.size(image) / 2);
    }

    /**
     * A hostile image's /.davit/run naming a host directory (a link) is replaced, never followed: the host directory
     * keeps its mode, and the guest gets a directory of its own (0700).
     */
    @Test
    void aLinkWhereTheGuestAgentGoesIsReplacedNotFollowed(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        dev.davit.oci.testkit.Tools.assumeAvailable("busybox");
        Path host = Files.createDirectories(tmp.resolve("host-dir"));
        Files.setPosixFilePermissions(host, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs/.davit"));
        Files.createSymbolicLink(rootfs.resolve("run"), host);
        new VmImages(VmTestEnvironment.cacheDir()).installGuest(tmp.resolve("rootfs"));
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(host)))
                .isEqualTo("rwxr-xr-x");
        assertThat(host).isEmptyDirectory();
        assertThat(rootfs.resolve("run")).isDirectory();
        assertThat(Files.isSymbolicLink(rootfs.resolve("run"))).isFalse();
    }
}
