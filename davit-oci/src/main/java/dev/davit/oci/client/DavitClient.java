package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.auth.CredentialResolver;
import dev.davit.oci.auth.Credentials;
import dev.davit.oci.auth.DavitConfig;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.bundle.BundleImporter;
import dev.davit.oci.bundle.BundleInfo;
import dev.davit.oci.bundle.BundleInspector;
import dev.davit.oci.bundle.BundleWriter;
import dev.davit.oci.bundle.ExportOptions;
import dev.davit.oci.bundle.ExportResult;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.bundle.ImportResult;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Args;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageConfiguration;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.policy.SigstoreKeys;
import dev.davit.oci.policy.Trust;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryAuthenticator;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.registry.Uploads;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.oci.unpack.UnpackResult;
import dev.davit.oci.unpack.Unpacker;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The davit library's entry point. Build one from {@link ClientOptions} and reuse it; it is thread-safe: one client
 * may serve any number of threads at once (pulls of the same image share the store's locks; see docs/DESIGN.md,
 * Concurrency).
 *
 * <p>The methods that move content take a {@link ProgressListener} (null, or {@link ProgressListener#NONE}, for none)
 * and, where an index may be met, a {@link PlatformSelector}; each has a shorter form without them, for this
 * machine's platform and no progress. A null argument that the method needs is refused with a
 * {@link NullPointerException} naming the method, the parameter and what to give instead.
 *
 * <pre>{@code
 * try (DavitClient davit = DavitClient.create(ClientOptions.defaults())) {
 *     PullResult r = davit.pull("alpine:3.20");     // this machine's platform, no progress
 *     System.out.println(r.target().digest());
 * }
 * }</pre>
 */
public final class DavitClient implements AutoCloseable {
    private final ClientOptions options;
    private final RegistryAuthenticator authenticator;
    private final Uploads.PushOptions pushOptions;
    private final RegistryClient registry;
    private volatile OciStore store;
    private final Admissions admissions;
    private final Transfers transfers;
    private final Referrers referrers;
    private final ArtifactTransfers artifacts;
    private final Inspections inspections;
    private final Bundles bundles;
    private final Logins logins;

    private DavitClient(ClientOptions options) {
        this.options = options;
        this.authenticator = new RegistryAuthenticator(options.credentials(), options.registry());
        this.pushOptions = options.push();
        this.registry = new RegistryClient(options.registry(), authenticator, msg -> { });
        this.admissions = new Admissions(this, options, registry);
        this.transfers = new Transfers(this, options, admissions);
        this.referrers = new Referrers(this, pushOptions);
        this.artifacts = new ArtifactTransfers(this);
        this.inspections = new Inspections(this, registry);
        this.bundles = new Bundles(this, admissions);
        this.logins = new Logins(options.registry());
    }

    /**
     * Makes a client. Nothing is opened yet: the store is opened on first use, registries are contacted per call.
     *
     * @param options the store, transport, credentials and push settings
     * @return a new client; close it when done
     */
    public static DavitClient create(ClientOptions options) {
        return new DavitClient(Args.given(options, "DavitClient.create", "options",
                "give ClientOptions.defaults() or ClientOptions.anonymous(store)"));
    }

    /** {@return the options this client was made with} */
    public ClientOptions options() {
        return options;
    }

    /**
     * {@return the store, opened (and created) on first use}
     *
     * @throws DavitException of kind STORE when the store path is unusable
     */
    public OciStore store() {
        OciStore s = store;
        if (s == null) {
            synchronized (this) {
                if (store == null) {
                    store = OciStore.open(options.store());
                }
                s = store;
            }
        }
        return s;
    }

    /**
     * Pulls a reference into the store and names it there by its normalised form.
     *
     * @param reference the image to pull, e.g. {@code alpine:3.20} or {@code ghcr.io/o/r@sha256:...}
     * @param platforms which manifests of an index to take, e.g. {@link PlatformSelector#host()}
     * @param progress receives progress events, from several threads; null or {@link ProgressListener#NONE} for
     *     none
     * @return what was resolved, stored and downloaded
     * @throws DavitException of kind USAGE for a malformed reference, NOT_FOUND (no such image or platform), AUTH,
     *     NETWORK, VERIFICATION (content did not match its digest) or STORE
     */
    public PullResult pull(String reference, PlatformSelector platforms, ProgressListener progress) {
        return pull(Reference.parse(Args.reference(reference, "DavitClient.pull")), platforms, progress);
    }

    /**
     * {@link #pull(String, PlatformSelector, ProgressListener)} of this machine's platform, with no progress.
     *
     * @param reference the image to pull, e.g. {@code alpine:3.20}
     * @return what was resolved, stored and downloaded
     * @throws DavitException as {@link #pull(String, PlatformSelector, ProgressListener)}
     */
    public PullResult pull(String reference) {
        return pull(reference, PlatformSelector.host(), ProgressListener.NONE);
    }

    /**
     * {@link #pull(String, PlatformSelector, ProgressListener)} of this machine's platform.
     *
     * @param reference the image to pull, e.g. {@code alpine:3.20}
     * @param progress receives progress events, from several threads; null for none
     * @return what was resolved, stored and downloaded
     * @throws DavitException as {@link #pull(String, PlatformSelector, ProgressListener)}
     */
    public PullResult pull(String reference, ProgressListener progress) {
        return pull(reference, PlatformSelector.host(), progress);
    }

    /**
     * Pulls a parsed reference into the store; see {@link #pull(String, PlatformSelector, ProgressListener)}.
     *
     * @param ref the image to pull
     * @param platforms which manifests of an index to take
     * @param progress receives progress events, from several threads
     * @return what was resolved, stored and downloaded
     * @throws DavitException of kind NOT_FOUND, AUTH, NETWORK, VERIFICATION or STORE
     */
    public PullResult pull(Reference ref, PlatformSelector platforms, ProgressListener progress) {
        Args.given(ref, "DavitClient.pull", "ref", "give a reference, e.g. Reference.parse(\"alpine:3.20\")");
        PlatformSelector p = Args.given(platforms, "DavitClient.pull", "platforms", "give PlatformSelector.host()"
                + " for this machine's, or use the method without it");
        return transfers.pull(ref, p, orNone(progress));
    }

    /**
     * Pushes a reference from the store to a registry ({@code target}, default the same reference): blobs the
     * target has are skipped, blobs another repository of the same registry holds (per the store) are mounted,
     * the rest uploaded; manifests go byte for byte, children first.
     *
     * @param reference the image in the store, e.g. {@code localhost:5000/app:1}
     * @param target where to push it, or null for {@code reference} itself
     * @param progress receives progress events, from several threads
     * @return what was pushed and how
     * @throws DavitException of kind USAGE for a malformed reference, NOT_FOUND when {@code reference} is not in
     *     the store, AUTH, NETWORK or VERIFICATION as the registry answers
     */
    public PushResult push(String reference, String target, ProgressListener progress) {
        Reference src = Reference.parse(Args.reference(reference, "DavitClient.push"));
        Reference dst = target == null ? src : Reference.parse(target);
        return transfers.push(src, dst, orNone(progress));
    }

    /**
     * {@link #push(String, String, ProgressListener)} with no progress.
     *
     * @param reference the image in the store
     * @param target where to push it, or null for {@code reference} itself
     * @return what was pushed and how
     * @throws DavitException as {@link #push(String, String, ProgressListener)}
     */
    public PushResult push(String reference, String target) {
        return push(reference, target, ProgressListener.NONE);
    }

    /**
     * Pushes manifest {@code top} of the store (and everything it references) to {@code target}: a tag, or the
     * manifest's own digest (then no tag is written).
     *
     * @param top      a manifest or index in the store
     * @param target   the repository and tag (or digest) to push to
     * @param progress hears the transfer; null for nothing
     * @return what was pushed and how
     * @throws DavitException as {@link #push(String, String, ProgressListener)}
     */
    public PushResult push(Descriptor top, String target, ProgressListener progress) {
        return pushFromStore(store(), top, Reference.parse(Args.reference(target, "DavitClient.push")), progress);
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
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.referrers"));
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
        Reference repo = Reference.parse(Args.reference(repository, "DavitClient.attachReferrer"));
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

    PushResult pushFromStore(OciStore from, Descriptor top, Reference dst, ProgressListener listener) {
        return transfers.pushFromStore(from, top, dst, orNone(listener));
    }

    /**
     * Copies between registries (streaming, nothing stored locally) and between a registry and an OCI layout
     * directory ({@code oci:PATH[:NAME]}). {@code platforms} picks from an index unless it selects all.
     *
     * @param source a reference, or {@code oci:PATH[:NAME]} for an OCI layout directory (NAME: a ref name or digest,
     *               optional when the layout has one entry)
     * @param destination a reference, or {@code oci:PATH[:NAME]} (NAME defaults to the source reference)
     * @param platforms which manifests of an index to take
     * @param progress receives progress events, from several threads
     * @return a pull result when the destination is a layout, else a push result
     * @throws DavitException of kind USAGE for malformed names or two layouts, NOT_FOUND, AUTH, NETWORK,
     *     VERIFICATION or STORE
     */
    public CopyResult copy(String source, String destination, PlatformSelector platforms, ProgressListener progress) {
        return copy(source, destination, platforms, progress, false);
    }

    /**
     * {@link #copy(String, String, PlatformSelector, ProgressListener)}; between registries, the image's signatures
     * and referrers go along unless {@code removeSignatures} (skopeo's {@code --remove-signatures}): the sigstore
     * signature manifest ({@code sha256-<hex>.sig}) and the referrers tag index ({@code sha256-<hex>}) of the copied
     * top manifest, under the same tags in the destination repository. Not when one platform is taken out of an
     * index (what was signed is not what is copied).
     *
     * @param source           a reference, or {@code oci:PATH[:NAME]}
     * @param destination      a reference, or {@code oci:PATH[:NAME]}
     * @param platforms        which manifests of an index to take
     * @param progress         receives progress events, from several threads
     * @param removeSignatures true to leave the signatures and referrers behind
     * @return a pull result when the destination is a layout, else a push result
     * @throws DavitException as {@link #copy(String, String, PlatformSelector, ProgressListener)}
     */
    public CopyResult copy(String source, String destination, PlatformSelector platforms, ProgressListener progress,
                           boolean removeSignatures) {
        Args.given(source, "DavitClient.copy", "source", "give a reference or oci:PATH[:NAME]");
        Args.given(destination, "DavitClient.copy", "destination", "give a reference or oci:PATH[:NAME]");
        Args.given(platforms, "DavitClient.copy", "platforms", "give PlatformSelector.host() for this machine's, or"
                + " use the method without it");
        return transfers.copy(source, destination, platforms, orNone(progress), removeSignatures);
    }

    /**
     * {@link #copy(String, String, PlatformSelector, ProgressListener)} of this machine's platform from an index,
     * with no progress.
     *
     * @param source a reference, or {@code oci:PATH[:NAME]}
     * @param destination a reference, or {@code oci:PATH[:NAME]}
     * @return a pull result when the destination is a layout, else a push result
     * @throws DavitException as {@link #copy(String, String, PlatformSelector, ProgressListener)}
     */
    public CopyResult copy(String source, String destination) {
        return copy(source, destination, PlatformSelector.host(), ProgressListener.NONE);
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
    public PushResult artifactPush(String reference, String artifactType, List<Artifacts.FileSpec> files,
                                   Map<String, String> annotations, ProgressListener progress) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.artifactPush"));
        Args.given(artifactType, "DavitClient.artifactPush", "artifactType", "give a media type, e.g."
                + " application/vnd.example.thing.v1");
        Args.given(files, "DavitClient.artifactPush", "files", "give at least one Artifacts.FileSpec");
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
     * the tag schema's {@code sha256-<hex>} index. {@link #referrers} lists it; {@link #artifactPull} of
     * {@code REPO@DIGEST} gets its files; {@link #copy} between registries carries it along.
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
    public Attached artifactAttach(String subject, String artifactType, List<Artifacts.FileSpec> files,
                                   Map<String, String> annotations, ProgressListener progress) {
        Reference ref = Reference.parse(Args.reference(subject, "DavitClient.artifactAttach"));
        Args.given(files, "DavitClient.artifactAttach", "files", "give at least one Artifacts.FileSpec");
        return artifacts.attach(ref, artifactType, files, annotations, progress);
    }

    /**
     * {@link #artifactPush(String, String, List, Map, ProgressListener)} with no annotations and no progress.
     *
     * @param reference the artifact's name, e.g. {@code ghcr.io/o/kernel:6.1}
     * @param artifactType the manifest's {@code artifactType}, a media type
     * @param files the files, one layer each; at least one, with distinct file names
     * @return what was pushed
     * @throws DavitException as {@link #artifactPush(String, String, List, Map, ProgressListener)}
     */
    public PushResult artifactPush(String reference, String artifactType, List<Artifacts.FileSpec> files) {
        return artifactPush(reference, artifactType, files, Map.of(), ProgressListener.NONE);
    }

    /**
     * Pulls an artifact and writes its files (by title) into {@code dir}.
     *
     * @param reference the artifact to pull
     * @param dir the directory to write into; created if missing
     * @param mediaTypes when not empty, only files of these media types are written; null or empty for all
     * @param progress receives progress events, from several threads; null for none
     * @return the pull and the files written
     * @throws DavitException as {@link #pull(String, PlatformSelector, ProgressListener)}, or as
     *     {@link Artifacts#extract} when writing the files
     */
    public ArtifactPull artifactPull(String reference, Path dir, Set<String> mediaTypes, ProgressListener progress) {
        Args.reference(reference, "DavitClient.artifactPull");
        Args.given(dir, "DavitClient.artifactPull", "dir", "give the directory to write the files into");
        return artifacts.pull(reference, dir, mediaTypes, progress);
    }

    /**
     * {@link #artifactPull(String, Path, Set, ProgressListener)} of every file, with no
     * progress.
     *
     * @param reference the artifact to pull
     * @param dir the directory to write into; created if missing
     * @return the pull and the files written
     * @throws DavitException as {@link #artifactPull(String, Path, Set, ProgressListener)}
     */
    public ArtifactPull artifactPull(String reference, Path dir) {
        return artifactPull(reference, dir, Set.of(), ProgressListener.NONE);
    }

    /**
     * What {@link #artifactPull} did.
     *
     * @param pull the pull of the artifact's manifest and blobs
     * @param files the files written, in layer order
     */
    public record ArtifactPull(PullResult pull, List<Artifacts.Extracted> files) {
    }

    /**
     * What a copy did: a pull into a layout, or a push to a registry.
     *
     * @param pulled the pull into an OCI layout, or null
     * @param pushed the push to a registry, or null
     */
    public record CopyResult(PullResult pulled, PushResult pushed) {
    }

    private static ProgressListener orNone(ProgressListener progress) {
        return progress == null ? ProgressListener.NONE : progress;
    }

    /**
     * Decides on the image {@code reference} (whose top manifest is {@code top}) under {@code trust} rather than this
     * client's, reading its signatures from its registry: a requirement of its own (a catalog entry's
     * {@code signedBy}) on top of the policy every pull meets.
     *
     * @param reference the image
     * @param top       its top manifest's digest (what signatures sign)
     * @param trust     the requirements and where signatures are
     * @return what admitted it
     * @throws DavitException VERIFICATION when {@code trust} refuses it; NETWORK when its signatures cannot be read
     */
    public Trust.Admitted verify(String reference, Digest top, Trust trust) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.verify"));
        Args.given(trust, "DavitClient.verify", "trust", "give the requirements, e.g. new Trust(policy, registries)");
        return admissions.verify(ref, top, trust);
    }

    /**
     * {@link #verify} of an image the store holds, as {@code reference}: what its signatures sign is worked out from
     * the store (the index it came from when the store holds that index and it lists the image), and its signatures
     * are read from its registry, else from the store (kept, or imported from a bundle), so it works offline.
     *
     * @param reference the image in the store
     * @param trust     the requirements and where signatures are
     * @return what admitted it
     * @throws DavitException NOT_FOUND when it is not in the store; VERIFICATION when {@code trust} refuses it
     */
    public Trust.Admitted verifyStored(String reference, Trust trust) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.verifyStored"));
        return admissions.verifyStored(ref, trust);
    }

    /**
     * Holds an image already in the store to the signature policy before it is used (a run of a cached image): the
     * policy accepts anything there, or the trust that admitted it (its entry's {@link
     * Trust#ADMITTED_BY}) is this one, which costs a hash of the policy and key files; else the
     * image is admitted again now (its signatures read from the registry or the lookaside store) and its entry
     * records this trust.
     *
     * @param reference the image in the store
     * @return the store entry admitted: use it, not a later lookup of the name (which a concurrent pull or import
     *         may have moved meanwhile)
     * @throws DavitException NOT_FOUND when it is not in the store; VERIFICATION when the policy refuses it; NETWORK
     *                        when its signatures cannot be read
     */
    public StoreEntry checkTrust(String reference) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.checkTrust"));
        return admissions.checkTrust(ref);
    }

    <T> T withRegistry(ProgressListener progress, Function<RegistryClient, T> work) {
        RegistryClient client = new RegistryClient(options.registry(), authenticator,
                msg -> progress.onEvent(new ProgressEvent.Retry(msg)));
        try {
            return work.apply(client);
        } finally {
            client.close();
        }
    }

    /**
     * Builds an image from {@code dir} (one new layer on top of {@link BuildOptions#base()}, which must already be
     * in the store: {@link #pull} it first) and names it {@code reference} in the store.
     *
     * @param dir the directory whose content becomes the new layer
     * @param reference the name for the image, with a tag, e.g. {@code app:dev}
     * @param options the build settings, e.g. {@link BuildOptions#defaults()}
     * @param progress receives progress events; null for none
     * @return what was built
     * @throws DavitException of kind USAGE for a bad directory, reference or base, NOT_FOUND when the base is not
     *     in the store, STORE when the store cannot be written
     */
    public BuildResult build(Path dir, String reference, BuildOptions options,
                             ProgressListener progress) {
        Args.given(dir, "DavitClient.build", "dir", "give the directory whose content becomes the layer");
        Reference ref = Reference.parse(Args.given(reference, "DavitClient.build", "reference", "give the image's"
                + " name with a tag, e.g. app:dev"));
        Args.given(options, "DavitClient.build", "options", "give BuildOptions.defaults() or one of"
                + " BuildOptions.builder()");
        return new ImageBuilder(store()).build(dir, ref, options, orNone(progress));
    }

    /**
     * {@link #build(Path, String, BuildOptions, ProgressListener)} with no progress.
     *
     * @param dir the directory whose content becomes the new layer
     * @param reference the name for the image, with a tag, e.g. {@code app:dev}
     * @param options the build settings, e.g. {@link BuildOptions#defaults()}
     * @return what was built
     * @throws DavitException as {@link #build(Path, String, BuildOptions, ProgressListener)}
     */
    public BuildResult build(Path dir, String reference, BuildOptions options) {
        return build(dir, reference, options, ProgressListener.NONE);
    }

    /**
     * {@return the digest, media type and size the registry has for {@code reference} now (a HEAD request)}
     *
     * @param reference the image to look up
     * @throws DavitException of kind USAGE for a malformed reference, NOT_FOUND, AUTH, NETWORK or VERIFICATION
     */
    public Descriptor remoteDigest(String reference) {
        return registry.headManifest(Reference.parse(Args.reference(reference, "DavitClient.remoteDigest")));
    }

    /**
     * A signature davit made and where it put it.
     *
     * @param reference the signed image (the identity the signature claims)
     * @param digest    the signed top manifest's digest, as the registry has it
     * @param kind      {@code sigstore} or {@code gpg}
     * @param where     the signature manifest's reference (sigstore) or the lookaside file (gpg)
     */
    public record SignResult(Reference reference, Digest digest, String kind, String where) {
    }

    /**
     * Signs the image {@code reference} at its registry with the sigstore key {@code key}, as cosign and skopeo
     * ({@code --sign-by-sigstore-private-key}) do: a simple-signing payload claiming {@code reference} for its
     * manifest's digest, signed, added as a layer to the signature manifest tagged {@code sha256-<hex>.sig} beside
     * it (the signatures already there are kept) and pushed. The policy's {@code sigstoreSigned} with the matching
     * public key then admits the image where {@code registries.d} sets {@code use-sigstore-attachments}.
     *
     * @param reference the image, by tag (the identity signed)
     * @param key       the private key ({@link SigstoreKeys#decryptPrivate})
     * @param progress  receives progress events; null for none
     * @return what was signed and where the signature is
     * @throws DavitException USAGE for a malformed reference, NOT_FOUND, AUTH or NETWORK as the registry answers
     */
    public SignResult signSigstore(String reference, PrivateKey key, ProgressListener progress) {
        return new Signatures(this).signSigstore(reference, key, progress);
    }

    /**
     * Signs the image {@code reference} at its registry with the GPG key {@code fingerprint} of
     * {@code secretKeyring}, as {@code skopeo copy --sign-by} does: a simple signing signature claiming
     * {@code reference} for its manifest's digest, written as the next {@code signature-N} of the lookaside store
     * {@code registries.d} names for it ({@code lookaside-staging}, else {@code lookaside}; a {@code file://} one).
     *
     * @param reference     the image, by tag (the identity signed)
     * @param secretKeyring the secret keyring ({@code gpg --export-secret-keys}, binary or armored)
     * @param fingerprint   the signing key's fingerprint (or key id), or null for the first signing key
     * @param passphrase    its passphrase (empty for none)
     * @return what was signed and the signature's file
     * @throws DavitException USAGE for a malformed reference, a key that cannot sign, no {@code file://} lookaside
     *                        store in {@code registries.d}; NOT_FOUND, AUTH or NETWORK as the registry answers
     */
    public SignResult signGpg(String reference, byte[] secretKeyring, String fingerprint, char[] passphrase) {
        return new Signatures(this).signGpg(reference, secretKeyring, fingerprint, passphrase);
    }

    /**
     * {@return all tags of a repository, in the registry's order}
     *
     * @param repository the repository, e.g. {@code alpine} or {@code ghcr.io/o/r}; a tag or digest is ignored
     * @throws DavitException of kind USAGE for a malformed name, NOT_FOUND, AUTH or NETWORK
     */
    public List<String> tags(String repository) {
        return registry.tags(Reference.parseRepository(Args.given(repository, "DavitClient.tags", "repository",
                "give a repository, e.g. alpine or ghcr.io/o/r")));
    }

    /** {@return what the store holds: every named entry} */
    public List<StoreEntry> images() {
        return store().entries();
    }

    /**
     * {@return the store entry for {@code reference} (normalised), if pulled}
     *
     * @param reference the image, as a user writes it
     * @throws DavitException of kind USAGE for a malformed reference
     */
    public Optional<StoreEntry> find(String reference) {
        return store().entry(Reference.parse(Args.reference(reference, "DavitClient.find")).toString());
    }

    /**
     * Removes a reference from the store (blobs are freed by {@link #gc()}).
     *
     * @param reference the image, as a user writes it
     * @return whether the store had it
     * @throws DavitException of kind USAGE for a malformed reference, STORE when the store cannot be written
     */
    public boolean remove(String reference) {
        return store().removeEntry(Reference.parse(Args.reference(reference, "DavitClient.remove")).toString());
    }

    /**
     * Unpacks a pulled image from the store into {@code dir} (which must not exist or be empty), without the
     * network; an index is resolved for {@code platforms}. See {@link Unpacker}.
     *
     * @param reference the image in the store
     * @param dir the target directory; created if missing
     * @param platforms picks the manifest from an index; null means this machine's
     * @param unpackOptions the limits and privileges, e.g. {@link UnpackOptions#defaults()}
     * @return what was written, skipped and noted
     * @throws DavitException of kind NOT_FOUND when the image is not in the store, else as
     *     {@link Unpacker#unpack}
     */
    public UnpackResult unpack(String reference, Path dir, PlatformSelector platforms,
                               UnpackOptions unpackOptions) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.unpack"));
        Args.given(dir, "DavitClient.unpack", "dir", "give the directory to unpack into (missing or empty)");
        Args.given(unpackOptions, "DavitClient.unpack", "unpackOptions", "give UnpackOptions.defaults(), or use the"
                + " method without it");
        StoreEntry e = store().entry(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                ref + " is not in the store; pull it first"));
        return new Unpacker(store(), unpackOptions).unpack(e.descriptor(), platforms, dir);
    }

    /**
     * {@link #unpack(String, Path, PlatformSelector, UnpackOptions)} of this machine's platform,
     * with {@link UnpackOptions#defaults()}.
     *
     * @param reference the image in the store
     * @param dir the target directory; created if missing
     * @return what was written, skipped and noted
     * @throws DavitException as {@link #unpack(String, Path, PlatformSelector, UnpackOptions)}
     */
    public UnpackResult unpack(String reference, Path dir) {
        return unpack(reference, dir, PlatformSelector.host(), UnpackOptions.defaults());
    }

    /**
     * Removes blobs that no store entry reaches, and leftover partial files; waits for running pulls first.
     *
     * @return what was removed
     * @throws DavitException of kind STORE when the store cannot be written
     */
    public OciStore.GcReport gc() {
        return store().gc();
    }

    /**
     * Verifies the store: every blob against its digest, every entry's graph complete and parsable.
     *
     * @param repair true to delete corrupt blobs (a later pull fetches them again)
     * @return the problems found and how many were repaired
     */
    public OciStore.FsckReport fsck(boolean repair) {
        return store().fsck(repair);
    }

    /**
     * A manifest and, for image manifests, its config document.
     *
     * @param reference the normalised reference inspected
     * @param descriptor the manifest's descriptor (the platform's, when one was picked from an index)
     * @param manifest the manifest
     * @param config the image config, or null for an index or a config that is not JSON or is over 8 MiB
     * @param entry the store entry, or null for a remote inspection
     */
    public record Inspection(Reference reference, Descriptor descriptor, Manifest manifest, ImageConfiguration config,
                             StoreEntry entry) {
    }

    /**
     * Inspects a pulled reference from the store (no network).
     *
     * @param reference the image in the store
     * @return its manifest and config
     * @throws DavitException of kind USAGE for a malformed reference, NOT_FOUND when it is not in the store,
     *     VERIFICATION for a corrupt manifest or config
     */
    public Inspection inspectLocal(String reference) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.inspectLocal"));
        return inspections.local(ref);
    }

    /**
     * Inspects a reference at the registry without pulling; an index is resolved for {@code platforms} when set.
     *
     * @param reference the image at the registry
     * @param platforms picks a manifest from an index; null or all-platforms shows the index itself
     * @return its manifest and config; {@link Inspection#entry()} is null
     * @throws DavitException of kind USAGE for a malformed reference, NOT_FOUND, AUTH, NETWORK or VERIFICATION
     */
    public Inspection inspectRemote(String reference, PlatformSelector platforms) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.inspectRemote"));
        return inspections.remote(ref, platforms);
    }

    /**
     * {@link #inspectRemote(String, PlatformSelector)} of this machine's platform from an index.
     *
     * @param reference the image at the registry
     * @return its manifest and config; {@link Inspection#entry()} is null
     * @throws DavitException as {@link #inspectRemote(String, PlatformSelector)}
     */
    public Inspection inspectRemote(String reference) {
        return inspectRemote(reference, PlatformSelector.host());
    }

    /**
     * Checks {@code credentials} against {@code registryHost} (a {@code /v2/} request, with a token exchange
     * where the registry uses tokens) and, when accepted, saves them in the davit config file.
     *
     * @param registryHost the registry, e.g. {@code ghcr.io}, {@code localhost:5000} or {@code https://host/}
     * @param credentials the credentials to check and save; not anonymous
     * @return the config file written
     * @throws DavitException of kind USAGE for a malformed host or anonymous credentials, AUTH when the registry
     *     rejects the credentials, NETWORK when it cannot be reached, STORE when the file cannot be written
     */
    public Path login(String registryHost, Credentials credentials) {
        return login(registryHost, credentials, CredentialResolver.fromSystem().davitConfigPath());
    }

    /**
     * {@link #login(String, Credentials)} saving into {@code configFile}.
     *
     * @param registryHost the registry, e.g. {@code ghcr.io}
     * @param credentials the credentials to check and save; not anonymous
     * @param configFile the davit config file to update; created if missing
     * @return {@code configFile}
     * @throws DavitException as {@link #login(String, Credentials)}
     */
    public Path login(String registryHost, Credentials credentials, Path configFile) {
        String host = Logins.normalizeRegistry(Args.given(registryHost, "DavitClient.login", "registryHost",
                "give a registry, e.g. ghcr.io"));
        Args.given(credentials, "DavitClient.login", "credentials", "give Credentials.basic(user, password)");
        Args.given(configFile, "DavitClient.login", "configFile", "give the davit config file, or use the method"
                + " without it");
        return logins.login(host, credentials, configFile);
    }

    /**
     * Removes saved credentials of {@code registryHost} from the davit config.
     *
     * @param registryHost the registry, e.g. {@code ghcr.io}
     * @return whether there were any
     * @throws DavitException of kind USAGE for a malformed host or config file, STORE when it cannot be written
     */
    public boolean logout(String registryHost) {
        return logout(registryHost, CredentialResolver.fromSystem().davitConfigPath());
    }

    /**
     * {@link #logout(String)} from {@code configFile}.
     *
     * @param registryHost the registry, e.g. {@code ghcr.io}
     * @param configFile the davit config file to update
     * @return whether there were any credentials for it
     * @throws DavitException as {@link #logout(String)}
     */
    public boolean logout(String registryHost, Path configFile) {
        String host = Logins.normalizeRegistry(Args.given(registryHost, "DavitClient.logout", "registryHost",
                "give a registry, e.g. ghcr.io"));
        return DavitConfig.removeCredentials(Args.given(configFile, "DavitClient.logout",
                "configFile", "give the davit config file, or use the method without it"), host);
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
        Args.given(refs, "DavitClient.export", "refs", "give the references in the store to export");
        Args.given(file, "DavitClient.export", "file", "give the bundle file to write");
        Args.given(options, "DavitClient.export", "options", "give ExportOptions.defaults()");
        return bundles.export(refs, file, options, orNone(progress));
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
        Args.given(file, "DavitClient.importBundle", "file", "give the bundle file to import");
        Args.given(options, "DavitClient.importBundle", "options", "give ImportOptions.defaults()");
        return bundles.importBundle(file, options, orNone(progress));
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
    public BundleInfo inspectBundle(Path file) {
        return new BundleInspector().inspect(Args.given(file, "DavitClient.inspectBundle", "file",
                "give the bundle file to read"));
    }

    @Override
    public void close() {
        registry.close();
    }
}
