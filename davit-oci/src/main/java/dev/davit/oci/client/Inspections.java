package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageConfiguration;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.store.StoreEntry;
import java.util.List;

/**
 * A {@link DavitClient}'s look at an image's manifest and config, in its store or at its registry, without pulling.
 */
final class Inspections {
    private static final int MAX_CONFIG_BYTES = 8 * 1024 * 1024;

    private final DavitClient davit;
    private final RegistryClient registry;

    Inspections(DavitClient davit, RegistryClient registry) {
        this.davit = davit;
        this.registry = registry;
    }

    /** {@link DavitClient#inspectLocal}'s work, for {@code ref}. */
    DavitClient.Inspection local(Reference ref) {
        StoreEntry e = davit.store().entry(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                Message.of(ref + " is not in the store; pull it first or use ", Input.REMOTE)));
        Manifest m = davit.store().readManifest(e.descriptor());
        ImageConfiguration config = null;
        if (m instanceof ImageManifest im && im.config().size() <= MAX_CONFIG_BYTES
                && isJson(im.config().mediaType())) {
            config = parseConfig(davit.store().readBlob(im.config().digest(), MAX_CONFIG_BYTES), im.config().digest());
        }
        return new DavitClient.Inspection(ref, e.descriptor(), m, config, e);
    }

    /** {@link DavitClient#inspectRemote(String, PlatformSelector)}'s work, for {@code ref}. */
    DavitClient.Inspection remote(Reference ref, PlatformSelector platforms) {
        RegistryClient.FetchedManifest top = registry.fetchManifest(ref);
        RegistryClient.FetchedManifest shown = top;
        if (top.manifest() instanceof ImageIndex idx && platforms != null && !platforms.all()) {
            List<Descriptor> chosen = platforms.select(idx, ref.toString());
            if (chosen.size() == 1) {
                shown = registry.fetchManifest(ref, chosen.get(0));
            }
        }
        ImageConfiguration config = null;
        if (shown.manifest() instanceof ImageManifest im && im.config().size() <= MAX_CONFIG_BYTES
                && isJson(im.config().mediaType())) {
            config = parseConfig(registry.fetchBlobBytes(ref, im.config(), MAX_CONFIG_BYTES), im.config().digest());
        }
        return new DavitClient.Inspection(ref, shown.descriptor(), shown.manifest(), config, null);
    }

    private static boolean isJson(String mediaType) {
        return mediaType.endsWith("+json") || mediaType.endsWith("/json");
    }

    private static ImageConfiguration parseConfig(byte[] bytes, Digest d) {
        try {
            return ImageConfiguration.parse(bytes);
        } catch (DavitException e) {
            throw new DavitException(Kind.VERIFICATION, "config " + d + " is not valid JSON");
        }
    }
}
