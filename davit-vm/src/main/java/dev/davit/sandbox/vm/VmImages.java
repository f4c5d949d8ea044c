package dev.davit.sandbox.vm;

import dev.davit.sandbox.elf.Elf;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

/**
 * Builds the artifacts of a microVM environment (see docs/reference/sandbox/VM.md, "The vm backend"):
 *
 * <ul>
 *   <li>{@code vmlinux}: a Debian kernel ({@code linux-image-*} package, fetched with {@code apt-get download}),
 *       decompressed from its bzImage into the ELF image QEMU boots through PVH;</li>
 *   <li>{@code initrd}: a newc cpio (uncompressed) with a static busybox, the kernel modules the VM needs (virtio
 *       transports, block, console and network drivers, ext4, and their dependencies) and an {@code init} that
 *       loads them and mounts the root disk; a VM boots it with this davit's {@code init} and davit-agent put in
 *       ({@link VmInitrd#current}), and davit-agent is its PID 1;</li>
 *   <li>{@code rootfs.ext4}: an ext4 image of a root filesystem directory into which {@link #installGuest} put
 *       what davit-agent uses there (a static busybox, {@code /.davit/run}).</li>
 * </ul>
 *
 * Kernels and initrds are cached per kernel package under {@code <cacheDir>/kernels/<package>/} (built in a
 * temporary directory, then renamed into place), so a kernel is downloaded once. Every file this class writes is
 * written to a temporary file first and renamed over its target.
 *
 * <p>This class is the API and the guest side (busybox); the rest is the package's: {@link VmKernels}
 * (kernel packages, modules, the kernel cache), {@link VmInitrd}, {@link VmRootfsImage} (rootfs.ext4),
 * {@link VmImageTools} (the host programs run) and {@link VmImageFiles} (atomic writes).
 */
public final class VmImages {
    /** The Debian package whose dependency names the current kernel package. */
    public static final String KERNEL_META_PACKAGE = "linux-image-amd64";
    /** Where the guest side lives in a root filesystem. */
    public static final String GUEST_DIR = ".davit";

    private static final String RESOURCES = "/dev/davit/sandbox/vm/";

    private final Path cacheDir;
    private final VmImageTools tools;
    private final VmKernels kernels;
    private final VmRootfsImage rootfsImages;

    /** Caches under {@code cacheDir} (e.g. {@code $DAVIT_HOME/cache/vm}); tools from the process's PATH. */
    public VmImages(Path cacheDir) {
        this(cacheDir, null);
    }

    VmImages(Path cacheDir, String searchPath) {
        this.cacheDir = cacheDir.toAbsolutePath();
        this.tools = new VmImageTools(this.cacheDir, searchPath);
        this.kernels = new VmKernels(this.cacheDir, tools);
        this.rootfsImages = new VmRootfsImage(tools);
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
     * kernel ({@link #kernel()}), its {@link #initrd}, davit's guest files ({@link #installGuest}, which writes into
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
        VmImageFiles.copyAtomically(k.vmlinux(), vmlinux);
        VmImageFiles.copyAtomically(initrd, rd);
        buildRootfsImage(rootfsDir, image);
        return new Artifacts(vmlinux, rd, image);
    }

    /** The kernel that {@value #KERNEL_META_PACKAGE} currently depends on (see {@link #kernel(String)}). */
    public Kernel kernel() {
        return kernel(kernels.currentKernelPackage());
    }

    /**
     * The kernel of the Debian package {@code packageName} (e.g. {@code linux-image-6.1.0-56-amd64}), from the
     * cache or else downloaded with {@code apt-get download}: {@code vmlinux} decompressed from the package's
     * {@code /boot/vmlinuz-*}, and the modules of {@link VmKernels#MODULE_ROOTS} with their dependencies (read from
     * each module's {@code .modinfo}). Fails when the kernel cannot be booted by QEMU's PVH entry or lacks a driver
     * the VM needs.
     */
    public Kernel kernel(String packageName) {
        return kernels.kernel(packageName);
    }

    /**
     * The initrd for {@code kernel} (cached next to it): an uncompressed newc cpio holding {@code /init} (resource
     * {@code vm/init.sh}), {@code /bin/busybox} (static), {@code /dev/console}, {@code /modules/*.ko} and
     * {@code /modules/order}. davit-agent is not in it: a VM gets this davit's at boot ({@link VmInitrd#current}).
     */
    public Path initrd(Kernel kernel) {
        return VmInitrd.build(kernel, busybox());
    }

    /**
     * Puts the guest side into a root filesystem directory: {@code /.davit/busybox} (static, for davit-agent's set-up
     * of the guest's network) and the empty {@code /.davit/run} (where the initrd's init puts davit-agent, on a
     * tmpfs). davit-agent needs nothing else from the root filesystem.
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
            VmImageFiles.writeAtomically(dir.resolve("busybox"), busybox());
            Files.setPosixFilePermissions(dir.resolve("busybox"), PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot install davit's guest files in " + rootfsDir + ": "
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
        rootfsImages.build(rootfsDir, target, freeBytes, epoch, owners);
    }

    /** See {@link VmKernels#kernelDependency}. */
    static String kernelDependency(String aptCacheOutput) {
        return VmKernels.kernelDependency(aptCacheOutput);
    }

    /** See {@link VmKernels#loadOrder}. */
    static List<String> loadOrder(List<String> roots, Map<String, List<String>> deps) {
        return VmKernels.loadOrder(roots, deps);
    }

    /** See {@link VmKernels#parseConfig}. */
    static Map<String, String> parseConfig(String text) {
        return VmKernels.parseConfig(text);
    }

    /** See {@link VmKernels#decompressKernel}. */
    void decompressKernel(byte[] vmlinuz, Path target) throws IOException {
        kernels.decompressKernel(vmlinuz, target);
    }

    /** A static busybox: the host's when it is static, else extracted from Debian's busybox-static package. */
    public byte[] busybox() {
        Path host = tools.which("busybox");
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
            Path tmp = VmImageFiles.temporaryDir(cached);
            try {
                Path deb = tools.download("busybox-static", tmp);
                byte[][] found = new byte[1][];
                VmImageTools.streamTar(List.of(tools.tool("dpkg-deb", "dpkg").toString(), "--fsys-tarfile",
                                deb.toString()),
                        (name, in) -> {
                            if (name.matches("(\\./)?(usr/)?bin/busybox")) {
                                found[0] = in.readAllBytes();
                            }
                        });
                if (found[0] == null || !isStaticElf(found[0])) {
                    throw new DavitException(Kind.VERIFICATION, "busybox-static holds no static bin/busybox");
                }
                VmImageFiles.writeAtomically(cached, found[0]);
                return found[0];
            } finally {
                VmImageFiles.deleteQuietly(tmp);
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
}
