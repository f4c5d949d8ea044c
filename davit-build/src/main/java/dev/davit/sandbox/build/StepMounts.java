package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.Hashed;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.Mount;
import dev.davit.sandbox.host.Host;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A RUN step's {@code --mount}s made ready on the host, as BuildKit gives them:
 * <ul>
 *   <li>{@code cache}: a directory of the home's ({@code cache/build-mounts/SHA256(id)}; the id is the target when
 *       not given) kept between builds; {@code sharing=locked} holds it alone for the step, {@code private} takes a
 *       new empty one while another step holds it; {@code mode}, {@code uid}, {@code gid} give a new one's top.</li>
 *   <li>{@code secret}: the value of {@link ContainerfileBuilder.Secret} of its id in a file of a private directory in
 *       memory ({@code /dev/shm}), read-only at {@code /run/secrets/ID} (or {@code target}), or with {@code env} in
 *       that variable of the command only; a secret not given is an error when {@code required}, else not mounted.
 *       Its value is in no layer (a mount point is left out of the layer), no history entry and no cache key.</li>
 *   <li>{@code bind}: a copy of {@code source} of the context or of stage or image {@code from}, read-only unless
 *       {@code rw} (what the step writes there is dropped with the copy); its content is in the cache key.</li>
 *   <li>{@code tmpfs}: an empty tmpfs of the step's own, {@code size} bytes at most.</li>
 * </ul>
 * {@link #close} deletes what was made for the step alone and lets go of the caches' locks.
 */
final class StepMounts implements AutoCloseable {
    /** Where the home keeps the cache mounts. */
    static final String CACHES = "cache/build-mounts";
    /** Where a secret is mounted when its mount names no target. */
    private static final String SECRETS = "/run/secrets/";
    /** Where a secret given as a variable is read from by the command's wrapper. */
    private static final String ENV_SECRETS = "/run/.davit-secret-env-";

    /** What the step's mounts need of the stage. */
    interface Sources {
        /** The word with the stage's variables expanded. */
        String expand(String word);

        /** {@code absolute} with the image's links on the way followed within the image. */
        String inImage(String absolute);

        /** Copies {@code source} of the context (from null) or of stage or image {@code from} into new {@code to}. */
        void copy(String from, String source, Path to) throws IOException;
    }

    /** What one mount becomes when the step runs: a mount, or null (a secret not given and not required). */
    private interface Pending {
        Mount make() throws IOException;
    }

    /** The lock files this JVM holds, so that two steps (or two mounts of one id) of it never lock one twice. */
    private static final java.util.Set<Path> HELD = new java.util.HashSet<>();

    private final List<Pending> pending = new ArrayList<>();
    private List<Mount> mounts;
    private final List<String> key = new ArrayList<>();
    private final Map<String, String> envFiles = new LinkedHashMap<>();
    private final List<Path> made = new ArrayList<>();
    private final List<Path> secretDirs = new ArrayList<>();
    private final Map<Path, FileChannel> locks = new LinkedHashMap<>();
    private boolean keepCopies;

    private StepMounts() {
    }

    /**
     * Reads {@code r}'s mounts: their targets resolved (relative to {@code workdir}, the image's links followed
     * within it) and a bind's copy made (its content is in the key); a cache, a secret and a tmpfs are made only by
     * {@link #materialize}, when the step runs (a step from the build cache reads no secret and waits on no lock).
     *
     * @param home    the davit home (its caches)
     * @param secrets the build's secrets by id
     * @param temp    a directory of davit's for the step's copies
     * @throws DavitException USAGE naming what is wrong with a mount
     */
    static StepMounts open(Instruction.Run r, String workdir, Path home, Map<String, ContainerfileBuilder.Secret>
            secrets, Path temp, Sources sources) throws IOException {
        StepMounts m = new StepMounts();
        try {
            int n = 0;
            List<String> targets = new ArrayList<>();
            for (Instruction.RunMount rm : r.mounts()) {
                targets.add(m.add(rm, n++, workdir, home, secrets, temp, sources));
            }
            for (String a : targets) {
                for (String b : targets) {
                    if (a != b && (a.equals(b) || b.startsWith(a.equals("/") ? "/" : a + "/"))) {
                        throw new DavitException(Kind.USAGE, "RUN --mount targets " + Text.shorten(Text.printable(a),
                                60) + " and " + Text.shorten(Text.printable(b), 60) + (a.equals(b) ? " are the same"
                                : " are one inside the other") + "; give each mount a target of its own");
                    }
                }
            }
            return m;
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Reads one mount; returns its resolved target. */
    private String add(Instruction.RunMount rm, int n, String workdir, Path home,
                       Map<String, ContainerfileBuilder.Secret> secrets, Path temp, Sources src) throws IOException {
        Map<String, String> o = new LinkedHashMap<>();
        rm.options().forEach((k, v) -> o.put(k, src.expand(v)));
        String env = o.get("env");
        if (env != null && !env.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new DavitException(Kind.USAGE, "RUN --mount=type=secret env=" + Text.shorten(Text.printable(env), 40)
                    + " is not a variable name; give one like TOKEN");
        }
        String idGiven = o.get("id");
        String target = o.get("target");
        if (rm.type().equals("secret") && target == null) {
            target = env != null ? ENV_SECRETS + n : SECRETS + idGiven;
        }
        String id = idGiven != null ? idGiven : rm.type().equals("secret") && env != null && o.get("target") == null
                ? env : target.substring(target.lastIndexOf('/') + 1);
        if (target.isEmpty()) {
            throw new DavitException(Kind.USAGE, "RUN --mount's target is empty once expanded; give it a path");
        }
        String absolute = Path.of("/").resolve(target.startsWith("/") ? target : workdir + "/" + target).normalize()
                .toString();
        if (absolute.equals("/")) {
            throw new DavitException(Kind.USAGE, "RUN --mount cannot mount on /; give the target a directory");
        }
        String resolved = src.inImage(absolute);
        if ("true".equalsIgnoreCase(o.get("readonly")) && "true".equalsIgnoreCase(o.get("readwrite"))) {
            throw new DavitException(Kind.USAGE, "RUN --mount is read-only (ro) or writable (rw), not both");
        }
        // a bind is read-only unless rw (or readonly=false) says otherwise; a cache writable unless ro says so
        boolean ro = rm.type().equals("bind") ? !"true".equalsIgnoreCase(o.get("readwrite"))
                && !"false".equalsIgnoreCase(o.get("readonly")) : "true".equalsIgnoreCase(o.get("readonly"));
        int uid = number(o.get("uid"), "uid", 0);
        int gid = number(o.get("gid"), "gid", 0);
        int mode = mode(o.get("mode"), rm.type().equals("secret") ? 0400 : 0755);
        long size = rm.type().equals("tmpfs") ? size(o.get("size")) : 0;
        key.add("mount=" + rm.type() + " " + resolved + " " + new java.util.TreeMap<>(o));
        switch (rm.type()) {
            case "cache" -> pending.add(() -> {
                boolean[] fresh = {false};
                Path dir = cacheDir(home, idGiven != null ? idGiven : absolute, o.get("sharing"), temp, fresh);
                Mount mount = Mount.bind(dir, resolved, ro);
                // a new cache's top gets the mode and owner asked for; a used one keeps what its steps made
                return fresh[0] ? mount.owned(uid, gid, mode) : mount;
            });
            case "tmpfs" -> pending.add(() -> Mount.tmpfs(resolved, size));
            case "secret" -> pending.add(() -> {
                ContainerfileBuilder.Secret secret = secrets.get(id);
                if (secret == null) {
                    if ("true".equalsIgnoreCase(o.get("required"))) {
                        throw new DavitException(Kind.USAGE, "the RUN needs the build secret " + Text.shorten(
                                Text.printable(id), 40) + ", which the build was not given; give it (id="
                                + Text.shorten(Text.printable(id), 40) + " with a file or a variable)");
                    }
                    return null; // as BuildKit: a secret not required and not given is not mounted
                }
                Path file = secretDir().resolve("secret");
                Files.write(file, secret.read(id), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                if (env != null) {
                    envFiles.put(env, resolved);
                }
                return Mount.bind(file, resolved, true).owned(uid, gid, mode);
            });
            default -> { // bind: copied now, its content in the key
                Path copy = Files.createTempDirectory(temp, "mount-");
                made.add(copy);
                Path to = copy.resolve("m");
                src.copy(o.get("from"), o.getOrDefault("source", "."), to);
                if (o.get("from") == null && Host.ownIds()[0] == 0) {
                    rootOwned(to); // the context's files are root's in the step, as in a COPY (rootless: davit's is)
                }
                key.add("content=" + digest(to));
                Mount mount = Mount.copyOf(to, resolved, ro);
                pending.add(() -> mount);
            }
        }
        return resolved;
    }

    /**
     * Makes the caches, secrets and tmpfs ready for the step to run: a cache locked as its sharing says, a secret
     * read into memory; {@return every mount, in order}
     *
     * @throws DavitException USAGE for a required secret the build was not given
     */
    List<Mount> materialize() throws IOException {
        if (mounts == null) {
            List<Mount> out = new ArrayList<>();
            for (Pending p : pending) {
                Mount m = p.make();
                if (m != null) {
                    out.add(m);
                }
            }
            mounts = List.copyOf(out);
        }
        return mounts;
    }

    /**
     * The cache's directory, made if new ({@code fresh[0]} then true); with {@code locked} held for the step, with
     * {@code private} maybe one of the step's own.
     */
    private Path cacheDir(Path home, String id, String sharing, Path temp, boolean[] fresh) throws IOException {
        Path caches = home.resolve(CACHES);
        Files.createDirectories(caches);
        String name = Digest.sha256(id.getBytes(StandardCharsets.UTF_8)).hex();
        Path dir = caches.resolve(name);
        try {
            Files.createDirectory(dir);
            fresh[0] = true;
        } catch (java.nio.file.FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new DavitException(Kind.STORE, "the build cache mount " + dir + " is not a directory; remove it");
            }
        }
        if (sharing == null || sharing.equals("shared")) {
            return dir;
        }
        Path lockFile = caches.resolve(name + ".lock");
        if (locks.containsKey(lockFile)) {
            return dir; // a second mount of the same cache in this step
        }
        boolean wait = sharing.equals("locked");
        synchronized (HELD) {
            while (HELD.contains(lockFile)) {
                if (!wait) {
                    fresh[0] = true;
                    return privateDir(temp);
                }
                try {
                    HELD.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DavitException(Kind.INTERNAL, "interrupted while waiting for the build cache mount "
                            + Text.shorten(Text.printable(id), 60));
                }
            }
            HELD.add(lockFile);
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = wait ? ch.lock() : ch.tryLock();
            if (lock == null) { // private, and another davit has it: one of this step's own, dropped after it
                ch.close();
                release(lockFile);
                fresh[0] = true;
                return privateDir(temp);
            }
            locks.put(lockFile, ch);
            return dir;
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                ch.close();
            }
            release(lockFile);
            throw e;
        }
    }

    private Path privateDir(Path temp) throws IOException {
        Path own = Files.createTempDirectory(temp, "cache-");
        made.add(own);
        return own;
    }

    private static void release(Path lockFile) {
        synchronized (HELD) {
            HELD.remove(lockFile);
            HELD.notifyAll();
        }
    }

    /** A new private directory in memory (else davit's temp directory) for one secret, deleted at {@link #close}. */
    private Path secretDir() throws IOException {
        Path shm = Path.of("/dev/shm");
        Path base = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty(
                "java.io.tmpdir"));
        Path dir = Files.createTempDirectory(base, "davit-secret-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        secretDirs.add(dir);
        return dir;
    }

    /** Gives every entry of {@code top} (davit's own copy) owner 0:0, its mode kept, no link followed. */
    private static void rootOwned(Path top) throws IOException {
        List<Path> all;
        try (var s = Files.walk(top)) {
            all = s.toList();
        }
        for (Path p : all) {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
            Files.setAttribute(p, "unix:gid", 0, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:uid", 0, LinkOption.NOFOLLOW_LINKS);
            if (!Files.isSymbolicLink(p)) {
                Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
            }
        }
    }

    private static int number(String v, String what, int dflt) {
        if (v == null) {
            return dflt;
        }
        if (!v.matches("[0-9]{1,5}") || Integer.parseInt(v) > 65535) {
            throw new DavitException(Kind.USAGE, "RUN --mount " + what + " takes a number below 65536, e.g. " + what
                    + "=1000");
        }
        return Integer.parseInt(v);
    }

    private static int mode(String v, int dflt) {
        if (v == null) {
            return dflt;
        }
        if (!v.matches("0?[0-7]{1,4}")) {
            throw new DavitException(Kind.USAGE, "RUN --mount mode takes octal digits, e.g. mode=0755");
        }
        return Integer.parseInt(v, 8) & 07777;
    }

    /** A tmpfs size: bytes, or with k, m or g (BuildKit's units); 0 when not given. */
    static long size(String v) {
        if (v == null) {
            return 0;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)([0-9]{1,12})\\s*([kmg]?)i?b?").matcher(
                v.strip());
        if (!m.matches()) {
            throw new DavitException(Kind.USAGE, "RUN --mount size takes bytes, or with k, m or g, e.g. size=64m");
        }
        long n = Long.parseLong(m.group(1));
        int shift = switch (m.group(2).toLowerCase(java.util.Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            default -> 0;
        };
        if (n > (Long.MAX_VALUE >> 31)) {
            throw new DavitException(Kind.USAGE, "RUN --mount size is too large");
        }
        return n << shift;
    }

    /** A digest of what was copied: each entry's path, kind, mode, and content or link text, in order. */
    private static String digest(Path top) throws IOException {
        StringBuilder listing = new StringBuilder();
        List<Path> all;
        try (var s = Files.walk(top)) {
            all = s.sorted().toList();
        }
        byte[] buf = new byte[1 << 16];
        for (Path p : all) {
            listing.append(top.relativize(p)).append('\0').append(Files.getAttribute(p, "unix:mode",
                    LinkOption.NOFOLLOW_LINKS)).append('\0');
            if (Files.isSymbolicLink(p)) {
                listing.append('L').append(Files.readSymbolicLink(p));
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                try (var in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                    listing.append('F').append(Hashed.of(in, Digest.Algorithm.SHA256, buf).digest().hex());
                }
            }
            listing.append('\n');
        }
        return Digest.sha256(listing.toString().getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** {@return what the step's cache key has of its mounts: their options and bound content, never a secret} */
    List<String> key() {
        return List.copyOf(key);
    }

    /**
     * {@return {@code argv} run with each secret given as a variable set from its file (a shell sets it, then runs
     * the command itself); {@code argv} itself when none is}
     */
    List<String> wrap(List<String> argv) {
        if (envFiles.isEmpty()) {
            return argv;
        }
        // /bin/sh -c SCRIPT sh FILE1..FILEn ARGV...: each variable read from its file, then the command itself
        StringBuilder script = new StringBuilder();
        int k = 0;
        for (String name : envFiles.keySet()) {
            script.append(name).append("=\"$(cat \"${").append(++k).append("}\")\" && export ").append(name)
                    .append(" && ");
        }
        script.append("shift ").append(k).append(" && exec \"$@\"");
        List<String> out = new ArrayList<>(List.of("/bin/sh", "-c", script.toString(), "sh"));
        out.addAll(envFiles.values());
        out.addAll(argv);
        return out;
    }

    /**
     * Keeps the step's copies and private caches on {@link #close}: the step's sandbox could not be removed, and a
     * process of it may still change them (they are left for the home's temporary files' cleanup).
     */
    void keepCopies() {
        keepCopies = true;
    }

    @Override
    public void close() {
        for (Map.Entry<Path, FileChannel> e : locks.entrySet()) {
            try {
                e.getValue().close();
            } catch (IOException ignored) {
                // the lock goes with the channel either way
            }
            release(e.getKey());
        }
        locks.clear();
        for (Path p : secretDirs) { // read-only in the sandbox: nothing of it changed them
            Host.deleteTree(p);
        }
        secretDirs.clear();
        if (!keepCopies) {
            for (Path p : made) {
                Host.deleteTree(p);
            }
        }
        made.clear();
    }
}
