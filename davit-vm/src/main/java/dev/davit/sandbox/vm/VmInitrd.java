package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.vm.VmImages.Kernel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;

/**
 * The microVM's initrd (see {@link VmImages#initrd}): a newc cpio, uncompressed, named after what it is made of and
 * cached next to its kernel.
 */
final class VmInitrd {
    /** Changes when the initrd's layout changes. */
    private static final byte[] INITRD_FORMAT = "davit-initrd-2 newc uncompressed".getBytes(StandardCharsets.UTF_8);

    /**
     * davit-agent's entry: init copies it to the guest's {@code /.davit/run} and runs it as PID 1
     * ({@code davit-agent init}), which starts it on the ports {@code davit.exec.N}.
     */
    static final String AGENT = "bin/davit-agent";

    private VmInitrd() {
    }

    /**
     * The initrd for {@code kernel} (cached next to it): an uncompressed newc cpio holding {@code /init} (resource
     * {@code vm/init.sh}), {@code /bin/busybox} (static), {@code /dev/console}, {@code /modules/*.ko} and
     * {@code /modules/order}; no davit-agent ({@link #current} puts this davit's in at boot). {@code busybox} is
     * {@link VmImages#busybox()}.
     */
    static Path build(Kernel kernel, byte[] busybox) {
        byte[] init = VmImages.resource("init.sh");
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
        VmImageFiles.writeAtomically(target, bytes.toByteArray());
        return target;
    }

    /**
     * {@link Machine#environment(Path)} as a VM of it boots: with this davit's init and davit-agent in its initrd
     * ({@link #current}, kept in the home's cache), whichever davit built it. davit-agent is the guest's PID 1 and the
     * only way into it, so an environment without an initrd (nothing to put them in) and a jar without davit-agent
     * (built without cargo) are refused.
     *
     * @param dir     the environment's directory
     * @param options the sandboxes' options (their home's cache)
     * @return the environment
     */
    static Machine.Environment booted(Path dir, dev.davit.sandbox.SandboxOptions options) {
        return booted(dir, options, jarAgent());
    }

    /** {@link #booted(Path, dev.davit.sandbox.SandboxOptions)} with {@code agent} as davit-agent (empty: none). */
    static Machine.Environment booted(Path dir, dev.davit.sandbox.SandboxOptions options, byte[] agent) {
        Machine.Environment env = bootable(dir, agent);
        Path state = options.stateDir().toAbsolutePath();
        Path cache = (state.getParent() == null ? state : state.getParent()).resolve("cache").resolve("vm")
                .resolve("initrds");
        return new Machine.Environment(env.dir(), env.vmlinux(), current(env.initrd(), cache, agent),
                env.rootfsImage());
    }

    /**
     * {@link Machine#environment(Path)}, refused in one line when no VM of it could boot: it has no initrd (nothing
     * to put davit's init and agent in), or {@code agent} is empty (a jar built without cargo).
     */
    static Machine.Environment bootable(Path dir, byte[] agent) {
        Machine.Environment env = Machine.environment(dir);
        if (env.initrd() == null) {
            throw new DavitException(Kind.USAGE, "microVM environment " + env.dir() + " has no initrd, which davit"
                    + " boots its init and davit-agent from; rebuild the environment with this davit");
        }
        if (agent.length == 0) {
            throw dev.davit.sandbox.agent.AgentProgram.missing();
        }
        return env;
    }

    /** {@link #bootable(Path, byte[])} with this jar's davit-agent: checked before a sandbox of it is made. */
    static Machine.Environment bootable(Path dir) {
        return bootable(dir, jarAgent());
    }

    /** {@link #current} by the environment's initrd (real path, size, modification time) and cache directory. */
    private static final java.util.concurrent.ConcurrentHashMap<String, Path> CURRENT =
            new java.util.concurrent.ConcurrentHashMap<>();
    /** The jar's davit-agent, read once per process (an empty array: it has none). */
    private static volatile byte[] jarAgent;

    private static byte[] jarAgent() {
        byte[] a = jarAgent;
        if (a == null) {
            a = dev.davit.sandbox.jail.Jail.agentBytes();
            jarAgent = a = a == null ? new byte[0] : a;
        }
        return a;
    }


