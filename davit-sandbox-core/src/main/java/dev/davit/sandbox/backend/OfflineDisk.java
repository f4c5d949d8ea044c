package dev.davit.sandbox.backend;

import java.io.OutputStream;
import java.util.List;

/**
 * The disk of a stopped microVM sandbox, read on the host without booting it and without mounting it
 * ({@link Machinery#offlineDisk}): a raw copy of the disk (its copy-on-write overlay over the environment's
 * rootfs.ext4) that a confined {@code debugfs} (e2fsprogs) reads in read-only mode. Everything the disk holds was
 * made by the guest: a caller treats every name, size and link target that comes back as hostile. Close it to
 * delete the copy.
 */
public interface OfflineDisk extends AutoCloseable {
    /**
     * Runs debugfs {@code requests} (one line each, e.g. {@code ls -p <12>}, {@code cat <13>}) in order against the
     * disk, in one debugfs, and copies what they print on standard output to {@code out}: at most
     * {@code maxOutput} bytes, debugfs is killed past them. Returns the bytes debugfs printed, up to
     * {@code maxOutput + 1} (more than {@code maxOutput}: the output was cut).
     *
     * @param requests  debugfs requests, one line each
     * @param out       where debugfs's standard output goes
     * @param maxOutput the most bytes copied to {@code out}
     * @return the bytes debugfs printed, at most {@code maxOutput + 1}
     */
    long debugfs(List<String> requests, OutputStream out, long maxOutput);

    /**
     * Where debugfs sees {@link #dumpDir()}: requests such as {@code dump <13> DUMP/1} write a file there (names the
     * caller makes, never names from the disk).
     *
     * @return the directory's path as debugfs sees it
     */
    String dumpPath();

    /**
     * The host directory debugfs dumps into ({@link #dumpPath}), empty at first; to read through a Dir.
     *
     * @return the host directory
     */
    java.nio.file.Path dumpDir();

    @Override
    void close();
}
