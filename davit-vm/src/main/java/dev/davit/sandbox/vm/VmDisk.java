package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.backend.OfflineDisk;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.jail.IdRange;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.jail.Jail.RootEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * The disk of a stopped microVM, read offline ({@link OfflineDisk}). Its {@code vmm/disk.qcow2} was written by QEMU
 * for the guest (both hostile), so nothing of it is taken on trust:
 * <ul>
 * <li>the overlay's header must claim no more than the environment's rootfs.ext4 holds, and its backing file is
 *     not the one the header names: {@code qemu-img convert --image-opts} is told the environment's rootfs.ext4;</li>
 * <li>{@code qemu-img convert} writes a raw copy (sparse) into a fresh {@code vmm/.disk-XXXX/}, and
 *     {@code debugfs -c -n} (catastrophic mode: read-only, no bitmaps; no checksum verification) reads it; both run
 *     as a VMM does ({@link Jail#vmmLauncher}: as root a uid of its own, no capabilities, no_new_privs and, with
 *     davit-exec, a root of its own holding only its program's files, the VMM directory and the rootfs), each within
 *     a time limit, debugfs's output capped by the caller;</li>
 * <li>debugfs only ever writes files the caller names ({@code dump <INODE> DUMP/N}) into {@code .disk-XXXX/dump/},
 *     which only it writes to; nothing from the disk becomes a host path.</li>
 * </ul>
 * The file system is never mounted on the host, and the VM is never booted.
 */
final class VmDisk implements OfflineDisk {
    static final String DEBUGFS = "debugfs";
    /** How long qemu-img may take to copy the disk, and one debugfs run. */
    private static final long CONVERT_SECONDS = Long.getLong("davit.vm.diskConvertSeconds", 600);
    private static final long DEBUGFS_SECONDS = Long.getLong("davit.vm.debugfsSeconds", 600);
    private static final String RAW = "disk.raw";
    private static final String DUMP = "dump";

    private final SandboxOptions options;
    private final String sandboxId;
    private final Path vmm;
    private final Path rootfs;
    private final Path debugfs;
    /** The work directory's name in {@code vmm/}. */
    private final String work;

    private VmDisk(SandboxOptions options, String sandboxId, Path vmm, Path rootfs, Path debugfs, String work) {
        this.options = options;
        this.sandboxId = sandboxId;
        this.vmm = vmm;
        this.rootfs = rootfs;
        this.debugfs = debugfs;
        this.work = work;
    }

    /** Copies the disk of stopped sandbox {@code s} (state directory {@code state}) to read it. */
    static VmDisk open(SandboxOptions options, Sandbox s, Path state) {
        Path debugfs = options.which(DEBUGFS);
        if (debugfs == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, "debugfs is not installed; install the e2fsprogs package (davit"
                    + " reads a stopped microVM's disk with it)");
        }
        Path qemuImg = options.which(Machine.QEMU_IMG);
        if (qemuImg == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Machine.QEMU_IMG + " is not installed; install the qemu-utils"
                    + " package");
        }
        Path rootfs;
        try {
            rootfs = Machine.environment(s.spec().rootfs()).rootfsImage().toRealPath();
        } catch (IOException e) {
            throw new DavitException(Kind.NOT_FOUND, "microVM environment " + s.spec().rootfs() + ": "
                    + e.getMessage());
        }
        Path vmm = state.resolve(Machine.VMM);
        long claimed = virtualSize(vmm, s.id());
        long backing;
        try {
            backing = Files.size(rootfs);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + rootfs + ": " + e.getMessage());
        }
        if (claimed > backing) {
            throw new DavitException(Kind.USAGE, "the disk of sandbox " + s.id() + " claims " + claimed + " bytes,"
                    + " more than its environment's rootfs.ext4 (" + backing + "); it was not made by davit and is not"
                    + " read");
        }
        String work = ".disk-" + dev.davit.oci.internal.RandomHex.of(6);
        VmDisk d = new VmDisk(options, s.id(), vmm, rootfs, debugfs, work);
        try {
            Path w = vmm.resolve(work);
            Files.createDirectory(w);
            Files.createDirectory(w.resolve(DUMP));
            if (Jail.active()) { // the VMM's uid writes them
                long[] ids = Jail.vmmIds(s.id());
                for (Path p : List.of(w, w.resolve(DUMP))) {
                    Files.setAttribute(p, "unix:gid", (int) ids[1], LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(p, "unix:uid", (int) ids[0], LinkOption.NOFOLLOW_LINKS);
                }
            }
            d.convert(qemuImg);
            return d;
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e instanceof DavitException x ? x : new DavitException(Kind.STORE, "cannot copy the disk of"
                    + " sandbox " + s.id() + ": " + e.getMessage());
        }
    }

    /** The virtual size {@code vmm/disk.qcow2}'s header claims (read without following a link). */
    private static long virtualSize(Path vmm, String id) {
        try (Dir d = Dir.open(vmm, "the VMM's directory"); Dir.Opened f = d.openFile("disk.qcow2");
             FileChannel c = f.read()) {
            ByteBuffer h = ByteBuffer.allocate(32);
            while (h.hasRemaining() && c.read(h) >= 0) {
                // the header's first 32 bytes
            }
            if (h.position() < 32 || h.getInt(0) != 0x514649fb) {
                throw new DavitException(Kind.USAGE, "the disk of sandbox " + id + " is not a qcow2 image; it was"
                        + " not made by davit and is not read");
            }
            long size = h.getLong(24);
            return size < 0 ? Long.MAX_VALUE : size;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, "sandbox " + id + " has no disk yet (it never started)");
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read the disk of sandbox " + id + ": " + e.getMessage());
        }
    }

    /** The raw copy, by qemu-img, jailed; the overlay's backing file forced to the environment's rootfs. */
    private void convert(Path qemuImg) {
        Jail.Action<Accel.Result> run = jail -> Accel.runQemu(jail.apply(launcher(qemuImg, (v, r) -> List.of(
                qemuImg.toString(), "convert", "-q", "--image-opts", "driver=qcow2,file.driver=file,file.filename="
                        + opt(v.resolve("disk.qcow2")) + ",backing.driver=raw,backing.file.driver=file,"
                        + "backing.file.filename=" + opt(r), "-O", "raw", v.resolve(work).resolve(RAW).toString()))),
                CONVERT_SECONDS);
        Accel.Result r = jailed(run);
        if (r.exit() != 0) {
            throw new DavitException(r.timedOut() ? Kind.USAGE : Kind.STORE, "cannot copy the disk of sandbox "
                    + sandboxId + ": " + (r.timedOut() ? "qemu-img took more than " + CONVERT_SECONDS + " s"
                    : r.describe()));
        }
    }

    /** A value for QEMU's option syntax: a comma doubled. */
    private static String opt(Path p) {
        return p.toString().replace(",", ",,");
    }

    @Override
    public long debugfs(List<String> requests, OutputStream out, long maxOutput) {
        StringBuilder in = new StringBuilder();
        for (String r : requests) {
            if (r.indexOf('\n') >= 0 || r.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("a debugfs request spans lines: " + r);
            }
            in.append(r).append('\n');
        }
        return jailed(jail -> {
            try {
                return run(jail.apply(launcher(debugfs, (v, r) -> List.of(debugfs.toString(), "-c", "-n", "-f", "-",
                        v.resolve(work).resolve(RAW).toString()))), in.toString(), out, maxOutput);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot run debugfs on the disk of sandbox " + sandboxId + ": "
                        + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.USAGE, "reading the disk of sandbox " + sandboxId + " was cancelled");
            }
        });
    }

    /** Runs {@code cmd} with {@code input} on its standard input, its output to {@code out} (capped). */
    private long run(List<String> cmd, String input, OutputStream out, long maxOutput) throws IOException,
            InterruptedException {
        Process p = new ProcessBuilder(cmd).start();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread errs = new Thread(() -> {
            try (InputStream e = p.getErrorStream()) {
                byte[] buf = new byte[8192];
                int n;
                while ((n = e.read(buf)) >= 0) {
                    if (err.size() < 16 << 10) {
                        err.write(buf, 0, n);
                    }
                }
            } catch (IOException ignored) {
                // debugfs is gone
            }
        }, "debugfs-stderr");
        errs.setDaemon(true);
        errs.start();
        Thread feed = new Thread(() -> {
            try (OutputStream stdin = p.getOutputStream()) {
                stdin.write(input.getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // debugfs ended before it read everything: its output tells
            }
        }, "debugfs-stdin");
        feed.setDaemon(true);
        feed.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEBUGFS_SECONDS);
        Thread watchdog = new Thread(() -> {
            try {
                if (!p.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }, "debugfs-timeout");
        watchdog.setDaemon(true);
        watchdog.start();
        long total = 0;
        try (InputStream stdout = p.getInputStream()) {
            byte[] buf = new byte[64 << 10];
            int n;
            while ((n = stdout.read(buf)) >= 0) {
                long room = maxOutput - total;
                if (n > room) {
                    out.write(buf, 0, (int) Math.max(0, room));
                    total = maxOutput + 1;
                    p.destroyForcibly();
                    break;
                }
                out.write(buf, 0, n);
                total += n;
            }
        } finally {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            watchdog.interrupt();
            errs.join(2000);
        }
        if (total <= maxOutput) {
            if (System.nanoTime() > deadline) {
                throw new DavitException(Kind.USAGE, "reading the disk of sandbox " + sandboxId + " took more than "
                        + DEBUGFS_SECONDS + " s; read a part of it");
            }
            if (p.exitValue() != 0) {
                String e = err.toString(StandardCharsets.UTF_8).strip();
                throw new DavitException(Kind.STORE, "debugfs cannot read the disk of sandbox " + sandboxId + ": "
                        + (e.isEmpty() ? "exit " + p.exitValue() : e.lines().reduce((a, b) -> b).orElse(e)));
            }
        }
        return total;
    }

    @Override
    public String dumpPath() {
        return (Jail.active() ? Jail.DIR.resolve(Machine.VMM) : vmm).resolve(work).resolve(DUMP).toString();
    }

    @Override
    public Path dumpDir() {
        return vmm.resolve(work).resolve(DUMP);
    }

    /**
     * The command that runs {@code program} as a VMM: {@code args} gets the VMM directory and the rootfs as the
     * program sees them.
     */
    private List<String> launcher(Path program, BiFunction<Path, Path, List<String>> args) {
        if (!Jail.active()) {
            return Jail.vmmLauncher(options, sandboxId, List.of(), args.apply(vmm, rootfs));
        }
        Path dir = Jail.DIR;
        List<RootEntry> view = List.of(new RootEntry(RootEntry.Kind.RW, dir.resolve(Machine.VMM).toString(),
                dir.resolve(Machine.VMM).toString()), RootEntry.readOnly(dir.resolve("rootfs.ext4")));
        return Jail.vmmLauncher(options, sandboxId, VmmRoot.of(program, false, view),
                args.apply(dir.resolve(Machine.VMM), dir.resolve("rootfs.ext4")));
    }

    /**
     * Runs {@code action} where the jailed VMM's view is at hand (as root: {@code vmm/} and the rootfs, idmapped
     * read-only, under {@link Jail#DIR}; see {@link Machine#confined}).
     */
    private <T> T jailed(Jail.Action<T> action) {
        Map<String, Path> binds = Jail.binds();
        binds.put(Machine.VMM, vmm);
        Map<String, Path> files = new LinkedHashMap<>();
        files.put("rootfs.ext4", rootfs);
        long[] ids = Jail.vmmIds(sandboxId);
        return Jail.runWithBinds(options, binds, files, new IdRange(ids[0], ids[1], 1), action);
    }

    /** Deletes the copy and what was dumped (through a Dir: a link left there is removed, never followed). */
    @Override
    public void close() {
        try (Dir d = Dir.open(vmm, "the VMM's directory")) {
            d.delete(work);
        } catch (IOException | RuntimeException ignored) {
            // best effort: a leftover .disk-* directory goes with the sandbox
        }
    }
}
