package dev.davit.oci.copy;

import dev.davit.oci.DavitException;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.Platform;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Which manifests of an index to take: the best match for one platform, or all of them.
 *
 * @param platform the platform to match; null when {@code all}
 * @param all true to take every manifest of an index
 */
public record PlatformSelector(Platform platform, boolean all) {

    /** {@return a selector for the platform of this machine} */
    public static PlatformSelector host() {
        return new PlatformSelector(Platform.host(), false);
    }

    /**
     * {@return a selector for the best match for {@code p}}
     *
     * @param p the wanted platform; normalised here
     */
    public static PlatformSelector of(Platform p) {
        return new PlatformSelector(Platform.normalize(p), false);
    }

    /** {@return a selector that takes every manifest of an index} */
    public static PlatformSelector allPlatforms() {
        return new PlatformSelector(null, true);
    }

    /**
     * Picks from {@code index}: all entries when {@link #all()} or when no entry names a platform (an artifact
     * index); otherwise the best-scoring entry the platform accepts. Attestation entries
     * ({@code unknown/unknown}) are never picked for a platform.
     *
     * @param index the index to pick from
     * @param what what the index is, for the error message, e.g. a reference
     * @return the picked entries, in index order; never empty unless the index is
     * @throws DavitException NOT_FOUND listing the available platforms when nothing matches
     */
    public List<Descriptor> select(ImageIndex index, String what) {
        if (all || index.manifests().stream().allMatch(d -> d.platform() == null)) {
            return index.manifests();
        }
        Optional<Descriptor> best = index.manifests().stream()
                .filter(d -> d.platform() != null && platform.accepts(d.platform()))
                .max(Comparator.comparingInt(d -> platform.score(d.platform())));
        if (best.isPresent()) {
            return List.of(best.get());
        }
        List<String> avail = index.manifests().stream().map(Descriptor::platform)
                .filter(p -> p != null && !"unknown".equals(p.os()))
                .map(p -> Platform.normalize(p).toString()).distinct().toList();
        throw new DavitException(DavitException.Kind.NOT_FOUND, dev.davit.oci.Message.of("no image for platform " + platform
                + " in " + what + "; available: " + (avail.isEmpty() ? "none" : String.join(", ", avail))
                + "; choose one with ", dev.davit.oci.Input.ONE_PLATFORM, " or use ", dev.davit.oci.Input.ALL_PLATFORMS));
    }

    /** {@return {@code all}, or the platform as {@code os/arch[/variant]}} */
    @Override
    public String toString() {
        return all ? "all" : platform.toString();
    }
}
