package dev.davit.sandbox.jail;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.SandboxOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A container sandbox's disk of its own ({@code Limits.diskMiB}), as root: a filesystem of that size mounted on
 * {@code STATE/disk} ({@link #MOUNT}) that holds the sandbox's overlay layer ({@code upper}, {@code work}) and its
 * scratch directories ({@code tmp}, {@code run}, {@code var-tmp}, {@code shm}), so that all the sandbox writes
 * together is bounded and a write past it fails with ENOSPC there, never on the host's filesystem.
 *
 * <ul>
 *   <li>A long-lived sandbox: a sparse ext4 image {@code STATE/disk.img} (made once, about 20 ms), loop-mounted
 *       {@code nosuid,nodev,discard} in the host's mount namespace from its creation to its removal, so its files
 *       stay reachable on the host while it is stopped; mounted again by {@link #ensureMounted} after a reboot.
 *       The image takes on the host only what is written in it ({@code discard} gives deleted blocks back).</li>
 *   <li>A one-shot run: a tmpfs of that size ({@code nosuid,nodev}) on {@code STATE/disk}, unmounted with the run;
 *       its pages are charged to the sandbox's memory cgroup (they are its writes), so the memory limit bounds it
 *       too.</li>
 * </ul>
 *
 * Without root davit cannot mount either: a sandbox has no disk of its own (see docs/reference/sandbox/LIMITS.md).
 */
public final class Disk {
    /** The mount point under a sandbox's state directory. */
    public static final String MOUNT = "disk";
    /** A long-lived sandbox's ext4 image under its state directory. */
    static final String IMAGE = "disk.img";
    /** Less room than this left on a sandbox's disk counts as full (ext4 keeps a little back from writers). */
    static final long FULL_BELOW = 1 << 20;

    private Disk() {
    }

    /** Whether sandboxes get a disk of their own here: only as root (the mounts need it). */
    public static boolean available() {
        return Jail.active();
    }

    /**
     * Where a sandbox's layer and scratch directories are: {@code STATE/disk} when it has a disk, else
     * {@code STATE} itself (no disk limit, rootless, or a sandbox made before davit had disks).
     */
    public static Path root(Path state) {
        Path d = state.resolve(MOUNT);
        return Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) ? d : state;
    }

    /**
     * Makes a long-lived sandbox's disk of {@code mib} MiB and mounts it ({@link #ensureMounted}).
     *
     * @throws DavitException STORE when the image cannot be made or mounted
     */
    public static void create(SandboxOptions options, Path state, long mib) {
        Path image = state.resolve(IMAGE);
        try {
            Files.deleteIfExists(image);
            try (var f = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                f.write(java.nio.ByteBuffer.allocate(1), (mib << 20) - 1); // sparse: nothing taken yet
            }
            Files.setAttribute(image, "unix:mode", 0600);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create the sandbox's disk " + image + ": " + e.getMessage());
        }
        try {
            // no reserved blocks (the sandbox's root may use it all), tables written lazily (fast), root 0:0, 0755
            run(options, "mkfs.ext4", List.of("-q", "-F", "-m", "0", "-E",
                    "lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=0:0", image.toString()));
            ensureMounted(options, state);
        } catch (DavitException e) {
            try {
                Files.deleteIfExists(image); // not half a disk: the sandbox is not made
            } catch (IOException ignored) {
                // the error below matters more
            }
            throw e;
        }
    }

    /**
     * Mounts a long-lived sandbox's disk image on {@code STATE/disk} when it is not mounted there (the first time,
     * and after a reboot); nothing for a sandbox without one.
     *
     * @throws DavitException STORE when it cannot be mounted
     */
    public static void ensureMounted(SandboxOptions options, Path state) {
        Path image = state.resolve(IMAGE);
        if (!Files.isRegularFile(image, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        thawLeftover(options, state);
        Path point = state.resolve(MOUNT);
        try {
            Files.createDirectories(point);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create " + point + ": " + e.getMessage());
        }
        if (mounted(state)) {
            return;
        }
        run(options, "mount", List.of("-t", "ext4", "-o", "loop,nosuid,nodev,noatime,discard", image.toString(),
                point.toString()));
    }

    /**
     * Mounts the saved copy of a disk in {@code state} ({@link #copy}) read-only on {@code STATE/disk} for a read
     * (its journal not replayed, nothing of it written), when it is not mounted there; nothing without one.
     * {@link #release} unmounts it.
     *
     * @throws DavitException STORE when it cannot be mounted
     */
    public static void mountSavedReadOnly(SandboxOptions options, Path state) {
        Path image = state.resolve(IMAGE);
        if (!Files.isRegularFile(image, LinkOption.NOFOLLOW_LINKS) || mounted(state)) {
            return;
        }
        Path point = state.resolve(MOUNT);
        try {
            Files.createDirectories(point);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create " + point + ": " + e.getMessage());
        }
        run(options, "mount", List.of("-t", "ext4", "-o", "loop,ro,noload,nosuid,nodev,noexec", image.toString(),
                point.toString()));
    }

    /** With no memory limit, a tmpfs disk is at most this share of the host's RAM: an eighth. */
    static final long RAM_SHARE = 8;

    /**
     * The size in MiB of a tmpfs that holds a sandbox's disk (as root, a one-shot run's) or one of its scratch
     * directories: its disk limit ({@code 0}: none, the kernel's default size). A tmpfs's pages are charged to the
     * sandbox's memory cgroup; with no memory limit nothing bounds them but this, so then the size is at most an
     * eighth of the host's RAM (at least {@link dev.davit.sandbox.Limits#MIN_DISK_MIB}): a run with
     * {@code --memory 0} does not get 10 GiB of host RAM for files.
     *
     * @param limits the sandbox's limits, as enforced here
     * @return the size in MiB, 0 for none
     */
    public static long tmpfsMiB(dev.davit.sandbox.Limits limits) {
        long disk = limits.diskMiB();
        if (disk == 0 || limits.memoryMiB() > 0) {
            return disk;
        }
        return Math.min(disk, Math.max(dev.davit.sandbox.Limits.MIN_DISK_MIB, memTotalMiB() / RAM_SHARE));
    }

    /** The host's RAM in MiB ({@code MemTotal} of /proc/meminfo); a large number when it cannot be read. */
    static long memTotalMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) >> 10;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // no /proc: the disk limit alone
        }
        return Long.MAX_VALUE;
    }

    /**
     * Mounts a one-shot run's disk: a tmpfs of {@code mib} MiB on {@code STATE/disk}.
     *
     * @throws DavitException STORE when it cannot be mounted
     */
    public static void mountTmpfs(SandboxOptions options, Path state, long mib) {
        Path point = state.resolve(MOUNT);
        try {
            Files.createDirectory(point);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create " + point + ": " + e.getMessage());
        }
        // by the tool, not the FFM API: the FFM linker's first call costs some 100 ms, a mount(8) a few
        run(options, "mount", List.of("-t", "tmpfs", "-o", "nosuid,nodev,mode=0755,size=" + mib + "m", "tmpfs",
                point.toString()));
    }

    /**
     * Unmounts the sandbox's disk from {@code STATE/disk} (before its state directory is deleted, or it stops
     * being used); nothing when it is not mounted. Lazily: a process still in there keeps it until it ends.
     */
    public static void release(SandboxOptions options, Path state) {
        if (mounted(state)) {
            run(options, "umount", List.of("-l", state.resolve(MOUNT).toString()));
        }
    }

    /** The mark of a disk frozen for a copy ({@link #copy}), in the state directory. */
    static final String FROZEN = "disk.frozen";
    /** How long a disk's copy may take (its filesystem is frozen meanwhile). */
    static final long COPY_SECONDS = 1800;

    /** Whether the sandbox of state directory {@code state} has a disk of its own ({@code STATE/disk.img}). */
    public static boolean exists(Path state) {
        return Files.isRegularFile(state.resolve(IMAGE), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Copies the disk of the sandbox of state directory {@code from} to {@code to}'s {@code disk.img} (not mounted;
     * {@link #ensureMounted} mounts it), whole and consistent: while it is mounted its filesystem is frozen for the
     * copy ({@code fsfreeze}: the sandbox's writes wait, nothing is lost), so the copy is a clean filesystem as of one
     * moment. The copy is sparse (only the blocks written take room) and a copy-on-write clone where the host's
     * filesystem can make one. Only the image file is read: no name the sandbox chose is looked at.
     *
     * @throws DavitException STORE when it cannot be copied (nothing is left at {@code to})
     */
    public static void copy(SandboxOptions options, Path from, Path to) {
        Path image = from.resolve(IMAGE);
        Path copy = to.resolve(IMAGE);
        boolean freezing = false;
        try {
            if (mounted(from)) {
                // marked first, with the process that froze it: a davit killed while it is frozen leaves the mark,
                // and the next one to look thaws it; counted as frozen from before the freeze, so that a failure or
                // an interrupt at any point after it still thaws
                Files.writeString(from.resolve(FROZEN), ProcessHandle.current().pid() + " "
                        + dev.davit.sandbox.host.Host.startTime(ProcessHandle.current().pid()) + "\n");
                freezing = true;
                run(options, "fsfreeze", List.of("--freeze", from.resolve(MOUNT).toString()));
            }
            run(options, "cp", List.of("--reflink=auto", "--sparse=always", "--no-dereference", "--",
                    image.toString(), copy.toString()), COPY_SECONDS);
            Files.setAttribute(copy, "unix:mode", 0600);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(copy);
            } catch (IOException ignored) {
                // the error below matters more
            }
            throw e instanceof DavitException d ? d : new DavitException(Kind.STORE, "cannot copy the sandbox's disk "
                    + image + ": " + e.getMessage());
        } finally {
            if (freezing) {
                thaw(options, from);
            }
        }
    }

    /**
     * Unfreezes the disk of {@code state} (an interrupt of the calling thread waits until after it) and removes the
     * mark once it is thawed; a failed unfreeze leaves the mark for the next look.
     */
    private static void thaw(SandboxOptions options, Path state) {
        boolean interrupted = false;
        try {
            for (int attempt = 0; attempt < 5; attempt++) {
                interrupted |= Thread.interrupted();
                try {
                    run(options, "fsfreeze", List.of("--unfreeze", state.resolve(MOUNT).toString()));
                } catch (DavitException e) {
                    if (e.kind() == Kind.CANCELLED) { // an interrupt came meanwhile: once more, without it
                        interrupted = true;
                        continue;
                    }
                    if (!e.getMessage().contains("Invalid argument")) {
                        return; // the mark stays for the next look: it may still be frozen
                    }
                    // not frozen (the freeze failed, or an earlier try thawed it): fsfreeze says so (EINVAL)
                }
                Files.deleteIfExists(state.resolve(FROZEN));
                return;
            }
        } catch (IOException e) {
            // the mark stays: the next look thaws again, which does no harm
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }


    /**
     * Replaces the disk of the stopped sandbox of state directory {@code state} with the copy in {@code from} (made
     * by {@link #copy}): unmounted, the copy made beside it and renamed over it (a crash leaves the old disk or the
     * new one), mounted again.
     *
     * @throws DavitException STORE when it cannot be copied or mounted
     */
    public static void restore(SandboxOptions options, Path from, Path state) {
        Path fresh = state.resolve(IMAGE + ".new");
        try {
            Files.deleteIfExists(fresh);
            run(options, "cp", List.of("--reflink=auto", "--sparse=always", "--no-dereference", "--",
                    from.resolve(IMAGE).toString(), fresh.toString()), COPY_SECONDS);
            Files.setAttribute(fresh, "unix:mode", 0600);
            release(options, state);
            Files.move(fresh, state.resolve(IMAGE), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot restore the sandbox's disk from " + from + ": "
                    + e.getMessage());
        } finally {
            try {
                Files.deleteIfExists(fresh);
            } catch (IOException ignored) {
                // a leftover the next restore removes
            }
        }
        ensureMounted(options, state);
    }

    /**
     * Thaws the disk of the sandbox of state directory {@code state} when a davit killed during {@link #copy} left
     * it frozen (its mark is there); nothing otherwise. Before anything waits on its filesystem: a start, a stop,
     * a removal.
     */
    public static void thawLeftover(SandboxOptions options, Path state) {
        Path mark = state.resolve(FROZEN);
        if (!Files.exists(mark, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            String[] owner = Files.readString(mark).strip().split(" ");
            long pid = Long.parseLong(owner[0]);
            if (pid != ProcessHandle.current().pid()
                    && dev.davit.sandbox.host.Host.alive(pid, Long.parseLong(owner[1]))) {
                return; // its copy is under way in another davit, which thaws it when done
            }
        } catch (IOException | RuntimeException e) {
            // an unreadable mark: thawed all the same
        }
        thaw(options, state);
    }

    /** Whether a filesystem is mounted on {@code STATE/disk} (it is on another device than the state directory). */
    public static boolean mounted(Path state) {
        try {
            Object in = Files.getAttribute(state, "unix:dev", LinkOption.NOFOLLOW_LINKS);
            Object disk = Files.getAttribute(state.resolve(MOUNT), "unix:dev", LinkOption.NOFOLLOW_LINKS);
            return !in.equals(disk);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * How often a {@link Watch} looks at the disk's free space; less room than {@link #FULL_BELOW} counts as full:
     * the sandbox's writes fail with ENOSPC.
     */
    static final long WATCH_EVERY_MS = 50;

    /**
     * Watches the sandbox's disk while a command runs: {@link #full} says whether it filled up meanwhile (a look,
     * every {@link #WATCH_EVERY_MS} ms, found it full after one that found room) or was full at the end. So a
     * command that filled it and then deleted what it wrote is seen too (unless both happened between two looks),
     * and one that only freed room on a full disk is not. One thread of the process looks for every open watch (a
     * thread per command was one more start per exec); a look is one {@code statfs} of the disk's mount.
     */
    public static final class Watch implements AutoCloseable {
        private static final java.util.Set<Watch> OPEN = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private static Thread looker;
        /** How many looks the looker waits with no watch open before it ends (10 s). */
        private static final int LOOKER_IDLE_LOOKS = 200;

        private final java.io.File disk;
        private volatile boolean done;
        private boolean room;
        private volatile boolean seen;

        private Watch(java.io.File disk) {
            this.disk = disk;
            if (disk != null) {
                look(false);
                OPEN.add(this);
                wake();
            }
        }

        /** Starts the looker when none runs; it ends when no watch is open. */
        private static synchronized void wake() {
            if (looker == null) {
                // a platform thread: a cold JVM starts one faster than the virtual threads' scheduler
                looker = Thread.ofPlatform().daemon().name("davit-disk-watch").start(Watch::lookEvery);
            }
        }

        private static void lookEvery() {
            for (int idle = 0; ; ) {
                try {
                    Thread.sleep(WATCH_EVERY_MS);
                } catch (InterruptedException e) {
                    // not interrupted by davit: go on
                }
                synchronized (Watch.class) {
                    // kept a while when none is open: the next command of a busy client finds it running
                    idle = OPEN.isEmpty() ? idle + 1 : 0;
                    if (idle > LOOKER_IDLE_LOOKS) {
                        looker = null;
                        return;
                    }
                }
                for (Watch w : OPEN) {
                    if (!w.done && !w.seen) {
                        w.look(false);
                    }
                }
            }
        }

        private synchronized void look(boolean last) {
            if (done && !last) {
                return; // the looker's look after the close's last one: the command's watch is over
            }
            long free = disk.getUsableSpace(); // 0 also when it cannot be asked (gone): then nothing is seen
            if (free == 0 && !disk.isDirectory()) {
                return;
            }
            boolean full = free < FULL_BELOW;
            if (full && (room || last)) {
                seen = true;
            }
            room |= !full;
        }

        /** Stops watching, with a last look. */
        @Override
        public void close() {
            if (disk == null || done) {
                return;
            }
            done = true;
            OPEN.remove(this);
            look(true);
        }

        /** Whether the disk filled up while watched, or was full at {@link #close}. */
        public boolean full() {
            return seen;
        }
    }

    /** A {@link Watch} of the disk of the sandbox whose state directory is {@code state} (no disk: sees nothing). */
    public static Watch watch(Path state) {
        return new Watch(mounted(state) ? state.resolve(MOUNT).toFile() : null);
    }


    private static void run(SandboxOptions options, String tool, List<String> args) {
        run(options, tool, args, 60);
    }

    private static void run(SandboxOptions options, String tool, List<String> args, long seconds) {
        Path exe = options.which(tool);
        if (exe == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of(tool + " (util-linux or e2fsprogs) is not installed; a"
                    + " sandbox's disk limit (", Input.DISK, ") needs it as root, or create the sandbox with ",
                    Input.DISK, " 0"));
        }
        List<String> cmd = new ArrayList<>(List.of(exe.toString()));
        cmd.addAll(args);
        Process p = null;
        Path said = null;
        try {
            // what the tool says goes to a file of its own (0600), read once it has ended: a pipe read beside the
            // wait can lose the last words to the JDK's drain at the process's exit, and a thaw decides by them
            said = outputFile(tool);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(said.toFile());
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            p = pb.start();
            boolean ended = p.waitFor(seconds, TimeUnit.SECONDS);
            if (!ended || p.exitValue() != 0) {
                p.destroyForcibly();
                p.onExit().join();
                String words = ended ? firstWords(said) + " (exit " + p.exitValue() + ")"
                        : "it did not end within " + seconds + " s";
                throw new DavitException(Kind.STORE, "cannot set up the sandbox's disk: " + tool + " failed: " + words);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot run " + exe + ": " + e.getMessage());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            // ended for real before this returns: a KILLed fsfreeze finishes its freeze first, and a thaw must
            // come after it, not before
            p.onExit().join();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while setting up the sandbox's disk");
        } finally {
            if (said != null) {
                try {
                    Files.deleteIfExists(said);
                } catch (IOException ignored) {
                    // a few bytes in the temporary directory
                }
            }
        }
    }

    /**
     * A new, empty file (0600) in the temporary directory for what {@code tool} says: as
     * {@link Files#createTempFile}, named by {@link dev.davit.oci.internal.RandomHex}, whose first use does not build
     * the security providers as a {@code SecureRandom}'s does (a one-shot run used them for nothing else: ~5 ms).
     */
    private static Path outputFile(String tool) throws IOException {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"));
        for (int i = 0; ; i++) {
            try {
                return Files.createFile(dir.resolve("davit-" + tool + "-" + dev.davit.oci.internal.RandomHex.of(8)
                        + ".out"), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (i == 9) { // 64 random bits taken ten times: not chance
                    throw e;
                }
            }
        }
    }

    /** The first 4 KiB a tool wrote to {@code file}, on one line. */
    private static String firstWords(Path file) throws IOException {
        byte[] b = new byte[4096];
        int n;
        try (java.io.InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(b, 0, b.length);
        }
        return new String(b, 0, n, StandardCharsets.UTF_8).strip().replace('\n', ' ');
    }
}
