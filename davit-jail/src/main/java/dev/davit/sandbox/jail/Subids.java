package dev.davit.sandbox.jail;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.host.Host;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Rootless sandboxes with the user's subordinate ids (docs/reference/sandbox/JAIL.md, "Rootless with subordinate ids"): the
 * user's ranges in {@code /etc/subuid} and {@code /etc/subgid}, mapped by newuidmap and newgidmap (setuid helpers
 * that check those files) into a user namespace NS1 that util-linux {@code unshare} makes:
 *
 * <pre>
 * NS1 (made by the user):  0 -> the user,  1..COUNT -> SUBUID..SUBUID+COUNT-1   (the same for gids)
 * NS2 (made by the image User U of NS1, mapped by NS1's root): 0 0 1, 1 1 COUNT (NS1's ids as they are)
 * </pre>
 *
 * bubblewrap, started as NS1's uid U, joins NS2 (whose owner it is, so it has every capability there for its
 * set-up) and runs the command as U: the image's non-root User is host uid {@code SUBUID+U-1}, which cannot change
 * what sandbox root (the user) owns. One mapping per line: the kernel refuses a child's extent that spans two of its
 * parent's. The chain is {@link #chain}; it runs in NS1 after the overlay is mounted there (see
 * {@code container.Overlay}), gives the image's owners that a rootless unpack recorded
 * ({@link dev.davit.oci.unpack.Owners}) back in the sandbox's writable layer, and what the User wrote is removed
 * in NS1 again ({@link #deleteTree(SandboxOptions, Path)}).
 *
 * @param uid   the first subordinate uid (NS1's uid 1)
 * @param gid   the first subordinate gid (NS1's gid 1)
 * @param count how many of each are mapped (at most {@value #MAX})
 */
public record Subids(long uid, long gid, long count) {
    /** The most subordinate ids mapped: a sandbox's uids 1..65536, as a root sandbox's range has. */
    public static final long MAX = 65536;
    private static final long WAIT_SECONDS = 60;

    /**
     * The chain: in NS1, as its root (after {@link #OWNERS}). Makes NS2 as U, maps it (with coreutils printf, which
     * writes its output at once: a map must come in one write, and a shell's printf may split it), opens it as
     * descriptor {@value Jail#USERNS_FD} and the seccomp filter as {@value Jail#SECCOMP_FD} (U could not read the
     * user's files), and runs the rest as U. The process that holds NS2 meanwhile is no child of the chain (which
     * becomes bubblewrap, whose only child must be the sandbox's pid 1) and is killed however the chain ends. A
     * failure is one line, {@code davit: ...}, and exit 125.
     */
    private static final String CHAIN = """
            setpriv=$1 unshare=$2 sleep=$3 readlink=$4 printf=$5 u=$6 g=$7 n=$8 filter=$9; shift 9
            fail() {
              echo "davit: the user namespace of the sandbox's User $u:$g $1" >&2
              exit 125
            }
            [ -r "$filter" ] || fail "cannot be made: davit's seccomp filter $filter is not readable"
            p=$("$setpriv" --reuid="$u" --regid="$g" --clear-groups -- "$unshare" --user -- "$sleep" 60 \
              </dev/null >/dev/null 2>&1 & echo $!)
            trap 'kill $p 2>/dev/null' EXIT
            me=$("$readlink" /proc/$$/ns/user)
            i=0
            while [ "$("$readlink" /proc/$p/ns/user 2>/dev/null)" = "$me" ] && [ $i -lt 2000 ]; do
              "$sleep" 0.005; i=$((i + 1))
            done
            "$printf" '0 0 1\n1 1 %s\n' "$n" >/proc/$p/uid_map 2>/dev/null \
              && "$printf" '0 0 1\n1 1 %s\n' "$n" >/proc/$p/gid_map 2>/dev/null \
              || fail "cannot be made (setpriv and unshare --user as $u:$g, then its map)"
            exec 4</proc/$p/ns/user 5<"$filter"
            trap - EXIT
            kill $p
            exec "$setpriv" --reuid="$u" --regid="$g" --clear-groups -- "$@"
            """;

    /**
     * Gives the recorded owners back, in NS1 as its root, then runs the rest: {@code OWNERS/UID:GID} files, each a
     * NUL-separated list of paths in the merged root, through {@code chown -h} (a missing path is left alone).
     */
    private static final String OWNERS = """
            chown=$1 xargs=$2 owners=$3; shift 3
            for f in "$owners"/*; do
              [ -f "$f" ] && "$xargs" -0 -r "$chown" -h -- "${f##*/}" <"$f" 2>/dev/null
            done
            exec "$@"
            """;

    private static volatile Object cached;

    /**
     * This user's subordinate ids when a rootless sandbox can use them: both ranges ({@code /etc/subuid} and
     * {@code /etc/subgid}, by name or uid, at least {@value #MAX} each), newuidmap and newgidmap, and a util-linux
     * {@code unshare} that maps them ({@code --map-users}, 2.38 or later); null otherwise, and always as root (root
     * has its own range, see {@link IdRange}).
     */
    public static Subids forUser(SandboxOptions options) {
        Object c = cached;
        if (c == null) {
            c = Jail.AS_ROOT ? Boolean.FALSE : of(options, Path.of(System.getProperty("davit.subuid", "/etc/subuid")),
                    Path.of(System.getProperty("davit.subgid", "/etc/subgid")), System.getProperty("user.name"),
                    uidText());
            cached = c;
        }
        return c instanceof Subids s ? s : null;
    }

    /**
     * {@link #forUser}, or, without it, a one-line USAGE error naming what is missing and the opt-out, unless the
     * options opt out (then null: the image User is the user itself, as before). For a sandbox that checked
     * {@link Rootless#require} already; the two read the same facts ({@link #lacking}), so this never refuses what
     * that let through, and never lets through what it would refuse.
     */
    public static Subids forUserOrRefuse(SandboxOptions options) {
        Subids s = forUser(options);
        if (s != null || options.allowWeakerSandbox() || Jail.AS_ROOT) {
            return s;
        }
        throw new DavitException(Kind.USAGE, Message.of("refused: this rootless sandbox would lack a guarantee of"
                + " the jail (" + Rootless.SEPARATE_USERS + ": the user's subordinate ids cannot be mapped here; see ",
                Action.DOCTOR.fix(), "); or pass ", Rootless.OPT_OUT, " (or set " + Rootless.OPT_OUT_ENV + "=1) to run"
                + " it anyway"));
    }

    /**
     * What this host lacks for {@code name}'s (or {@code uid}'s) subordinate ids, one fix per entry; empty when
     * nothing: both ranges in {@code subuid} and {@code subgid} (at least {@value #MAX} ids, starting above 0),
     * newuidmap and newgidmap, util-linux {@code unshare} with {@code --map-users} (2.38) and {@code setpriv}.
     */
    static List<String> lacking(SandboxOptions options, Path subuid, Path subgid, String name, String uid) {
        List<String> lacks = new ArrayList<>();
        if (name == null || range(subuid, name, uid) == null || range(subgid, name, uid) == null) {
            lacks.add("as root run: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 "
                    + (name == null ? "USER" : name));
        }
        if (options.which("newuidmap") == null || options.which("newgidmap") == null) {
            lacks.add("install newuidmap and newgidmap (apt-get install uidmap)");
        }
        Path unshare = options.which("unshare");
        if (lacks.isEmpty() && (unshare == null || options.which("setpriv") == null || !unshareMaps(unshare))) {
            lacks.add("util-linux unshare 2.38 or later is needed to map the user's subordinate ids (apt-get"
                    + " install util-linux)");
        }
        return lacks;
    }

    /** The subordinate ids of {@code name} (or {@code uid}) where nothing is {@link #lacking}, else null. */
    static Object of(SandboxOptions options, Path subuid, Path subgid, String name, String uid) {
        if (!lacking(options, subuid, subgid, name, uid).isEmpty()) {
            return Boolean.FALSE;
        }
        long[] u = range(subuid, name, uid);
        long[] g = range(subgid, name, uid);
        return new Subids(u[0], g[0], Math.min(MAX, Math.min(u[1], g[1])));
    }

    static String uidText() {
        try {
            return Integer.toString(dev.davit.sandbox.host.Host.ownIds()[0]);
        } catch (DavitException e) {
            return null;
        }
    }

    /** The first {@code user:start:count} line of {@code file} for {@code name} or {@code uid} with at least MAX. */
    static long[] range(Path file, String name, String uid) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            return null;
        }
        for (String line : text.split("\n")) {
            String[] f = line.strip().split(":");
            if (f.length == 3 && (f[0].equals(name) || f[0].equals(uid))) {
                try {
                    long start = Long.parseLong(f[1]);
                    long count = Long.parseLong(f[2]);
                    if (start > 0 && count >= MAX) {
                        return new long[] {start, count};
                    }
                } catch (NumberFormatException e) {
                    // not a range
                }
            }
        }
        return null;
    }

    private static final Map<Path, Boolean> MAPS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Whether util-linux {@code unshare} can map subordinate ids ({@code --map-users}, 2.38 or later): asked once
     * per program, so that every check in this JVM gets the same answer.
     */
    static boolean unshareMaps(Path unshare) {
        return MAPS.computeIfAbsent(unshare, Subids::askUnshare);
    }

    private static boolean askUnshare(Path unshare) {
        try {
            Process p = new ProcessBuilder(unshare.toString(), "--help").redirectErrorStream(true).start();
            String help = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor(10, TimeUnit.SECONDS) && help.contains("--map-users");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** util-linux unshare's options that make NS1 (the caller adds {@code --mount} and the rest). */
    public List<String> unshareOptions() {
        return List.of("--user", "--map-root-user", "--map-users=" + uid + ",1," + count,
                "--map-groups=" + gid + ",1," + count);
    }

    /**
     * Refuses an image User that the mapping does not hold: {@code ids} (uid, gid) must be at most {@link #count}.
     */
    public void check(int[] ids) {
        if (ids[0] > count || ids[1] > count) {
            throw new DavitException(Kind.USAGE, "the image's User " + ids[0] + ":" + ids[1] + " is beyond the "
                    + count + " subordinate ids mapped into rootless sandboxes; use an image whose User is at most "
                    + count + " (or run davit as root)");
        }
    }

    /**
     * The command that runs {@code inner} (a bubblewrap that joins {@value Jail#USERNS_FD} with {@code --userns} and
     * loads {@value Jail#SECCOMP_FD} with {@code --seccomp}) as the image User {@code ids} in NS2, to be started in
     * NS1 as its root; with {@code owners} (a directory of owner lists, see {@link #writeOwners}; null for none) the
     * recorded owners are given first.
     */
    public List<String> chain(SandboxOptions options, int[] ids, Path owners, List<String> inner) {
        check(ids);
        Path filter = Jail.seccompFile(options);
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", CHAIN, "chain", tool(options, "setpriv"),
                tool(options, "unshare"), tool(options, "sleep"), tool(options, "readlink"), tool(options, "printf"),
                Integer.toString(ids[0]), Integer.toString(ids[1]), Long.toString(count), filter.toString()));
        a.addAll(inner);
        return givingOwners(options, owners, a);
    }

    /**
     * {@code inner} after the owners listed in {@code owners} (see {@link #writeOwners}; null: none, {@code inner}
     * itself) are given back; to be run in NS1 as its root, over a merged root nobody has used yet.
     */
    public static List<String> givingOwners(SandboxOptions options, Path owners, List<String> inner) {
        if (owners == null) {
            return inner;
        }
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", OWNERS, "owners", tool(options, "chown"),
                tool(options, "xargs"), owners.toString()));
        a.addAll(inner);
        return a;
    }

    /**
     * A runtime's id mappings (OCI {@code linux.uidMappings} or {@code gidMappings}) for a container made in NS1:
     * NS1's ids as they are, one mapping per extent of NS1 ({@code 0 0 1}, {@code 1 1 COUNT}).
     */
    public List<long[]> runtimeMappings() {
        return List.of(new long[] {0, 0, 1}, new long[] {1, 1, count});
    }

    /** {@code inner} (e.g. a {@link #chain}) run as NS1's root, in no overlay (a read-only root). */
    public List<String> enter(SandboxOptions options, List<String> inner) {
        List<String> a = new ArrayList<>(List.of(tool(options, "unshare")));
        a.addAll(unshareOptions());
        a.add("--");
        a.addAll(inner);
        return a;
    }

    /**
     * The helpers that make a workspace's host-side file operations for this JVM as NS1's root, which may change
     * what the image User (a subordinate id) owns and the user may not (see {@link dev.davit.sandbox.fs.Broker}).
     */
    public dev.davit.sandbox.fs.Broker broker(SandboxOptions options) {
        Path helper = Jail.execHelper(options);
        if (helper == null) {
            throw new DavitException(Kind.USAGE, "this davit was built without its helper davit-exec, which changes"
                    + " the files of a rootless workspace whose image User is not root; build davit with gcc"
                    + " installed, or use an image whose User is root");
        }
        int[] self = dev.davit.sandbox.host.Host.ownIds();
        return dev.davit.sandbox.fs.Broker.of(enter(options, List.of(helper.toString(), "files")),
                new dev.davit.sandbox.fs.IdMap(self[0], self[1], uid, gid, count));
    }

    /**
     * Writes the owners a rootless unpack recorded for {@code rootfs} into {@code dir} as the chain reads them: one
     * file per owner, {@code UID:GID}, listing the paths below {@code merged} (where the sandbox's root will be
     * mounted), NUL-separated, in the file-name encoding of this JVM (the bytes the tree's names have). Owners beyond
     * the mapping are left to the user (sandbox root). {@code chown -h} follows every component but the last, as
     * NS1's root, which may change whatever the user owns: so a path is listed only when it is relative, has no
     * {@code .}, {@code ..} or empty component, and each of its parents is a directory (not a link) in
     * {@code rootfs}, as it is in the merged root before the sandbox first runs; any other entry (a record that does
     * not match its tree) is left out. Returns {@code dir}, or null when nothing is listed.
     */
    public Path writeOwners(Path rootfs, Path merged, Path dir) {
        return writeOwners(rootfs, null, merged, dir);
    }

    /**
     * {@link #writeOwners(Path, Path, Path)} over a sandbox's layer {@code upper} that davit has written into before
     * the sandbox first runs (a workspace's seeded /workspace): a path is left out when it is in {@code upper}
     * itself (davit gave it its owner) or when one of its parents is there but not as a directory (the merged root
     * differs from {@code rootfs} there).
     */
    public Path writeOwners(Path rootfs, Path upper, Path merged, Path dir) {
        Map<String, dev.davit.oci.unpack.Owners.Owner> recorded;
        try {
            recorded = dev.davit.oci.unpack.Owners.read(rootfs);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the owners of " + rootfs + ": " + e.getMessage()
                    + "; unpack the image again");
        }
        java.nio.charset.Charset names = nameEncoding();
        Map<String, java.io.ByteArrayOutputStream> lists = new LinkedHashMap<>();
        java.util.Set<String> dirs = new java.util.HashSet<>();
        for (Map.Entry<String, dev.davit.oci.unpack.Owners.Owner> e : recorded.entrySet()) {
            dev.davit.oci.unpack.Owners.Owner o = e.getValue();
            if (o.uid() > count || o.gid() > count || !inTree(rootfs, e.getKey(), dirs)
                    || upper != null && changedIn(upper, e.getKey())) {
                continue;
            }
            byte[] p = (e.getKey().isEmpty() ? merged : merged.resolve(e.getKey())).toString().getBytes(names);
            java.io.ByteArrayOutputStream list = lists.computeIfAbsent(o.uid() + ":" + o.gid(),
                    k -> new java.io.ByteArrayOutputStream());
            list.write(p, 0, p.length);
            list.write(0);
        }
        if (lists.isEmpty()) {
            return null;
        }
        try {
            Files.createDirectories(dir);
            for (Map.Entry<String, java.io.ByteArrayOutputStream> e : lists.entrySet()) {
                Files.write(dir.resolve(e.getKey()), e.getValue().toByteArray());
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write into " + dir + ": " + e.getMessage());
        }
        return dir;
    }

    /** The encoding of file names in this JVM ({@code sun.jnu.encoding}, as the JDK turns paths into bytes). */
    private static java.nio.charset.Charset nameEncoding() {
        try {
            return java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    /**
     * Whether {@code rel} names something in {@code rootfs} through real directories only: relative, no {@code .},
     * {@code ..} or empty component, every parent a directory that is not a link ({@code dirs}: parents seen so far),
     * and itself there (of any type: {@code chown -h} changes a link itself). "" is the root.
     */
    static boolean inTree(Path rootfs, String rel, java.util.Set<String> dirs) {
        if (rel.isEmpty()) {
            return true;
        }
        String[] parts = rel.split("/", -1);
        StringBuilder at = new StringBuilder();
        for (int i = 0; i < parts.length; i++) {
            String c = parts[i];
            if (c.isEmpty() || c.equals(".") || c.equals("..") || c.indexOf('\0') >= 0) {
                return false;
            }
            at.append(i == 0 ? "" : "/").append(c);
            String key = at.toString();
            if (i < parts.length - 1 && dirs.contains(key)) {
                continue;
            }
            java.nio.file.attribute.BasicFileAttributes a;
            try {
                a = Files.readAttributes(rootfs.resolve(key), java.nio.file.attribute.BasicFileAttributes.class,
                        java.nio.file.LinkOption.NOFOLLOW_LINKS);
            } catch (IOException | RuntimeException e) {
                return false;
            }
            if (i < parts.length - 1) {
                if (!a.isDirectory()) {
                    return false;
                }
                dirs.add(key);
            }
        }
        return true;
    }

    /**
     * Whether {@code upper} (a layer nobody but davit wrote yet) has {@code rel} (checked by {@link #inTree}), or a
     * parent of it that is not a directory.
     */
    static boolean changedIn(Path upper, String rel) {
        if (rel.isEmpty()) {
            return false;
        }
        String[] parts = rel.split("/", -1);
        Path at = upper;
        for (int i = 0; i < parts.length; i++) {
            at = at.resolve(parts[i]);
            java.nio.file.attribute.BasicFileAttributes a;
            try {
                a = Files.readAttributes(at, java.nio.file.attribute.BasicFileAttributes.class,
                        java.nio.file.LinkOption.NOFOLLOW_LINKS);
            } catch (java.nio.file.NoSuchFileException e) {
                return false;
            } catch (IOException | RuntimeException e) {
                return true;
            }
            if (i == parts.length - 1 || !a.isDirectory()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Removes what is left of {@code dir} after davit's own removal, as NS1's root, where this user's sandboxes map
     * subordinate ids ({@link #forUser}): what an image User wrote (owned by a subordinate id) is not the user's to
     * remove otherwise. Best effort, as {@code Host.deleteTree}; nothing when {@code dir} is gone already, or
     * without subordinate ids (as root, too).
     */
    public static void deleteTree(SandboxOptions options, Path dir) {
        Subids sub = forUser(options);
        if (sub == null || !Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<String> cmd = sub.enter(options, List.of(tool(options, "rm"), "-rf", "--one-file-system", "--",
                dir.toString()));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(WAIT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            // best effort: reported as a leftover by doctor
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String tool(SandboxOptions options, String name) {
        Path p = options.which(name);
        if (p == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, name + " (util-linux or coreutils) is not installed; rootless"
                    + " sandboxes with subordinate ids need it");
        }
        return p.toString();
    }
}