    /**
     * The initrd a VM of an environment boots: the environment's own, with this davit's {@code /init} and
     * davit-agent ({@link #AGENT}) in place of whatever it held (its modules and busybox kept), so that every
     * microVM, whichever davit built its environment, runs this davit's init and agent as its PID 1. Built once
     * into {@code cacheDir}, named after what it is made of.
     *
     * @param envInitrd the environment's initrd
     * @param cacheDir  where the refreshed initrds are kept
     * @param agent     davit-agent's bytes
     * @return the initrd to boot
     */
    static Path current(Path envInitrd, Path cacheDir, byte[] agent) {
        String key;
        try {
            Path real = envInitrd.toRealPath();
            var a = Files.readAttributes(real, java.nio.file.attribute.BasicFileAttributes.class);
            if (a.size() > MAX_INITRD) {
                // an environment is anyone's artifact: its initrd is read on the host, so it is bounded first
                throw new DavitException(Kind.USAGE, "the initrd " + envInitrd + " has " + a.size() + " bytes, more"
                        + " than the " + (MAX_INITRD >> 20) + " MiB a microVM's initrd may have; rebuild the"
                        + " environment");
            }
            key = real + "\n" + a.size() + "\n" + a.lastModifiedTime().toMillis() + "\n" + cacheDir.toAbsolutePath();
        } catch (IOException e) {
            throw new DavitException(Kind.NOT_FOUND, "the initrd " + envInitrd + " cannot be read: " + e.getMessage());
        }
        // a cached name whose file went (a cleaned cache) is made again
        return CURRENT.compute(key + "\n" + agent.length, (k, known) -> known != null && Files.isRegularFile(known)
                ? known : refreshed(envInitrd, cacheDir, k, agent));
    }

    /** The most bytes an environment's initrd may have: it is read (streamed) on the host. */
    static final long MAX_INITRD = 256L << 20;

    private static Path refreshed(Path envInitrd, Path cacheDir, String key, byte[] agent) {
        byte[] init = VmImages.resource("init.sh");
        // hashed here, on a miss only (once per environment and process): a cache keyed by the array's identity
        // could give one agent's digest to another
        String agentDigest = digest(agent);
        Path target = cacheDir.resolve("initrd-" + digest(INITRD_FORMAT, init, agentDigest.getBytes(
                StandardCharsets.UTF_8), key.getBytes(StandardCharsets.UTF_8)).substring(0, 24));
        if (Files.isRegularFile(target)) {
            return target;
        }
        Path tmp;
        try {
            Files.createDirectories(cacheDir);
            tmp = Files.createTempFile(cacheDir, ".initrd-", ".tmp");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write into " + cacheDir + ": " + e.getMessage());
        }
        // streamed entry by entry into a file of the cache: nothing of the environment's initrd is held in memory
        try (var in = new org.apache.commons.compress.archivers.cpio.CpioArchiveInputStream(
                new java.io.BufferedInputStream(Files.newInputStream(envInitrd)));
             CpioArchiveOutputStream cpio = new CpioArchiveOutputStream(new java.io.BufferedOutputStream(
                     Files.newOutputStream(tmp)), CpioConstants.FORMAT_NEW)) {
            Initrd w = new Initrd(cpio);
            for (CpioArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                String name = e.getName().startsWith("./") ? e.getName().substring(2) : e.getName();
                if (name.equals("init") || name.equals(AGENT) || name.isEmpty() || name.equals(".")) {
                    continue;
                }
                CpioArchiveEntry copy = w.entry(name, (int) e.getMode(), e.getSize());
                if (e.isCharacterDevice() || e.isBlockDevice()) {
                    copy.setRemoteDeviceMaj(e.getRemoteDeviceMaj());
                    copy.setRemoteDeviceMin(e.getRemoteDeviceMin());
                }
                cpio.putArchiveEntry(copy);
                if (in.transferTo(cpio) != e.getSize()) {
                    throw new IOException(name + " ends before its " + e.getSize() + " bytes");
                }
                cpio.closeArchiveEntry();
            }
            w.file("init", 0755, init);
            w.file(AGENT, 0755, agent);
            cpio.finish();
        } catch (IOException | IllegalArgumentException e) {
            delete(tmp);
            throw new DavitException(Kind.STORE, "cannot put this davit's init into the initrd " + envInitrd + ": "
                    + e.getMessage() + " (rebuild the environment)");
        }
        try {
            Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            delete(tmp);
            throw new DavitException(Kind.STORE, "cannot write " + target + ": " + e.getMessage());
        }
        return target;
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a temporary file of davit's own cache
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

        CpioArchiveEntry entry(String name, int mode, long size) {
            CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name, size);
            e.setMode(mode);
            e.setInode(inode++);
            e.setNumberOfLinks(1);
            e.setUID(0);
            e.setGID(0);
            e.setTime(0);
            return e;
        }

        void put(CpioArchiveEntry e, byte[] data) throws IOException {
            cpio.putArchiveEntry(e);
            if (data != null) {
                cpio.write(data);
            }
            cpio.closeArchiveEntry();
        }
    }
}
