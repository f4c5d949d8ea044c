package dev.davit.sandbox.vm;

import dev.davit.sandbox.elf.Elf;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Builds the artifacts of a microVM environment (see docs/reference/SANDBOX.md, "The vm backend"):
 *
 * <ul>
 *   <li>{@code vmlinux}: a Debian kernel ({@code linux-image-*} package, fetched with {@code apt-get download}),
 *       decompressed from its bzImage into the ELF image QEMU boots through PVH;</li>
 *   <li>{@code initrd}: a newc cpio (uncompressed) with a static busybox, the kernel modules the VM needs (virtio
 *       transports, block, console and network drivers, ext4, and their dependencies) and an {@code init} that
 *       loads them, mounts the root disk and starts the guest agent on it;</li>
 *   <li>{@code rootfs.ext4}: an ext4 image of a root filesystem directory into which {@link #installGuest} put
 *       the guest agent.</li>
 * </ul>
 *
 * Kernels and initrds are cached per kernel package under {@code <cacheDir>/kernels/<package>/} (built in a
 * temporary directory, then renamed into place), so a kernel is downloaded once. Every file this class writes is
 * written to a temporary file first and renamed over its target.
 */
public final class VmImages {
    /** The Debian package whose dependency names the current kernel package. */
    public static final String KERNEL_META_PACKAGE = "linux-image-amd64";
    /** Where the guest side lives in a root filesystem. */
    public static final String GUEST_DIR = ".davit";

    /** The modules the VM needs (when the kernel has them as modules), with their kernel config symbols. */
    static final Map<String, String> MODULE_ROOTS = orderedMap(
            "virtio_mmio", "VIRTIO_MMIO", "virtio_pci", "VIRTIO_PCI", "virtio_blk", "VIRTIO_BLK",
            "virtio_console", "VIRTIO_CONSOLE", "virtio_net", "VIRTIO_NET", "crc32c_generic", "CRYPTO_CRC32C",
            "ext4", "EXT4_FS");
    /** Config symbols that must be built in or modules: without them the VM cannot boot or reach its agent. */
    static final List<String> REQUIRED_CONFIG = List.of("VIRTIO_MMIO", "VIRTIO_BLK", "VIRTIO_CONSOLE", "EXT4_FS");

    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9.+-]{1,100}");
    private static final String RESOURCES = "/dev/davit/sandbox/vm/";
    private static final long MIB = 1024 * 1024;
    /** Changes when the initrd's layout changes. */
    private static final byte[] INITRD_FORMAT = "davit-initrd-2 newc uncompressed".getBytes(StandardCharsets.UTF_8);

    private final Path cacheDir;
    private final String searchPath;

    /** Caches under {@code cacheDir} (e.g. {@code $DAVIT_HOME/cache/vm}); tools from the process's PATH. */
    public VmImages(Path cacheDir) {
        this(cacheDir, null);
    }

    VmImages(Path cacheDir, String searchPath) {
        this.cacheDir = cacheDir.toAbsolutePath();
        this.searchPath = searchPath;
    }

    /** The default cache directory under a davit home. */
    public static Path defaultCacheDir(Path davitHome) {
        return davitHome.resolve("cache").resolve("vm");
    }

    /**
     * A kernel ready to boot.
     *
     * @param packageName the Debian package it came from, e.g. {@code linux-image-6.1.0-56-amd64}
     * @param vmlinux     the uncompressed ELF kernel
     * @param modulesDir  the modules the initrd loads ({@code NAME.ko})
     * @param modules     their load order (dependencies first)
     */
    public record Kernel(String packageName, Path vmlinux, Path modulesDir, List<String> modules) {
        public Kernel {
            modules = List.copyOf(modules);
        }
    }

    /** What {@link #buildEnvironment} wrote. */
    public record Artifacts(Path vmlinux, Path initrd, Path rootfsImage) {
    }

    /**
     * Builds a complete microVM environment in {@code envDir} from a root filesystem directory: the current Debian
     * kernel ({@link #kernel()}), its {@link #initrd}, the guest agent ({@link #installGuest}, which writes into
     * {@code rootfsDir}) and {@code rootfs.ext4}.
     */
    public Artifacts buildEnvironment(Path rootfsDir, Path envDir) {
        Kernel k = kernel();
        Path initrd = initrd(k);
        installGuest(rootfsDir);
        try {
            Files.createDirectories(envDir);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create " + envDir + ": " + e.getMessage());
        }
        Path vmlinux = envDir.resolve("vmlinux");
        Path rd = envDir.resolve("initrd");
        Path image = envDir.resolve("rootfs.ext4");
        copyAtomically(k.vmlinux(), vmlinux);
        copyAtomically(initrd, rd);
        buildRootfsImage(rootfsDir, image);
        return new Artifacts(vmlinux, rd, image);
    }

    /** The kernel that {@value #KERNEL_META_PACKAGE} currently depends on (see {@link #kernel(String)}). */
    public Kernel kernel() {
        return kernel(currentKernelPackage());
    }

    /**
     * The kernel of the Debian package {@code packageName} (e.g. {@code linux-image-6.1.0-56-amd64}), from the
     * cache or else downloaded with {@code apt-get download}: {@code vmlinux} decompressed from the package's
     * {@code /boot/vmlinuz-*}, and the modules of {@link #MODULE_ROOTS} with their dependencies (read from each
     * module's {@code .modinfo}). Fails when the kernel cannot be booted by QEMU's PVH entry or lacks a driver
     * the VM needs.
     */
    public Kernel kernel(String packageName) {
        if (!PACKAGE.matcher(packageName).matches()) {
            throw new DavitException(Kind.USAGE, "invalid kernel package name '" + packageName + "'");
        }
        Path dir = cacheDir.resolve("kernels").resolve(packageName);
        Kernel cached = readKernel(packageName, dir);
        if (cached != null) {
            return cached;
        }
        Path tmp = temporaryDir(dir);
        try {
            Path deb = download(packageName, tmp);
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
            publishDir(tmp, dir);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the kernel cache " + dir + ": " + e.getMessage());
        } finally {
            deleteQuietly(tmp);
        }
        Kernel k = readKernel(packageName, dir);
        if (k == null) {
            throw new DavitException(Kind.STORE, "the kernel cache " + dir + " is incomplete; delete it and retry");
        }
        return k;
    }

    /**
     * The initrd for {@code kernel} (cached next to it): an uncompressed newc cpio holding {@code /init} (resource
     * {@code vm/init.sh}), {@code /bin/busybox} (static), {@code /dev/console}, {@code /modules/*.ko} and
     * {@code /modules/order}.
     */
    public Path initrd(Kernel kernel) {
        byte[] busybox = busybox();
        byte[] init = resource("init.sh");
        // named after what it is made of, so a davit with another init or busybox builds its own
        Path target = kernel.modulesDir().getParent().resolve("initrd-" + digest(INITRD_FORMAT, init, busybox,
                String.join("\n", kernel.modules()).getBytes(StandardCharsets.UTF_8)).substring(0, 16));
        if (Files.isRegularFile(target)) {
            return target;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        // uncompressed: the kernel unpacks it faster than it could gunzip it (about 0.2 s less boot under TCG)
        try (CpioArchiveOutputStream cpio = new CpioArchiveOutputStream(bytes, CpioConstants.FORMAT_NEW)) {
            Initrd w = new Initrd(cpio);
            for (String d : List.of("bin", "dev", "proc", "sys", "newroot", "modules")) {
                w.dir(d);
            }
            w.charDevice("dev/console", 0600, 5, 1);
            w.file("init", 0755, init);
            w.file("bin/busybox", 0755, busybox);
            for (String m : kernel.modules()) {
                w.file("modules/" + m + ".ko", 0644, Files.readAllBytes(kernel.modulesDir().resolve(m + ".ko")));
            }
            w.file("modules/order", 0644, (String.join("\n", kernel.modules()) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            cpio.finish();
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot build the initrd: " + e.getMessage());
        }
        writeAtomically(target, bytes.toByteArray());
        return target;
    }

    /**
     * Puts the guest side into a root filesystem directory: {@code /.davit/busybox} (static),
     * {@code /.davit/agent} (the guest agent, resource {@code vm/agent.sh}) and the empty {@code /.davit/run}.
     * The agent needs nothing else from the root filesystem.
     */
    public void installGuest(Path rootfsDir) {
        if (!Files.isDirectory(rootfsDir)) {
            throw new DavitException(Kind.NOT_FOUND, "root filesystem " + rootfsDir + " is not a directory");
        }
        Path dir = rootfsDir.resolve(GUEST_DIR);
        try {
            // the image's own entries there (its link or file: a hostile image may name / by them) are replaced,
            // never followed: a chmod or a write through them would reach the host
            for (Path d : List.of(dir, dir.resolve("run"))) {
                java.nio.file.attribute.BasicFileAttributes a;
                try {
                    a = Files.readAttributes(d, java.nio.file.attribute.BasicFileAttributes.class,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS);
                } catch (java.nio.file.NoSuchFileException e) {
                    a = null;
                }
                if (a != null && !a.isDirectory()) {
                    Files.delete(d);
                }
                if (a == null || !a.isDirectory()) {
                    Files.createDirectory(d);
                }
            }
            Files.setAttribute(dir.resolve("run"), "posix:permissions", PosixFilePermissions.fromString("rwx------"),
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            writeAtomically(dir.resolve("busybox"), busybox());
            Files.setPosixFilePermissions(dir.resolve("busybox"), PosixFilePermissions.fromString("rwxr-xr-x"));
            writeAtomically(dir.resolve("agent"), resource("agent.sh"));
            Files.setPosixFilePermissions(dir.resolve("agent"), PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot install the guest agent in " + rootfsDir + ": "
                    + e.getMessage());
        }
    }

    /** {@link #buildRootfsImage(Path, Path, long)} with the default free space: half the content, at least 256 MiB. */
    public void buildRootfsImage(Path rootfsDir, Path target) {
        buildRootfsImage(rootfsDir, target, -1);
    }

    /**
     * Writes an ext4 image of {@code rootfsDir} to {@code target} with {@code mkfs.ext4 -d}: sized for the content
     * (blocks and inodes) plus {@code freeBytes} (negative: the default), sparse, owners and modes as in the
     * directory.
     */
    public void buildRootfsImage(Path rootfsDir, Path target, long freeBytes) {
        buildRootfsImage(rootfsDir, target, freeBytes, null);
    }

    /**
     * Like {@link #buildRootfsImage(Path, Path, long)}, reproducibly when {@code epoch} is given: the file system's
     * UUID and directory hash seed are derived from its size, inode count and {@code epoch}, and every time mke2fs
     * records (superblock, inodes it creates) is {@code epoch} ({@code E2FSPROGS_FAKE_TIME}; the Unix epoch itself
     * is taken as one second after it, because mke2fs reads 0 as "not set"). The same directory (with its times
     * normalised) then gives the same bytes.
     */
    public void buildRootfsImage(Path rootfsDir, Path target, long freeBytes, java.time.Instant epoch) {
        buildRootfsImage(rootfsDir, target, freeBytes, epoch, null);
    }

    /**
     * Like {@link #buildRootfsImage(Path, Path, long, java.time.Instant)}, with the owners given instead of the
     * directory's when {@code owners} is not null: every inode is root's (0:0) except the paths listed (relative,
     * {@code /}-separated), which get their uid/gid. So a builder without root, whose files are all its own, makes
     * the file system a root build makes.
     */
    public void buildRootfsImage(Path rootfsDir, Path target, long freeBytes, java.time.Instant epoch,
                                 Map<String, dev.davit.oci.build.BuildOptions.Owner> owners) {
        Path mkfs = tool("mkfs.ext4", "e2fsprogs");
        long[] usage = usage(rootfsDir); // {bytes, inodes}
        long free = freeBytes >= 0 ? freeBytes : Math.max(usage[0] / 2, 256 * MIB);
        long size = roundUp(usage[0] + usage[0] / 10 + free + 64 * MIB, MIB);
        long inodes = usage[1] + usage[1] / 4 + 16384;
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + Protocol.newId() + ".tmp");
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            try (var f = new java.io.RandomAccessFile(tmp.toFile(), "rw")) {
                f.setLength(size);
            }
            List<String> cmd = new ArrayList<>(List.of(mkfs.toString(), "-q", "-F", "-t", "ext4", "-L", "davit-root",
                    "-m", "0", "-N", Long.toString(inodes)));
            String extended = "root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1,nodiscard";
            Map<String, String> env = Map.of();
            if (epoch != null) {
                long seconds = Math.max(1, epoch.getEpochSecond());
                String seed = "davit-rootfs:" + size + ":" + inodes + ":" + seconds;
                cmd.addAll(List.of("-U", java.util.UUID.nameUUIDFromBytes(seed.getBytes(StandardCharsets.UTF_8))
                        .toString()));
                extended += ",hash_seed=" + java.util.UUID.nameUUIDFromBytes(("hash:" + seed)
                        .getBytes(StandardCharsets.UTF_8));
                env = Map.of("E2FSPROGS_FAKE_TIME", Long.toString(seconds));
            }
            cmd.addAll(List.of("-E", extended, "-d", rootfsDir.toAbsolutePath().toString(), tmp.toString()));
            run(cmd, null, null, "mkfs.ext4 could not build " + target.getFileName(), env);
            if (epoch != null || owners != null) {
                setInodes(tmp, epoch == null ? -1 : Math.max(1, epoch.getEpochSecond()), owners);
            }
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Fs.fsyncDir(target.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + target + ": " + e.getMessage());
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** The kernel package {@value #KERNEL_META_PACKAGE} depends on, from {@code apt-cache depends}. */
    String currentKernelPackage() {
        Path aptCache = tool("apt-cache", "apt (VM kernels come from Debian's linux-image packages)");
        String out = new String(run(List.of(aptCache.toString(), "depends", KERNEL_META_PACKAGE), null, null,
                "apt-cache cannot resolve " + KERNEL_META_PACKAGE), StandardCharsets.UTF_8);
        String pkg = kernelDependency(out);
        if (pkg == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, KERNEL_META_PACKAGE + " depends on no linux-image package here;"
                    + " run apt-get update or name the kernel package");
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
        Path dpkgDeb = tool("dpkg-deb", "dpkg");
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
            streamTar(List.of(dpkgDeb.toString(), "--fsys-tarfile", deb.toString()), (name, in) -> {
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
                case "xz" -> out.write(run(List.of(tool("xz", "xz-utils").toString(), "-dc", "--single-stream"),
                        null, packed, "xz cannot decompress the kernel"));
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
            return run(List.of(tool("xz", "xz-utils").toString(), "-dc"), null, data, "xz cannot decompress " + name);
        }
        InputStream in = name.endsWith(".gz") ? new GZIPInputStream(new java.io.ByteArrayInputStream(data))
                : new com.github.luben.zstd.ZstdInputStream(new java.io.ByteArrayInputStream(data));
        try (in) {
            return in.readAllBytes();
        }
    }

    /** A static busybox: the host's when it is static, else extracted from Debian's busybox-static package. */
    public byte[] busybox() {
        Path host = which("busybox");
        try {
            if (host != null) {
                byte[] b = Files.readAllBytes(host);
                if (isStaticElf(b)) {
                    return b;
                }
            }
            Path cached = cacheDir.resolve("busybox");
            if (Files.isRegularFile(cached)) {
                return Files.readAllBytes(cached);
            }
            Path tmp = temporaryDir(cached);
            try {
                Path deb = download("busybox-static", tmp);
                byte[][] found = new byte[1][];
                streamTar(List.of(tool("dpkg-deb", "dpkg").toString(), "--fsys-tarfile", deb.toString()),
                        (name, in) -> {
                            if (name.matches("(\\./)?(usr/)?bin/busybox")) {
                                found[0] = in.readAllBytes();
                            }
                        });
                if (found[0] == null || !isStaticElf(found[0])) {
                    throw new DavitException(Kind.VERIFICATION, "busybox-static holds no static bin/busybox");
                }
                writeAtomically(cached, found[0]);
                return found[0];
            } finally {
                deleteQuietly(tmp);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read busybox: " + e.getMessage());
        }
    }

    /** Whether {@code file} is a 64-bit ELF executable without a program interpreter (statically linked). */
    public static boolean isStaticExecutable(Path file) {
        return Elf.isStatic(file);
    }

    private static boolean isStaticElf(byte[] b) {
        try {
            return Elf.isStatic(b);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Downloads {@code pkg} with {@code apt-get download} into {@code dir}; returns the .deb. */
    private Path download(String pkg, Path dir) throws IOException {
        Path aptGet = tool("apt-get", "apt (VM kernels come from Debian packages)");
        run(List.of(aptGet.toString(), "download", "-q", pkg), dir, null, "apt-get cannot download " + pkg
                + " (run apt-get update, or check the package name)");
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(pkg + "_")
                            && p.getFileName().toString().endsWith(".deb")).findFirst()
                    .orElseThrow(() -> new DavitException(Kind.NOT_FOUND, "apt-get download " + pkg
                            + " wrote no .deb"));
        }
    }

    @FunctionalInterface
    private interface EntryReader {
        void read(String name, InputStream in) throws IOException;
    }

    /** Runs {@code cmd} and reads its stdout as a tar stream, handing each regular file to {@code reader}. */
    private static void streamTar(List<String> cmd, EntryReader reader) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        try (TarArchiveInputStream tar = new TarArchiveInputStream(p.getInputStream())) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (e.isFile()) {
                    reader.read(e.getName(), tar);
                }
            }
            tar.transferTo(OutputStream.nullOutputStream());
        } finally {
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        if (p.exitValue() != 0) {
            throw new DavitException(Kind.VERIFICATION, cmd.get(0) + " failed: " + oneLine(err.join()));
        }
    }

    /** Runs a tool; returns its stdout, or throws {@code failure} with the tool's stderr. */
    private static byte[] run(List<String> cmd, Path cwd, byte[] stdin, String failure) {
        return run(cmd, cwd, stdin, failure, Map.of());
    }

    /**
     * Sets the access and change times of every inode mke2fs created to {@code seconds} (unless negative), and
     * their owners as {@code owners} says (unless null). mke2fs 1.47.0 copies times from the source files (where the
     * change time cannot be set, and reading a file moves its access time), so without this two builds of the same
     * tree differ. {@code -d} allocates inodes in order, so the used ones are the root (2) and 11 up to the used
     * count.
     */
    private void setInodes(Path image, long seconds, Map<String, dev.davit.oci.build.BuildOptions.Owner> owners)
            throws IOException {
        Path debugfs = tool("debugfs", "e2fsprogs");
        String stats = new String(run(List.of(debugfs.toString(), "-R", "stats", image.toString()), null, null,
                "debugfs could not read " + image.getFileName()), StandardCharsets.UTF_8);
        long count = statsField(stats, "Inode count");
        long free = statsField(stats, "Free inodes");
        StringBuilder cmds = new StringBuilder();
        for (long n = 2; n <= count - free; n++) {
            if ((n == 2 || n >= 11) && seconds >= 0) {
                cmds.append("sif <").append(n).append("> atime @").append(seconds).append('\n');
                cmds.append("sif <").append(n).append("> ctime @").append(seconds).append('\n');
            }
            if ((n == 2 || n >= 11) && owners != null) {
                cmds.append("sif <").append(n).append("> uid 0\n");
                cmds.append("sif <").append(n).append("> gid 0\n");
            }
        }
        if (owners != null) {
            for (var e : new java.util.TreeMap<>(owners).entrySet()) {
                String path = e.getKey();
                if (path.isEmpty() || path.indexOf('"') >= 0 || path.chars().anyMatch(c -> c < ' ')) {
                    throw new DavitException(Kind.USAGE, "cannot set the owner of '" + path + "' in "
                            + image.getFileName() + ": debugfs cannot name it; rename it");
                }
                // debugfs does not follow the last component of a path, so a symbolic link's own inode is set
                cmds.append("sif \"/").append(path).append("\" uid ").append(e.getValue().uid()).append('\n');
                cmds.append("sif \"/").append(path).append("\" gid ").append(e.getValue().gid()).append('\n');
            }
        }
        Path script = image.resolveSibling(image.getFileName() + ".debugfs");
        try {
            Files.writeString(script, cmds);
            // debugfs -f exits 0 even when a command fails; it echoes each command and its banner as "debugfs...",
            // so any other line is an error
            ProcessBuilder pb = new ProcessBuilder(debugfs.toString(), "-w", "-f", script.toString(),
                    image.toString()).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                    new File("/dev/null")));
            if (seconds >= 0) {
                pb.environment().put("E2FSPROGS_FAKE_TIME", Long.toString(seconds)); // its superblock write time too
            }
            Process p = pb.start();
            String out = new String(readAll(p.getInputStream()), StandardCharsets.UTF_8);
            int rc = p.waitFor();
            String errors = String.join("; ", out.lines().filter(l -> !l.isBlank() && !l.startsWith("debugfs"))
                    .limit(3).toList());
            if (rc != 0 || !errors.isEmpty()) {
                throw new DavitException(Kind.INTERNAL, "debugfs could not set the inode times and owners of "
                        + image.getFileName() + ": " + (errors.isEmpty() ? "exit " + rc : errors));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while debugfs ran");
        } finally {
            Files.deleteIfExists(script);
        }
    }

    private static long statsField(String stats, String name) {
        for (String line : stats.split("\n")) {
            if (line.startsWith(name + ":")) {
                return Long.parseLong(line.substring(name.length() + 1).strip());
            }
        }
        throw new DavitException(Kind.INTERNAL, "debugfs stats has no '" + name + "' line");
    }

    private static byte[] run(List<String> cmd, Path cwd, byte[] stdin, String failure, Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + cmd.get(0) + ": " + e.getMessage());
        }
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        try {
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin);
                } catch (IOException e) {
                    // the tool exited early; its exit code and stderr tell why
                }
            }
            int rc = p.waitFor();
            if (rc != 0) {
                String why = oneLine(err.join());
                throw new DavitException(Kind.INTERNAL, failure + (why.isEmpty() ? " (exit " + rc + ")" : ": " + why));
            }
            return out.join();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while " + cmd.get(0) + " ran");
        }
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last non-blank line of a tool's stderr, without apt's noise about unsandboxed downloads. */
    private static String oneLine(byte[] stderr) {
        String last = "";
        for (String l : new String(stderr, StandardCharsets.UTF_8).split("\n")) {
            if (!l.isBlank() && !l.contains("unsandboxed")) {
                last = l.strip();
            }
        }
        return last.length() > 300 ? last.substring(0, 300) + "..." : last;
    }

    /** {total bytes the content takes in 4 KiB blocks (plus directory blocks), number of inodes}. */
    static long[] usage(Path root) {
        long[] u = new long[2];
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                    u[0] += 4096;
                    u[1]++;
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                    u[0] += roundUp(a.size(), 4096);
                    u[1]++;
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + root + ": " + e.getMessage());
        }
        return u;
    }

    private static long roundUp(long n, long unit) {
        return (n + unit - 1) / unit * unit;
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

    private static Path temporaryDir(Path target) {
        try {
            Files.createDirectories(target.getParent());
            return Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create a directory next to " + target + ": "
                    + e.getMessage());
        }
    }

    /** Renames the finished {@code tmp} to {@code dir}; when another process was first, keeps its copy. */
    private static void publishDir(Path tmp, Path dir) throws IOException {
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(dir.getParent());
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            // built concurrently: the other copy is as good
        }
    }

    /** Writes {@code target} atomically, readable by all (the artifacts hold no secrets). */
    private static void writeAtomically(Path target, byte[] data) {
        try {
            Fs.writeAtomically(target, data, target.toAbsolutePath().getParent());
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + target + ": " + e.getMessage());
        }
    }

    private static void copyAtomically(Path from, Path to) {
        Path tmp = to.resolveSibling("." + to.getFileName() + "." + Protocol.newId() + ".tmp");
        try {
            Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Fs.fsyncDir(to.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + to + ": " + e.getMessage());
        } finally {
            deleteQuietly(tmp);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Fs.deleteTree(p);
        } catch (IOException e) {
            // a leftover temporary file; harmless
        }
    }

    private static String digest(byte[]... parts) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                md.update(java.nio.ByteBuffer.allocate(8).putLong(p.length).array());
                md.update(p);
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static byte[] resource(String name) {
        try (InputStream in = VmImages.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new DavitException(Kind.INTERNAL, "the resource " + RESOURCES + name + " is missing from davit");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot read the resource " + name + ": " + e.getMessage());
        }
    }

    private Path which(String name) {
        return new SandboxOptions(cacheDir, null, searchPath).which(name);
    }

    private Path tool(String name, String pkg) {
        Path p = which(name);
        if (p == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, name + " is not installed; install " + pkg);
        }
        return p;
    }

    private static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Writes initrd entries: root-owned, mtime 0, each with its own inode number. */
    private static final class Initrd {
        private final CpioArchiveOutputStream cpio;
        private long inode = 1;

        Initrd(CpioArchiveOutputStream cpio) {
            this.cpio = cpio;
        }

        void dir(String name) throws IOException {
            put(entry(name, CpioConstants.C_ISDIR | 0755, 0), null);
        }

        void file(String name, int mode, byte[] data) throws IOException {
            put(entry(name, CpioConstants.C_ISREG | mode, data.length), data);
        }

        void charDevice(String name, int mode, int major, int minor) throws IOException {
            CpioArchiveEntry e = entry(name, CpioConstants.C_ISCHR | mode, 0);
            e.setRemoteDeviceMaj(major);
            e.setRemoteDeviceMin(minor);
            put(e, null);
        }

        private CpioArchiveEntry entry(String name, int mode, long size) {
            CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name, size);
            e.setMode(mode);
            e.setInode(inode++);
            e.setNumberOfLinks(1);
            e.setUID(0);
            e.setGID(0);
            e.setTime(0);
            return e;
        }

        private void put(CpioArchiveEntry e, byte[] data) throws IOException {
            cpio.putArchiveEntry(e);
            if (data != null) {
                cpio.write(data);
            }
            cpio.closeArchiveEntry();
        }
    }
}
