package dev.davit.sandbox.jail;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.SandboxOptions;
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
 * Rootless sandboxes with the user's subordinate ids (docs/SANDBOX.md, "Rootless with subordinate ids"): the
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
 * in NS1 again ({@link #deleteTree}).
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
     * The chain: in NS1, as its root (after {@link #OWNERS}). Makes NS2 as U, maps it, opens it
     * as descriptor {@value Jail#USERNS_FD} (the process that holds NS2 meanwhile is no child of the chain, which
     * becomes bubblewrap: a keeper's bubblewrap has its sandbox's pid 1 as its only child) and the seccomp filter as {@value Jail#SECCOMP_FD} (U could not read
     * the user's files), and runs the rest as U.
     */
    private static final String CHAIN = """
            setpriv=$1 unshare=$2 sleep=$3 readlink=$4 u=$5 g=$6 n=$7 filter=$8; shift 8
            p=$("$setpriv" --reuid="$u" --regid="$g" --clear-groups -- "$unshare" --user -- "$sleep" 60 \
              </dev/null >/dev/null 2>&1 & echo $!)
            me=$("$readlink" /proc/$$/ns/user)
            i=0
            while [ "$("$readlink" /proc/$p/ns/user 2>/dev/null)" = "$me" ] && [ $i -lt 2000 ]; do
              "$sleep" 0.005; i=$((i + 1))
            done
            if ! { printf '0 0 1\\n1 1 %s\\n' "$n" >/proc/$p/uid_map && printf '0 0 1\\n1 1 %s\\n' "$n" >/proc/$p/gid_map; }
            then
              kill $p 2>/dev/null
              echo "davit: cannot map the sandbox's user namespace for its User $u:$g (see 'davit doctor')" >&2
              exit 125
            fi
            exec 4</proc/$p/ns/user 5<"$filter"
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
            c = find(options);
            cached = c;
        }
        return c instanceof Subids s ? s : null;
    }

    private static Object find(SandboxOptions options) {
        if (Jail.AS_ROOT || options.which("newuidmap") == null || options.which("newgidmap") == null
                || options.which("unshare") == null || options.which("setpriv") == null) {
            return Boolean.FALSE;
        }
        String name = System.getProperty("user.name");
        String uidText = uidText();
        long[] u = range(Path.of(System.getProperty("davit.subuid", "/etc/subuid")), name, uidText);
        long[] g = range(Path.of(System.getProperty("davit.subgid", "/etc/subgid")), name, uidText);
        if (u == null || g == null || !unshareMaps(options.which("unshare"))) {
            return Boolean.FALSE;
        }
        return new Subids(u[0], g[0], Math.min(MAX, Math.min(u[1], g[1])));
    }

    private static String uidText() {
        try {
            return Files.getAttribute(Path.of("/proc/self"), "unix:uid").toString();
        } catch (IOException e) {
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

    /** Whether util-linux {@code unshare} can map subordinate ids ({@code --map-users}, 2.38 or later). */
    static boolean unshareMaps(Path unshare) {
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
     * The command that runs {@code inner} (a bubblewrap that joins {@value Jail#USERNS_FD} with
     * {@code --userns} and loads {@value Jail#SECCOMP_FD} with {@code --seccomp}) as the image User {@code ids} in NS2, to be started in NS1 as its root; with {@code owners}
     * (a directory of owner lists, see {@link #writeOwners}; null for none) the recorded owners are given first.
     */
    public List<String> chain(SandboxOptions options, int[] ids, Path owners, List<String> inner) {
        check(ids);
        Path filter = Jail.seccompFile(options);
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", CHAIN, "chain", tool(options, "setpriv"),
                tool(options, "unshare"), tool(options, "sleep"), tool(options, "readlink"),
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
    public static List<String> enter(SandboxOptions options, Subids sub, List<String> inner) {
        List<String> a = new ArrayList<>(List.of(tool(options, "unshare")));
        a.addAll(sub.unshareOptions());
        a.add("--");
        a.addAll(inner);
        return a;
    }

    /**
     * Writes the owners a rootless unpack recorded for {@code rootfs} into {@code dir} as the chain reads them: one
     * file per owner, {@code UID:GID}, listing the paths below {@code merged} (where the sandbox's root will be
     * mounted), NUL-separated. Owners beyond the mapping are left to the user (sandbox root). Returns {@code dir},
     * or null when nothing is recorded.
     */
    public Path writeOwners(Path rootfs, Path merged, Path dir) {
        Map<String, dev.davit.oci.unpack.Owners.Owner> recorded;
        try {
            recorded = dev.davit.oci.unpack.Owners.read(rootfs);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the owners of " + rootfs + ": " + e.getMessage()
                    + "; unpack the image again");
        }
        if (recorded.isEmpty()) {
            return null;
        }
        Map<String, StringBuilder> lists = new LinkedHashMap<>();
        recorded.forEach((path, o) -> {
            if (o.uid() <= count && o.gid() <= count) {
                lists.computeIfAbsent(o.uid() + ":" + o.gid(), k -> new StringBuilder())
                        .append(path.isEmpty() ? merged.toString() : merged.resolve(path).toString()).append('\0');
            }
        });
        try {
            Files.createDirectories(dir);
            for (Map.Entry<String, StringBuilder> e : lists.entrySet()) {
                Files.writeString(dir.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write into " + dir + ": " + e.getMessage());
        }
        return dir;
    }

    /**
     * Removes {@code dir} as NS1's root: what an image User wrote (owned by a subordinate id) is not the user's to
     * remove otherwise. Best effort, as {@code Host.deleteTree}; nothing when {@code dir} is gone already.
     */
    public void deleteTree(SandboxOptions options, Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(tool(options, "unshare")));
        cmd.addAll(unshareOptions());
        cmd.addAll(List.of("--", tool(options, "rm"), "-rf", "--one-file-system", "--", dir.toString()));
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
            throw new DavitException(Kind.NOT_FOUND, name + " (util-linux or coreutils) is not installed; rootless"
                    + " sandboxes with subordinate ids need it");
        }
        return p.toString();
    }
}
