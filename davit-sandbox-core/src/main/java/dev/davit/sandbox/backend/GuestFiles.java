package dev.davit.sandbox.backend;

import java.nio.file.Path;
import java.util.List;

/**
 * The files of a running sandbox whose files are not on the host (a microVM's, in its disk), for a layer above
 * sandboxes (workspaces). Paths are absolute guest paths; {@code .}, {@code ..} and a symbolic link on the way are
 * refused ({@link dev.davit.oci.DavitException} of kind USAGE). Got from {@link dev.davit.sandbox.backend.Machinery#guestFiles}.
 */
public interface GuestFiles {
    /**
     * What {@link #read} read.
     *
     * @param bytes the file's first bytes (all of them when {@code bytes.length == size})
     * @param size  the file's size in bytes
     */
    record Content(byte[] bytes, long size) {
    }

    /**
     * Extracts tar file {@code tar} (made on the host) into guest directory {@code dir}, made when missing.
     *
     * @param dir an absolute guest path
     * @param tar the host's tar file
     */
    void putTar(String dir, Path tar);

    /**
     * Copies the content of guest directory {@code dir} into the empty host directory {@code into}. What the guest
     * sends is untrusted: it is extracted as it arrives with the rules for untrusted tars
     * ({@link dev.davit.oci.unpack.TarExtractor#extractUntrusted}: nothing outside {@code into}, nothing through a
     * link, no devices or fifos, within caps). On failure {@code into} holds part of the tree: delete it.
     *
     * @param dir  an absolute guest path
     * @param into an empty host directory
     * @return the entries left out (devices, fifos), each with the reason
     */
    List<dev.davit.oci.unpack.UnpackResult.Skipped> copyTree(String dir, Path into);

    /**
     * The first {@code maxBytes} of regular file {@code file}.
     *
     * @param file     an absolute guest path
     * @param maxBytes the most bytes to read, 0 for all
     * @return the bytes read and the file's size
     * @throws dev.davit.oci.DavitException NOT_FOUND when it is missing
     */
    Content read(String file, long maxBytes);

    /**
     * Removes each path (a directory with all it holds, a link itself); a missing one is no error.
     *
     * @param paths absolute guest paths
     */
    void remove(List<String> paths);

    /**
     * Renames {@code from} to {@code to}, making {@code to}'s missing parents (0755); an existing {@code to} is
     * replaced (a file or link atomically; a directory is removed first).
     *
     * @param from an absolute guest path that exists
     * @param to   an absolute guest path
     */
    void move(String from, String to);

    /**
     * Makes guest directory {@code fresh} the new {@code dir} by two renames, with the disk flushed before and after
     * them, and removes the old one (renamed to {@code old} meanwhile). A crash leaves {@code dir} old or new; one
     * between the renames leaves only {@code old}, which the next swap moves back first.
     *
     * @param dir   the guest directory to replace
     * @param fresh the guest directory that replaces it
     * @param old   where {@code dir} is while it is swapped (then removed)
     */
    void swap(String dir, String fresh, String old);

    /** Flushes the guest's file systems to its disk. */
    void sync();
}
