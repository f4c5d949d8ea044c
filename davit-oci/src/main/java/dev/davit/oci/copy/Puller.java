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
import dev.davit.oci.registry.RegistryClient.FetchedManifest;
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
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies an image (or artifact) graph from a registry into the store: resolve the reference, fetch the
 * manifest(s), pick platforms, download missing blobs in parallel (verified while streaming), store the
 * manifests byte for byte, and finally name the result in {@code index.json} — the commit point.
 */
public final class Puller {
    private static final int MAX_INDEX_DEPTH = 3;

    private final RegistryClient registry;
    private final OciStore store;

    public Puller(RegistryClient registry, OciStore store) {
        this.registry = registry;
        this.store = store;
    }

    /** Pulls {@code ref} for the platforms {@code selector} picks. */
    public PullResult pull(Reference ref, PlatformSelector selector, ProgressListener progress) {
        long t0 = System.nanoTime();
        try (AutoCloseable session = store.session()) {
            progress.onEvent(new ProgressEvent.Phase("resolving", ref.toString()));
            PullResult offline = fromStore(ref, selector, progress, t0);
            if (offline != null) {
                return offline;
            }
            Instant resolvedAt = Instant.now();
            progress.onEvent(new ProgressEvent.Phase("fetching manifest", ref.identifier()));
            FetchedManifest top = registry.fetchManifest(ref);
            Map<Digest, FetchedManifest> manifests = new LinkedHashMap<>();
            Descriptor target;
            String platform = null;
            if (top.manifest() instanceof ImageIndex index) {
                List<Descriptor> chosen = selector.select(index, ref.toString());
                boolean single = chosen.size() == 1 && !selector.all()
                        && index.manifests().stream().anyMatch(d -> d.platform() != null);
                for (Descriptor child : chosen) {
                    collect(ref, child, manifests, 1, selector);
                }
                if (single) {
                    Descriptor child = chosen.get(0);
                    target = manifests.get(child.digest()).descriptor().withPlatform(child.platform());
                    platform = child.platform() == null ? null
                            : dev.davit.oci.manifest.Platform.normalize(child.platform()).toString();
                    store.putBlob(top.descriptor(), top.manifest().bytes());
                } else {
                    manifests.put(top.digest(), top);
                    target = top.descriptor();
                }
            } else {
                manifests.put(top.digest(), top);
                target = top.descriptor();
            }

            Map<Digest, Descriptor> blobs = new LinkedHashMap<>();
            for (FetchedManifest fm : manifests.values()) {
                if (fm.manifest() instanceof ImageManifest im) {
                    for (Descriptor d : im.children()) {
                        blobs.putIfAbsent(d.digest(), d);
                    }
                }
            }
            long total = blobs.values().stream().mapToLong(Descriptor::size).sum();
            progress.onEvent(new ProgressEvent.Phase("fetching blobs", blobs.size() + " blobs, " + total + " bytes"));
            AtomicLong downloaded = new AtomicLong();
            List<PullResult.BlobResult> results = fetchAll(ref, new ArrayList<>(blobs.values()), progress, downloaded);

            progress.onEvent(new ProgressEvent.Phase("verifying", manifests.size() + " manifests"));
            List<Descriptor> stored = new ArrayList<>();
            List<FetchedManifest> ordered = new ArrayList<>(manifests.values());
            java.util.Collections.reverse(ordered);
            for (FetchedManifest fm : ordered) {
                store.putBlob(fm.descriptor(), fm.manifest().bytes());
                stored.add(fm.descriptor());
            }
            Map<String, String> ann = new LinkedHashMap<>();
            ann.put(OciStore.RESOLVED_DIGEST, top.digest().toString());
            ann.put(OciStore.RESOLVED_AT, resolvedAt.toString());
            if (platform != null) {
                ann.put(OciStore.PLATFORM, platform);
            }
            store.setEntry(ref.toString(), target, ann);
            Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
            progress.onEvent(new ProgressEvent.Phase("done", ref + "@" + target.digest()));
            return new PullResult(ref, top.digest(), resolvedAt, target, platform, stored, results,
                    downloaded.get(), elapsed);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "pull of " + ref + " failed: " + e, e);
        }
    }

    /**
     * A reference pinned by digest whose content is already complete in the store needs no registry: it is
     * named from the store alone (so pulls by digest work offline). Returns null when the network is needed.
     */
    private PullResult fromStore(Reference ref, PlatformSelector selector, ProgressListener progress, long t0) {
        if (ref.digest() == null || !store.hasBlob(ref.digest())) {
            return null;
        }
        Manifest top;
        try {
            top = store.readManifest(new Descriptor("application/octet-stream", ref.digest(), 0));
        } catch (DavitException e) {
            return null;
        }
        if (!top.digest().equals(ref.digest()) && !Digest.of(ref.digest().algorithm(), top.bytes()).equals(ref.digest())) {
            return null;
        }
        Descriptor topDesc = new Descriptor(top.mediaType(), ref.digest(), top.bytes().length, List.of(), Map.of(),
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
        ann.put(OciStore.RESOLVED_DIGEST, ref.digest().toString());
        StoreEntry existing = store.entry(ref.toString()).orElse(null);
        Instant resolvedAt = existing != null && existing.resolvedAt() != null ? existing.resolvedAt() : Instant.now();
        ann.put(OciStore.RESOLVED_AT, resolvedAt.toString());
        if (platform != null) {
            ann.put(OciStore.PLATFORM, platform);
        }
        progress.onEvent(new ProgressEvent.Phase("verifying", "in the store already"));
        store.setEntry(ref.toString(), target, ann);
        progress.onEvent(new ProgressEvent.Phase("done", ref + "@" + target.digest()));
        java.util.Collections.reverse(manifests);
        return new PullResult(ref, ref.digest(), resolvedAt, target, platform, manifests, blobs, 0,
                Duration.ofNanos(System.nanoTime() - t0));
    }

    /** Fetches a child manifest and, for nested indexes, its children (all of them). */
    private void collect(Reference ref, Descriptor d, Map<Digest, FetchedManifest> out, int depth,
                         PlatformSelector selector) {
        if (out.containsKey(d.digest())) {
            return;
        }
        if (depth > MAX_INDEX_DEPTH) {
            throw new DavitException(Kind.VERIFICATION, "index nesting in " + ref + " is deeper than "
                    + MAX_INDEX_DEPTH + " levels; refusing it");
        }
        FetchedManifest fm = registry.fetchManifest(ref, d);
        out.put(d.digest(), fm);
        if (fm.manifest() instanceof ImageIndex nested) {
            for (Descriptor c : nested.manifests()) {
                collect(ref, c, out, depth + 1, selector);
            }
        }
    }

    private List<PullResult.BlobResult> fetchAll(Reference ref, List<Descriptor> blobs, ProgressListener progress,
                                                 AtomicLong downloaded) throws InterruptedException {
        List<PullResult.BlobResult> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<PullResult.BlobResult>> futures = new ArrayList<>();
            for (Descriptor d : blobs) {
                futures.add(pool.submit(() -> fetchOne(ref, d, progress, downloaded)));
            }
            DavitException failure = null;
            for (Future<PullResult.BlobResult> f : futures) {
                try {
                    results.add(f.get());
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

    private PullResult.BlobResult fetchOne(Reference ref, Descriptor d, ProgressListener progress, AtomicLong downloaded) {
        if (store.hasBlob(d.digest())) {
            store.touch(d.digest());
            progress.onEvent(new ProgressEvent.BlobDone(d, true));
            return new PullResult.BlobResult(d, true);
        }
        for (int round = 0; ; round++) {
            try (BlobIngest in = store.ingest(d)) {
                if (in.present()) {
                    progress.onEvent(new ProgressEvent.BlobDone(d, true));
                    return new PullResult.BlobResult(d, true);
                }
                long resumed = in.offset();
                progress.onEvent(new ProgressEvent.BlobStarted(d, resumed));
                long[] last = {resumed};
                try {
                    registry.fetchBlob(ref, d, in, bytes -> {
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
