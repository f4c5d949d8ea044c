package dev.davit;

import dev.davit.oci.DavitException;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.bundle.ExportOptions;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.bundle.ImportResult;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.internal.Args;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.store.StoreEntry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The images and artifacts of a {@link Davit}'s home store ({@link Davit#images}): pulled from any OCI registry and
 * verified byte for byte (the home's signature policy admits them), pushed, copied, built from a directory, listed
 * and removed; files moved
 * as OCI artifacts; the store's content moved as bundles for machines without a registry. Each call is what the
 * CLI's command of the same name does ({@code davit pull}, {@code davit push}, {@code davit copy},
 * {@code davit images}, {@code davit rm}, {@code davit artifact push|pull}, {@code davit bundle export|import});
 * transfers are heard by the {@link Davit.Builder#progress} listener. Thread-safe.
 *
 * <pre>{@code
 * try (Davit davit = Davit.open()) {
 *     Images.Image alpine = davit.images().pull("docker.io/library/alpine:3.20");
 *     System.out.println(alpine.digest());   // sha256:...
 * }
 * }</pre>
 */
public final class Images {
    private final Davit davit;
    private final ProgressListener progress;

    Images(Davit davit, ProgressListener progress) {
        this.davit = davit;
        this.progress = progress;
    }

    /**
     * An image or artifact in the store, or one a call moved.
     *
     * @param reference its name ({@code registry/repository:tag}, or {@code @digest})
     * @param digest    its manifest's (or index's) digest, {@code sha256:HEX}
     * @param mediaType its manifest's media type
     * @param size      its manifest's size in bytes
     */
    public record Image(String reference, String digest, String mediaType, long size) {
    }

    private DavitClient client() {
        return davit.openClient();
    }

    /**
     * The registry {@code reference} names, as davit reaches it and an allow-list names it ({@code docker.io} for a
     * name without a host, {@code localhost:5000} for {@code localhost:5000/team/app:1}); nothing is fetched.
     *
     * @param reference an image or artifact reference
     * @return its registry's host (and port)
     * @throws DavitException USAGE for a malformed reference
     */
    public static String registry(String reference) {
        return dev.davit.oci.reference.Reference.parse(Args.reference(reference, "Images.registry")).registry();
    }

    private static Image of(String reference, Descriptor d) {
        return new Image(reference, d.digest().toString(), d.mediaType(), d.size());
    }

    /**
     * Pulls {@code reference} into the store (of an index, this host's platform's image), each blob verified against
     * its digest.
     *
     * @param reference an image or artifact reference
     * @return what is now in the store under {@code reference}
     * @throws DavitException USAGE for a malformed reference; NOT_FOUND, AUTH, NETWORK or VERIFICATION when the pull
     *                        fails (nothing half-written is kept); POLICY when the home's signature policy refuses it
     */
    public Image pull(String reference) {
        Args.reference(reference, "Images.pull");
        PullResult r = client().pull(reference, PlatformSelector.host(), progress);
        return of(r.reference().toString(), r.target());
    }

    /**
     * Pushes image {@code source} of the store to {@code destination}.
     *
     * @param source      a reference in the store
     * @param destination where to push it, {@code registry/repository:tag}
     * @return what the registry now has under {@code destination}
     * @throws DavitException USAGE for a malformed reference; NOT_FOUND when {@code source} is not in the store;
     *                        AUTH or NETWORK when the push fails
     */
    public Image push(String source, String destination) {
        Args.reference(source, "Images.push");
        Args.reference(destination, "Images.push");
        PushResult r = client().push(source, destination, progress);
        return of(r.target().toString(), r.top());
    }

    /**
     * Copies {@code source} to {@code destination}, registry to registry, through the store: of an index, this
     * host's platform's image, as {@code davit copy} without {@code --all-platforms}; blobs the destination has are
     * not sent again.
     *
     * @param source      the reference to copy
     * @param destination where to copy it
     * @return what the registry now has under {@code destination}
     * @throws DavitException as {@link #pull} and {@link #push} do
     */
    public Image copy(String source, String destination) {
        Args.reference(source, "Images.copy");
        Args.reference(destination, "Images.copy");
        PushResult r = client().copy(source, destination, PlatformSelector.host(), progress).pushed();
        return of(r.target().toString(), r.top());
    }

    /**
     * Stores an image of directory {@code dir} under {@code reference}: one layer holding its tree, no base image
     * and an empty config; the same tree gives the same digest. What a first program needs offline (e.g. a directory
     * with a static busybox); {@code davit build} builds Containerfiles.
     *
     * @param dir       the image's root directory
     * @param reference the name to store it under, e.g. {@code localhost/example/busybox:1}
     * @return what is now in the store under {@code reference}
     * @throws DavitException USAGE for a malformed reference or a bad directory; STORE when the store cannot be
     *                        written
     */
    public Image build(Path dir, String reference) {
        Args.given(dir, "Images.build", "dir", "give the image's root directory");
        Args.reference(reference, "Images.build");
        BuildResult r = client().build(dir, reference, BuildOptions.defaults(), progress);
        return of(r.reference().toString(), r.manifest());
    }

    /**
     * The store's images and artifacts, by name.
     *
     * @return every named entry of the store
     */
    public List<Image> list() {
        List<Image> all = new ArrayList<>();
        for (StoreEntry e : client().images()) {
            all.add(of(e.name(), e.descriptor()));
        }
        return all;
    }

    /**
     * The store's entry named {@code reference}.
     *
     * @param reference a reference
     * @return the entry, or empty when the store has none of that name
     * @throws DavitException USAGE for a malformed reference
     */
    public Optional<Image> find(String reference) {
        Args.reference(reference, "Images.find");
        return client().find(reference).map(e -> of(e.name(), e.descriptor()));
    }

    /**
     * Removes the store's entry named {@code reference} (its blobs go with the next {@code davit gc}).
     *
     * @param reference a reference
     * @return whether there was one
     * @throws DavitException USAGE for a malformed reference
     */
    public boolean remove(String reference) {
        Args.reference(reference, "Images.remove");
        return client().remove(reference);
    }

    /**
     * Pushes {@code files} as an OCI artifact of type {@code artifactType} to {@code reference}, each file a layer
     * titled with its name, of type {@value dev.davit.oci.artifact.Artifacts#DEFAULT_FILE_TYPE}.
     *
     * @param reference    where to push it
     * @param artifactType the artifact's type, e.g. {@code application/vnd.example.notes}
     * @param files        regular files, at least one
     * @return what the registry now has under {@code reference}
     * @throws DavitException USAGE for a malformed reference or no file; NOT_FOUND when a file does not exist; AUTH
     *                        or NETWORK when the push fails
     */
    public Image pushArtifact(String reference, String artifactType, List<Path> files) {
        Args.reference(reference, "Images.pushArtifact");
        Args.given(files, "Images.pushArtifact", "files", "give at least one file");
        List<Artifacts.FileSpec> specs = files.stream().map(f -> new Artifacts.FileSpec(f, Artifacts.DEFAULT_FILE_TYPE)).toList();
        PushResult r = client().artifacts().push(reference, artifactType, specs, Map.of(), progress);
        return of(r.target().toString(), r.top());
    }

    /**
     * Pulls artifact {@code reference} and writes its titled files into directory {@code dir} (made if missing;
     * a title that would leave it is refused).
     *
     * @param reference the artifact
     * @param dir       where its files go
     * @return the files written
     * @throws DavitException as {@link #pull} does; VERIFICATION when a title is not a plain file name or two
     *                        layers have one title (nothing is written); STORE when a file cannot be written
     */
    public List<Path> pullArtifact(String reference, Path dir) {
        Args.reference(reference, "Images.pullArtifact");
        return client().artifacts().pull(reference, dir).files().stream().map(Artifacts.Extracted::path).toList();
    }

    /**
     * Writes {@code references} of the store, with everything they reach, into bundle {@code file} (an OCI image
     * layout in a tar), to be {@link #importBundle imported} where there is no registry.
     *
     * @param file       the bundle to write (replaced only when it is complete)
     * @param references references in the store, at least one
     * @throws DavitException USAGE for no reference; NOT_FOUND when one is not in the store; STORE when the file
     *                        cannot be written
     */
    public void exportBundle(Path file, List<String> references) {
        Args.given(file, "Images.exportBundle", "file", "give the bundle file to write");
        Args.given(references, "Images.exportBundle", "references", "give at least one reference of the store");
        client().bundles().export(references, file, ExportOptions.defaults(), progress);
    }

    /**
     * Imports bundle {@code file} into the store, each blob verified, and names its references there.
     *
     * @param file a bundle {@link #exportBundle} or {@code davit bundle export} wrote
     * @return the references it named in the store
     * @throws DavitException VERIFICATION when the bundle is damaged (nothing is named); USAGE when it is not one
     */
    public List<Image> importBundle(Path file) {
        ImportResult r = client().bundles().importBundle(file, ImportOptions.defaults(), progress);
        return r.refs().stream().map(i -> of(i.reference().toString(), i.descriptor())).toList();
    }
}
