package dev.davit.sandbox.container;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.backend.Users;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.jail.Disk;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.jail.Subids;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A long-lived container sandbox's files on the host, for {@link ContainerLifecycle}: its state directory (made,
 * copied, restored, measured), its root as the host reaches it, the changes in its own layer, and the host ids its
 * files belong to (with the broker that changes them where davit's user may not).
 */
final class ContainerFiles {
    private final SandboxOptions options;

    ContainerFiles(SandboxOptions options) {
        this.options = options;
    }

    CreateSpec prepare(CreateSpec spec, Path dir) {
        CreateSpec resolved = prepareCopy(spec, dir);
        if (Disk.available() && spec.limits().diskMiB() > 0) {
            Disk.create(options, dir, spec.limits().diskMiB());
        }
        return resolved;
    }

    /** {@link #prepare} but for the disk, which {@link #copyState} brings. */
    CreateSpec prepareCopy(CreateSpec spec, Path dir) {
        CreateSpec resolved = spec.withRootfs(Host.realRootfs(spec.rootfs()));
        ContainerDriver.refuseWeaker(options, true, resolved.rootfs(), resolved.image());
        try {
            Files.createDirectories(dir.resolve("tmp"));
            ownOnly(dir);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create the sandbox directory " + dir + ": " + e.getMessage());
        }
        return resolved;
    }

    /**
     * The disk image put back ({@link Disk#restore}); without one, the layer and /tmp each copied beside the
     * sandbox's ({@code cp -a}) and swapped in by two renames, the old ones deleted after (a crash between the two
     * renames is undone first by the next restore; one between the layer's swap and /tmp's leaves the new layer with
     * the old /tmp).
     */
    void restoreState(Sandbox s, Path dir, Path from) {
        if (Disk.exists(from)) {
            Disk.restore(options, from, dir);
            return;
        }
        for (String part : List.of("upper", "tmp")) {
            Path live = dir.resolve(part);
            Path fresh = dir.resolve("." + part + ".restore");
            Path old = dir.resolve("." + part + ".old");
            try {
                if (!Files.exists(live, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        && Files.isDirectory(old, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.move(old, live, java.nio.file.StandardCopyOption.ATOMIC_MOVE); // a crash between the renames
                }
                Host.deleteTree(fresh);
                Host.deleteTree(old);
                if (Files.isDirectory(from.resolve(part), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Host.copyTree(options.searchPath(), from.resolve(part), fresh);
                } else {
                    Files.createDirectories(fresh);
                }
                if (Files.exists(live, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.move(live, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                }
                Files.move(fresh, live, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot restore " + live + " from " + from + ": "
                        + e.getMessage());
            } finally {
                Host.deleteTree(fresh);
                Host.deleteTree(old);
            }
        }
    }
    /** Its disk image's blocks, else its layer's and /tmp's. */
    long stateBytes(Sandbox s, Path dir) throws IOException {
        return Disk.exists(dir) ? Host.diskUsage(dir.resolve("disk.img"))
                : Host.diskUsage(dir.resolve("upper"), dir.resolve("tmp"));
    }

    boolean copiesRunning(Sandbox s, Path dir) {
        return Disk.exists(dir);
    }

    /**
     * A sandbox with a disk of its own: the disk image, frozen while it is copied ({@link Disk#copy}); nothing named
     * by the sandbox is read. Without one (rootless, {@code --disk 0}) its layer and /tmp are copied with
     * {@code cp -a} (owners, modes, links, whiteouts and the overlay's attributes kept), only while it is stopped:
     * a running sandbox's processes could swap a directory for a link under the copy.
     */
    void copyState(Sandbox s, Path dir, Path to) {
        if (Disk.exists(dir)) {
            Disk.copy(options, dir, to); // mounted by the copy's first start or host-side file operation
            return;
        }
        if (s.status() == SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, Message.of("sandbox " + s.id() + " runs without a disk of its own"
                    + " (rootless, or made with ", dev.davit.oci.Input.DISK, " 0), so its files are copied only while"
                    + " it is stopped; stop it first (", Action.STOP_SANDBOX.fix(s.id()), ")")
                    .about(Subject.Type.SANDBOX, s.id()));
        }
        if (!Jail.active() && subidsUser(s) != null) {
            throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " runs as its image's non-root user without"
                    + " root, so its files belong to subordinate ids that davit's user cannot copy; run davit as"
                    + " root to copy it");
        }
        for (String scratch : List.of("upper", "tmp")) {
            Path from = dir.resolve(scratch);
            if (Files.isDirectory(from, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Host.copyTree(options.searchPath(), from, to.resolve(scratch));
            }
        }
    }

    /**
     * Makes a sandbox's state directory {@code dir} reachable to davit's user only (0700): its layer holds what the
     * sandbox made, setuid files and world-writable directories among them, owned by the sandbox's host ids; no
     * other local user may reach (and run or write) them.
     */
    static void ownOnly(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    }
    /**
     * A running sandbox's root as its keeper sees it ({@code /proc/INIT/root}, through its overlay, so the sandbox
     * sees every change at once); a created or stopped one's own writable layer (the overlay's upper directory, made
     * when missing; start keeps it), which holds everything written outside /tmp.
     */
    Path filesOnHost(Sandbox s, Path dir) {
        return switch (s.status()) {
            case RUNNING -> Path.of("/proc", Long.toString(s.initPid()), "root");
            case CREATED, STOPPED -> {
                Disk.ensureMounted(options, dir); // after a reboot
                Path upper = Overlay.Dirs.under(dir).upper();
                try {
                    Files.createDirectories(upper);
                } catch (IOException e) {
                    throw new DavitException(Kind.STORE, "cannot create " + upper + ": " + e.getMessage());
                }
                yield upper;
            }
            case FAILED -> throw new DavitException(Kind.USAGE, Message.of("sandbox " + s.id() + " has failed (its"
                    + " processes are gone); start it again with ", Action.START_SANDBOX.fix(s.id()))
                    .about(Subject.Type.SANDBOX, s.id()));
        };
    }

    /**
     * Its own layer (the overlay's upper directory), read through {@link dev.davit.sandbox.fs.Dir} (rootless, a
     * sandbox of subordinate ids through their broker); a running one is frozen by its cgroup's freezer while it is
     * read, where it has one (else read as it runs: a file that changes under the read fails it).
     */
    dev.davit.sandbox.Changes changes(Sandbox s, Path dir, dev.davit.oci.build.LayerWriter out,
                                      dev.davit.sandbox.Changes.Rewrite rewrite) {
        Disk.ensureMounted(options, dir);
        Path upper = Overlay.Dirs.under(dir).upper();
        boolean froze = false;
        if (s.status() == SandboxStatus.RUNNING && !dev.davit.sandbox.backend.Freezer.paused(dir)
                && s.spec().limits().any()) {
            try {
                dev.davit.sandbox.backend.Freezer.freeze(s.id(), dir);
                froze = true;
            } catch (DavitException e) {
                // no freezer here: read it as it runs
            }
        }
        java.util.function.IntToLongFunction uid;
        java.util.function.IntToLongFunction gid;
        if (Jail.active()) {
            dev.davit.sandbox.jail.IdRange r = Jail.range();
            uid = UpperChanges.range(r.uid(), r.count());
            gid = UpperChanges.range(r.gid(), r.count());
        } else {
            // davit's user is the sandbox's root; its subordinate ids (if any) are 1 on
            int[] self = Host.ownIds();
            Subids sub = Subids.forUser(options);
            java.util.function.IntToLongFunction su = sub == null ? h -> UpperChanges.OVERFLOW
                    : UpperChanges.range(sub.uid(), sub.count());
            java.util.function.IntToLongFunction sg = sub == null ? h -> UpperChanges.OVERFLOW
                    : UpperChanges.range(sub.gid(), sub.count());
            uid = h -> h == self[0] ? 0 : su.applyAsLong(h) == UpperChanges.OVERFLOW ? UpperChanges.OVERFLOW
                    : su.applyAsLong(h) + 1;
            gid = h -> h == self[1] ? 0 : sg.applyAsLong(h) == UpperChanges.OVERFLOW ? UpperChanges.OVERFLOW
                    : sg.applyAsLong(h) + 1;
        }
        dev.davit.sandbox.fs.Broker broker = filesBroker(s);
        try (dev.davit.sandbox.fs.Dir top = broker == null ? dev.davit.sandbox.fs.Dir.open(upper, "/")
                : broker.open(upper, "/")) {
            // at most what its disk holds (a sparse file counts its size), else the default bound of a copy
            long diskMiB = s.spec().limits().diskMiB();
            long max = diskMiB > 0 ? Math.min(diskMiB << 20, dev.davit.sandbox.fs.Budget.MAX_BYTES)
                    : dev.davit.sandbox.fs.Budget.MAX_BYTES;
            return UpperChanges.write(top, Host.realRootfs(s.spec().rootfs()), uid, gid, out, rewrite,
                    !Overlay.ROOT, max, ExtraMounts.targets(s.spec()));
        } catch (dev.davit.oci.build.LayerWriter.Changed e) {
            throw new DavitException(Kind.USAGE, Message.of(e.getMessage() + " in sandbox " + s.id() + ", which runs"
                    + " without a freezer; stop it first (", Action.STOP_SANDBOX.fix(s.id()), ")")
                    .about(Subject.Type.SANDBOX, s.id()));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DavitException(Kind.STORE, "the layer of sandbox " + s.id() + " is missing (" + upper + ")");
        } catch (IOException e) {
            if (dev.davit.sandbox.fs.Dir.ledOut(e) || e instanceof dev.davit.sandbox.fs.Dir.NotUtf8) {
                // what the sandbox did: a link put where a directory was as it was read, a name that is not UTF-8
                throw new DavitException(Kind.USAGE, "the changes of sandbox " + s.id() + " cannot be read as they"
                        + " are (" + e.getMessage().replaceAll("/proc/[0-9]+/fd/[0-9]+", "") + "); stop it and"
                        + " commit again, or remove the file");
            }
            throw new DavitException(Kind.STORE, "cannot read the changes of sandbox " + s.id() + ": "
                    + e.getMessage());
        } finally {
            if (froze) {
                dev.davit.sandbox.backend.Freezer.thaw(dir);
            }
        }
    }

    /**
     * The saved layer read as a stopped sandbox's own ({@link #changes}): a saved disk is mounted read-only for the
     * read (it is davit's copy, frozen when it was made; nothing of it is written) and unmounted after. A davit
     * killed meanwhile leaves it mounted: a removal or reset of the snapshot unmounts it first.
     */
    dev.davit.sandbox.Changes savedChanges(Sandbox s, Path saved, dev.davit.oci.build.LayerWriter out,
                                           dev.davit.sandbox.Changes.Rewrite rewrite) {
        try {
            Disk.mountSavedReadOnly(options, saved);
            return changes(s.withStatus(SandboxStatus.STOPPED), saved, out, rewrite);
        } finally {
            Disk.release(options, saved);
        }
    }

    /** As root, the image User's (else root's) ids mapped into the jail's range; rootless, null (davit's user). */
    int[] hostOwner(Sandbox s) {
        if (!Jail.active()) {
            int[] user = subidsUser(s);
            Subids sub = user == null ? null : Subids.forUser(options);
            if (sub == null) {
                return null;
            }
            sub.check(user);
            // an id 0 (a User 1000:0) is sandbox root's, the user's own; the others are subordinate ids
            int[] self = Host.ownIds();
            return new int[] {user[0] == 0 ? self[0] : (int) (sub.uid() + user[0] - 1),
                    user[1] == 0 ? self[1] : (int) (sub.gid() + user[1] - 1)};
        }
        int[] ids = Users.resolve(s.spec().rootfs(), s.spec().image().user());
        dev.davit.sandbox.jail.IdRange r = Jail.range();
        return new int[] {(int) r.hostUid(ids == null ? 0 : ids[0]), (int) r.hostGid(ids == null ? 0 : ids[1])};
    }

    /**
     * Rootless, a sandbox whose image User is one of the user's subordinate ids: its files are changed through the
     * broker that runs as root of the user's namespace of those ids, as the user may not (see {@link Subids#broker}).
     */
    dev.davit.sandbox.fs.Broker filesBroker(Sandbox s) {
        if (Jail.active() || subidsUser(s) == null) {
            return null;
        }
        Subids sub = Subids.forUser(options);
        return sub == null ? null : sub.broker(options);
    }

    /** Rootless, the image User of {@code s} when it is not root (so it maps to a subordinate id), else null. */
    private static int[] subidsUser(Sandbox s) {
        return BwrapBackend.nonRoot(Users.resolve(Host.realRootfs(s.spec().rootfs()), s.spec().image().user()));
    }
}
