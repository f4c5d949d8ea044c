package dev.davit.sandbox;

import dev.davit.sandbox.vm.VmImages;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The small busybox microVM environment of the vm tests: a Debian kernel, its initrd and a busybox root
 * filesystem with davit's guest files as rootfs.ext4. Built once into a cache shared by test runs
 * ({@code -Ddavit.test.cache=DIR}, default {@code ~/.cache/davit-test}): the kernel is downloaded once, and the
 * environment is rebuilt only when the guest scripts, the kernel or busybox change.
 */
public final class VmTestEnvironment {
    private static Path env;

    private VmTestEnvironment() {
    }

    /** Skips the test when the tools are missing (fails on CI). */
    public static void assumeTools() {
        Tools.assumeAvailable("qemu-system-x86_64", "qemu-img", "mkfs.ext4", "apt-get", "apt-cache", "dpkg-deb",
                "busybox", "xz");
    }

    public static Path cacheDir() {
        String dir = System.getProperty("davit.test.cache");
        Path base = dir != null ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".cache", "davit-test");
        return base.resolve("vm");
    }

    /** The environment directory: vmlinux, initrd, rootfs.ext4. */
    public static synchronized Path get() throws IOException {
        assumeTools();
        if (env != null) {
            return env;
        }
        VmImages images = new VmImages(cacheDir());
        VmImages.Kernel kernel = images.kernel();
        Path initrd = images.initrd(kernel);
        String key = digest("initrd-v3".getBytes(StandardCharsets.UTF_8),
                kernel.packageName().getBytes(StandardCharsets.UTF_8), VmImages.resource("init.sh"), images.busybox(),
                Files.readAllBytes(initrd));
        Path dir = cacheDir().resolve("envs").resolve(key.substring(0, 16));
        if (!Files.isRegularFile(dir.resolve("rootfs.ext4"))) {
            Path work = Files.createTempDirectory(cacheDir(), ".env-");
            try {
                Path rootfs = BusyboxRootfs.populate(work.resolve("rootfs"));
                Path out = work.resolve("env");
                images.buildEnvironment(rootfs, out);
                Files.createDirectories(dir.getParent());
                try {
                    Files.move(out, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                    // another run was first
                }
            } finally {
                dev.davit.oci.internal.Fs.deleteTree(work);
            }
        }
        // environments of older guest scripts or kernels are of no use any more (each holds a 60 MB vmlinux)
        try (var others = Files.list(dir.getParent())) {
            for (Path o : others.filter(o -> !o.equals(dir)).toList()) {
                dev.davit.oci.internal.Fs.deleteTree(o);
            }
        }
        env = dir;
        return dir;
    }

    static String digest(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                md.update(Long.toString(p.length).getBytes(StandardCharsets.UTF_8));
                md.update(p);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
