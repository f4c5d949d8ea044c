package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.Mount;
import dev.davit.sandbox.backend.Host;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
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

    private final List<Mount> mounts = new ArrayList<>();
    private final List<String> key = new ArrayList<>();
    private final Map<String, String> envFiles = new LinkedHashMap<>();
    private final List<Path> made = new ArrayList<>();
    private final List<FileChannel> locks = new ArrayList<>();

    private StepMounts() {
    }

    /**
     * Makes {@code r}'s mounts ready: their sources made, their targets resolved (relative to {@code workdir}, the
     * image's links followed within it).
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
            for (Instruction.RunMount rm : r.mounts()) {
                m.add(rm, n++, workdir, home, secrets, temp, sources);
            }
            return m;
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private void add(Instruction.RunMount rm, int n, String workdir, Path home,
                     Map<String, ContainerfileBuilder.Secret> secrets, Path temp, Sources src) throws IOException {
        Map<String, String> o = new LinkedHashMap<>();
        rm.options().forEach((k, v) -> o.put(k, src.expand(v)));
        String id = o.get("id");
        String target = o.get("target");
        if (rm.type().equals("secret") && target == null) {
            if (id == null) {
                id = o.get("env") != null ? o.get("env") : null;
            }
            target = o.get("env") != null ? ENV_SECRETS + n : SECRETS + id;
        } else if (rm.type().equals("secret") && id == null) {
            id = target.substring(target.lastIndexOf('/') + 1);
        }
        if (target.isEmpty()) {
            throw new DavitException(Kind.USAGE, "RUN --mount's target is empty once expanded; give it a path");
        }
        String absolute = Path.of("/").resolve(target.startsWith("/") ? target : workdir + "/" + target).normalize()
                .toString();
        if (absolute.equals("/")) {
            throw new DavitException(Kind.USAGE, "RUN --mount cannot mount on /; give the target a directory");
        }
        String resolved = src.inImage(absolute);
        boolean ro = "true".equalsIgnoreCase(o.get("readonly"));
        int uid = number(o.get("uid"), "uid", 0);
        int gid = number(o.get("gid"), "gid", 0);
        key.add("mount=" + rm.type() + " " + resolved + " " + new java.util.TreeMap<>(o));
        switch (rm.type()) {
            case "cache" -> {
                String cacheId = id != null ? id : absolute;
                Path dir = cacheDir(home, cacheId, o.get("sharing"), temp);
                boolean fresh = isEmpty(dir);
                Mount mount = Mount.bind(dir, resolved, ro);
                // a new cache's top gets the mode and owner asked for; a used one keeps what its steps made
                mounts.add(fresh ? mount.owned(uid, gid, mode(o.get("mode"), 0755)) : mount);
            }
            case "tmpfs" -> mounts.add(Mount.tmpfs(resolved, size(o.get("size"))));
            case "secret" -> {
                ContainerfileBuilder.Secret secret = secrets.get(id);
                if (secret == null) {
                    if ("true".equalsIgnoreCase(o.get("required"))) {
                        throw new DavitException(Kind.USAGE, "the RUN needs the build secret " + Text.shorten(
                                Text.printable(id), 40) + ", which the build was not given; give it (id="
                                + Text.shorten(Text.printable(id), 40) + " with a file or a variable)");
                    }
                    return; // as BuildKit: a secret not required and not given is not mounted
                }
                Path dir = secretDir();
                Path file = dir.resolve("secret");
                Files.write(file, secret.read(id), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                mounts.add(Mount.bind(file, resolved, true).owned(uid, gid, mode(o.get("mode"), 0400)));
                if (o.get("env") != null) {
                    if (!o.get("env").matches("[A-Za-z_][A-Za-z0-9_]*")) {
                        throw new DavitException(Kind.USAGE, "RUN --mount=type=secret env=" + Text.shorten(
                                Text.printable(o.get("env")), 40) + " is not a variable name; give one like TOKEN");
                    }
                    envFiles.put(o.get("env"), resolved);
                }
            }
            default -> { // bind
                Path copy = Files.createTempDirectory(temp, "mount-");
                made.add(copy);
                Path to = copy.resolve("m");
                src.copy(o.get("from"), o.getOrDefault("source", "."), to);
                if (o.get("from") == null && Host.ownIds()[0] == 0) {
                    rootOwned(to); // the context's files are root's in the step, as in a COPY (rootless: davit's is)
                }
                key.add("content=" + digest(to));
                mounts.add(Mount.copyOf(to, resolved, !"true".equalsIgnoreCase(o.get("readwrite"))));
            }
        }
    }

    /** The cache's directory, made if new; with {@code locked} held for the step, with {@code private} maybe new. */
    private Path cacheDir(Path home, String id, String sharing, Path temp) throws IOException {
        Path caches = home.resolve(CACHES);
        Files.createDirectories(caches);
        String name = HexFormat.of().formatHex(sha256(id.getBytes(StandardCharsets.UTF_8)));
        Path dir = caches.resolve(name);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(dir);
        }
        if (sharing == null || sharing.equals("shared")) {
            return dir;
        }
        FileChannel ch = FileChannel.open(caches.resolve(name + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock = sharing.equals("locked") ? ch.lock() : ch.tryLock();
        if (lock == null) { // private, and another step has it: one of this step's own, dropped after it
            ch.close();
            Path own = Files.createTempDirectory(temp, "cache-");
            made.add(own);
            return own;
        }
        locks.add(ch);
        return dir;
    }

    /** A new private directory in memory (else davit's temp directory) for one secret, deleted at {@link #close}. */
    private Path secretDir() throws IOException {
        Path shm = Path.of("/dev/shm");
        Path base = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty(
                "java.io.tmpdir"));
        Path dir = Files.createTempDirectory(base, "davit-secret-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        made.add(dir);
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

    private static boolean isEmpty(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static int number(String v, String what, int dflt) {
        if (v == null) {
            return dflt;
        }
        if (!v.matches("[0-9]{1,9}")) {
            throw new DavitException(Kind.USAGE, "RUN --mount " + what + " takes a number, e.g. " + what + "=1000");
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
        MessageDigest md = sha();
        List<Path> all;
        try (var s = Files.walk(top)) {
            all = s.sorted().toList();
        }
        for (Path p : all) {
            String rel = top.relativize(p).toString();
            Object mode = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            md.update((rel + "\0" + mode + "\0").getBytes(StandardCharsets.UTF_8));
            if (Files.isSymbolicLink(p)) {
                md.update(("L" + Files.readSymbolicLink(p)).getBytes(StandardCharsets.UTF_8));
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                md.update(("F" + HexFormat.of().formatHex(fileDigest(p))).getBytes(StandardCharsets.UTF_8));
            }
            md.update((byte) '\n');
        }
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    private static byte[] fileDigest(Path p) throws IOException {
        MessageDigest md = sha();
        try (var in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
            byte[] buf = new byte[1 << 16];
            int k;
            while ((k = in.read(buf)) > 0) {
                md.update(buf, 0, k);
            }
        }
        return md.digest();
    }

    private static byte[] sha256(byte[] b) {
        return sha().digest(b);
    }

    private static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@return the mounts for the step's sandbox} */
    List<Mount> mounts() {
        return List.copyOf(mounts);
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

    @Override
    public void close() {
        for (FileChannel ch : locks) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the lock goes with the channel either way
            }
        }
        locks.clear();
        for (Path p : made) {
            Host.deleteTree(p);
        }
        made.clear();
    }
}
