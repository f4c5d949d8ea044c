package dev.davit.sandbox.container;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Mount;
import dev.davit.sandbox.jail.IdRange;
import dev.davit.sandbox.jail.Jail;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A container sandbox's {@link CreateSpec#mounts}: their mount points made in its own layer before anything of it
 * runs, their sources' tops owned as asked, and bubblewrap's options that mount them (after its own mounts).
 *
 * <p>Nothing of the sandbox runs while this looks at its layer, but the image (and a restarted sandbox's layer) is
 * anybody's: a target reached through a link, a file where a directory belongs or a whiteout is refused, never
 * followed, so bubblewrap, which mounts while the host's root is still its own, never makes a host path.
 */
final class ExtraMounts {
    /** The name under the jail's directory of mount {@code k}'s source. */
    private static final String JAIL_NAME = "mount-";

    private ExtraMounts() {
    }

    /**
     * Makes each of {@code spec}'s mount points in {@code upper} (the sandbox's layer over {@code rootfs}; null: no
     * overlay here) where neither has it, owned through {@code shift} (null: as they are made), and gives each
     * source's top its owner ({@code range}: the ids the sandbox's root sees as 0.., null: davit's own user is the
     * sandbox's root) and mode.
     *
     * @throws DavitException USAGE for a target the image (or the layer) reaches through a link, a file or a whiteout,
     *                        or a source of the wrong kind; HOST_UNSUPPORTED without an overlay here
     */
    static void prepare(CreateSpec spec, Path rootfs, Path upper, IdRange shift, IdRange range,
                        dev.davit.sandbox.SandboxOptions options, boolean subids) throws IOException {
        if (spec.mounts().isEmpty()) {
            return;
        }
        if (Jail.active() && Jail.execHelper(options) == null) {
            // the other way into a jailed sandbox mounts everything again through its live layer: never through
            // what a command of it may have changed meanwhile
            throw new DavitException(Kind.HOST_UNSUPPORTED, dev.davit.oci.Message.of("mounts into a sandbox need"
                    + " davit's exec helper davit-exec, which this davit was built without (build it with gcc"
                    + " installed; see ", dev.davit.oci.Action.DOCTOR.fix(), ")"));
        }
        if (upper == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, dev.davit.oci.Message.of("mounts into a sandbox need an"
                    + " overlay of its root filesystem, which this host cannot mount (see ",
                    dev.davit.oci.Action.DOCTOR.fix(), ")"));
        }
        for (Mount m : spec.mounts()) {
            boolean file = m.source() != null && Files.isRegularFile(m.source(), LinkOption.NOFOLLOW_LINKS);
            if (m.source() != null && !file && !Files.isDirectory(m.source(), LinkOption.NOFOLLOW_LINKS)) {
                throw new DavitException(Kind.USAGE, "a mount's source must be a directory or a regular file, not "
                        + Text.shorten(Text.printable(m.source().toString()), 100));
            }
            String rel = m.relative();
            checkWay(rootfs, rel, file, m.target());
            checkWay(upper, rel, file, m.target());
            int slash = rel.lastIndexOf('/');
            if (slash > 0) {
                MountPoints.createDirs(rootfs, upper, rel.substring(0, slash), shift);
            }
            Path point = upper.resolve(rel);
            boolean inLower = Files.exists(rootfs.resolve(rel), LinkOption.NOFOLLOW_LINKS);
            if (!inLower && !Files.exists(point, LinkOption.NOFOLLOW_LINKS)) {
                if (file) {
                    Files.createFile(point);
                    Files.setAttribute(point, "unix:mode", 0644);
                    if (shift != null) {
                        Jail.own(point, shift, 0, 0);
                    }
                } else {
                    MountPoints.createDirs(rootfs, upper, rel, shift);
                }
            }
            if (m.copy() && range != null) {
                shift(m.source(), range);
            }
            if (m.source() != null) {
                own(m, range, options, subids);
            }
        }
    }

    /**
     * Refuses a target that {@code root} (the image, or the sandbox's layer) reaches through anything but
     * directories, or has as something other than what is mounted there (a file for a file, else a directory).
     */
    private static void checkWay(Path root, String rel, boolean file, String target) {
        Path p = root;
        String[] parts = rel.split("/");
        for (int k = 0; k < parts.length; k++) {
            p = p.resolve(parts[k]);
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            boolean last = k == parts.length - 1;
            boolean ok = last && file ? Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                    : Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
            if (!ok) {
                throw new DavitException(Kind.USAGE, "cannot mount on " + Text.shorten(Text.printable(target), 100)
                        + ": the image has " + (Files.isSymbolicLink(p) ? "a link" : "something other than a "
                        + (last && file ? "file" : "directory")) + " at /" + Text.shorten(Text.printable(
                        String.join("/", List.of(parts).subList(0, k + 1))), 100) + "; mount on what it names");
            }
        }
    }

    /**
     * Shifts the owners of {@code top}'s tree (made for this sandbox alone: nothing else changes it) into
     * {@code range}, no link followed.
     */
    private static void shift(Path top, IdRange range) throws IOException {
        Files.walkFileTree(top, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(Path d, java.nio.file.attribute.BasicFileAttributes a)
                    throws IOException {
                shiftOne(d, range);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFile(Path f, java.nio.file.attribute.BasicFileAttributes a)
                    throws IOException {
                shiftOne(f, range);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }

    private static void shiftOne(Path p, IdRange range) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:uid,gid,mode", LinkOption.NOFOLLOW_LINKS);
        Jail.own(p, range, (Integer) a.get("uid"), (Integer) a.get("gid"));
        if (!Files.isSymbolicLink(p)) { // a chown drops the set-id bits: given back as they were
            Files.setAttribute(p, "unix:mode", (Integer) a.get("mode") & 07777, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Gives the source's top its owner as the sandbox sees it (through {@code range}) and its mode. */
    private static void own(Mount m, IdRange range, dev.davit.sandbox.SandboxOptions options, boolean subids)
            throws IOException {
        if (m.mode() >= 0) { // first: without root, the top is no longer davit's user's once given away
            Files.setAttribute(m.source(), "unix:mode", m.mode(), LinkOption.NOFOLLOW_LINKS);
        }
        if (m.uid() >= 0 || m.gid() >= 0) {
            if (range != null) {
                Jail.own(m.source(), range, Math.max(m.uid(), 0), Math.max(m.gid(), 0));
            } else if ((m.uid() > 0 || m.gid() > 0) && subids) {
                // without root davit's user is the sandbox's root and its subordinate ids the others: given as the
                // root of a user namespace mapping them as the sandbox's does
                chownAs(dev.davit.sandbox.jail.Subids.forUserOrRefuse(options), options, m.source(),
                        Math.max(m.uid(), 0) + ":" + Math.max(m.gid(), 0));
            }
            // else (without root, an image whose User is root): the sandbox has no id but its root, whose the
            // source already is
        }
    }

    /** {@code chown -h OWNER top} as the root of a user namespace of davit's user and its subordinate ids. */
    private static void chownAs(dev.davit.sandbox.jail.Subids sub, dev.davit.sandbox.SandboxOptions options, Path top,
                                String owner) throws IOException {
        List<String> cmd = sub.enter(options, List.of(dev.davit.sandbox.host.Host.tool(options.searchPath(), "chown")
                .toString(), "-h", owner, top.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new DavitException(Kind.HOST_UNSUPPORTED, "cannot give a mount the owner " + owner + ": "
                        + Text.shorten(Text.printable(out.strip()), 200));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted while giving a mount its owner");
        }
    }

    /**
     * Adds each mount's source to {@code binds} (the jail's, by name), for {@link #bwrapOptions} with
     * {@code jailed}.
     */
    static void addBinds(CreateSpec spec, Map<String, Path> binds) {
        List<Mount> ms = spec.mounts();
        for (int k = 0; k < ms.size(); k++) {
            if (ms.get(k).source() != null) {
                binds.put(JAIL_NAME + k, ms.get(k).source());
            }
        }
    }

    /**
     * bubblewrap's options that mount {@code spec}'s mounts, after its own: each source from the host, or with
     * {@code jailed} from where {@link #addBinds} put it in the jail.
     */
    static void bwrapOptions(List<String> bw, CreateSpec spec, boolean jailed) {
        List<Mount> ms = spec.mounts();
        for (int k = 0; k < ms.size(); k++) {
            Mount m = ms.get(k);
            if (m.isTmpfs()) {
                if (m.tmpfsBytes() > 0) {
                    bw.addAll(List.of("--size", Long.toString(m.tmpfsBytes())));
                }
                bw.addAll(List.of("--perms", m.mode() >= 0 ? Integer.toOctalString(m.mode()) : "0755", "--tmpfs",
                        m.target()));
                continue;
            }
            String source = jailed ? Jail.DIR.resolve(JAIL_NAME + k).toString() : m.source().toString();
            bw.addAll(List.of(m.readOnly() ? "--ro-bind" : "--bind", source, m.target()));
        }
    }

    /** The targets, relative to the root, that the sandbox's layer leaves out as davit's mount points. */
    static List<String> targets(CreateSpec spec) {
        return spec.mounts().stream().map(Mount::relative).toList();
    }
}
