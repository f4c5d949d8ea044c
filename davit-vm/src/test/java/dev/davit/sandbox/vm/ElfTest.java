package dev.davit.sandbox.vm;

import dev.davit.sandbox.elf.Elf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kernel files read without tools: bzImage payloads, module .modinfo, static programs, PVH notes. */
class ElfTest {
    @TempDir
    Path tmp;

    /** A bzImage: setup sectors, the boot header, then the payload and its 4-byte size. */
    static byte[] bzImage(byte[] compressed, int uncompressedSize) {
        int setupSects = 3;
        int pmOffset = (setupSects + 1) * 512;
        int payloadOffset = 100;
        ByteBuffer b = ByteBuffer.allocate(pmOffset + payloadOffset + compressed.length + 4 + 16)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1F1, (byte) setupSects);
        b.put(0x202, (byte) 'H').put(0x203, (byte) 'd').put(0x204, (byte) 'r').put(0x205, (byte) 'S');
        b.putShort(0x206, (short) 0x020F);
        b.putInt(0x248, payloadOffset);
        b.putInt(0x24C, compressed.length + 4);
        b.position(pmOffset + payloadOffset);
        b.put(compressed);
        b.putInt(uncompressedSize);
        return b.array();
    }

    /** A little-endian ELF64 with a program header table and optionally a .modinfo section. */
    static byte[] elf(byte[] modinfo, int[] programTypes, byte[] note) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int phoff = 64;
        int phnum = programTypes.length;
        int dataOff = phoff + phnum * 56;
        byte[] shstr = "\0.modinfo\0.shstrtab\0".getBytes(StandardCharsets.US_ASCII);
        int modOff = dataOff;
        int noteOff = modOff + modinfo.length;
        int strOff = noteOff + note.length;
        int shoff = (strOff + shstr.length + 7) & ~7;
        ByteBuffer b = ByteBuffer.allocate(shoff + 3 * 64).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
        b.putShort(0x10, (short) 1);
        b.putShort(0x12, (short) 62);
        b.putLong(0x20, phoff);
        b.putLong(0x28, shoff);
        b.putShort(0x36, (short) 56);
        b.putShort(0x38, (short) phnum);
        b.putShort(0x3A, (short) 64);
        b.putShort(0x3C, (short) 3);
        b.putShort(0x3E, (short) 2);
        for (int i = 0; i < phnum; i++) {
            int h = phoff + i * 56;
            b.putInt(h, programTypes[i]);
            b.putLong(h + 8, programTypes[i] == 4 ? noteOff : 0);
            b.putLong(h + 0x20, programTypes[i] == 4 ? note.length : 0);
        }
        b.position(modOff);
        b.put(modinfo).put(note).put(shstr);
        int sh1 = shoff + 64;
        b.putInt(sh1, 1);
        b.putLong(sh1 + 0x18, modOff);
        b.putLong(sh1 + 0x20, modinfo.length);
        int sh2 = shoff + 128;
        b.putInt(sh2, 10);
        b.putLong(sh2 + 0x18, strOff);
        b.putLong(sh2 + 0x20, shstr.length);
        body.writeBytes(b.array());
        return body.toByteArray();
    }

    static byte[] note(String owner, int type, byte[] desc) {
        byte[] name = (owner + "\0").getBytes(StandardCharsets.US_ASCII);
        int nameLen = (name.length + 3) & ~3;
        int descLen = (desc.length + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(12 + nameLen + descLen).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(name.length).putInt(desc.length).putInt(type).put(name);
        b.position(12 + nameLen);
        b.put(desc);
        return b.array();
    }

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    @Test
    void findsThePayloadOfABzImage() throws IOException {
        byte[] kernel = elf(new byte[0], new int[] {4}, note("Xen", 18, new byte[4]));
        byte[] gz = gzip(kernel);
        byte[] bz = bzImage(gz, kernel.length);
        Elf.Payload p = Elf.payload(bz);
        assertThat(p.offset()).isEqualTo(4 * 512 + 100);
        assertThat(p.length()).isEqualTo(gz.length);
        assertThat(p.format()).isEqualTo("gzip");
        assertThat(p.uncompressedSize()).isEqualTo(kernel.length);
        Path out = tmp.resolve("vmlinux");
        new VmImages(tmp).decompressKernel(bz, out);
        assertThat(Files.readAllBytes(out)).isEqualTo(kernel);
        assertThat(Elf.hasPvhEntry(out)).isTrue();
        // a size that does not match what the header announces is caught
        assertThatThrownBy(() -> new VmImages(tmp).decompressKernel(bzImage(gz, kernel.length + 1), out))
                .isInstanceOf(DavitException.class).hasMessageContaining("announces");
    }

    @Test
    void decompressesAnXzKernelWithTheXzTool() throws Exception {
        Tools.assumeAvailable("xz");
        byte[] kernel = elf(new byte[0], new int[] {4}, note("Linux", 1, new byte[4]));
        Path raw = tmp.resolve("raw");
        Files.write(raw, kernel);
        Tools.run("xz", "--check=crc32", "-k", raw.toString());
        byte[] bz = bzImage(Files.readAllBytes(tmp.resolve("raw.xz")), kernel.length);
        assertThat(Elf.payload(bz).format()).isEqualTo("xz");
        Path out = tmp.resolve("vmlinux");
        new VmImages(tmp).decompressKernel(bz, out);
        assertThat(Files.readAllBytes(out)).isEqualTo(kernel);
        assertThat(Elf.hasPvhEntry(out)).isFalse(); // no Xen PVH note
    }

    @Test
    void rejectsWhatIsNotABzImage() {
        assertThatThrownBy(() -> Elf.payload(new byte[4096])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("HdrS");
        byte[] old = bzImage(new byte[16], 0);
        old[0x206] = 0x04; // protocol 2.04
        assertThatThrownBy(() -> Elf.payload(old)).hasMessageContaining("older than 2.08");
        byte[] truncated = java.util.Arrays.copyOf(bzImage(new byte[64], 0), 2200);
        assertThatThrownBy(() -> Elf.payload(truncated)).hasMessageContaining("outside");
    }

    @Test
    void readsModuleInfo() {
        byte[] modinfo = "license=GPL\0depends=virtio,virtio_ring\0alias=virtio:d00000001v*\0alias=x\0name=virtio_blk\0"
                .getBytes(StandardCharsets.US_ASCII);
        byte[] ko = elf(modinfo, new int[0], new byte[0]);
        Map<String, List<String>> info = Elf.modinfo(ko);
        assertThat(info.get("name")).containsExactly("virtio_blk");
        assertThat(info.get("alias")).containsExactly("virtio:d00000001v*", "x");
        assertThat(Elf.depends(ko)).containsExactly("virtio", "virtio_ring");
        assertThat(Elf.depends(elf("depends=\0".getBytes(StandardCharsets.US_ASCII), new int[0], new byte[0])))
                .isEmpty();
        assertThat(Elf.moduleName("lib/modules/6.1/kernel/arch/x86/crypto/crc32c-intel.ko.xz"))
                .isEqualTo("crc32c_intel");
        assertThatThrownBy(() -> Elf.modinfo(new byte[100])).hasMessageContaining("not an ELF");
    }

    @Test
    void tellsStaticProgramsApart() {
        assertThat(Elf.isStatic(elf(new byte[0], new int[] {1, 4}, new byte[0]))).isTrue();
        assertThat(Elf.isStatic(elf(new byte[0], new int[] {6, 3, 1}, new byte[0]))).isFalse();
    }

    @Test
    void ordersModulesAfterTheirDependencies() {
        Map<String, List<String>> deps = Map.of(
                "virtio_ring", List.of(), "virtio", List.of("virtio_ring"),
                "virtio_mmio", List.of("virtio", "virtio_ring"), "virtio_blk", List.of("virtio", "virtio_ring"),
                "crc16", List.of(), "mbcache", List.of(), "jbd2", List.of(), "crc32c_generic", List.of(),
                "ext4", List.of("jbd2", "mbcache", "crc16"));
        assertThat(VmImages.loadOrder(List.of("virtio_mmio", "virtio_pci", "virtio_blk", "crc32c_generic", "ext4"),
                deps)).containsExactly("virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "crc32c_generic", "jbd2",
                "mbcache", "crc16", "ext4");
        assertThatThrownBy(() -> VmImages.loadOrder(List.of("a"), Map.of("a", List.of("b"), "b", List.of("a"))))
                .hasMessageContaining("cycle");
    }

    @Test
    void readsAptAndKernelConfig() {
        assertThat(VmImages.kernelDependency("linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n"))
                .isEqualTo("linux-image-6.1.0-56-amd64");
        assertThat(VmImages.kernelDependency("linux-image-amd64\n")).isNull();
        assertThat(VmImages.parseConfig("# comment\nCONFIG_PVH=y\nCONFIG_EXT4_FS=m\n# CONFIG_X is not set\n"))
                .containsExactly(Map.entry("CONFIG_PVH", "y"), Map.entry("CONFIG_EXT4_FS", "m"));
    }

    @Test
    void theKvmProbeFirmwareExitsThroughTheDebugPort() {
        byte[] fw = Accel.firmware();
        assertThat(fw).hasSize(65536);
        // mov al,0x10; out 0xf4,al; hlt; jmp $ at the reset vector (0xFFFFFFF0 maps to the last 16 bytes)
        assertThat(java.util.Arrays.copyOfRange(fw, 0xFFF0, 0xFFF7))
                .containsExactly(0xB0, 0x10, 0xE6, 0xF4, 0xF4, 0xEB, 0xFE);
    }
}
