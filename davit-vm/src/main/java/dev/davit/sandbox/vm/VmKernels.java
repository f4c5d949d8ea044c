package dev.davit.sandbox.vm;

import static dev.davit.sandbox.vm.VmImages.KERNEL_META_PACKAGE;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.elf.Elf;
import dev.davit.sandbox.vm.VmImages.Kernel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The microVM's kernels (see {@link VmImages#kernel(String)}): the current Debian kernel package
 * ({@code apt-cache depends}), its {@code vmlinux} decompressed from the package's bzImage, the modules the VM needs
 * with their dependencies in load order, and the cache of both under {@code <cacheDir>/kernels/<package>/}.
 */
final class VmKernels {
    /** The modules the VM needs (when the kernel has them as modules), with their kernel config symbols. */
    static final Map<String, String> MODULE_ROOTS = orderedMap(
            "virtio_mmio", "VIRTIO_MMIO", "virtio_pci", "VIRTIO_PCI", "virtio_blk", "VIRTIO_BLK",
            "virtio_console", "VIRTIO_CONSOLE", "virtio_net", "VIRTIO_NET", "crc32c_generic", "CRYPTO_CRC32C",
            "ext4", "EXT4_FS");
    /** Config symbols that must be built in or modules: without them the VM cannot boot or reach its agent. */
    static final List<String> REQUIRED_CONFIG = List.of("VIRTIO_MMIO", "VIRTIO_BLK", "VIRTIO_CONSOLE", "EXT4_FS");

    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9.+-]{1,100}");

    private final Path cacheDir;
    private final VmImageTools tools;

    VmKernels(Path cacheDir, VmImageTools tools) {
        this.cacheDir = cacheDir;
        this.tools = tools;
    }

    /** See {@link VmImages#kernel(String)}: from the cache, else downloaded, decompressed and checked. */
    Kernel kernel(String packageName) {
        if (!PACKAGE.matcher(packageName).matches()) {
            throw new DavitException(Kind.USAGE, "invalid kernel package name '" + packageName + "'");
        }
        Path dir = cacheDir.resolve("kernels").resolve(packageName);
        Kernel cached = readKernel(packageName, dir);
        if (cached != null) {
            return cached;
        }
        Path tmp = VmImageFiles.temporaryDir(dir);
        try {
            Path deb = tools.download(packageName, tmp);
            KernelPackage kp = readKernelPackage(deb);
            Path vmlinux = tmp.resolve("vmlinux");
            decompressKernel(kp.vmlinuz(), vmlinux);
            try {
                if (!Elf.hasPvhEntry(vmlinux)) {
                    throw new DavitException(Kind.USAGE, "the kernel of " + packageName + " has no PVH entry"
                            + " (CONFIG_PVH); QEMU cannot boot it as vmlinux: use a kernel built with CONFIG_PVH=y");
                }
            } catch (IOException | IllegalArgumentException e) {
                throw new DavitException(Kind.VERIFICATION, "the kernel of " + packageName + " is not a valid ELF"
                        + " image after decompression: " + e.getMessage());
            }
            Path modules = tmp.resolve("modules");
            Files.createDirectories(modules);
            for (Map.Entry<String, byte[]> m : kp.modules().entrySet()) {
                Files.write(modules.resolve(m.getKey() + ".ko"), m.getValue());
            }
            Files.writeString(modules.resolve("order"), String.join("\n", kp.order()) + (kp.order().isEmpty() ? ""
                    : "\n"));
            Files.delete(deb);
            VmImageFiles.publishDir(tmp, dir);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the kernel cache " + dir + ": " + e.getMessage());
        } finally {
            VmImageFiles.deleteQuietly(tmp);
        }
        Kernel k = readKernel(packageName, dir);
        if (k == null) {
            throw new DavitException(Kind.STORE, "the kernel cache " + dir + " is incomplete; delete it and retry");
        }
        return k;
    }

    private Kernel readKernel(String pkg, Path dir) {
        Path vmlinux = dir.resolve("vmlinux");
        Path order = dir.resolve("modules").resolve("order");
        if (!Files.isRegularFile(vmlinux) || !Files.isRegularFile(order)) {
            return null;
        }
        try {
            List<String> modules = Files.readAllLines(order).stream().filter(s -> !s.isBlank()).toList();
            for (String m : modules) {
                if (!Files.isRegularFile(dir.resolve("modules").resolve(m + ".ko"))) {
                    return null;
                }
            }
            return new Kernel(pkg, vmlinux, dir.resolve("modules"), modules);
        } catch (IOException e) {
            return null;
        }
    }

    /** The kernel package {@value VmImages#KERNEL_META_PACKAGE} depends on, from {@code apt-cache depends}. */
    String currentKernelPackage() {
        Path aptCache = tools.tool("apt-cache", "apt (VM kernels come from Debian's linux-image packages)");
        String out = new String(VmImageTools.run(List.of(aptCache.toString(), "depends", KERNEL_META_PACKAGE), null,
                null, "apt-cache cannot resolve " + KERNEL_META_PACKAGE), StandardCharsets.UTF_8);
        String pkg = kernelDependency(out);
        if (pkg == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, KERNEL_META_PACKAGE + " depends on no linux-image package"
                    + " here; run apt-get update or name the kernel package");
        }
        return pkg;
    }

    /** The first {@code Depends: linux-image-...} of {@code apt-cache depends} output, or null. */
    static String kernelDependency(String aptCacheOutput) {
        for (String line : aptCacheOutput.split("\n")) {
            String l = line.strip();
            if (l.startsWith("Depends: linux-image-")) {
                String p = l.substring("Depends: ".length()).strip();
                if (PACKAGE.matcher(p).matches()) {
                    return p;
                }
            }
        }
        return null;
    }

    /** The contents of a kernel package that davit uses. */
    record KernelPackage(byte[] vmlinuz, Map<String, String> config, Map<String, byte[]> modules, List<String> order) {
    }

    /**
     * Reads the kernel package: {@code boot/vmlinuz-*}, {@code boot/config-*}, and the modules davit needs. A
     * module's dependencies are only known once it is read, and they may come earlier in the archive, so the
     * archive is read again until no needed module is missing (two passes for Debian's kernels).
     */
    KernelPackage readKernelPackage(Path deb) throws IOException {
        Path dpkgDeb = tools.tool("dpkg-deb", "dpkg");
        byte[][] vmlinuz = new byte[1][];
        Map<String, String> config = new HashMap<>();
        Map<String, byte[]> content = new HashMap<>();
        Map<String, List<String>> deps = new HashMap<>();
        Set<String> seen = new HashSet<>();
        Set<String> wanted = new LinkedHashSet<>();
        boolean first = true;
        while (true) {
            boolean pass1 = first;
            if (pass1) {
                wanted.addAll(MODULE_ROOTS.keySet());
            }
            VmImageTools.streamTar(List.of(dpkgDeb.toString(), "--fsys-tarfile", deb.toString()), (name, in) -> {
                String n = name.startsWith("./") ? name.substring(2) : name;
                if (pass1 && n.matches("boot/vmlinuz-[^/]+")) {
                    vmlinuz[0] = in.readAllBytes();
                } else if (pass1 && n.matches("boot/config-[^/]+")) {
                    config.putAll(parseConfig(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
                } else if (n.matches("(usr/)?lib/modules/[^/]+/kernel/.*\\.ko(\\.xz|\\.zst|\\.gz)?")) {
                    String m = Elf.moduleName(n);
                    seen.add(m);
                    if (wanted.contains(m) && !content.containsKey(m)) {
                        byte[] ko = decompressModule(n, in.readAllBytes());
                        List<String> d;
                        try {
                            d = Elf.depends(ko);
                        } catch (IllegalArgumentException e) {
                            throw new DavitException(Kind.VERIFICATION, "the kernel module " + n + " is not valid: "
                                    + e.getMessage());
                        }
                        content.put(m, ko);
                        deps.put(m, d);
                        wanted.addAll(d);
                    }
                }
            });
            first = false;
            if (vmlinuz[0] == null) {
                throw new DavitException(Kind.VERIFICATION, deb.getFileName() + " has no boot/vmlinuz-*; is it a"
                        + " linux-image package?");
            }
            boolean missing = wanted.stream().anyMatch(m -> seen.contains(m) && !content.containsKey(m));
            if (!missing) {
                break;
            }
        }
        for (String sym : REQUIRED_CONFIG) {
            String v = config.get("CONFIG_" + sym);
            if (!config.isEmpty() && !"y".equals(v) && !"m".equals(v)) {
                throw new DavitException(Kind.USAGE, "the kernel in " + deb.getFileName() + " lacks CONFIG_" + sym
                        + ", which a davit microVM needs; use a kernel with it built in or as a module");
            }
        }
        for (Map.Entry<String, String> r : MODULE_ROOTS.entrySet()) {
            boolean required = REQUIRED_CONFIG.contains(r.getValue());
            String v = config.get("CONFIG_" + r.getValue());
            if (required && "m".equals(v) && !content.containsKey(r.getKey())) {
                throw new DavitException(Kind.VERIFICATION, "the kernel in " + deb.getFileName() + " builds "
                        + r.getKey() + " as a module, but the package has no " + r.getKey() + ".ko");
            }
        }
        for (Map.Entry<String, List<String>> e : deps.entrySet()) {
            for (String d : e.getValue()) {
                if (!content.containsKey(d)) {
                    throw new DavitException(Kind.VERIFICATION, "the kernel module " + e.getKey() + " needs " + d
                            + ", which " + deb.getFileName() + " does not contain");
                }
            }
        }
        return new KernelPackage(vmlinuz[0], config, content, loadOrder(List.copyOf(MODULE_ROOTS.keySet()), deps));
    }

    /**
     * The order to load modules in: each root (in the given order) after its dependencies, each module once.
     * Roots missing from {@code deps} (built in, or not in this kernel) are left out. ext4 and jbd2 ask for
     * crc32c only as a soft dependency; listing {@code crc32c_generic} before {@code ext4} in the roots covers it.
     */
    static List<String> loadOrder(List<String> roots, Map<String, List<String>> deps) {
        List<String> out = new ArrayList<>();
        Set<String> visiting = new HashSet<>();
        for (String r : roots) {
            if (deps.containsKey(r)) {
                visit(r, deps, out, visiting);
            }
        }
        return out;
    }

    private static void visit(String m, Map<String, List<String>> deps, List<String> out, Set<String> visiting) {
        if (out.contains(m)) {
            return;
        }
        if (!visiting.add(m)) {
            throw new DavitException(Kind.VERIFICATION, "the kernel modules depend on each other in a cycle at " + m);
        }
        for (String d : deps.getOrDefault(m, List.of())) {
            visit(d, deps, out, visiting);
        }
        visiting.remove(m);
        out.add(m);
    }

    static Map<String, String> parseConfig(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (line.startsWith("CONFIG_") && eq > 0) {
                out.put(line.substring(0, eq), line.substring(eq + 1).strip());
            }
        }
        return out;
    }

    /** Writes the ELF kernel inside the bzImage {@code vmlinuz} to {@code target}. */
    void decompressKernel(byte[] vmlinuz, Path target) throws IOException {
        Elf.Payload p;
        try {
            p = Elf.payload(vmlinuz);
        } catch (IllegalArgumentException e) {
            throw new DavitException(Kind.VERIFICATION, "cannot find the kernel in vmlinuz: " + e.getMessage());
        }
        byte[] packed = java.util.Arrays.copyOfRange(vmlinuz, p.offset(), p.offset() + p.length());
        try (OutputStream out = Files.newOutputStream(target)) {
            switch (p.format()) {
                case "xz" -> out.write(VmImageTools.run(List.of(tools.tool("xz", "xz-utils").toString(), "-dc",
                        "--single-stream"), null, packed, "xz cannot decompress the kernel"));
                case "gzip" -> {
                    try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(packed))) {
                        in.transferTo(out);
                    }
                }
                case "zstd" -> {
                    try (InputStream in = new com.github.luben.zstd.ZstdInputStream(
                            new java.io.ByteArrayInputStream(packed))) {
                        in.transferTo(out);
                    }
                }
                default -> throw new DavitException(Kind.USAGE, "the kernel is compressed with " + p.format()
                        + ", which davit cannot decompress (it reads xz, gzip and zstd)");
            }
        }
        long size = Files.size(target);
        if (p.uncompressedSize() != 0 && size != p.uncompressedSize()) {
            throw new DavitException(Kind.VERIFICATION, "the decompressed kernel has " + size + " bytes, not the "
                    + p.uncompressedSize() + " its bzImage announces");
        }
    }

    private byte[] decompressModule(String name, byte[] data) throws IOException {
        if (name.endsWith(".ko")) {
            return data;
        }
        if (name.endsWith(".ko.xz")) {
            return VmImageTools.run(List.of(tools.tool("xz", "xz-utils").toString(), "-dc"), null, data,
                    "xz cannot decompress " + name);
        }
        InputStream in = name.endsWith(".gz") ? new GZIPInputStream(new java.io.ByteArrayInputStream(data))
                : new com.github.luben.zstd.ZstdInputStream(new java.io.ByteArrayInputStream(data));
        try (in) {
            return in.readAllBytes();
        }
    }

    private static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
