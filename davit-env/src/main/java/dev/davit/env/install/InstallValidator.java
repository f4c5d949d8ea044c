package dev.davit.env.install;

import dev.davit.env.Environment;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.Hashed;
import dev.davit.oci.store.OciStore;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * Decides whether an install directory is a valid install of an environment. It is valid only when
 * {@code environment.json} parses, names the environment and version, lists every artifact the environment
 * needs, and every listed artifact is real: files are regular files (not symlinks), of the recorded size and
 * digest; {@code rootfs/} is a non-empty directory. A file is trusted without re-hashing when it is a hard link to
 * the store blob of its recorded digest (the store verified it on ingest), or when it still has the
 * {@link FileStamp} (device, inode, size, modification and change time) the install recorded right after verifying
 * it; any other file is hashed.
 */
public final class InstallValidator {
    private final OciStore store;

    /** @param store the store whose blobs installs may link to, or null */
    public InstallValidator(OciStore store) {
        this.store = store;
    }

    /** The artifacts an environment's installs hold: its list, or the defaults for its kind. */
    public static List<String> artifactsOf(Environment e) {
        List<String> names = e.artifacts().isEmpty() ? Environment.defaultArtifacts(e.kind()) : e.artifacts();
        // catalogs name a container's unpacked tree "rootfs"; in an install it is the directory "rootfs/"
        return names.stream()
                .map(a -> e.kind() == Environment.Kind.CONTAINER && a.equals("rootfs") ? "rootfs/" : a).toList();
    }

    public InstallStatus check(Environment e, Path dir) {
        String problem;
        InstallManifest m = null;
        try {
            m = readManifest(dir);
            problem = problem(e, dir, m);
        } catch (IOException ex) {
            problem = ex.getMessage();
        }
        return problem == null ? InstallStatus.valid(e, dir, m) : InstallStatus.invalid(e, dir, problem);
    }

    /** Reads {@code dir/environment.json}; the exception's message is a reason for humans. */
    static InstallManifest readManifest(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(Files.exists(dir, LinkOption.NOFOLLOW_LINKS)
                    ? dir + " is not a directory" : "no install directory " + dir);
        }
        Path mf = dir.resolve(InstallManifest.FILE_NAME);
        if (!Files.isRegularFile(mf, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("no install manifest " + InstallManifest.FILE_NAME);
        }
        try {
            return InstallManifest.parse(Files.readAllBytes(mf));
        } catch (IOException ex) {
            throw new IOException("unreadable install manifest " + InstallManifest.FILE_NAME + ": "
                    + firstLine(ex.getMessage()));
        }
    }

    private String problem(Environment e, Path dir, InstallManifest m) {
        if (!m.name().equals(e.name()) || !m.version().equals(e.version())) {
            return "the install manifest names " + m.name() + " " + m.version() + ", not " + e.name() + " "
                    + e.version();
        }
        for (String name : artifactsOf(e)) {
            InstallManifest.Artifact a = m.artifact(name);
            if (a == null) {
                return "the install manifest does not list " + name;
            }
        }
        for (InstallManifest.Artifact a : m.artifacts()) {
            String p = artifactProblem(dir, a);
            if (p != null) {
                return p;
            }
        }
        return null;
    }

    private String artifactProblem(Path dir, InstallManifest.Artifact a) {
        String name = a.name().endsWith("/") ? a.name().substring(0, a.name().length() - 1) : a.name();
        if (name.isEmpty() || name.contains("/") || name.equals("..") || name.equals(".")) {
            return "the install manifest names an unsafe artifact " + a.name();
        }
        Path p = dir.resolve(name);
        if (Files.isSymbolicLink(p)) {
            return a.name() + " is a symbolic link" + (Files.exists(p) ? "" : " (dangling)");
        }
        if (a.isDirectory()) {
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                return a.name() + " is missing or not a directory";
            }
            try (var s = Files.list(p)) {
                if (s.findAny().isEmpty()) {
                    return a.name() + " is empty";
                }
            } catch (IOException ex) {
                return a.name() + " cannot be read: " + ex.getMessage();
            }
            return null;
        }
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return a.name() + " is missing";
        }
        if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            return a.name() + " is not a regular file";
        }
        try {
            long size = Files.size(p);
            if (size != a.size()) {
                return a.name() + " has " + size + " bytes, the install manifest records " + a.size();
            }
            Digest expected;
            try {
                expected = Digest.parse(a.digest());
            } catch (RuntimeException ex) {
                return "the install manifest records an invalid digest for " + a.name();
            }
            if (linkedToStore(p, expected) || stampMatches(p, a)) {
                return null;
            }
            Hashed h;
            try (InputStream in = Files.newInputStream(p)) {
                h = Hashed.of(in, expected.algorithm(), new byte[1 << 16]);
            }
            if (!h.digest().equals(expected)) {
                return a.name() + " has digest " + h.digest() + ", the install manifest records " + expected;
            }
            return null;
        } catch (IOException ex) {
            return a.name() + " cannot be read: " + ex.getMessage();
        }
    }

    /** Whether the file still has the stamp the install recorded after verifying it (see {@link FileStamp}). */
    private static boolean stampMatches(Path p, InstallManifest.Artifact a) throws IOException {
        return a.verified() != null && a.verified().size() == a.size() && a.verified().equals(FileStamp.of(p));
    }

    private boolean linkedToStore(Path p, Digest d) {
        if (store == null) {
            return false;
        }
        try {
            Path blob = store.blobPath(d);
            return Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS) && Files.isSameFile(p, blob);
        } catch (IOException | RuntimeException ex) {
            return false;
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "malformed";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
