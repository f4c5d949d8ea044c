package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Args;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Artifacts and referrers, from {@link DavitClient#artifacts()}: files pushed as an OCI artifact, attached to an image
 * as a referrer (an SBOM, an attestation), pulled back into a directory, and the referrers of a manifest listed.
 * Thread-safe, as its client is.
 *
 * <pre>{@code
 * davit.artifacts().push("ghcr.io/o/kernel:6.1", "application/vnd.example.kernel.v1",
 *         List.of(new Artifacts.FileSpec(Path.of("vmlinux"), "application/octet-stream")));
 * davit.artifacts().pull("ghcr.io/o/kernel:6.1", Path.of("out"));
 * }</pre>
 */
public final class ArtifactClient {
    private final ArtifactTransfers artifacts;
    private final Referrers referrers;

    ArtifactClient(ArtifactTransfers artifacts, Referrers referrers) {
        this.artifacts = artifacts;
        this.referrers = referrers;
    }

    /**
     * The manifests that refer to the manifest {@code reference} names (their {@code subject} is it): through the
     * registry's referrers API, else, for a registry without it, the tag schema's index ({@code sha256-HEX} in the
     * same repository; none there: an empty list).
     *
     * @param reference    the subject, by tag or digest
     * @param artifactType only referrers of this artifact type, or null for all
     * @return each referrer's descriptor (media type, digest, size, artifact type, annotations)
     * @throws DavitException NOT_FOUND when the subject is not there; AUTH, NETWORK or VERIFICATION as a pull's
     */
    public List<Descriptor> referrers(String reference, String artifactType) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.artifacts().referrers"));
        return referrers.list(ref, artifactType);
    }

    /**
     * Makes referrer {@code referrer} (pushed already to {@code repository}) findable from its subject on a registry
     * without the referrers API: adds it to the tag schema's index {@code sha256-HEX} of {@code subject} (made when
     * missing). A registry with the API indexes it itself, and nothing is written.
     *
     * @param repository the repository holding both
     * @param subject    the digest of the manifest referred to
     * @param referrer   the referring manifest's descriptor, with its artifact type and annotations
     * @return true when the tag's index was written, false when the registry has the API (or lists it already)
     * @throws DavitException AUTH, NETWORK as a push's
     */
    public boolean attachReferrer(String repository, Digest subject, Descriptor referrer) {
        Reference repo = Reference.parse(Args.reference(repository, "DavitClient.artifacts().attachReferrer"));
        return referrers.attach(repo, subject, referrer);
    }

    /**
     * The tag schema's tag of {@code subject}'s referrers: {@code ALG-HEX}, at most 128 characters.
     *
     * @param subject the digest of the manifest referred to
     * @return its tag, e.g. {@code sha256-0123...}
     */
    public static String fallbackTag(Digest subject) {
        return Referrers.fallbackTag(subject);
    }

    /**
     * Creates an artifact from files (stored and named {@code reference} in the store) and pushes it.
     *
     * @param reference the artifact's name, e.g. {@code ghcr.io/o/kernel:6.1}
     * @param artifactType the manifest's {@code artifactType}, a media type
     * @param files the files, one layer each; at least one, with distinct file names
     * @param annotations the manifest's annotations; empty or null for none
     * @param progress receives progress events, from several threads; null for none
     * @return what was pushed
     * @throws DavitException of kind USAGE for a malformed reference, type or file list, STORE when the store
     *     cannot be written, AUTH or NETWORK as the registry answers
     */
    public PushResult push(String reference, String artifactType, List<Artifacts.FileSpec> files,
                                   Map<String, String> annotations, ProgressListener progress) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.artifacts().push"));
        Args.given(artifactType, "DavitClient.artifacts().push", "artifactType", "give a media type, e.g."
                + " application/vnd.example.thing.v1");
        Args.given(files, "DavitClient.artifacts().push", "files", "give at least one Artifacts.FileSpec");
        return artifacts.push(ref, artifactType, files, annotations, progress);
    }

    /**
     * An artifact attached to an image: what it refers to and whether the registry's referrers tag was written.
     *
     * @param subject       the image referred to
     * @param subjectDigest its manifest's digest at the registry
     * @param artifact      the artifact's manifest (its digest, artifact type and annotations)
     * @param referrersTag  true when the registry has no referrers API and the {@code sha256-<hex>} tag index of the
     *                      subject was written
     */
    public record Attached(Reference subject, Digest subjectDigest, Descriptor artifact, boolean referrersTag) {
    }

    /**
     * Attaches files to an image at its registry as an OCI 1.1 referrer (an SBOM, a provenance statement, any
     * attestation): an artifact of type {@code artifactType} whose {@code subject} is {@code subject}'s manifest,
     * pushed by digest into the image's repository and listed through the referrers API, or (a registry without it)
     * the tag schema's {@code sha256-<hex>} index. {@link #referrers} lists it; {@link #pull} of
     * {@code REPO@DIGEST} gets its files; {@link DavitClient#copy} between registries carries it along.
     *
     * @param subject      the image, by tag or digest
     * @param artifactType the artifact's type, e.g. {@code application/spdx+json}
     * @param files        the files, one layer each
     * @param annotations  the manifest's annotations; empty or null for none
     * @param progress     receives progress events; null for none
     * @return what was attached
     * @throws DavitException USAGE for a malformed reference, type or file list; NOT_FOUND when the image is not
     *                        there; AUTH or NETWORK as the registry answers
     */
    public Attached attach(String subject, String artifactType, List<Artifacts.FileSpec> files,
                                   Map<String, String> annotations, ProgressListener progress) {
        Reference ref = Reference.parse(Args.reference(subject, "DavitClient.artifacts().attach"));
        Args.given(files, "DavitClient.artifacts().attach", "files", "give at least one Artifacts.FileSpec");
        return artifacts.attach(ref, artifactType, files, annotations, progress);
    }

    /**
     * {@link #push(String, String, List, Map, ProgressListener)} with no annotations and no progress.
     *
     * @param reference the artifact's name, e.g. {@code ghcr.io/o/kernel:6.1}
     * @param artifactType the manifest's {@code artifactType}, a media type
     * @param files the files, one layer each; at least one, with distinct file names
     * @return what was pushed
     * @throws DavitException as {@link #push(String, String, List, Map, ProgressListener)}
     */
    public PushResult push(String reference, String artifactType, List<Artifacts.FileSpec> files) {
        return push(reference, artifactType, files, Map.of(), ProgressListener.NONE);
    }

    /**
     * Pulls an artifact and writes its files (by title) into {@code dir}.
     *
     * @param reference the artifact to pull
     * @param dir the directory to write into; created if missing
     * @param mediaTypes when not empty, only files of these media types are written; null or empty for all
     * @param progress receives progress events, from several threads; null for none
     * @return the pull and the files written
     * @throws DavitException as {@link DavitClient#pull(String, PlatformSelector, ProgressListener)}, or as
     *     {@link Artifacts#extract} when writing the files
     */
    public Pulled pull(String reference, Path dir, Set<String> mediaTypes, ProgressListener progress) {
        Args.reference(reference, "DavitClient.artifacts().pull");
        Args.given(dir, "DavitClient.artifacts().pull", "dir", "give the directory to write the files into");
        return artifacts.pull(reference, dir, mediaTypes, progress);
    }

    /**
     * {@link #pull(String, Path, Set, ProgressListener)} of every file, with no
     * progress.
     *
     * @param reference the artifact to pull
     * @param dir the directory to write into; created if missing
     * @return the pull and the files written
     * @throws DavitException as {@link #pull(String, Path, Set, ProgressListener)}
     */
    public Pulled pull(String reference, Path dir) {
        return pull(reference, dir, Set.of(), ProgressListener.NONE);
    }

    /**
     * What {@link #pull} did.
     *
     * @param pull the pull of the artifact's manifest and blobs
     * @param files the files written, in layer order
     */
    public record Pulled(PullResult pull, List<Artifacts.Extracted> files) {
    }
}
