package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.Compression;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.vm.VmImages;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds an environment from a {@link BuildProfile}: a root filesystem (mmdebstrap from a Debian mirror, see
 * {@link DebianRootfs}, or the host's static busybox) with davit's guest files installed, made
 * reproducible (volatile files removed, every time set to the build epoch), then stored as a container image and
 * as a microVM environment (an OCI artifact of {@code vmlinux}, {@code initrd} and {@code rootfs.ext4}). Work
 * happens in {@code <workRoot>/.partial-*}, removed at the end, also on failure.
 *
 * <p>No root is needed: files are owned by whoever builds, and the owners the image and {@code rootfs.ext4}
 * carry come from mmdebstrap's tar (every other entry, davit's own files included, is root's). A root build and
 * a rootless build of the same profile, version, suite and epoch give the same digests.
 */
public final class EnvBuilder {
    /** The Debian mirror used when none is given. */
    public static final String DEFAULT_MIRROR = "http://deb.debian.org/debian";
    /** The Debian suite used when none is given. */
    public static final String DEFAULT_SUITE = "bookworm";
    /** Label naming the profile an image was built from. */
    public static final String PROFILE_LABEL = "dev.davit.env.profile";
    /** Label naming the environment version. */
    public static final String VERSION_LABEL = "dev.davit.env.version";
    /** The artifactType of a microVM environment. */
    public static final String MICROVM_ARTIFACT_TYPE = dev.davit.env.Environment.Kind.MICROVM_ARTIFACT_TYPE;
    /** Media type of the uncompressed ELF kernel (stored with {@code +zstd}, as all three files). */
    public static final String KERNEL_TYPE = "application/vnd.davit.env.kernel.v1";
    /** Media type of the initrd (a newc cpio). */
    public static final String INITRD_TYPE = "application/vnd.davit.env.initrd.v1";
    /** Media type of the ext4 root disk image. */
    public static final String EXT4_TYPE = "application/vnd.davit.env.ext4.v1";
    /**
     * Free space in a built rootfs.ext4 for the guest's writes: 128 MiB. The image is stored and pushed compressed
     * (its zeros cost next to nothing) but installed whole where a file system cannot hold holes, so the headroom is
     * kept modest; /tmp in the guest is what the agent's workdir uses.
     */
    public static final long VM_FREE_BYTES = 128L << 20;

    /** Files and directories whose content differs from build to build and that a fresh system does not need. */
    private static final List<String> VOLATILE = List.of("var/cache/apt/pkgcache.bin", "var/cache/apt/srcpkgcache.bin",
            "var/cache/ldconfig/aux-cache", "var/lib/dpkg/status-old", "var/lib/dpkg/diversions-old",
            "etc/shadow-", "etc/gshadow-", "etc/passwd-", "etc/group-", "etc/subuid-", "etc/subgid-");
    /** Directories emptied (kept themselves). */
    private static final List<String> EMPTIED = List.of("var/lib/apt/lists", "var/log", "var/cache/apt/archives",
            "tmp", "var/tmp", "run", "dev");

    /**
     * One build.
     *
     * @param profile  what to build
     * @param version  the environment's version (image tag and label)
     * @param imageTag the name the container image is stored as
     * @param suite    the Debian suite (debian profiles)
     * @param mirror   the Debian mirror (debian profiles)
     * @param epoch    the time every file and the image config carry (SOURCE_DATE_EPOCH; default the Unix epoch)
     * @param vmTag    the name the microVM environment artifact is stored as; null builds no microVM environment
     * @param vmCache  where the Debian kernel and initrd are cached (see {@link VmImages}); needed with a vmTag
     * @param layer    how the image's layer is compressed: gzip (the default; every runtime reads it) or zstd
     *                 (several times faster to write and read; what builds made on first use choose)
     */
    public record Options(BuildProfile profile, String version, String imageTag, String suite, String mirror,
                          Instant epoch, String vmTag, Path vmCache, Compression layer) {
        /** A build of the container image only. */
        public Options(BuildProfile profile, String version, String imageTag, String suite, String mirror,
                       Instant epoch) {
            this(profile, version, imageTag, suite, mirror, epoch, null, null);
        }

        /** A build with a gzip layer. */
        public Options(BuildProfile profile, String version, String imageTag, String suite, String mirror,
                       Instant epoch, String vmTag, Path vmCache) {
            this(profile, version, imageTag, suite, mirror, epoch, vmTag, vmCache, null);
        }

        public Options {
            Objects.requireNonNull(profile, "profile");
            Objects.requireNonNull(version, "version");
            Objects.requireNonNull(imageTag, "imageTag");
            suite = suite == null ? DEFAULT_SUITE : suite;
            mirror = mirror == null ? DEFAULT_MIRROR : mirror;
            epoch = epoch == null ? Instant.EPOCH : epoch;
            layer = layer == null ? Compression.GZIP : layer;
            if (!version.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
                throw new DavitException(Kind.USAGE, "version '" + version + "' is not usable as a tag; use letters,"
                        + " digits, '.', '_' and '-'");
            }
            if (vmTag != null && vmCache == null) {
                throw new IllegalArgumentException("a microVM build needs a vmCache");
            }
            if (!suite.matches("[a-z0-9-]+")) {
                throw new DavitException(Kind.USAGE, "suite '" + suite + "' is not a Debian suite name such as"
                        + " bookworm");
            }
        }
    }

    /**
     * What a build made.
     *
     * @param image the stored container image (null from {@link #microVm})
     * @param vm    the stored microVM environment artifact's manifest, or null when none was built
     * @param vmDir where its files are (vmlinux, initrd, rootfs.ext4), or null
     */
    public record Result(BuildProfile profile, String version, BuildResult image, Descriptor vm, Path vmDir) {
    }

    /**
     * Hears what a build does; called on the building thread. A lambda of one line per phase is a Listener too.
     */
    public interface Listener {
        /** A phase begins, e.g. {@code mmdebstrap bookworm (bash, coreutils) from URL, without root}. */
        void phase(String line);

        /** The phase begun last ended after {@code took}. */
        default void phaseDone(String line, java.time.Duration took) {
        }

        /**
         * Package downloads of the root filesystem phase: {@code done} of {@code total} packages so far ({@code
         * total} may grow when apt runs again for the remaining packages).
         */
        default void downloads(int done, int total) {
        }

        /**
         * A listener that tells {@code lines} each phase as it begins, how long it took, and the package downloads
         * at each quarter: what a library user's notices hear of a build.
         *
         * @param lines hears one line at a time
         * @return the listener
         */
        static Listener lines(java.util.function.Consumer<String> lines) {
            return new Listener() {
                private int shownQuarter = -1;

                @Override
                public void phase(String line) {
                    shownQuarter = -1;
                    lines.accept(line);
                }

                @Override
                public void phaseDone(String line, java.time.Duration took) {
                    lines.accept(line + ": done in " + took.toMillis() / 100 / 10.0 + " s");
                }

                @Override
                public void downloads(int done, int total) {
                    int quarter = total == 0 ? 0 : done * 4 / total;
                    if (quarter != shownQuarter) {
                        shownQuarter = quarter;
                        lines.accept("downloaded " + done + " of " + total + " packages");
                    }
                }
            };
        }
    }

    private final DavitClient client;
    private final Path workRoot;

    /** Builds with {@code client}'s store; scratch space under {@code workRoot} (e.g. {@code $DAVIT_HOME/builds}). */
    public EnvBuilder(DavitClient client, Path workRoot) {
        this.client = Objects.requireNonNull(client, "client");
        this.workRoot = Objects.requireNonNull(workRoot, "workRoot");
    }

    /**
     * Builds and stores the environment; {@code listener} hears the phases, how long each took, and the package
     * downloads. Before anything long starts, a Debian profile checks that mmdebstrap can run here (see
     * {@link DebianRootfs#probe()}) and fails naming what is missing.
     */
    public Result build(Options o, Listener listener, ProgressListener progress) {
        DebianRootfs.Mode mode = o.profile().debian() ? DebianRootfs.probe() : null;
        Phases phase = new Phases(listener);
        Path work = workRoot.resolve(".partial-" + o.profile().name() + "-" + UUID.randomUUID());
        try {
            Files.createDirectories(work);
            Path rootfs = work.resolve("rootfs");
            Map<String, BuildOptions.Owner> owners = Map.of();
            if (mode != null) {
                phase.begin("mmdebstrap " + o.suite() + " (" + String.join(", ", o.profile().packages()) + ") from "
                        + o.mirror() + (mode == DebianRootfs.Mode.ROOT ? ", as root" : ", without root (unshare)"));
                owners = DebianRootfs.build(o, mode, rootfs, work, work.resolve("mmdebstrap.log"), listener);
            } else {
                phase.begin("busybox root filesystem from the host's static busybox");
                busybox(rootfs);
            }
            VmImages vm = o.vmTag() == null ? null : new VmImages(o.vmCache());
            VmImages.Kernel kernel = null;
            if (vm != null) {
                phase.begin("Debian kernel and initrd (cached in " + o.vmCache() + ")");
                kernel = vm.kernel();
            }
            phase.begin("installing davit's guest files");
            (vm != null ? vm : new VmImages(work.resolve("vm-cache"))).installGuest(rootfs);
            phase.begin("making the root filesystem reproducible");
            describe(rootfs, o);
            normalize(rootfs, o.epoch());
            Map<String, BuildOptions.Owner> left = owners(rootfs, owners);
            phase.begin("storing the container image " + o.imageTag());
            BuildResult image = client.build(rootfs, o.imageTag(), imageOptions(o, left), progress);
            if (vm == null) {
                phase.end();
                return new Result(o.profile(), o.version(), image, null, null);
            }
            phase.begin("making rootfs.ext4 and storing the microVM environment " + o.vmTag());
            Descriptor md = makeVm(vm, kernel, rootfs, work, left, o.vmTag(), o.profile().name(), o.version(),
                    o.epoch());
            Path kept = kept(o.profile().name() + "-" + o.version(), work);
            phase.end();
            return new Result(o.profile(), o.version(), image, md, kept);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot build in " + work + ": " + e.getMessage()
                    + "; check free space and permissions");
        } finally {
            try {
                Fs.deleteTree(work);
            } catch (IOException e) {
                listener.phase("could not delete " + work + ": " + e.getMessage());
            }
        }
    }

    /**
     * Makes the microVM environment of container image {@code imageTag} (in the store; a Containerfile build's
     * result): its root filesystem unpacked, davit's guest files put in, Debian's current kernel (cached in
     * {@code vmCache}) and an initrd beside {@code rootfs.ext4}, stored as artifact {@code vmTag} with
     * {@code profile} and {@code version} as its labels. Without root the unpacked files are the builder's, and
     * {@code rootfs.ext4} makes every one root's.
     *
     * @param imageTag the container image
     * @param vmTag    the name to store the microVM environment as
     * @param vmCache  where the kernel is cached
     * @param epoch    the time every file and the file system record (reproducible), or null for the epoch
     * @param profile  what the artifact's profile label says, e.g. {@code containerfile}
     * @param version  its version label
     * @param listener hears the phases
     * @return the stored artifact's manifest and the directory its files are in (under this builder's work root)
     * @throws DavitException NOT_FOUND when the image is not in the store; STORE when it cannot be made
     */
    public Result microVm(String imageTag, String vmTag, Path vmCache, Instant epoch, String profile, String version,
                          Listener listener) {
        Instant time = epoch == null ? Instant.EPOCH : epoch;
        Phases phase = new Phases(listener);
        Path work = workRoot.resolve(".partial-vm-" + UUID.randomUUID());
        try {
            Files.createDirectories(work);
            Path rootfs = work.resolve("rootfs");
            phase.begin("unpacking " + imageTag);
            client.unpack(imageTag, rootfs);
            VmImages vm = new VmImages(vmCache);
            phase.begin("Debian kernel and initrd (cached in " + vmCache + ")");
            VmImages.Kernel kernel = vm.kernel();
            phase.begin("installing davit's guest files");
            vm.installGuest(rootfs);
            phase.begin("making rootfs.ext4 and storing the microVM environment " + vmTag);
            Descriptor md = makeVm(vm, kernel, rootfs, work, dev.davit.sandbox.jail.Jail.AS_ROOT ? null : Map.of(),
                    vmTag, profile, version, time);
            Path kept = kept(dev.davit.oci.reference.Reference.parse(vmTag).toString().replaceAll("[^A-Za-z0-9._-]",
                    "_"), work);
            phase.end();
            return new Result(null, version, null, md, kept);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot make the microVM environment in " + work + ": "
                    + e.getMessage() + "; check free space and permissions");
        } finally {
            try {
                Fs.deleteTree(work);
            } catch (IOException e) {
                listener.phase("could not delete " + work + ": " + e.getMessage());
            }
        }
    }

    /** The kernel, initrd and rootfs.ext4 of {@code rootfs} in {@code work/vm}, stored as {@code vmTag}. */
    private Descriptor makeVm(VmImages vm, VmImages.Kernel kernel, Path rootfs, Path work,
                              Map<String, BuildOptions.Owner> owners, String vmTag, String profile, String version,
                              Instant epoch) throws IOException {
        Path dir = work.resolve("vm");
        Files.createDirectories(dir);
        Files.copy(kernel.vmlinux(), dir.resolve("vmlinux"));
        Files.copy(vm.initrd(kernel), dir.resolve("initrd"));
        // reading the files (for the image, or unpacking them) moved their times: set all times again
        setTimes(rootfs, epoch);
        vm.buildRootfsImage(rootfs, dir.resolve("rootfs.ext4"), VM_FREE_BYTES, epoch, owners);
        return storeVm(vmTag, profile, version, epoch, dir, kernel);
    }

    /** Moves {@code work/vm} to {@code name-vm} under the work root (what was there before is replaced). */
    private Path kept(String name, Path work) throws IOException {
        Path kept = workRoot.resolve(name + "-vm");
        Fs.deleteTree(kept);
        Files.move(work.resolve("vm"), kept, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return kept;
    }

    /**
     * Stores the three files zstd-compressed (media types {@code KERNEL_TYPE+zstd} etc., see
     * {@link dev.davit.oci.artifact.ArtifactFiles}) as a microVM environment artifact named {@code vmTag}.
     */
    private Descriptor storeVm(String vmTag, String profile, String version, Instant epoch, Path dir,
                               VmImages.Kernel kernel) {
        try (AutoCloseable session = client.store().session()) {
            Descriptor md = Artifacts.create(client.store(), MICROVM_ARTIFACT_TYPE, List.of(
                    new Artifacts.FileSpec(dir.resolve("vmlinux"), KERNEL_TYPE, true),
                    new Artifacts.FileSpec(dir.resolve("initrd"), INITRD_TYPE, true),
                    new Artifacts.FileSpec(dir.resolve("rootfs.ext4"), EXT4_TYPE, true)), java.util.Map.of(
                    PROFILE_LABEL, profile, VERSION_LABEL, version,
                    "dev.davit.env.kernel", kernel.packageName(),
                    "org.opencontainers.image.created", epoch.toString()));
            client.store().setEntry(dev.davit.oci.reference.Reference.parse(vmTag).toString(), md,
                    java.util.Map.of());
            return md;
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot store the microVM environment: " + e.getMessage(), e);
        }
    }

    /** Times the phases: ending one (by beginning the next, or {@link #end()}) tells the listener its duration. */
    private static final class Phases {
        private final Listener listener;
        private String current;
        private long started;

        Phases(Listener listener) {
            this.listener = listener;
        }

        void begin(String line) {
            end();
            current = line;
            started = System.nanoTime();
            listener.phase(line);
        }

        void end() {
            if (current != null) {
                listener.phaseDone(current, java.time.Duration.ofNanos(System.nanoTime() - started));
                current = null;
            }
        }
    }

    /**
     * The owners of the entries still in {@code rootfs} (normalising removed some). Every entry not listed is
     * root's, whoever owns the file here: davit's own files, and a busybox root filesystem, are all root's.
     */
    private static Map<String, BuildOptions.Owner> owners(Path rootfs, Map<String, BuildOptions.Owner> owners) {
        Map<String, BuildOptions.Owner> kept = new TreeMap<>();
        owners.forEach((path, owner) -> {
            if (Files.exists(rootfs.resolve(path), LinkOption.NOFOLLOW_LINKS)) {
                kept.put(path, owner);
            }
        });
        return kept;
    }

    static BuildOptions imageOptions(Options o, Map<String, BuildOptions.Owner> owners) {
        return BuildOptions.builder()
                .cmd(List.of(o.profile().debian() ? "/bin/bash" : "/bin/sh"))
                .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
                .label(PROFILE_LABEL, o.profile().name())
                .label(VERSION_LABEL, o.version())
                .owners(owners)
                .compression(o.layer())
                .fileMtime(o.epoch())
                .created(o.epoch())
                .build();
    }

    /**
     * Why {@code profile} cannot be built on this machine (mmdebstrap, newuidmap, user namespaces or subordinate
     * ids missing; see {@link DebianRootfs#probe()}), or null when it can: a cheap
     * probe asked before a long build starts.
     */
    public static String unavailable(BuildProfile profile) {
        try {
            if (profile.debian()) {
                DebianRootfs.probe();
            } else {
                staticBusybox();
            }
            return null;
        } catch (DavitException | IOException e) {
            return e.getMessage();
        }
    }

    /** The host's static busybox (its real path), which the busybox profile copies; NOT_FOUND otherwise. */
    private static Path staticBusybox() throws IOException {
        Path bb = which("busybox");
        if (bb == null || !VmImages.isStaticExecutable(bb.toRealPath())) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, "no static busybox on the PATH; install the busybox-static"
                    + " package (scripts/install-deps.sh)");
        }
        return bb.toRealPath();
    }

    // ---- root filesystems ----

    /** A root filesystem of the host's static busybox with a link per applet, and the usual directories. */
    static void busybox(Path rootfs) throws IOException {
        Path bb = staticBusybox();
        Files.createDirectories(rootfs.resolve("bin"));
        Path target = rootfs.resolve("bin/busybox");
        dev.davit.sandbox.jail.Executables.copy(bb, target, 0755); // run at once below: see Executables
        ProcessBuilder pb = new ProcessBuilder(target.toString(), "--list-full").redirectErrorStream(true);
        Process p = pb.start();
        String listing;
        try (InputStream in = p.getInputStream()) {
            listing = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (run(p, 1, "busybox --list-full") != 0) {
            throw new DavitException(Kind.INTERNAL, "busybox --list-full failed: " + listing.strip());
        }
        for (String applet : listing.lines().map(String::strip).filter(s -> !s.isEmpty()).sorted().toList()) {
            if (applet.contains("..") || applet.startsWith("/") || applet.equals("bin/busybox")) {
                continue;
            }
            Path link = rootfs.resolve(applet);
            Files.createDirectories(link.getParent());
            if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(link, link.getParent().relativize(target));
            }
        }
        for (String d : List.of("proc", "sys", "dev", "tmp", "run", "var/tmp", "etc", "root", "home", "mnt")) {
            Files.createDirectories(rootfs.resolve(d));
        }
        Files.writeString(rootfs.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n"
                + "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
        Files.writeString(rootfs.resolve("etc/hostname"), "davit\n");
    }

    /** {@code /etc/davit/environment.json}: which profile and version this root filesystem is. */
    private static void describe(Path rootfs, Options o) throws IOException {
        var doc = Json.object();
        doc.put("profile", o.profile().name());
        doc.put("version", o.version());
        var pk = doc.putArray("packages");
        o.profile().packages().forEach(pk::add);
        if (o.profile().debian()) {
            doc.put("suite", o.suite());
        }
        Files.createDirectories(rootfs.resolve("etc/davit"));
        Files.write(rootfs.resolve("etc/davit/environment.json"), Json.bytes(doc));
    }

    /**
     * Removes what differs from build to build (logs, apt lists and caches, backup files, machine-id) and sets the
     * modification time of every entry, symlinks included, to {@code epoch}.
     */
    static void normalize(Path rootfs, Instant epoch) throws IOException {
        for (String f : VOLATILE) {
            Files.deleteIfExists(rootfs.resolve(f));
        }
        for (String d : EMPTIED) {
            Path dir = rootfs.resolve(d);
            if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path p : s.toList()) {
                        if (!p.getFileName().toString().equals("partial")
                                && !p.getFileName().toString().equals("lock")) {
                            Fs.deleteTree(p);
                        }
                    }
                }
            }
        }
        // mmdebstrap leaves the build host's resolver here: host-specific and not reproducible. The user-mode
        // networks' DNS forwarder instead (slirp4netns and QEMU both answer on 10.0.2.3); container sandboxes with
        // a network get their own file bound over it anyway (see Dns)
        if (Files.isDirectory(rootfs.resolve("etc"), LinkOption.NOFOLLOW_LINKS)) {
            Path resolv = rootfs.resolve("etc/resolv.conf");
            Files.deleteIfExists(resolv);
            Files.writeString(resolv, "nameserver 10.0.2.3\n");
        }
        Path machineId = rootfs.resolve("etc/machine-id");
        if (Files.exists(machineId, LinkOption.NOFOLLOW_LINKS)) {
            Files.write(machineId, new byte[0]); // systemd makes one at first boot
        }
        setTimes(rootfs, epoch);
    }

    /** Sets the modification and access time of every entry under {@code rootfs}, symlinks included. */
    static void setTimes(Path rootfs, Instant epoch) throws IOException {
        FileTime t = FileTime.from(epoch);
        Files.walkFileTree(rootfs, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                times(f, t);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                times(d, t);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static void times(Path p, FileTime t) throws IOException {
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(t, t, null);
    }

    // ---- helpers ----

    static Path which(String name) {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/sbin:/usr/bin:/sbin:/bin" : path + ":/usr/sbin:/sbin").split(":")) {
            if (!dir.isEmpty()) {
                Path p = Path.of(dir, name);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    public static int uid() {
        return dev.davit.sandbox.host.Host.uid();
    }

    private static int run(Process p, long minutes, String what) {
        try {
            if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new DavitException(Kind.INTERNAL, what + " did not finish within " + minutes + " minutes");
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while " + what + " ran");
        }
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size())).strip();
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
