package dev.davit.sandbox.elf;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The few facts davit reads from kernel files, without tools: where the compressed kernel sits in a bzImage
 * ({@code vmlinuz}), the {@code .modinfo} of a kernel module, whether an ELF program is static, and whether an
 * ELF kernel ({@code vmlinux}) can be started through PVH. Only little-endian 64-bit ELF (x86-64) is read.
 */
public final class Elf {
    private static final int PT_INTERP = 3;
    private static final int PT_NOTE = 4;
    /** XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit entry point QEMU uses to boot an ELF kernel through PVH. */
    private static final int NOTE_PVH_ENTRY = 18;

    private Elf() {
    }

    /** The compressed kernel inside a bzImage: where it starts, how long it is, and its format. */
    public record Payload(int offset, int length, String format, long uncompressedSize) {
    }

    /**
     * Locates the compressed kernel in a bzImage through its boot protocol header (version 2.08 or later:
     * {@code setup_sects} at 0x1F1, {@code payload_offset} at 0x248, {@code payload_length} at 0x24C). The kernel's
     * build appends the uncompressed size as 4 bytes after the compressed stream; {@link Payload#length} excludes
     * them and {@link Payload#uncompressedSize} is their value.
     */
    public static Payload payload(byte[] bz) {
        if (bz.length < 0x250 || !ascii(bz, 0x202, 4).equals("HdrS")) {
            throw new IllegalArgumentException("not a bzImage (no HdrS boot header)");
        }
        ByteBuffer b = ByteBuffer.wrap(bz).order(ByteOrder.LITTLE_ENDIAN);
        int version = b.getShort(0x206) & 0xffff;
        if (version < 0x0208) {
            throw new IllegalArgumentException(String.format("boot protocol %d.%02d is older than 2.08 (no payload"
                    + " fields)", version >> 8, version & 0xff));
        }
        int setupSects = bz[0x1F1] & 0xff;
        if (setupSects == 0) {
            setupSects = 4;
        }
        long start = (setupSects + 1L) * 512 + (b.getInt(0x248) & 0xffffffffL);
        long length = b.getInt(0x24C) & 0xffffffffL;
        if (length < 8 || start + length > bz.length) {
            throw new IllegalArgumentException("the payload (" + start + "+" + length + ") lies outside the file ("
                    + bz.length + " bytes)");
        }
        int off = (int) start;
        int len = (int) length - 4;
        long size = b.getInt(off + len) & 0xffffffffL;
        return new Payload(off, len, format(bz, off), size);
    }

    /** The compression of data starting at {@code off}, from its magic bytes. */
    public static String format(byte[] d, int off) {
        if (starts(d, off, 0xFD, '7', 'z', 'X', 'Z', 0)) {
            return "xz";
        }
        if (starts(d, off, 0x1F, 0x8B)) {
            return "gzip";
        }
        if (starts(d, off, 0x28, 0xB5, 0x2F, 0xFD)) {
            return "zstd";
        }
        if (starts(d, off, 'B', 'Z', 'h')) {
            return "bzip2";
        }
        if (starts(d, off, 0x02, 0x21, 0x4C, 0x18)) {
            return "lz4";
        }
        if (starts(d, off, 0x89, 'L', 'Z', 'O')) {
            return "lzo";
        }
        if (starts(d, off, 0x5D, 0x00, 0x00)) {
            return "lzma";
        }
        if (starts(d, off, 0x7F, 'E', 'L', 'F')) {
            return "none";
        }
        return "unknown";
    }

    /**
     * The {@code .modinfo} section of a kernel module: {@code key=value} strings. Keys can repeat (alias,
     * softdep), so each maps to its values in order.
     */
    public static Map<String, List<String>> modinfo(byte[] ko) {
        ByteBuffer b = elf64(ko);
        long shoff = b.getLong(0x28);
        int shentsize = b.getShort(0x3A) & 0xffff;
        int shnum = b.getShort(0x3C) & 0xffff;
        int shstrndx = b.getShort(0x3E) & 0xffff;
        if (shoff <= 0 || shentsize < 64 || shstrndx >= shnum || shoff + (long) shnum * shentsize > ko.length) {
            throw new IllegalArgumentException("no valid section table");
        }
        long strOff = b.getLong((int) (shoff + (long) shstrndx * shentsize + 0x18));
        for (int i = 0; i < shnum; i++) {
            int h = (int) (shoff + (long) i * shentsize);
            int name = b.getInt(h);
            if (!cString(ko, strOff + (name & 0xffffffffL)).equals(".modinfo")) {
                continue;
            }
            long off = b.getLong(h + 0x18);
            long size = b.getLong(h + 0x20);
            if (off < 0 || size < 0 || off + size > ko.length) {
                throw new IllegalArgumentException(".modinfo lies outside the file");
            }
            Map<String, List<String>> out = new LinkedHashMap<>();
            int s = (int) off;
            int end = (int) (off + size);
            for (int p = s; p <= end; p++) {
                if (p == end || ko[p] == 0) {
                    if (p > s) {
                        String kv = new String(ko, s, p - s, StandardCharsets.UTF_8);
                        int eq = kv.indexOf('=');
                        if (eq > 0) {
                            out.computeIfAbsent(kv.substring(0, eq), k -> new ArrayList<>()).add(kv.substring(eq + 1));
                        }
                    }
                    s = p + 1;
                }
            }
            return out;
        }
        throw new IllegalArgumentException("no .modinfo section");
    }

