package dev.davit.sandbox.workspace;

import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What a workspace's snapshots may hold on the host (they are copies in its state directory, outside the sandbox's
 * disk): at most {@link #MAX} snapshots, and together at most what {@link Export#hostSide} allows (a bound tied to
 * the disk limit, and the free space of the state's filesystem less a reserve). What they hold is counted in the
 * file {@link #FILE} of the workspace's state directory, in bytes of disk: a snapshot adds the blocks of the files
 * it wrote (a file linked from the snapshot before it or the baseline has another link and is not counted again),
 * and its removal takes off the blocks of the files it held alone (their last link), so a file is counted once for
 * as long as some snapshot holds it. The trees are davit's and never written after they are made, so the two agree.
 */
final class SnapshotBound {
    /** The most snapshots a workspace has. */
    static final int MAX = 32;
    /** The file in a workspace's state directory that counts the bytes of disk its snapshots hold. */
    static final String FILE = "snapshotted";

    private SnapshotBound() {
    }

    /** The bytes of disk the snapshots of the workspace whose state directory is {@code state} hold. */
    static long held(Path state) {
        return Export.count(state.resolve(FILE));
    }

    /** Adds {@code bytes} (less than 0: takes them off) to what the workspace's snapshots hold (see {@link #held}). */
    static void add(Path state, long bytes) {
        Export.add(state.resolve(FILE), bytes);
    }

    /** The bytes of disk of the regular files of {@code tree} that have no other link (a new snapshot's own files). */
    static long alone(Path tree) throws IOException {
        try (Dir d = Dir.open(tree, "the snapshot")) {
            return alone(d, 0);
        }
    }

    /**
     * The bytes of disk everything under {@code dir} takes, each file counted once however many links it has (a
     * saved sandbox state: its names are the sandbox's, counted by {@code du}, which needs them in no encoding).
     */
    static long stateBytes(Path dir) throws IOException {
        if (!java.nio.file.Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        return dev.davit.sandbox.host.Host.diskUsage(dir);
    }

    /** The file in a snapshot's directory that holds the bytes it added to {@link #FILE} (taken off at its removal). */
    static final String CHARGED = "charged";

    private static long alone(Dir d, int depth) throws IOException {
        long sum = 0;
        for (String n : d.names()) {
            Stat st = d.stat(n);
            if (st == null) {
                continue;
            }
            if (st.isRegularFile() && st.nlink() == 1) {
                sum += st.blocks() * 512;
            } else if (st.isDirectory() && depth < 1024) {
                try (Dir sub = d.dir(n)) {
                    sum += alone(sub, depth + 1);
                }
            }
        }
        return sum;
    }
}
