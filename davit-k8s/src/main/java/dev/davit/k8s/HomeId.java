package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The id of a davit home on the cluster, the value of its objects' {@link Pods#HOME} label: random, made at the
 * home's first start of a pod and kept in its file {@value #FILE}. A hash of the home's path would be the same for
 * two machines' {@code ~/.davit} on one namespace, and each one's sweep ({@link Sweep}) would take the other's pods;
 * an id of its own is the home's alone, and its file tells a sweep whether this home ever used a cluster.
 */
final class HomeId {
    /** The file in the davit home. */
    static final String FILE = "k8s-home-id";
    private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[0-9a-f]{16}");
    private static final ConcurrentHashMap<Path, String> KNOWN = new ConcurrentHashMap<>();

    private HomeId() {
    }

    /** Home {@code home}'s id, made now if it has none (two davits making it at once agree on the first made). */
    static String of(Path home) {
        Path h = home.toAbsolutePath().normalize();
        return KNOWN.computeIfAbsent(h, HomeId::readOrMake);
    }

    /** Home {@code home}'s id, or null when it never had one: no pod was ever made from it. */
    static String ifMade(Path home) {
        Path h = home.toAbsolutePath().normalize();
        String known = KNOWN.get(h);
        return known != null ? known : Files.exists(h.resolve(FILE), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                ? of(h) : null;
    }

    private static String readOrMake(Path home) {
        Path file = home.resolve(FILE);
        try {
            if (!Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(home); // a home whose first sandbox this is
                byte[] random = new byte[8];
                new java.security.SecureRandom().nextBytes(random);
                Path tmp = Files.createTempFile(home, FILE + ".", ".tmp");
                try {
                    Files.writeString(tmp, java.util.HexFormat.of().formatHex(random) + "\n");
                    Files.createLink(file, tmp); // fails when another davit made it first: its id is the home's
                } catch (java.nio.file.FileAlreadyExistsException raced) {
                    // read below
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
            if (!Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS) || Files.size(file) > 64) {
                throw new DavitException(Kind.STORE, file + " is not davit's record of this home's id on the"
                        + " cluster; remove it (davit makes another; this home's pods made before keep the old id)");
            }
            String id = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (!ID.matcher(id).matches()) {
                throw new DavitException(Kind.STORE, file + " does not hold a home id (16 hex digits); remove it"
                        + " (davit makes another; this home's pods made before keep the old id)");
            }
            return id;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot record this davit home's id on the cluster in " + file + ": "
                    + e.getMessage());
        }
    }
}
