package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.bundle.BundleImporter;
import dev.davit.oci.bundle.BundleInfo;
import dev.davit.oci.bundle.BundleInspector;
import dev.davit.oci.bundle.BundleWriter;
import dev.davit.oci.bundle.ExportOptions;
import dev.davit.oci.bundle.ExportResult;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.bundle.ImportResult;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.internal.Args;
import java.nio.file.Path;
import java.util.List;

/**
 * Bundles, from {@link DavitClient#bundles()}: store entries written to one file (a tar of an OCI image layout) to
 * carry to a machine without the registry, read back there after a complete check, and looked into without a store.
 * Thread-safe, as its client is.
 *
 * <pre>{@code
 * davit.bundles().export(List.of("alpine:3.20"), Path.of("alpine.tar"), ExportOptions.defaults());
 * // on the other machine
 * other.bundles().importBundle(Path.of("alpine.tar"), ImportOptions.defaults());
 * }</pre>
 */
public final class BundleClient {
    private final Bundles bundles;

    BundleClient(Bundles bundles) {
        this.bundles = bundles;
    }

    /**
     * Writes the store entries named by {@code refs} into a bundle {@code file} (a tar of an OCI image layout; see
     * {@link BundleWriter}), replacing it atomically.
     *
     * @param refs the references in the store to export; at least one
     * @param file the bundle file to write
     * @param options metadata, compression and verification
     * @return what was written
     * @throws DavitException as {@link BundleWriter#export}
     */
    public ExportResult export(List<String> refs, Path file, ExportOptions options) {
        return export(refs, file, options, ProgressListener.NONE);
    }

    /**
     * {@link #export(List, Path, ExportOptions)} with progress events.
     *
     * @param refs the references in the store to export; at least one
     * @param file the bundle file to write
     * @param options metadata, compression and verification
     * @param progress receives progress events
     * @return what was written
     * @throws DavitException as {@link BundleWriter#export}
     */
    public ExportResult export(List<String> refs, Path file, ExportOptions options, ProgressListener progress) {
        Args.given(refs, "DavitClient.bundles().export", "refs", "give the references in the store to export");
        Args.given(file, "DavitClient.bundles().export", "file", "give the bundle file to write");
        Args.given(options, "DavitClient.bundles().export", "options", "give ExportOptions.defaults()");
        return bundles.export(refs, file, options, progress == null ? ProgressListener.NONE : progress);
    }

    /**
     * Imports a bundle: verifies it completely, then names its references in the store (see
     * {@link BundleImporter}). A bad bundle changes no reference.
     *
     * @param file the bundle file
     * @param options how entries are named, and the limits
     * @param progress receives progress events
     * @return the references set and the blobs stored
     * @throws DavitException as {@link BundleImporter#importBundle}
     */
    public ImportResult importBundle(Path file, ImportOptions options, ProgressListener progress) {
        Args.given(file, "DavitClient.bundles().importBundle", "file", "give the bundle file to import");
        Args.given(options, "DavitClient.bundles().importBundle", "options", "give ImportOptions.defaults()");
        return bundles.importBundle(file, options, progress == null ? ProgressListener.NONE : progress);
    }

    /**
     * {@link #importBundle(Path, ImportOptions, ProgressListener)} with no
     * progress.
     *
     * @param file the bundle file
     * @param options how entries are named, and the limits
     * @return the references set and the blobs stored
     * @throws DavitException as {@link BundleImporter#importBundle}
     */
    public ImportResult importBundle(Path file, ImportOptions options) {
        return importBundle(file, options, ProgressListener.NONE);
    }

    /**
     * {@return a bundle's metadata and references, read without extracting it (no store needed)}
     *
     * @param file the bundle file
     * @throws DavitException as {@link BundleInspector#inspect}
     */
    public BundleInfo inspect(Path file) {
        return new BundleInspector().inspect(Args.given(file, "DavitClient.bundles().inspect", "file",
                "give the bundle file to read"));
    }
}
