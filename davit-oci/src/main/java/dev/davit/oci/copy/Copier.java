package dev.davit.oci.copy;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.store.BlobIngest;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies an image (or artifact) graph from a {@link ContentSource} into the store: resolve the name, fetch the
 * manifest(s), pick platforms, fetch missing blobs in parallel (verified while streaming, skipped when present),
 * store the manifests byte for byte, and finally name the result in {@code index.json} — the commit point.
 * A pull is a copy from a {@link RegistrySource}; an import is a copy from an OCI layout.
 */
public final class Copier {
    private static final int MAX_INDEX_DEPTH = 3;
    /** Blob threads at most; a registry source also bounds the requests in flight (maxConcurrentRequests). */
    private static final int MAX_THREADS = 16;

    private final OciStore store;
    private final Admission admission;

    /**
     * A copier into one store.
     *
     * @param store the store that receives the content and the name
     */
    public Copier(OciStore store) {
        this(store, null);
    }

    /**
     * A copier into one store that lets an image in only when {@code admission} does.
     *
     * @param store     the store that receives the content and the name
     * @param admission decides on each image before any of its content is fetched, or null for none
     */
    public Copier(OciStore store, Admission admission) {
        this.store = store;
        this.admission = admission;
    }

    /** A decision on an image before it is copied: a signature policy's, for one. */
    @FunctionalInterface
    public interface Admission {
        /**
         * Lets the image in, or throws why not.
         *
         * @param ref the image's reference
         * @param top its top manifest's descriptor (what signatures sign)
         * @return annotations the image's store entry records (what admitted it), maybe none
         * @throws dev.davit.oci.DavitException why it may not come in
         */
        Map<String, String> admit(Reference ref, Descriptor top);

        /**
         * Whether {@link #admit} checks anything for {@code ref} (a "checking signatures" phase is shown then).
         *
         * @param ref the image's reference
         * @return true when it does more than let the image in
         */
        default boolean checks(Reference ref) {
            return true;
        }
    }

    /**
     * Pulls {@code ref} from a registry for the platforms {@code selector} picks, and names it {@code ref.toString()}
     * in the store. A reference pinned by digest whose content is complete in the store needs no registry.
     *
     * @param registry the client for {@code ref}'s registry
     * @param ref the image to pull, by tag or digest
     * @param selector which manifests of an index to take
     * @param progress receives progress events, from several threads
     * @return what was resolved, stored and downloaded
     * @throws DavitException of kind NOT_FOUND (no such image or platform), AUTH, NETWORK, VERIFICATION (content
     *     did not match) or STORE
     */
    public PullResult pull(RegistryClient registry, Reference ref, PlatformSelector selector, ProgressListener progress) {
        return copy(new RegistrySource(registry, ref), ref.identifier(), ref, ref.toString(), selector, progress);
    }

