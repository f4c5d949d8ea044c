package dev.davit.oci.copy;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.Uploads;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies a graph from a {@link GraphSource} to a registry repository: every blob is checked first (HEAD),
 * mounted from another repository of the same registry when one is known to hold it, else uploaded, each digest
 * once; then the manifests are PUT byte for byte, children before parents, the top one under the target's tag.
 */
public final class Pusher {
    private final Uploads uploads;
    private final int parallel;

    /**
     * A pusher sending through one upload client.
     *
     * @param uploads the client for the target registry
     * @param parallel how many blobs are pushed at once, at least 1
     */
    public Pusher(Uploads uploads, int parallel) {
        this.uploads = uploads;
        this.parallel = parallel;
    }

    /**
     * Pushes {@code top} and everything it references to {@code target}.
     *
     * @param source where the manifests and blobs are read from
     * @param top the descriptor of the manifest or index to push
     * @param target the repository and tag to push to; if it names a digest, it must be {@code top}'s
     * @param mountFrom for a blob, a repository of the target's registry that may hold it (or null)
     * @param progress receives progress events, from several threads
     * @return what was pushed and how
     * @throws DavitException of kind USAGE when {@code target}'s digest is not {@code top}'s, or AUTH, NETWORK,
     *     NOT_FOUND or VERIFICATION as the source and registry report
     */
    public PushResult push(GraphSource source, Descriptor top, Reference target,
                           java.util.function.Function<Digest, Reference> mountFrom, ProgressListener progress) {
        long t0 = System.nanoTime();
        progress.onEvent(new ProgressEvent.Phase("resolving", source.describe()));
        Map<Digest, Descriptor> manifests = new LinkedHashMap<>();
        Map<Digest, Manifest> parsed = new LinkedHashMap<>();
        Map<Digest, Descriptor> blobs = new LinkedHashMap<>();
        walk(source, top, manifests, parsed, blobs, 0);
        long total = blobs.values().stream().mapToLong(Descriptor::size).sum();
        progress.onEvent(new ProgressEvent.Phase("pushing blobs", blobs.size() + " blobs, " + total + " bytes"));
        AtomicLong uploaded = new AtomicLong();
        List<PushResult.BlobPush> results = new ArrayList<>();
        Semaphore permits = new Semaphore(parallel);
        try (ExecutorService pool = BlobThreads.pool("davit-push-", blobs.size(), parallel)) {
            List<Future<PushResult.BlobPush>> fs = new ArrayList<>();
            for (Descriptor d : blobs.values()) {
                fs.add(pool.submit(() -> {
                    permits.acquire();
                    try {
                        return pushBlob(source, d, target, mountFrom.apply(d.digest()), progress, uploaded);
                    } finally {
                        permits.release();
                    }
                }));
            }
            DavitException failure = null;
            for (Future<PushResult.BlobPush> f : fs) {
                try {
                    results.add(f.get());
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (failure == null) {
                        failure = c instanceof DavitException de ? de
                                : new DavitException(Kind.INTERNAL, "blob upload failed: " + c, c);
                        fs.forEach(x -> x.cancel(true));
                    }
                } catch (java.util.concurrent.CancellationException e) {
                    // after an earlier failure
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DavitException(Kind.CANCELLED, "interrupted");
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
        progress.onEvent(new ProgressEvent.Phase("pushing manifests", manifests.size() + " manifests"));
        List<Descriptor> pushed = new ArrayList<>();
        for (Descriptor m : manifests.values()) {
            boolean isTop = m.digest().equals(top.digest());
            String name = isTop && target.digest() == null ? target.tag() : m.digest().toString();
            if (isTop && target.digest() != null && !target.digest().equals(m.digest())) {
                throw new DavitException(Kind.USAGE, "target " + target + " names digest " + target.digest()
                        + " but the content is " + m.digest() + "; push to a tag instead");
            }
            uploads.putManifest(target, name, m.mediaType(), parsed.get(m.digest()).bytes());
            pushed.add(m);
        }
        progress.onEvent(new ProgressEvent.Phase("done", target + "@" + top.digest()));
        return new PushResult(target, top, pushed, results, uploaded.get(), Duration.ofNanos(System.nanoTime() - t0));
    }

    /** Post-order: children before the manifest that names them. */
    private void walk(GraphSource source, Descriptor d, Map<Digest, Descriptor> manifests, Map<Digest, Manifest> parsed,
                      Map<Digest, Descriptor> blobs, int depth) {
        if (manifests.containsKey(d.digest())) {
            return;
        }
        if (depth > 3) {
            throw new DavitException(Kind.VERIFICATION, "index nesting in " + source.describe() + " is too deep");
        }
        Manifest m = source.manifest(d);
        if (m instanceof ImageIndex idx) {
            for (Descriptor c : idx.manifests()) {
                walk(source, c, manifests, parsed, blobs, depth + 1);
            }
        } else {
            for (Descriptor c : m.children()) {
                if (MediaTypes.isManifest(c.mediaType())) {
                    walk(source, c, manifests, parsed, blobs, depth + 1);
                } else {
                    blobs.putIfAbsent(c.digest(), c);
                }
            }
        }
        manifests.put(d.digest(), new Descriptor(m.mediaType(), d.digest(), m.bytes().length));
        parsed.put(d.digest(), m);
    }

    private PushResult.BlobPush pushBlob(GraphSource source, Descriptor d, Reference target, Reference mountFrom,
                                         ProgressListener progress, AtomicLong uploaded) {
        if (uploads.exists(target, d.digest())) {
            progress.onEvent(new ProgressEvent.BlobDone(d, true));
            return new PushResult.BlobPush(d, PushResult.How.EXISTED, null);
        }
        String session = null;
        if (mountFrom != null && mountFrom.registry().equals(target.registry())
                && !mountFrom.repository().equals(target.repository())) {
            session = uploads.mountOrStart(target, d.digest(), mountFrom);
            if (session == null) {
                progress.onEvent(new ProgressEvent.BlobDone(d, true));
                return new PushResult.BlobPush(d, PushResult.How.MOUNTED, mountFrom.repositoryName());
            }
        }
        progress.onEvent(new ProgressEvent.BlobStarted(d, 0));
        long[] last = {0};
        uploads.upload(target, d, () -> source.openBlob(d), session, bytes -> {
            long delta = bytes - last[0];
            last[0] = bytes;
            if (delta > 0) {
                uploaded.addAndGet(delta);
            }
            progress.onEvent(new ProgressEvent.BlobProgress(d, bytes));
        }, msg -> progress.onEvent(new ProgressEvent.Retry(msg)));
        progress.onEvent(new ProgressEvent.BlobDone(d, false));
        return new PushResult.BlobPush(d, PushResult.How.UPLOADED, null);
    }
}
