package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.BuildOptions.Owner;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * The root filesystem of a Debian profile, made by {@code mmdebstrap}: as root in its {@code root} mode, else in
 * its {@code unshare} mode (a user namespace mapped to the user's subordinate uids and gids, no root needed). Either
 * way mmdebstrap writes a tar, in which the owners are right; the tar is unpacked as the builder (contents, modes
 * with setuid/setgid bits, links; no chown, device nodes skipped) and the owners are kept aside as a map for the
 * image layer and the ext4 image. So a rootless build and a root build of the same packages give the same bytes.
 */
final class DebianRootfs {
    /** How mmdebstrap runs. */
    enum Mode {
        /** As root: maintainer scripts run in a chroot. */
        ROOT("root"),
        /** Without root: in a user namespace of the user's subordinate ids. */
        UNSHARE("unshare");

        final String option;

        Mode(String option) {
            this.option = option;
        }
    }

    private static final long MINUTES = 60;

    private DebianRootfs() {
    }

    /**
     * How this process can run mmdebstrap; else a one-line error naming what is missing (mmdebstrap, newuidmap,
     * user namespaces, the user's subordinate id ranges) and how to get it. Cheap: no build is started.
     */
    static Mode probe() {
        return probe(EnvBuilder.uid() == 0, System.getProperty("user.name"), Path.of("/etc"), Path.of("/proc/sys"));
    }

    static Mode probe(boolean root, String user, Path etc, Path sysctl) {
        if (EnvBuilder.which("mmdebstrap") == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, "mmdebstrap is not installed; install the mmdebstrap package"
                    + " (scripts/install-deps.sh) or build the busybox profile");
        }
        if (root) {
            return Mode.ROOT;
        }
        for (String tool : List.of("newuidmap", "newgidmap")) {
            if (EnvBuilder.which(tool) == null) {
                throw new DavitException(Kind.HOST_UNSUPPORTED, tool + " is not installed: a build without root needs it"
                        + " for mmdebstrap's user namespace; install the uidmap package, or build as root");
            }
        }
        for (String key : List.of("user/max_user_namespaces", "kernel/unprivileged_userns_clone")) {
            String value = read(sysctl.resolve(key));
            if ("0".equals(value)) {
                throw new DavitException(Kind.USAGE, "unprivileged user namespaces are disabled ("
                        + key.replace('/', '.') + "=0), a build without root needs them; enable them (as root:"
                        + " sysctl -w " + key.replace('/', '.') + "=" + (key.startsWith("user/") ? "15000" : "1")
                        + ") or build as root");
            }
        }
        if (user == null || user.isBlank() || user.equals("?") || user.chars().allMatch(Character::isDigit)) {
            throw new DavitException(Kind.USAGE, "uid " + EnvBuilder.uid() + " has no user name, which mmdebstrap needs to"
                    + " find its /etc/subuid range; add the user to /etc/passwd, or build as root");
        }
        for (String file : List.of("subuid", "subgid")) {
            if (!hasRange(etc.resolve(file), user)) {
                throw new DavitException(Kind.USAGE, "user " + user + " has no subordinate " + file.substring(3)
                        + " range in /etc/" + file + ", which a build without root needs; as root run: usermod"
                        + " --add-subuids 100000-165535 --add-subgids 100000-165535 " + user + " (or build as"
                        + " root)");
            }
        }
        return Mode.UNSHARE;
    }

    /** Whether {@code file} has a {@code user:start:count} line with a count of at least 65536. */
    static boolean hasRange(Path file, String user) {
        return dev.davit.sandbox.jail.Rootless.hasRange(file, user);
    }

    /**
     * Runs mmdebstrap in {@code mode} to {@code work/rootfs.tar}, its output to {@code log}, reporting package
     * downloads to {@code listener}; unpacks the tar into {@code rootfs} and returns the owners that are not root.
     */
    static Map<String, Owner> build(EnvBuilder.Options o, Mode mode, Path rootfs, Path work, Path log,
                                    EnvBuilder.Listener listener) throws IOException {
        Path tar = work.resolve("rootfs.tar");
        List<String> cmd = new ArrayList<>(List.of(EnvBuilder.which("mmdebstrap").toString(), "--verbose",
                "--mode=" + mode.option, "--variant=minbase", "--format=tar"));
        if (!o.profile().packages().isEmpty()) {
            cmd.add("--include=" + String.join(",", o.profile().packages()));
        }
        cmd.addAll(List.of(o.suite(), tar.toString(), o.mirror()));
        Path netDir = work.resolve("net-" + work.getFileName());
        dev.davit.sandbox.backend.Nat.Tools net = mode == Mode.ROOT ? mirrorOnly(o.mirror(), netDir) : null;
        try {
            return build(o, net == null ? cmd : dev.davit.sandbox.backend.Nat.wrap(net, netDir, cmd), net, netDir,
                    rootfs, tar, log, listener);
        } finally {
            if (net != null) {
                dev.davit.sandbox.backend.Nat.stop(netDir);
            }
        }
    }

    /**
     * As root, the network mmdebstrap gets: a namespace of its own whose only way out is an egress gate that allows
     * the mirror's host and nothing else (see docs/reference/sandbox/NETWORK.md, "Egress policy"), so a build needs no open network;
     * null (the host's network) where this davit cannot make one (no davit-agent, no iptables-restore).
     */
    private static dev.davit.sandbox.backend.Nat.Tools mirrorOnly(String mirror, Path netDir) {
        String host;
        try {
            host = java.net.URI.create(mirror).getHost();
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (host == null) {
            return null; // file: or copy: mirrors need no network
        }
        boolean address = host.matches("[0-9.]+");
        try {
            dev.davit.sandbox.EgressPolicy policy = dev.davit.sandbox.EgressPolicy.parse(
                    address ? List.of() : List.of(host), address ? List.of(host + "/32") : List.of(), List.of(),
                    List.of(), List.of());
            return dev.davit.sandbox.backend.Nat.tools(dev.davit.sandbox.SandboxOptions.of(netDir),
                    dev.davit.sandbox.Network.policy(policy));
        } catch (DavitException e) {
            return null;
        }
    }

    private static Map<String, Owner> build(EnvBuilder.Options o, List<String> cmd,
                                            dev.davit.sandbox.backend.Nat.Tools net, Path netDir, Path rootfs,
                                            Path tar, Path log, EnvBuilder.Listener listener) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("SOURCE_DATE_EPOCH", Long.toString(o.epoch().getEpochSecond()));
        Process p = pb.start();
        if (net != null) {
            try {
                dev.davit.sandbox.backend.Nat.attach(net, p.pid(), netDir, false, List.of());
            } catch (RuntimeException e) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw e;
            }
        }
        Downloads downloads = new Downloads();
        AtomicBoolean late = new AtomicBoolean();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
             Writer w = Files.newBufferedWriter(log)) {
            Thread killer = Thread.ofVirtual().start(() -> {
                try {
                    if (!p.waitFor(MINUTES, TimeUnit.MINUTES)) {
                        late.set(true);
                        p.descendants().forEach(ProcessHandle::destroyForcibly);
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            String line;
            while ((line = in.readLine()) != null) {
                w.write(line);
                w.write('\n');
                if (downloads.accept(line)) {
                    listener.downloads(downloads.done(), downloads.total());
                }
            }
            killer.interrupt();
        }
        int rc;
        try {
            rc = p.waitFor();
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while mmdebstrap ran");
        }
        if (late.get()) {
            throw new DavitException(Kind.INTERNAL, "mmdebstrap did not finish within " + MINUTES + " minutes;"
                    + " check the mirror " + o.mirror() + " (log: " + EnvBuilder.tail(log) + ")");
        }
        if (rc != 0) {
            throw new DavitException(Kind.NETWORK, "mmdebstrap " + o.suite() + " failed (exit " + rc + "): "
                    + EnvBuilder.tail(log) + "; check the mirror " + o.mirror() + " and the suite name");
        }
        Map<String, Owner> owners = extract(tar, rootfs);
        Files.delete(tar);
        return owners;
    }

    /**
     * Counts the packages apt downloads from mmdebstrap's {@code --verbose} output: each apt run says how many it
     * installs ({@code N upgraded, M newly installed, ...}), then prints one {@code Get:} line per package until
     * {@code Fetched ...}. (The {@code Get:} lines of {@code apt-get update} come before any such count.)
     */
    static final class Downloads {
        private static final Pattern COUNT = Pattern.compile("^\\d+ upgraded, (\\d+) newly installed");
        private int done;
        private int total;
        private boolean fetching;

        /** Reads one line; true when the counts changed. */
        boolean accept(String line) {
            Matcher m = COUNT.matcher(line);
            if (m.find()) {
                int n = Integer.parseInt(m.group(1));
                fetching = n > 0;
                total += n;
                return n > 0;
            }
            if (fetching && line.startsWith("Get:") && done < total) {
                done++;
                return true;
            }
            if (line.startsWith("Fetched ") || line.startsWith("Download complete")) {
                fetching = false;
            }
            return false;
        }

        int done() {
            return done;
        }

        int total() {
            return total;
        }
    }

    // ---- the tar ----

    /**
     * Unpacks mmdebstrap's tar into the empty or missing directory {@code rootfs} without changing owners:
     * directories, regular files (mode bits with setuid, setgid and sticky), symbolic links and hard links; device
     * nodes and fifos are left out. Entries must stay inside {@code rootfs} and only go through directories of the
     * tar itself (never through a symbolic link). Directory modes are applied last, so read-only directories can be
     * filled first.
     *
     * @return the uid/gid of every entry (relative path, no trailing slash) not owned by 0:0
     */
    static Map<String, Owner> extract(Path tar, Path rootfs) throws IOException {
        Files.createDirectories(rootfs);
        Map<String, Owner> owners = new HashMap<>();
        Set<String> dirs = new HashSet<>();
        Set<String> files = new HashSet<>();
        Map<String, Integer> dirModes = new HashMap<>();
        dirs.add("");
        try (TarArchiveInputStream in = new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(tar),
                1 << 16))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                String rel = name(e.getName());
                if (rel.isEmpty()) {
                    if (e.isDirectory()) {
                        dirModes.put("", e.getMode() & 07777);
                    }
                    continue;
                }
                int slash = rel.lastIndexOf('/');
                if (!dirs.contains(slash < 0 ? "" : rel.substring(0, slash))) {
                    throw bad(e.getName(), "its directory is not a directory of the tar");
                }
                Path p = rootfs.resolve(rel);
                if (e.isDirectory()) {
                    if (!dirs.contains(rel)) {
                        Files.createDirectory(p);
                        dirs.add(rel);
                    }
                    dirModes.put(rel, e.getMode() & 07777);
                } else if (e.isSymbolicLink()) {
                    Files.createSymbolicLink(p, Path.of(e.getLinkName()));
                } else if (e.isLink()) {
                    String target = name(e.getLinkName());
                    if (!files.contains(target)) {
                        throw bad(e.getName(), "it links to " + e.getLinkName() + ", not an earlier file");
                    }
                    Files.createLink(p, rootfs.resolve(target));
                } else if (e.getLinkFlag() == TarConstants.LF_NORMAL || e.getLinkFlag() == TarConstants.LF_OLDNORM
                        || e.getLinkFlag() == TarConstants.LF_CONTIG) {
                    try (var out = Files.newOutputStream(p, StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE)) {
                        in.transferTo(out);
                    }
                    Files.setAttribute(p, "unix:mode", e.getMode() & 07777, LinkOption.NOFOLLOW_LINKS);
                    files.add(rel);
                } else {
                    continue; // device nodes and fifos: /dev is emptied anyway, and a rootless builder cannot make them
                }
                if (e.getLongUserId() != 0 || e.getLongGroupId() != 0) {
                    owners.put(rel, new Owner(e.getLongUserId(), e.getLongGroupId()));
                }
            }
        }
        // deepest first, so that a directory is still writable while its subdirectories' modes are set
        List<String> order = new ArrayList<>(dirModes.keySet());
        order.sort((a, b) -> b.length() - a.length());
        for (String d : order) {
            Files.setAttribute(d.isEmpty() ? rootfs : rootfs.resolve(d), "unix:mode", dirModes.get(d),
                    LinkOption.NOFOLLOW_LINKS);
        }
        return owners;
    }

    /** An entry's path without {@code ./} and trailing {@code /}; rejects absolute paths and {@code ..}. */
    private static String name(String raw) {
        String n = raw;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        while (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        if (n.isEmpty() || n.equals(".")) {
            return "";
        }
        if (n.startsWith("/") || n.contains("\0") || List.of(n.split("/")).stream()
                .anyMatch(s -> s.isEmpty() || s.equals("..") || s.equals("."))) {
            throw bad(raw, "the path leaves the root filesystem or is not normal");
        }
        return n;
    }

    private static DavitException bad(String entry, String why) {
        return new DavitException(Kind.VERIFICATION, "mmdebstrap's tar has an entry " + entry + " that cannot be"
                + " unpacked: " + why + "; report this with the mmdebstrap version");
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
