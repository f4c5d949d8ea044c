package dev.davit.oci.client;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
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
import dev.davit.oci.bundle.OciLayoutSource;
import dev.davit.oci.copy.Copier;
import dev.davit.oci.copy.GraphSource;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.copy.Pusher;
import dev.davit.oci.copy.RegistrySource;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.VerifyingInputStream;
import dev.davit.oci.internal.Args;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageConfiguration;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.policy.SignaturePolicy;
import dev.davit.oci.policy.SigstoreKeys;
import dev.davit.oci.policy.SigstoreSignature;
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
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

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
    private static final int MAX_CONFIG_BYTES = 8 * 1024 * 1024;

    private final ClientOptions options;
    private final RegistryAuthenticator authenticator;
    private final Uploads.PushOptions pushOptions;
    private final RegistryClient registry;
    private volatile OciStore store;

    private DavitClient(ClientOptions options) {
        this.options = options;
        this.authenticator = new RegistryAuthenticator(options.credentials(), options.registry());
        this.pushOptions = options.push();
        this.registry = new RegistryClient(options.registry(), authenticator, msg -> { });
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
        ProgressListener l = orNone(progress);
        PullResult r = withRegistry(l, client -> new Copier(store(), admission(client)).pull(client, ref, p, l));
        keepSignatures(ref, r.resolvedDigest());
        return r;
    }

    /**
     * When the policy needed a sigstore signature for {@code ref}, its signature manifest is kept in the store
     * ({@code REPO:sha256-<hex>.sig}): an export carries it, and the image verifies again with no registry.
     */
    private void keepSignatures(Reference ref, Digest top) {
        if (top == null || SIGNATURE_TAG.matcher(ref.tag() == null ? "" : ref.tag()).matches()
                || options.trust().policy().requirementsFor(ref).requirements().stream()
                .noneMatch(q -> q instanceof SignaturePolicy.SigstoreSigned)) {
            return;
        }
        Reference sig = new Reference(ref.registry(), ref.repository(),
                SigstoreSignature.tag(top), null);
        try {
            withRegistry(ProgressListener.NONE, client -> {
                // only a cosign signature manifest, small, is kept: never whatever else the tag names
                if (!SigstoreSignature.isSignatureManifest(client.fetchManifest(sig).manifest())) {
                    return null;
                }
                return new Copier(store()).pull(client, new Reference(sig.registry(), sig.repository(), sig.tag(),
                        null), PlatformSelector.host(), ProgressListener.NONE);
            });
        } catch (DavitException e) {
            // best effort: the image was admitted; without its signature kept it verifies again online only
            org.slf4j.LoggerFactory.getLogger(DavitClient.class).debug("the signature {} was not kept: {}", sig,
                    e.getMessage());
        }
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
        StoreEntry e = store().entry(src.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                Message.of(src + " is not in the store; pull or build it first (see ", Action.IMAGES.fix(), ")")));
        PushResult r = pushFromStore(store(), e.descriptor(), dst, progress);
        // its signatures kept in the store go along, when what they sign is what was pushed
        String resolved = e.descriptor().annotation(OciStore.RESOLVED_DIGEST);
        Digest top = e.descriptor().digest();
        if (resolved == null || resolved.equals(top.toString())) {
            String tag = SigstoreSignature.tag(top);
            find(new Reference(src.registry(), src.repository(), tag, null).toString()).ifPresent(sig ->
                    pushFromStore(store(), sig.descriptor(), new Reference(dst.registry(), dst.repository(), tag,
                            null), progress));
        }
        return r;
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
        return withRegistry(ProgressListener.NONE, client -> {
            Digest subject = ref.digest() != null ? ref.digest() : client.headManifest(ref).digest();
            List<Descriptor> api = client.referrers(ref, subject, artifactType);
            if (api != null) {
                return api;
            }
            List<Descriptor> out = new ArrayList<>();
            List<Descriptor> listed = fallbackIndex(client, ref, subject);
            for (Descriptor d : listed == null ? List.<Descriptor>of() : listed) {
                if (artifactType == null || artifactType.equals(d.artifactType())) {
                    out.add(d);
                }
            }
            return out;
        });
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
        return withRegistry(ProgressListener.NONE, client -> {
            if (client.referrers(repo, subject, null) != null) {
                return false;
            }
            List<Descriptor> found = fallbackIndex(client, repo, subject);
            if (found == null) {
                throw new DavitException(Kind.USAGE, "the tag " + fallbackTag(subject) + " of " + repo.repositoryName()
                        + " holds something other than a referrers index, which davit leaves as it is; the"
                        + " referrer was pushed, but is not listed there");
            }
            List<Descriptor> listed = new ArrayList<>(found);
            if (listed.stream().anyMatch(d -> d.digest().equals(referrer.digest()))) {
                return false;
            }
            listed.add(new Descriptor(referrer.mediaType(), referrer.digest(), referrer.size(), List.of(),
                    referrer.annotations(), null, referrer.artifactType()));
            com.fasterxml.jackson.databind.node.ObjectNode idx = Json.object();
            idx.put("schemaVersion", 2);
            idx.put("mediaType", MediaTypes.OCI_INDEX);
            com.fasterxml.jackson.databind.node.ArrayNode ms = idx.putArray("manifests");
            listed.forEach(d -> ms.add(ManifestJson.toJson(d)));
            new Uploads(client.transport(), pushOptions).putManifest(repo, fallbackTag(subject),
                    MediaTypes.OCI_INDEX, Json.bytes(idx));
            return true;
        });
    }

    /**
     * The tag schema's tag of {@code subject}'s referrers: {@code ALG-HEX}, at most 128 characters.
     *
     * @param subject the digest of the manifest referred to
     * @return its tag, e.g. {@code sha256-0123...}
     */
    public static String fallbackTag(Digest subject) {
        String t = subject.toString().replace(':', '-');
        return t.length() > 128 ? t.substring(0, 128) : t;
    }

    /**
     * What the tag schema's index of {@code subject} lists (none when the tag does not exist); null when the tag holds
     * something else (the spec: report it, never overwrite it).
     */
    private static List<Descriptor> fallbackIndex(RegistryClient client, Reference repo, Digest subject) {
        try {
            Manifest m = client.fetchManifest(Reference.parse(repo.repositoryName() + ":" + fallbackTag(subject)))
                    .manifest();
            return m instanceof ImageIndex idx ? idx.manifests() : null;
        } catch (DavitException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                return List.of();
            }
            throw e;
        }
    }

    PushResult pushFromStore(OciStore from, Descriptor top, Reference dst, ProgressListener listener) {
        ProgressListener progress = orNone(listener);
        Map<Digest, Reference> mountFrom = new HashMap<>();
        for (StoreEntry other : from.entries()) {
            Reference r;
            try {
                r = Reference.parse(other.name());
            } catch (DavitException ex) {
                continue;
            }
            if (!r.registry().equals(dst.registry()) || r.repository().equals(dst.repository())) {
                continue;
            }
            for (Descriptor d : from.graph(other.descriptor())) {
                mountFrom.putIfAbsent(d.digest(), r);
            }
        }
        GraphSource source = new GraphSource() {
            @Override
            public Manifest manifest(Descriptor d) {
                return from.readManifest(d);
            }

            @Override
            public InputStream openBlob(Descriptor d) {
                return from.openBlob(d.digest());
            }

            @Override
            public String describe() {
                return "store " + from.root();
            }
        };
        return withRegistry(progress, client -> new Pusher(new Uploads(client.transport(), pushOptions),
                options.registry().maxConcurrentRequests()).push(source, top, dst, mountFrom::get, progress));
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
        return copyChecked(source, destination, platforms, orNone(progress), removeSignatures);
    }

    private CopyResult copyChecked(String source, String destination, PlatformSelector platforms,
                                   ProgressListener progress, boolean removeSignatures) {
        LayoutSpec srcLayout = LayoutSpec.parse(source);
        LayoutSpec dstLayout = LayoutSpec.parse(destination);
        if (srcLayout != null && dstLayout != null) {
            throw new DavitException(Kind.USAGE, "copy between two OCI layouts is not supported; copy one side"
                    + " through a registry or use a directory copy");
        }
        if (srcLayout == null && dstLayout != null) {
            Reference src = Reference.parse(source);
            OciStore layout = OciStore.open(dstLayout.path());
            String name = dstLayout.name() != null ? dstLayout.name() : src.toString();
            PullResult r = withRegistry(progress, client -> new Copier(layout, admission(client)).copy(
                    new RegistrySource(client, src),
                    src.identifier(), src, name, platforms, progress));
            return new CopyResult(r, null);
        }
        Reference dst = Reference.parse(destination);
        if (srcLayout != null) {
            if (!Files.isRegularFile(srcLayout.path().resolve("oci-layout"))) {
                throw new DavitException(Kind.NOT_FOUND, srcLayout.path() + " is not an OCI image layout (no oci-layout"
                        + " file); check the path");
            }
            // read-only: another tool's layout is never modified
            OciLayoutSource layout = OciLayoutSource.open(srcLayout.path());
            Descriptor top = layout.find(srcLayout.name());
            GraphSource gs = new GraphSource() {
                @Override
                public Manifest manifest(Descriptor d) {
                    return layout.fetchManifest(d);
                }

                @Override
                public InputStream openBlob(Descriptor d) throws IOException {
                    return new VerifyingInputStream(
                            Files.newInputStream(layout.blobPath(d.digest())), d.digest(), d.size());
                }

                @Override
                public String describe() {
                    return layout.describe();
                }
            };
            return new CopyResult(null, withRegistry(progress, client -> new Pusher(new Uploads(client.transport(),
                    pushOptions), options.registry().maxConcurrentRequests()).push(gs, top, dst, d -> null, progress)));
        }
        Reference src = Reference.parse(source);
        PushResult r = withRegistry(progress, client -> {
            RegistryClient.FetchedManifest top = client.fetchManifest(src);
            admission(client).admit(src, top.descriptor()); // before anything of it is copied
            Descriptor topDesc = top.descriptor();
            if (top.manifest() instanceof ImageIndex idx && !platforms.all()) {
                List<Descriptor> chosen = platforms.select(idx, src.toString());
                if (chosen.size() == 1 && chosen.get(0).platform() != null) {
                    topDesc = chosen.get(0);
                }
            }
            GraphSource gs = registryGraph(client, src);
            // within one registry every blob can be mounted from the source repository
            Function<Digest, Reference> mountFrom = src.registry().equals(dst.registry())
                    ? d -> src : d -> null;
            PushResult pushed = new Pusher(new Uploads(client.transport(), pushOptions),
                    options.registry().maxConcurrentRequests()).push(gs, topDesc, dst, mountFrom, progress);
            if (!removeSignatures && topDesc.digest().equals(top.descriptor().digest())) {
                Digest signed = topDesc.digest();
                for (String tag : List.of(SigstoreSignature.tag(signed), fallbackTag(signed))) {
                    copyAttached(client, new Reference(src.registry(), src.repository(), tag, null),
                            new Reference(dst.registry(), dst.repository(), tag, null), mountFrom, progress);
                }
                new Signatures(this).copyLookaside(src, dst, signed);
            }
            return pushed;
        });
        return new CopyResult(null, r);
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
        Map<String, String> notes = annotations == null ? Map.of() : annotations;
        Descriptor md;
        try (AutoCloseable session = store().session()) {
            md = Artifacts.create(store(), artifactType, files, notes);
            store().setEntry(ref.toString(), md, Map.of(OciStore.RESOLVED_AT, Instant.now().toString()));
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot create the artifact: " + e.getMessage(), e);
        }
        return pushFromStore(store(), md, ref, progress);
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
        Descriptor target = remoteDigest(ref.toString());
        Descriptor md;
        try (AutoCloseable session = store().session()) {
            md = Artifacts.create(store(), artifactType, files, annotations == null ? Map.of() : annotations,
                    target);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot create the artifact: " + e.getMessage(), e);
        }
        Reference byDigest = new Reference(ref.registry(), ref.repository(), null, md.digest());
        pushFromStore(store(), md, byDigest, progress);
        Descriptor listed = new Descriptor(md.mediaType(), md.digest(), md.size(), List.of(),
                annotations == null ? Map.of() : annotations, null, artifactType);
        boolean tagged = attachReferrer(ref.repositoryName(), target.digest(), listed);
        return new Attached(ref, target.digest(), listed, tagged);
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
        PullResult r = pull(reference, PlatformSelector.host(), progress);
        Manifest m = store().readManifest(r.target());
        return new ArtifactPull(r, Artifacts.extract(store(), m, dir, mediaTypes == null ? Set.of()
                : mediaTypes));
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

    /** {@code oci:PATH[:NAME]}; null when {@code spec} is not an OCI layout spec. */
    record LayoutSpec(Path path, String name) {
        static LayoutSpec parse(String spec) {
            if (!spec.startsWith("oci:")) {
                return null;
            }
            String rest = spec.substring(4);
            if (rest.isEmpty()) {
                throw new DavitException(Kind.USAGE, "'" + Text.shorten(spec, 80)
                        + "' names no directory; use oci:PATH[:NAME]");
            }
            int colon = rest.indexOf(':');
            return colon < 0 ? new LayoutSpec(Path.of(rest), null)
                    : new LayoutSpec(Path.of(rest.substring(0, colon)),
                    rest.substring(colon + 1).isEmpty() ? null : rest.substring(colon + 1));
        }
    }

    private static ProgressListener orNone(ProgressListener progress) {
        return progress == null ? ProgressListener.NONE : progress;
    }


    /**
     * The signature policy's decision on an image read through {@code client}: the image may come in, or a
     * VERIFICATION error says which scope and rule refused it and why.
     */
    private Copier.Admission admission(RegistryClient client) {
        Trust trust = options.trust();
        return new Copier.Admission() {
            @Override
            public Map<String, String> admit(Reference ref, Descriptor top) {
                // the registry's signatures, else those kept in the store (offline)
                return trust.record(trust.admit(ref, top.digest(), client, attachments(sigRef ->
                        find(sigRef.toString()).map(StoreEntry::descriptor).orElse(null))));
            }

            @Override
            public boolean checks(Reference ref) {
                return !trust.policy().requirementsFor(ref).acceptsAnything();
            }
        };
    }

    /**
     * The manifest a signature of the store entry {@code entry} signs: the index it was resolved from (its
     * {@code dev.davit.resolved.digest}) only when the store holds that index and it lists the entry's manifest; else
     * the entry's own manifest. An annotation alone never decides what is verified.
     */
    private Digest signedTop(Descriptor entry) {
        String resolved = entry.annotation(OciStore.RESOLVED_DIGEST);
        if (resolved == null || !Digest.isValid(resolved) || resolved.equals(entry.digest().toString())) {
            return entry.digest();
        }
        Digest r = Digest.parse(resolved);
        try {
            if (store().hasBlob(r) && store().readManifest(new Descriptor(MediaTypes.OCI_INDEX, r, 0))
                    instanceof ImageIndex idx && idx.manifests().stream().anyMatch(d -> d.digest().equals(
                    entry.digest()))) {
                return r;
            }
        } catch (DavitException e) {
            // not an index the store can read: the entry's own manifest
        }
        return entry.digest();
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
        return trust.admit(ref, top, registry, attachments(sigRef -> find(sigRef.toString())
                .map(StoreEntry::descriptor).orElse(null)));
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
        StoreEntry entry = find(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, ref
                + " is not in the store"));
        return verify(ref.toString(), signedTop(entry.descriptor()), trust);
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
        Trust trust = options.trust();
        StoreEntry entry = find(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, ref
                + " is not in the store"));
        if (trust.policy().requirementsFor(ref).acceptsAnything()
                || trust.fingerprint().equals(entry.descriptor().annotation(Trust.ADMITTED_BY))) {
            return entry;
        }
        Digest top = signedTop(entry.descriptor());
        Map<String, String> record = trust.record(trust.admit(ref, top, registry, attachments(sigRef ->
                find(sigRef.toString()).map(StoreEntry::descriptor).orElse(null))));
        // recorded only if the name still names what was admitted (a concurrent pull's entry stays as it made it)
        store().annotateEntry(ref.toString(), entry.descriptor().digest(), record);
        return entry;
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

    /** The graph of {@code repo}'s manifests and blobs at its registry, read as they are needed. */
    private static GraphSource registryGraph(RegistryClient client, Reference repo) {
        return new GraphSource() {
            @Override
            public Manifest manifest(Descriptor d) {
                return client.fetchManifest(repo, d).manifest();
            }

            @Override
            public InputStream openBlob(Descriptor d) throws IOException {
                return client.openBlob(repo, d);
            }

            @Override
            public String describe() {
                return repo.repositoryName();
            }
        };
    }

    /**
     * Copies what is tagged {@code from} (a signature manifest, a referrers tag index) to {@code to}, with what it
     * references; nothing when the tag is not there.
     */
    private void copyAttached(RegistryClient client, Reference from, Reference to,
                              Function<Digest, Reference> mountFrom, ProgressListener progress) {
        RegistryClient.FetchedManifest m;
        try {
            m = client.fetchManifest(from);
        } catch (DavitException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                return;
            }
            throw e;
        }
        GraphSource gs = registryGraph(client, from);
        new Pusher(new Uploads(client.transport(), options.push()), options.registry().maxConcurrentRequests())
                .push(gs, m.descriptor(), to, d -> mountFrom.apply(d) == null ? null : from, progress);
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
        StoreEntry e = store().entry(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                Message.of(ref + " is not in the store; pull it first or use ", Input.REMOTE)));
        Manifest m = store().readManifest(e.descriptor());
        ImageConfiguration config = null;
        if (m instanceof ImageManifest im && im.config().size() <= MAX_CONFIG_BYTES && isJson(im.config().mediaType())) {
            config = parseConfig(store().readBlob(im.config().digest(), MAX_CONFIG_BYTES), im.config().digest());
        }
        return new Inspection(ref, e.descriptor(), m, config, e);
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
        return new Inspection(ref, shown.descriptor(), shown.manifest(), config, null);
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
        String host = normalizeRegistry(Args.given(registryHost, "DavitClient.login", "registryHost",
                "give a registry, e.g. ghcr.io"));
        Args.given(credentials, "DavitClient.login", "credentials", "give Credentials.basic(user, password)");
        Args.given(configFile, "DavitClient.login", "configFile", "give the davit config file, or use the method"
                + " without it");
        RegistryAuthenticator auth = new RegistryAuthenticator(r -> credentials, options.registry());
        try (RegistryClient check = new RegistryClient(options.registry(), auth, msg -> { })) {
            check.ping(host, null);
        }
        DavitConfig.storeCredentials(configFile, host, credentials);
        return configFile;
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
        String host = normalizeRegistry(Args.given(registryHost, "DavitClient.logout", "registryHost",
                "give a registry, e.g. ghcr.io"));
        return DavitConfig.removeCredentials(Args.given(configFile, "DavitClient.logout",
                "configFile", "give the davit config file, or use the method without it"), host);
    }

    /** {@code host[:port]} as references name it ({@code index.docker.io} and friends become {@code docker.io}). */
    static String normalizeRegistry(String registryHost) {
        String h = registryHost.trim();
        for (String prefix : new String[] {"https://", "http://"}) {
            if (h.startsWith(prefix)) {
                h = h.substring(prefix.length());
            }
        }
        int slash = h.indexOf('/');
        if (slash >= 0) {
            h = h.substring(0, slash);
        }
        Reference r = Reference.parse(h + "/x/y:1");
        if (!r.repository().equals("x/y")) {
            throw new DavitException(Kind.USAGE, "invalid registry '" + Text.shorten(registryHost, 60)
                    + "': give host[:port], e.g. ghcr.io or 127.0.0.1:5000");
        }
        return r.registry();
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
        // each image's sigstore signatures in the store go along, so the bundle verifies where no registry is
        List<String> all = new ArrayList<>(refs);
        for (String r : refs) {
            Reference ref;
            try {
                ref = Reference.parse(r);
            } catch (DavitException e) {
                continue; // the writer says what is wrong with it
            }
            find(ref.toString()).ifPresent(e -> {
                Digest top = signedTop(e.descriptor());
                String sig = new Reference(ref.registry(), ref.repository(),
                        SigstoreSignature.tag(top), null).toString();
                if (!all.contains(sig) && find(sig).isPresent()) {
                    all.add(sig);
                }
            });
        }
        return new BundleWriter(store()).export(all, file, options, orNone(progress));
    }

    /** Whether {@code d} (in the store) is a cosign signature manifest ({@code SigstoreSignature}'s test). */
    private boolean isSignatureManifest(Descriptor d) {
        try {
            return SigstoreSignature.isSignatureManifest(store().readManifest(d));
        } catch (DavitException e) {
            return false;
        }
    }

    /** A cosign signature tag: {@code sha256-<hex>.sig}. */
    private static final Pattern SIGNATURE_TAG = Pattern.compile(
            "sha256-[0-9a-f]{64}\\.sig");

    /** Signature manifests and payloads of this store, found by {@code descriptorOf} (null: none). */
    private Trust.Attachments attachments(
            Function<Reference, Descriptor> descriptorOf) {
        return new Trust.Attachments() {
            @Override
            public Manifest manifest(Reference sigRef) {
                Descriptor d = descriptorOf.apply(sigRef);
                return d == null ? null : store().readManifest(d);
            }

            @Override
            public byte[] blob(Reference sigRef, Descriptor d, int max) {
                return store().readBlob(d.digest(), max);
            }
        };
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
        // held to the signature policy as a pull is: no registry here, so only what the lookaside store (or no
        // signature at all) can show admits an image
        Trust trust = options().trust();
        return new BundleImporter(store(), named -> new Copier.Admission() {
            @Override
            public Map<String, String> admit(Reference ref, Descriptor top) {
                if (SIGNATURE_TAG.matcher(ref.tag() == null ? "" : ref.tag()).matches()
                        && isSignatureManifest(top)) {
                    return Map.of(); // a signature the bundle carries: it is what admits, not what is admitted
                }
                // the bundle's own signatures, as a registry would serve them
                return trust.record(trust.admit(ref, top.digest(), null, attachments(sigRef -> named.get(
                        sigRef.toString()))));
            }

            @Override
            public boolean checks(Reference ref) {
                return !trust.policy().requirementsFor(ref).acceptsAnything();
            }
        }).importBundle(file, options, orNone(progress));
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
