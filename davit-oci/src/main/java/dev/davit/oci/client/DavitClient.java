package dev.davit.oci.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Json;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.copy.Puller;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryAuthenticator;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.oci.unpack.UnpackResult;
import dev.davit.oci.unpack.Unpacker;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The davit library's entry point. Build one from {@link ClientOptions} and reuse it; it is thread-safe.
 *
 * <pre>{@code
 * try (DavitClient davit = DavitClient.create(ClientOptions.defaults())) {
 *     PullResult r = davit.pull("alpine:3.20", PlatformSelector.host(), ProgressListener.NONE);
 *     System.out.println(r.target().digest());
 * }
 * }</pre>
 */
public final class DavitClient implements AutoCloseable {
    private static final int MAX_CONFIG_BYTES = 8 * 1024 * 1024;

    private final ClientOptions options;
    private final RegistryAuthenticator authenticator;
    private final RegistryClient registry;
    private volatile OciStore store;

    private DavitClient(ClientOptions options) {
        this.options = options;
        this.authenticator = new RegistryAuthenticator(options.credentials(), options.registry());
        this.registry = new RegistryClient(options.registry(), authenticator, msg -> { });
    }

    public static DavitClient create(ClientOptions options) {
        return new DavitClient(options);
    }

    public ClientOptions options() {
        return options;
    }

    /** The store, opened (and created) on first use. */
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

    /** Pulls a reference into the store. */
    public PullResult pull(String reference, PlatformSelector platforms, ProgressListener progress) {
        return pull(Reference.parse(reference), platforms, progress);
    }

    public PullResult pull(Reference ref, PlatformSelector platforms, ProgressListener progress) {
        RegistryClient client = new RegistryClient(options.registry(), authenticator,
                msg -> progress.onEvent(new ProgressEvent.Retry(msg)));
        try {
            return new Puller(client, store()).pull(ref, platforms, progress);
        } finally {
            client.close();
        }
    }

    /** The digest, media type and size the registry has for {@code reference} now (a HEAD request). */
    public Descriptor remoteDigest(String reference) {
        return registry.headManifest(Reference.parse(reference));
    }

    /** All tags of a repository. */
    public List<String> tags(String repository) {
        return registry.tags(Reference.parseRepository(repository));
    }

    /** What the store holds. */
    public List<StoreEntry> images() {
        return store().entries();
    }

    /** The store entry for {@code reference} (normalised), if pulled. */
    public Optional<StoreEntry> find(String reference) {
        return store().entry(Reference.parse(reference).toString());
    }

    /** Removes a reference from the store (blobs are freed by {@link #gc()}). */
    public boolean remove(String reference) {
        return store().removeEntry(Reference.parse(reference).toString());
    }

    /**
     * Unpacks a pulled image from the store into {@code dir} (which must not exist or be empty), without the
     * network; an index is resolved for {@code platforms}. See {@link Unpacker}.
     */
    public UnpackResult unpack(String reference, java.nio.file.Path dir, PlatformSelector platforms,
                               UnpackOptions unpackOptions) {
        Reference ref = Reference.parse(reference);
        StoreEntry e = store().entry(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                ref + " is not in the store; pull it first"));
        return new Unpacker(store(), unpackOptions).unpack(e.descriptor(), platforms, dir);
    }

    public OciStore.GcReport gc() {
        return store().gc();
    }

    public OciStore.FsckReport fsck(boolean repair) {
        return store().fsck(repair);
    }

    /** A manifest and, for image manifests, its config document. */
    public record Inspection(Reference reference, Descriptor descriptor, Manifest manifest, JsonNode config,
                             StoreEntry entry) {
    }

    /** Inspects a pulled reference from the store (no network). */
    public Inspection inspectLocal(String reference) {
        Reference ref = Reference.parse(reference);
        StoreEntry e = store().entry(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                ref + " is not in the store; pull it first or use --remote"));
        Manifest m = store().readManifest(e.descriptor());
        JsonNode config = null;
        if (m instanceof ImageManifest im && im.config().size() <= MAX_CONFIG_BYTES && isJson(im.config().mediaType())) {
            config = parseConfig(store().readBlob(im.config().digest(), MAX_CONFIG_BYTES), im.config().digest());
        }
        return new Inspection(ref, e.descriptor(), m, config, e);
    }

    /** Inspects a reference at the registry without pulling; an index is resolved for {@code platforms} when set. */
    public Inspection inspectRemote(String reference, PlatformSelector platforms) {
        Reference ref = Reference.parse(reference);
        RegistryClient.FetchedManifest top = registry.fetchManifest(ref);
        RegistryClient.FetchedManifest shown = top;
        if (top.manifest() instanceof ImageIndex idx && platforms != null && !platforms.all()) {
            List<Descriptor> chosen = platforms.select(idx, ref.toString());
            if (chosen.size() == 1) {
                shown = registry.fetchManifest(ref, chosen.get(0));
            }
        }
        JsonNode config = null;
        if (shown.manifest() instanceof ImageManifest im && im.config().size() <= MAX_CONFIG_BYTES
                && isJson(im.config().mediaType())) {
            config = parseConfig(registry.fetchBlobBytes(ref, im.config(), MAX_CONFIG_BYTES), im.config().digest());
        }
        return new Inspection(ref, shown.descriptor(), shown.manifest(), config, null);
    }

    private static boolean isJson(String mediaType) {
        return mediaType.endsWith("+json") || mediaType.endsWith("/json");
    }

    private static JsonNode parseConfig(byte[] bytes, Digest d) {
        try {
            return Json.read(bytes);
        } catch (IOException | RuntimeException e) {
            throw new DavitException(Kind.VERIFICATION, "config " + d + " is not valid JSON");
        }
    }

    /**
     * Checks {@code credentials} against {@code registryHost} (a {@code /v2/} request, with a token exchange
     * where the registry uses tokens) and, when accepted, saves them in the davit config file.
     *
     * @return the config file written
     */
    public java.nio.file.Path login(String registryHost, dev.davit.oci.auth.Credentials credentials) {
        return login(registryHost, credentials, dev.davit.oci.auth.CredentialResolver.fromSystem().davitConfigPath());
    }

    /** {@link #login(String, dev.davit.oci.auth.Credentials)} saving into {@code configFile}. */
    public java.nio.file.Path login(String registryHost, dev.davit.oci.auth.Credentials credentials,
                                    java.nio.file.Path configFile) {
        String host = normalizeRegistry(registryHost);
        RegistryAuthenticator auth = new RegistryAuthenticator(r -> credentials, options.registry());
        try (RegistryClient check = new RegistryClient(options.registry(), auth, msg -> { })) {
            check.ping(host, null);
        }
        dev.davit.oci.auth.DavitConfig.storeCredentials(configFile, host, credentials);
        return configFile;
    }

    /** Removes saved credentials of {@code registryHost} from the davit config; returns whether there were any. */
    public boolean logout(String registryHost) {
        return logout(registryHost, dev.davit.oci.auth.CredentialResolver.fromSystem().davitConfigPath());
    }

    /** {@link #logout(String)} from {@code configFile}. */
    public boolean logout(String registryHost, java.nio.file.Path configFile) {
        return dev.davit.oci.auth.DavitConfig.removeCredentials(configFile, normalizeRegistry(registryHost));
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
            throw new DavitException(Kind.USAGE, "invalid registry '" + dev.davit.oci.Text.shorten(registryHost, 60)
                    + "': give host[:port], e.g. ghcr.io or 127.0.0.1:5000");
        }
        return r.registry();
    }

    @Override
    public void close() {
        registry.close();
    }
}
