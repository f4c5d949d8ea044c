package dev.davit.sandbox.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveInputStream;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link VmInitrd#current}: an environment's initrd, whichever davit built it, boots with this davit's init and
 * davit-agent, its modules, busybox and devices kept byte for byte. {@link VmInitrd#booted} refuses an environment
 * without an initrd and a davit without davit-agent, each in one line naming the fix.
 */
class VmInitrdTest {
    @TempDir
    Path dir;

    private static byte[] cpio(Map<String, byte[]> files) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (CpioArchiveOutputStream c = new CpioArchiveOutputStream(b, CpioConstants.FORMAT_NEW)) {
            long ino = 1;
            CpioArchiveEntry d = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, "modules", 0);
            d.setMode(CpioConstants.C_ISDIR | 0755);
            d.setInode(ino++);
            c.putArchiveEntry(d);
            c.closeArchiveEntry();
            CpioArchiveEntry console = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, "dev/console", 0);
            console.setMode(CpioConstants.C_ISCHR | 0600);
            console.setRemoteDeviceMaj(5);
            console.setRemoteDeviceMin(1);
            console.setInode(ino++);
            c.putArchiveEntry(console);
            c.closeArchiveEntry();
            for (var f : files.entrySet()) {
                CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, f.getKey(), f.getValue().length);
                e.setMode(CpioConstants.C_ISREG | 0644);
                e.setInode(ino++);
                c.putArchiveEntry(e);
                c.write(f.getValue());
                c.closeArchiveEntry();
            }
            c.finish();
        }
        return b.toByteArray();
    }

    private static Map<String, CpioArchiveEntry> entries(Path cpio, Map<String, byte[]> data) throws IOException {
        Map<String, CpioArchiveEntry> all = new LinkedHashMap<>();
        try (CpioArchiveInputStream in = new CpioArchiveInputStream(Files.newInputStream(cpio))) {
            for (CpioArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                all.put(e.getName(), e);
                data.put(e.getName(), in.readAllBytes());
            }
        }
        return all;
    }

    @Test
    void anOlderInitrdGetsThisDavitsInitAndAgentAndKeepsItsModules() throws IOException {
        Map<String, byte[]> old = new LinkedHashMap<>();
        old.put("init", "#!/bin/busybox sh\nexec /.davit/agent\n".getBytes(StandardCharsets.UTF_8));
        old.put("bin/busybox", new byte[] {1, 2, 3});
        old.put("bin/davit-agent", "an older agent".getBytes(StandardCharsets.UTF_8));
        old.put("modules/virtio_blk.ko", new byte[] {9, 8, 7});
        old.put("modules/order", "virtio_blk\n".getBytes(StandardCharsets.UTF_8));
        Path envInitrd = dir.resolve("env-initrd");
        Files.write(envInitrd, cpio(old));
        byte[] agent = "this davit's agent".getBytes(StandardCharsets.UTF_8);

        Path fresh = VmInitrd.current(envInitrd, dir.resolve("cache"), agent);
        Map<String, byte[]> data = new LinkedHashMap<>();
        Map<String, CpioArchiveEntry> e = entries(fresh, data);
        assertThat(data.get("init")).isEqualTo(VmImages.resource("init.sh"));
        assertThat(data.get(VmInitrd.AGENT)).isEqualTo(agent);
        assertThat(e.get(VmInitrd.AGENT).getMode() & 0777).isEqualTo(0755);
        for (String kept : new String[] {"bin/busybox", "modules/virtio_blk.ko", "modules/order"}) {
            assertThat(data.get(kept)).as(kept).isEqualTo(old.get(kept));
        }
        assertThat(e.get("dev/console").isCharacterDevice()).isTrue();
        assertThat(e.get("dev/console").getRemoteDeviceMaj()).isEqualTo(5);
        assertThat(e.get("modules").isDirectory()).isTrue();
        // once per content: the same file the next time
        assertThat(VmInitrd.current(envInitrd, dir.resolve("cache"), agent)).isEqualTo(fresh);
    }

    @Test
    void aVmBootsOnlyWithAnInitrdAndDavitAgent() throws IOException {
        Path env = Files.createDirectories(dir.resolve("env"));
        Files.write(env.resolve("vmlinux"), new byte[0]);
        Files.write(env.resolve("rootfs.ext4"), new byte[0]);
        dev.davit.sandbox.SandboxOptions options = dev.davit.sandbox.SandboxOptions.of(dir.resolve("home/state"));
        byte[] agent = "this davit's agent".getBytes(StandardCharsets.UTF_8);
        // an environment without an initrd has nowhere for davit's init and agent: rebuild it
        assertThatThrownBy(() -> VmInitrd.booted(env, options, agent)).isInstanceOf(DavitException.class)
                .hasMessageContaining("has no initrd").hasMessageContaining("rebuild the environment")
                .hasMessageNotContaining("\n").extracting(t -> ((DavitException) t).kind())
                .isEqualTo(DavitException.Kind.USAGE);
        Files.write(env.resolve("initrd"), cpio(Map.of("init", new byte[] {1})));
        // a davit built without cargo has no davit-agent: the only way in is closed, and the fix named
        assertThatThrownBy(() -> VmInitrd.booted(env, options, new byte[0])).isInstanceOf(DavitException.class)
                .hasMessageContaining("without cargo").hasMessageContaining("build davit where cargo is installed")
                .hasMessageNotContaining("\n").extracting(t -> ((DavitException) t).kind())
                .isEqualTo(DavitException.Kind.HOST_UNSUPPORTED);
        Machine.Environment booted = VmInitrd.booted(env, options, agent);
        assertThat(booted.initrd()).startsWith(dir.resolve("home/cache/vm/initrds"));
        Map<String, byte[]> data = new LinkedHashMap<>();
        entries(booted.initrd(), data);
        assertThat(data.get(VmInitrd.AGENT)).isEqualTo(agent);
    }

    @Test
    void anInitrdLargerThanAnInitrdMayBeIsRefusedBeforeAByteIsRead() throws IOException {
        // an environment is anyone's artifact: a sparse file costs its maker nothing, and is read on the host
        Path huge = dir.resolve("huge-initrd");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(VmInitrd.MAX_INITRD + 1);
        }
        assertThatThrownBy(() -> VmInitrd.current(huge, dir.resolve("cache"), new byte[] {1}))
                .isInstanceOf(DavitException.class).hasMessageContaining("more than the 256 MiB")
                .hasMessageNotContaining("\n");
        assertThat(dir.resolve("cache")).doesNotExist();
    }

    @Test
    void anInitrdThatIsNoCpioIsOneLineSayingRebuild() throws IOException {
        Path bad = dir.resolve("bad-initrd");
        Files.write(bad, "not a cpio archive at all".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> VmInitrd.current(bad, dir.resolve("cache"), new byte[] {1}))
                .isInstanceOf(DavitException.class).hasMessageContaining("rebuild the environment")
                .hasMessageNotContaining("\n");
        try (var left = Files.list(dir.resolve("cache"))) {
            assertThat(left).as("no temporary file left").isEmpty();
        }
    }
}
