package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.backend.FileLocks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The set of workspaces of a davit home, changed one change at a time across processes and threads: a create's
 * claim and its commit, a rename and the admission of a new workspace all run holding {@code <stateDir>/.lock}
 * ({@link FileLocks}), for a moment each. A create in progress holds a claim for as long as it runs (which may be
 * long: a microVM's boot, a large seed): its temp directory's {@code claim} file, holding the name it will have,
 * locked by the creating process. A claim whose lock nobody holds (its process died) is stale: it is left out
 * and its directory removed; one whose create had made its sandbox already ({@link #recordSandbox}) is left for a
 * reap ({@link #reapStale}), which removes that sandbox first: a davit killed half-way through a create leaves
 * nothing a reap does not take (a k8s sandbox's pod, a microVM).
 */
final class Claims {
    /** The lock of every change to the set of workspaces and their names, in the state directory. */
    static final String LOCK = ".lock";
    private static final String CLAIM = "claim";
    /** The id of the sandbox a create in progress made ({@link #recordSandbox}), for a reap after a crash. */
    static final String SANDBOX = "sandbox";
    private static final String TMP = ".tmp";
    /**
     * The claims this JVM holds: their files are never opened again here, as closing another channel of a locked
     * file drops this process's lock of it.
     */
    private static final Map<Path, String> OURS = new ConcurrentHashMap<>(); // directory to name ("" for none)

    private final Path stateDir;

    Claims(Path stateDir) {
        this.stateDir = stateDir;
    }

    /** The temp directory of a create of workspace {@code id}; renamed to {@code id} by its commit. */
    Path tmpDir(String id) {
        return stateDir.resolve("." + id + TMP);
    }

    /** Runs {@code action} holding the lock of the set of workspaces. */
    <T> T holding(Supplier<T> action) {
        Path lock = stateDir.resolve(LOCK);
        try {
            Files.createDirectories(stateDir);
            return FileLocks.holding(lock, action);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock " + lock + ": " + e.getMessage());
        }
    }

    /**
     * A create in progress: its temp directory's name (the id), the name it will have (null: none) and, for a
     * {@link #reapStale reaped} one, its sandbox (else null).
     */
    record Pending(String id, String name, String sandbox) {
        Pending(String id, String name) {
            this(id, name, null);
        }
    }

    /**
     * The creates in progress, by any process; stale claims are removed. Holding {@link #holding}'s lock (a claim
     * is made and committed under it).
     */
    List<Pending> pending() {
        List<Pending> out = new ArrayList<>();
        List<Path> dirs = claimDirs();
        for (Path d : dirs) {
            String n = d.getFileName().toString();
            String id = n.substring(1, n.length() - TMP.length());
            Path f = d.resolve(CLAIM);
            String ours = OURS.get(d);
            if (ours != null) { // its name from memory: reading the file here would drop this process's lock of it
                out.add(new Pending(id, ours.isEmpty() ? null : ours));
                continue;
            }
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                FileLock free;
                try {
                    free = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    free = null; // held in this JVM
                }
                if (free == null) {
                    out.add(new Pending(id, read(ch)));
                    continue;
                }
                free.release();
            } catch (java.nio.file.NoSuchFileException e) {
                continue; // a leftover of an older davit, or gone meanwhile: no claim
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
            }
            if (!Files.exists(d.resolve(SANDBOX), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                delete(d); // its creator died; one with a sandbox is reapStale's
            }
        }
        return out;
    }

    /** The temp directories of creates ({@link #tmpDir}), committed meanwhile or not. */
    private List<Path> claimDirs() {
        if (!Files.isDirectory(stateDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(stateDir)) {
            return s.filter(d -> d.getFileName().toString().startsWith(".")
                    && d.getFileName().toString().endsWith(TMP)).toList();
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + stateDir + ": " + e.getMessage());
        }
    }

    /**
     * Records in claim directory {@code tmp} (see {@link #tmpDir}) that its create, for {@code owner} (null: the
     * operator), made sandbox {@code sandboxId}: if the create dies before its commit, a reap of that owner's
     * removes that sandbox.
     */
    static void recordSandbox(Path tmp, String sandboxId, String owner) throws IOException {
        Fs.writeAtomically(tmp.resolve(SANDBOX), (sandboxId + (owner == null ? "" : "\n" + owner))
                .getBytes(StandardCharsets.UTF_8), tmp);
    }

    /**
     * Removes the claims whose creator died after making a sandbox, of the workspaces {@code which} accepts (as
     * the workspace would have been: its id, name, sandbox and owner): each one's sandbox through
     * {@code removeSandbox} (holding the claim's lock, so no other reap takes it at once), then its directory. Not
     * holding {@link #holding}'s lock (a sandbox's removal may take a while).
     *
     * @return the creates removed: the workspace id each would have had, its name and its sandbox (removed, or
     *         gone already)
     */
    List<Pending> reapStale(java.util.function.Predicate<Workspace> which,
                            java.util.function.Consumer<String> removeSandbox) {
        List<Pending> out = new ArrayList<>();
        List<Path> dirs = claimDirs().stream().filter(d -> !OURS.containsKey(d)
                && Files.exists(d.resolve(SANDBOX), java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList();
        for (Path d : dirs) {
            // this JVM's own mark first: a pending() of another thread must not open (and close) the claim
            // file while it is locked here, which would drop the lock
            if (OURS.putIfAbsent(d, "") != null) {
                continue;
            }
            try (FileChannel ch = FileChannel.open(d.resolve(CLAIM), StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                FileLock free;
                try {
                    free = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    free = null;
                }
                if (free == null) {
                    continue; // its create goes on
                }
                String made = read(d.resolve(SANDBOX));
                String[] idOwner = made == null ? new String[0] : made.split("\n", 2);
                if (idOwner.length == 0 || !idOwner[0].matches("sbx-[0-9a-f]{12}")) {
                    delete(d); // unreadable: nothing of it to remove
                    continue;
                }
                String n = d.getFileName().toString();
                Pending p = new Pending(n.substring(1, n.length() - TMP.length()), read(ch), idOwner[0]);
                if (!which.test(new Workspace(p.id(), p.name(), p.sandbox(), java.time.Instant.EPOCH, null, null, 0,
                        0, java.util.Map.of(), List.of(), idOwner.length > 1 ? idOwner[1] : null))) {
                    continue; // another owner's: its own reap removes it
                }
                removeSandbox.accept(p.sandbox());
                out.add(p);
                delete(d);
            } catch (java.nio.file.NoSuchFileException e) {
                continue; // committed or reaped meanwhile
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read " + d.resolve(CLAIM) + ": " + e.getMessage());
            } finally {
                OURS.remove(d);
            }
        }
        return out;
    }

    /**
     * Makes the temp directory of a create of workspace {@code id} (it must not exist) and claims {@code name}
     * (null: none) in it until {@link Claim#close}. Holding {@link #holding}'s lock.
     */
    Claim claim(String id, String name) {
        Path dir = tmpDir(id);
        FileChannel ch = null;
        try {
            Files.createDirectory(dir);
            ch = FileChannel.open(dir.resolve(CLAIM), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            OURS.put(dir, name == null ? "" : name);
            if (ch.tryLock() == null) {
                throw new IOException("its claim is locked by another process");
            }
            ch.write(ByteBuffer.wrap((name == null ? "" : name).getBytes(StandardCharsets.UTF_8)));
            return new Claim(dir, ch);
        } catch (IOException | RuntimeException e) {
            OURS.remove(dir);
            try {
                if (ch != null) {
                    ch.close();
                }
            } catch (IOException ignored) {
                // the error below matters
            }
            delete(dir);
            throw new DavitException(Kind.STORE, "cannot claim " + dir + ": " + e.getMessage());
        }
    }

    /** A claim this process holds; {@link #commit} or {@link #close} ends it. */
    static final class Claim implements AutoCloseable {
        private final Path dir;
        private final FileChannel ch;

        private Claim(Path dir, FileChannel ch) {
            this.dir = dir;
            this.ch = ch;
        }

        /**
         * Ends the claim and renames its directory to {@code dest}: the workspace exists from now on. Holding
         * {@link #holding}'s lock.
         */
        void commit(Path dest) throws IOException {
            // the record and the directory go while the claim is still held: a reap that listed it meanwhile finds
            // it locked, or gone, never stale with a sandbox to remove
            Files.deleteIfExists(dir.resolve(SANDBOX));
            Files.move(dir, dest, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(dest.getParent());
            close();
            Files.deleteIfExists(dest.resolve(CLAIM));
        }

        /** Releases the claim (its directory stays until the caller removes it). */
        @Override
        public void close() {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closed or not, the lock is gone with the channel
            } finally {
                OURS.remove(dir);
            }
        }
    }

    /** The name in a claim file open as {@code ch} (read through it: closing another descriptor drops the lock). */
    private static String read(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(256);
        ch.read(b, 0);
        String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        return s.isEmpty() ? null : s;
    }

    private static String read(Path claim) {
        try {
            String s = Files.readString(claim);
            return s.isEmpty() ? null : s;
        } catch (IOException e) {
            return null; // its creator is writing it (outside the lock: never) or it is gone
        }
    }

    private static void delete(Path p) {
        try {
            Fs.deleteTree(p);
        } catch (IOException ignored) {
            // best effort: the next look removes it
        }
    }
}
