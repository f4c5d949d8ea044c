package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.auth.CredentialResolver;
import dev.davit.oci.auth.Credentials;
import dev.davit.oci.auth.DavitConfig;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.internal.Args;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageConfiguration;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryAuthenticator;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.oci.unpack.UnpackResult;
import dev.davit.oci.unpack.Unpacker;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The davit library's entry point. Build one from {@link ClientOptions} and reuse it; it is thread-safe: one client
 * may serve any number of threads at once (pulls of the same image share the store's locks; see docs/design/STORE.md,
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
    private final RegistryClient registry;
    private volatile OciStore store;
    private final Admissions admissions;
    private final Transfers transfers;
    private final Inspections inspections;
    private final ArtifactClient artifactClient;
    private final SignatureClient signatureClient;
    private final BundleClient bundleClient;
    private final Logins logins;

    private DavitClient(ClientOptions options) {
        this.options = options;
        this.authenticator = new RegistryAuthenticator(options.credentials(), options.registry());
        this.registry = new RegistryClient(options.registry(), authenticator, msg -> { });
        this.admissions = new Admissions(this, options, registry);
        this.transfers = new Transfers(this, options, admissions);
        this.inspections = new Inspections(this, registry);
        this.artifactClient = new ArtifactClient(new ArtifactTransfers(this), new Referrers(this, options.push()));
        this.signatureClient = new SignatureClient(admissions, new Signatures(this));
        this.bundleClient = new BundleClient(new Bundles(this, admissions));
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

    /** {@return artifacts and referrers: push files as an artifact, attach one to an image, pull one, list them} */
    public ArtifactClient artifacts() {
        return artifactClient;
    }

    /** {@return signatures: sign an image at its registry, hold an image to a signature policy} */
    public SignatureClient signatures() {
        return signatureClient;
    }

    /** {@return bundles: export store entries to a file, import one after checking it, inspect one} */
    public BundleClient bundles() {
        return bundleClient;
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

    @Override
    public void close() {
        registry.close();
    }
}
