package dev.davit.sandbox.build;

import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Optional;

/**
 * The layers a Containerfile build's {@code RUN} and {@code COPY --from} steps made, found again by what made them:
 * a key over the layers the step ran on, its command, its variables, working directory, user and network (a COPY's:
 * both images' layers and its words) ({@link #key}). Each is a store
 * entry {@value #REPOSITORY}{@code :KEY} naming a small OCI artifact whose one layer is the step's layer, so the
 * store keeps the blob, {@code davit images} shows it, and removing the entry (or {@code davit rmi}) then
 * {@code davit gc} frees it; a home has its cache only through its store. Entries are set under the store's lock,
 * so builds in parallel into one store each see a whole entry or none.
 *
 * <p>The store takes names from elsewhere too ({@code davit import} of a bundle, a pull), and a key is made of what
 * anyone can know: so each entry carries a MAC ({@value #MAC}: HMAC-SHA256 under the home's own secret,
 * {@code HOME/build-cache.key}, 0600, over the key, the layer's digest and its diff id), and an entry without a right
 * one is a miss. Only a build of this home makes entries it takes.
 */
final class BuildCache {
    /** The repository of the cache's entries; the tag is the key. */
    static final String REPOSITORY = "localhost/davit-build-cache";
    /** The artifact type of an entry's manifest. */
    static final String ARTIFACT_TYPE = "application/vnd.dev.davit.build.cache.v1";
    /** The annotation holding the layer's uncompressed digest (its diff id). */
    static final String DIFF_ID = "dev.davit.build.diff-id";
    /** The annotation holding the entry's MAC. */
    static final String MAC = "dev.davit.build.mac";
    /** The annotation saying which step made it, for a person reading {@code davit inspect}. */
    static final String STEP = "dev.davit.build.step";
    private static final int MAX_MANIFEST = 64 * 1024;

    private final OciStore store;
    private final java.nio.file.Path home;
    private byte[] secret; // read (or made) once, at the first entry looked at or made

    BuildCache(OciStore store, java.nio.file.Path home) {
        this.store = store;
        this.home = home;
    }

    /** The home's secret (made at first use: 32 random bytes, 0600). */
    private synchronized byte[] secret() {
        if (secret == null) {
            secret = readOrMakeSecret();
        }
        return secret;
    }

    private byte[] readOrMakeSecret() {
        java.nio.file.Path f = home.resolve("build-cache.key");
        try {
            if (!java.nio.file.Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                byte[] b = new byte[32];
                new java.security.SecureRandom().nextBytes(b);
                java.nio.file.Files.createDirectories(home);
                java.nio.file.Path tmp = java.nio.file.Files.createTempFile(home, ".build-cache.key", ".tmp",
                        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
                java.nio.file.Files.write(tmp, b);
                try {
                    java.nio.file.Files.move(tmp, f); // never over one another build made meanwhile
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    java.nio.file.Files.deleteIfExists(tmp);
                }
            }
            if (!java.nio.file.Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    || java.nio.file.Files.size(f) != 32) {
                throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.STORE, "the build cache's"
                        + " key " + f + " is not a file of 32 bytes; remove it (the cache starts again)");
            }
            return java.nio.file.Files.readAllBytes(f);
        } catch (java.io.IOException e) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.STORE, "cannot read or make the"
                    + " build cache's key " + f + ": " + e.getMessage());
        }
    }

    /** The MAC of an entry: HMAC-SHA256 under the home's secret over the key, the layer's digest and diff id. */
    private String mac(String key, Descriptor layer, String diffId) {
        try {
            javax.crypto.Mac m = javax.crypto.Mac.getInstance("HmacSHA256");
            m.init(new javax.crypto.spec.SecretKeySpec(secret(), "HmacSHA256"));
            m.update((key + "\n" + layer.digest() + "\n" + layer.size() + "\n" + layer.mediaType() + "\n" + diffId)
                    .getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(m.doFinal());
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The key of {@code parts}: a sha256 (hex) over each part, length-prefixed so no two lists share one. */
    static String key(List<String> parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update("davit-build-cache-v1\n".getBytes(StandardCharsets.UTF_8));
            for (String p : parts) {
                byte[] b = p.getBytes(StandardCharsets.UTF_8);
                md.update((b.length + ":").getBytes(StandardCharsets.UTF_8));
                md.update(b);
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The layer cached under {@code key}, when its entry and its blob are whole in the store. */
    Optional<LayerBuilder.Layer> find(String key) {
        Optional<StoreEntry> e = store.entry(REPOSITORY + ":" + key);
        if (e.isEmpty() || !store.hasBlob(e.get().descriptor().digest())) {
            return Optional.empty();
        }
        try {
            Manifest m = ManifestParser.parse(store.readBlob(e.get().descriptor().digest(), MAX_MANIFEST),
                    MediaTypes.OCI_MANIFEST);
            if (!(m instanceof ImageManifest im) || im.layers().size() != 1 || !ARTIFACT_TYPE.equals(
                    im.artifactType())) {
                return Optional.empty();
            }
            Descriptor layer = im.layers().get(0);
            String diffId = im.annotations().get(DIFF_ID);
            String mac = im.annotations().get(MAC);
            if (diffId == null || mac == null || !MessageDigest.isEqual(mac.getBytes(StandardCharsets.UTF_8),
                    mac(key, layer, diffId).getBytes(StandardCharsets.UTF_8)) || !store.hasBlob(layer.digest())) {
                return Optional.empty(); // not this home's (an imported or pulled name), or damaged: a miss
            }
            return Optional.of(new LayerBuilder.Layer(layer, Digest.parse(diffId), 0, 0, List.of(), true));
        } catch (RuntimeException ex) {
            return Optional.empty(); // a damaged entry is a miss: the step runs again and replaces it
        }
    }

    /** Records {@code layer} (in the store) under {@code key}, made by {@code step}. */
    void put(String key, LayerBuilder.Layer layer, String step) {
        Descriptor md = dev.davit.oci.artifact.Artifacts.manifest(store, ARTIFACT_TYPE, List.of(layer.descriptor()),
                java.util.Map.of(DIFF_ID, layer.diffId().toString(), MAC, mac(key, layer.descriptor(),
                        layer.diffId().toString()), STEP, step));
        store.setEntry(REPOSITORY + ":" + key, new Descriptor(MediaTypes.OCI_MANIFEST, md.digest(), md.size()),
                java.util.Map.of());
    }
}