    /** The modules a module needs loaded first (its {@code depends=}), as normalised module names. */
    public static List<String> depends(byte[] ko) {
        List<String> out = new ArrayList<>();
        for (String v : modinfo(ko).getOrDefault("depends", List.of())) {
            for (String d : v.split(",")) {
                if (!d.isBlank()) {
                    out.add(moduleName(d.strip()));
                }
            }
        }
        return out;
    }

    /** A module's name as the kernel knows it: file name without {@code .ko[.xz|.zst|.gz]}, '-' as '_'. */
    public static String moduleName(String fileOrName) {
        String n = fileOrName.substring(fileOrName.lastIndexOf('/') + 1);
        int ko = n.indexOf(".ko");
        if (ko > 0) {
            n = n.substring(0, ko);
        }
        return n.replace('-', '_');
    }

    /** Whether {@code elf} is an executable without a program interpreter (statically linked). */
    public static boolean isStatic(byte[] elf) {
        ByteBuffer b = elf64(elf);
        for (long[] ph : programHeaders(b, elf.length)) {
            if (ph[0] == PT_INTERP) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code file} is a 64-bit ELF executable without a program interpreter (statically linked); false
     * for anything else, unreadable files included. Reads its first 64 KiB (the headers).
     */
    public static boolean isStatic(Path file) {
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            return isStatic(in.readNBytes(64 * 1024));
        } catch (IOException | IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The program interpreter (dynamic loader) that {@code file}, a 64-bit ELF program or shared object, names, or
     * null when it names none (statically linked, or a shared object). Reads its first 64 KiB (the headers).
     */
    public static String interpreter(Path file) throws IOException {
        byte[] d;
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            d = in.readNBytes(64 * 1024);
        }
        ByteBuffer b = elf64(d);
        for (long[] ph : programHeaders(b, d.length)) {
            if (ph[0] == PT_INTERP) {
                return cString(d, ph[1]);
            }
        }
        return null;
    }

    /** Whether the ELF kernel has the PVH entry note (Linux: {@code CONFIG_PVH=y}); QEMU needs it. */
    public static boolean hasPvhEntry(Path vmlinux) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(vmlinux.toFile(), "r")) {
            byte[] head = new byte[(int) Math.min(f.length(), 64 * 1024)];
            f.readFully(head);
            ByteBuffer b = elf64(head);
            for (long[] ph : programHeaders(b, head.length)) {
                if (ph[0] != PT_NOTE || ph[2] > 1 << 20 || ph[1] + ph[2] > f.length()) {
                    continue;
                }
                byte[] notes = new byte[(int) ph[2]];
                f.seek(ph[1]);
                f.readFully(notes);
                if (hasNote(notes, "Xen", NOTE_PVH_ENTRY)) {
                    return true;
                }
            }
            return false;
        }
    }

    public static boolean hasNote(byte[] notes, String owner, int type) {
        ByteBuffer b = ByteBuffer.wrap(notes).order(ByteOrder.LITTLE_ENDIAN);
        int p = 0;
        while (p + 12 <= notes.length) {
            int namesz = b.getInt(p);
            int descsz = b.getInt(p + 4);
            int t = b.getInt(p + 8);
            if (namesz < 0 || descsz < 0 || namesz > notes.length || descsz > notes.length) {
                return false;
            }
            int name = p + 12;
            if (name + namesz > notes.length) {
                return false;
            }
            String n = namesz > 0 ? new String(notes, name, Math.max(0, namesz - 1), StandardCharsets.US_ASCII) : "";
            if (t == type && n.equals(owner)) {
                return true;
            }
            p = name + align4(namesz) + align4(descsz);
        }
        return false;
    }

    /** {type, offset, filesz} of each program header. */
    private static List<long[]> programHeaders(ByteBuffer b, int available) {
        long phoff = b.getLong(0x20);
        int phentsize = b.getShort(0x36) & 0xffff;
        int phnum = b.getShort(0x38) & 0xffff;
        if (phnum == 0) {
            return List.of();
        }
        if (phoff <= 0 || phentsize < 56 || phoff + (long) phnum * phentsize > available) {
            throw new IllegalArgumentException("no valid program header table");
        }
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int h = (int) (phoff + (long) i * phentsize);
            out.add(new long[] {b.getInt(h) & 0xffffffffL, b.getLong(h + 8), b.getLong(h + 0x20)});
        }
        return out;
    }

    private static ByteBuffer elf64(byte[] d) {
        if (d.length < 64 || !starts(d, 0, 0x7F, 'E', 'L', 'F')) {
            throw new IllegalArgumentException("not an ELF file");
        }
        if (d[4] != 2 || d[5] != 1) {
            throw new IllegalArgumentException("not a little-endian 64-bit ELF file");
        }
        return ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int align4(int n) {
        return (n + 3) & ~3;
    }

    private static String cString(byte[] d, long off) {
        if (off < 0 || off >= d.length) {
            return "";
        }
        int e = (int) off;
        while (e < d.length && d[e] != 0) {
            e++;
        }
        return new String(d, (int) off, e - (int) off, StandardCharsets.UTF_8);
    }

    private static String ascii(byte[] d, int off, int n) {
        return new String(d, off, n, StandardCharsets.US_ASCII);
    }

    private static boolean starts(byte[] d, int off, int... magic) {
        if (off < 0 || off + magic.length > d.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((d[off + i] & 0xff) != magic[i]) {
                return false;
            }
        }
        return true;
    }
}