    /**
     * Copies what {@code name} resolves to in {@code source} into the store and names it {@code entryName} in
     * {@code index.json} (normally {@code ref.toString()}; a plain tag such as {@code latest} for other layouts).
     *
     * @param source where the content comes from
     * @param name a tag, ref name or digest, as the source understands it
     * @param ref the reference recorded in the result (and in messages)
     * @param entryName the name the result gets in {@code index.json}; an existing entry of that name is replaced
     * @param selector which manifests of an index to take
     * @param progress receives progress events, from several threads
     * @return what was resolved, stored and downloaded
     * @throws DavitException of kind NOT_FOUND, AUTH, NETWORK, VERIFICATION or STORE, as the source and store report
     */
    public PullResult copy(ContentSource source, String name, Reference ref, String entryName,
                           PlatformSelector selector, ProgressListener progress) {
        long t0 = System.nanoTime();
        try (AutoCloseable session = store.session()) {
            progress.onEvent(new ProgressEvent.Phase("resolving", ref.toString()));
            PullResult offline = Digest.isValid(name)
                    ? fromStore(ref, entryName, Digest.parse(name), selector, progress, t0) : null;
            if (offline != null) {
                return offline;
            }
            Instant resolvedAt = Instant.now();
            progress.onEvent(new ProgressEvent.Phase("fetching manifest", name));
            ContentSource.Resolved top = source.resolve(name);
            Map<String, String> admitted = Map.of();
            if (admission != null) {
                if (admission.checks(ref)) {
                    progress.onEvent(new ProgressEvent.Phase("checking signatures", ref.toString()));
                }
                admitted = admission.admit(ref, top.descriptor()); // before anything of it is fetched or named
            }
            Map<Digest, Stored> manifests = new LinkedHashMap<>();
            Descriptor target;
            String platform = null;
            if (top.manifest() instanceof ImageIndex index) {
                List<Descriptor> chosen = selector.select(index, ref.toString());
                boolean single = chosen.size() == 1 && !selector.all()
                        && index.manifests().stream().anyMatch(d -> d.platform() != null);
                for (Descriptor child : chosen) {
                    collect(source, child, manifests, 1);
                }
                if (single) {
                    Descriptor child = chosen.get(0);
                    target = manifests.get(child.digest()).descriptor().withPlatform(child.platform());
                    platform = child.platform() == null ? null
                            : dev.davit.oci.manifest.Platform.normalize(child.platform()).toString();
                    store.putBlob(top.descriptor(), top.manifest().bytes());
                } else {
                    manifests.put(top.digest(), new Stored(top.descriptor(), top.manifest()));
                    target = top.descriptor();
                }
            } else {
                manifests.put(top.digest(), new Stored(top.descriptor(), top.manifest()));
                target = top.descriptor();
            }

            Map<Digest, Descriptor> blobs = new LinkedHashMap<>();
            for (Stored fm : manifests.values()) {
                if (fm.manifest() instanceof ImageManifest im) {
                    for (Descriptor d : im.children()) {
                        blobs.putIfAbsent(d.digest(), d);
                    }
                }
            }
            if (manifests.get(target.digest()) instanceof Stored t && t.manifest() instanceof ImageManifest chosen) {
                progress.onEvent(new ProgressEvent.ManifestChosen(target, chosen));
            }
            long total = blobs.values().stream().mapToLong(Descriptor::size).sum();
            progress.onEvent(new ProgressEvent.Phase("fetching blobs", blobs.size() + " blobs, " + total + " bytes"));
            AtomicLong downloaded = new AtomicLong();
            List<PullResult.BlobResult> results = fetchAll(source, new ArrayList<>(blobs.values()), progress, downloaded);

            progress.onEvent(new ProgressEvent.Phase("verifying", manifests.size() + " manifests"));
            List<Descriptor> stored = new ArrayList<>();
            List<Stored> ordered = new ArrayList<>(manifests.values());
            java.util.Collections.reverse(ordered);
            for (Stored fm : ordered) {
                store.putBlob(fm.descriptor(), fm.manifest().bytes());
                stored.add(fm.descriptor());
            }
            Map<String, String> ann = new LinkedHashMap<>();
            ann.put(OciStore.RESOLVED_DIGEST, top.digest().toString());
            ann.put(OciStore.RESOLVED_AT, resolvedAt.toString());
            if (platform != null) {
                ann.put(OciStore.PLATFORM, platform);
            }
            ann.putAll(admitted);
            // a registry's annotations never say what admitted an image: only this admission does
            store.setEntry(entryName, target.withAnnotations(dev.davit.oci.policy.Trust.strip(target.annotations())),
                    ann);
            Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
            progress.onEvent(new ProgressEvent.Phase("done", ref + "@" + target.digest()));
            return new PullResult(ref, top.digest(), resolvedAt, target, platform, stored, results,
                    downloaded.get(), elapsed);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "copy of " + source.describe() + " " + name + " failed: " + e, e);
        }
    }

    /**
     * A reference pinned by digest whose content is already complete in the store needs no registry: it is
     * named from the store alone (so pulls by digest work offline). Returns null when the network is needed.
     */
    private PullResult fromStore(Reference ref, String entryName, Digest digest, PlatformSelector selector,
                                 ProgressListener progress, long t0) {
        if (!store.hasBlob(digest)) {
            return null;
        }
        Manifest top;
        try {
            top = store.readManifest(new Descriptor("application/octet-stream", digest, 0));
        } catch (DavitException e) {
            return null;
        }
        if (!top.digest().equals(digest) && !Digest.of(digest.algorithm(), top.bytes()).equals(digest)) {
            return null;
        }
        Descriptor topDesc = new Descriptor(top.mediaType(), digest, top.bytes().length, List.of(), Map.of(),
                null, top.artifactType());
        Descriptor target = topDesc;
        String platform = null;
        if (top instanceof ImageIndex index) {
            List<Descriptor> chosen;
            try {
                chosen = selector.select(index, ref.toString());
            } catch (DavitException e) {
                return null;
            }
            if (chosen.size() == 1 && !selector.all() && chosen.get(0).platform() != null) {
                target = chosen.get(0);
                platform = dev.davit.oci.manifest.Platform.normalize(target.platform()).toString();
            }
        }
        if (!store.isComplete(target)) {
            return null;
        }
        List<Descriptor> graph = store.graph(target);
        List<PullResult.BlobResult> blobs = new ArrayList<>();
        List<Descriptor> manifests = new ArrayList<>();
        for (Descriptor d : graph) {
            if (dev.davit.oci.manifest.MediaTypes.isManifest(d.mediaType())) {
                manifests.add(d);
            } else {
                blobs.add(new PullResult.BlobResult(d, true));
                progress.onEvent(new ProgressEvent.BlobDone(d, true));
            }
        }
        Map<String, String> ann = new LinkedHashMap<>();
        ann.put(OciStore.RESOLVED_DIGEST, digest.toString());
        StoreEntry existing = store.entry(entryName).orElse(null);
        Instant resolvedAt = existing != null && existing.resolvedAt() != null ? existing.resolvedAt() : Instant.now();
        ann.put(OciStore.RESOLVED_AT, resolvedAt.toString());
        if (platform != null) {
            ann.put(OciStore.PLATFORM, platform);
        }
        if (admission != null) {
            // named anew: held to the policy as a pull from the registry is
            if (admission.checks(ref)) {
                progress.onEvent(new ProgressEvent.Phase("checking signatures", ref.toString()));
            }
            ann.putAll(admission.admit(ref, new Descriptor(top.mediaType(), digest, top.bytes().length)));
        }
        progress.onEvent(new ProgressEvent.Phase("verifying", "in the store already"));
        store.setEntry(entryName, target.withAnnotations(dev.davit.oci.policy.Trust.strip(target.annotations())), ann);
        progress.onEvent(new ProgressEvent.Phase("done", ref + "@" + target.digest()));
        java.util.Collections.reverse(manifests);
        return new PullResult(ref, digest, resolvedAt, target, platform, manifests, blobs, 0,
                Duration.ofNanos(System.nanoTime() - t0));
    }

    /** A manifest to store, with the descriptor (digest as the parent names it) it is stored under. */
    private record Stored(Descriptor descriptor, Manifest manifest) {
    }

    /** Fetches a child manifest and, for nested indexes, its children (all of them). */
    private void collect(ContentSource source, Descriptor d, Map<Digest, Stored> out, int depth) {
        if (out.containsKey(d.digest())) {
            return;
        }
        if (depth > MAX_INDEX_DEPTH) {
            throw new DavitException(Kind.VERIFICATION, "index nesting in " + source.describe() + " is deeper than "
                    + MAX_INDEX_DEPTH + " levels; refusing it");
        }
        Manifest m = source.fetchManifest(d);
        out.put(d.digest(), new Stored(new Descriptor(m.mediaType(), d.digest(), m.bytes().length, List.of(), Map.of(),
                null, m.artifactType()), m));
        if (m instanceof ImageIndex nested) {
            for (Descriptor c : nested.manifests()) {
                collect(source, c, out, depth + 1);
            }
        }
    }

    private List<PullResult.BlobResult> fetchAll(ContentSource source, List<Descriptor> blobs, ProgressListener progress,
                                                 AtomicLong downloaded) throws InterruptedException {
        // results in the order of blobs; those already stored are settled here: a warm pull starts no threads (~3 ms
        // in a fresh JVM)
        List<PullResult.BlobResult> results = new ArrayList<>(java.util.Collections.nCopies(blobs.size(), null));
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < blobs.size(); i++) {
            if (store.hasBlob(blobs.get(i).digest())) {
                results.set(i, cached(blobs.get(i), progress));
            } else {
                missing.add(i);
            }
        }
        if (missing.isEmpty()) {
            return results;
        }
        try (ExecutorService pool = BlobThreads.pool("davit-pull-", missing.size(), MAX_THREADS)) {
            List<Future<PullResult.BlobResult>> futures = new ArrayList<>();
            for (int i : missing) {
                Descriptor d = blobs.get(i);
                futures.add(pool.submit(() -> fetchOne(source, d, progress, downloaded)));
            }
            DavitException failure = null;
            for (int k = 0; k < futures.size(); k++) {
                try {
                    results.set(missing.get(k), futures.get(k).get());
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    DavitException de = c instanceof DavitException x ? x
                            : new DavitException(Kind.INTERNAL, "blob download failed: " + c, c);
                    if (failure == null) {
                        failure = de;
                        futures.forEach(other -> other.cancel(true));
                    }
                } catch (java.util.concurrent.CancellationException e) {
                    // cancelled after an earlier failure
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
        return results;
    }

    /** A blob found in the store: its modification time is refreshed (for gc), nothing is fetched. */
    private PullResult.BlobResult cached(Descriptor d, ProgressListener progress) {
        store.touch(d.digest());
        progress.onEvent(new ProgressEvent.BlobDone(d, true));
        return new PullResult.BlobResult(d, true);
    }

    private PullResult.BlobResult fetchOne(ContentSource source, Descriptor d, ProgressListener progress, AtomicLong downloaded) {
        // fetchAll settled the blobs stored before; one stored since (another pull) is found by its ingest
        for (int round = 0; ; round++) {
            try (BlobIngest in = store.ingest(d)) {
                if (in.present()) {
                    return cached(d, progress);
                }
                long resumed = in.offset();
                progress.onEvent(new ProgressEvent.BlobStarted(d, resumed));
                long[] last = {resumed};
                try {
                    source.fetchBlob(d, in, bytes -> {
                        long delta = bytes - last[0];
                        last[0] = bytes;
                        if (delta > 0) {
                            downloaded.addAndGet(delta);
                        }
                        progress.onEvent(new ProgressEvent.BlobProgress(d, bytes));
                    }, msg -> progress.onEvent(new ProgressEvent.Retry(msg)));
                    in.commit();
                } catch (DavitException e) {
                    if (e.kind() == Kind.VERIFICATION && resumed > 0 && round == 0) {
                        // the partial file of an earlier run may be damaged; commit() deleted it: redo in full
                        progress.onEvent(new ProgressEvent.Retry("blob " + d.digest().shortHex()
                                + ": resumed download failed verification; downloading it again in full"));
                        continue;
                    }
                    throw e;
                }
                progress.onEvent(new ProgressEvent.BlobDone(d, false));
                return new PullResult.BlobResult(d, false);
            }
        }
    }
}
