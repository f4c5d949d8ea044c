package dev.davit.sandbox.target;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.unpack.Owners;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.oci.unpack.Unpacker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

/**
 * The pull of an image that {@code run} needs, with its layers unpacked in order while the later ones still
 * download: the pull's progress tells which image manifest it fetches ({@link ProgressEvent.ManifestChosen}) and when
 * each blob is in the store, verified ({@link ProgressEvent.BlobDone}); a thread unpacks each layer once it is there
 * ({@link Unpacker#unpackArriving}) into a partial directory of the home's cache that nothing runs from. The tree is
 * published (renamed into place) only after the pull succeeded; a pull that fails (a corrupt layer, a cut) leaves
 * nothing unpacked, as the pull-then-unpack it replaces did.
 */
final class ArrivingUnpack implements ProgressListener {
    private final ProgressListener downstream;
    private final DavitClient client;
    private final Path cache;
    private final Set<Digest> arrived = new HashSet<>();
    private ProgressEvent.ManifestChosen chosen;
    private boolean ended;
    private boolean failed;
    private Thread thread;
    /** What the thread made: a published partial tree, and the manifest it is of; or that it failed. */
    private Path partial;
    private Digest unpacked;
    private RuntimeException error;

    ArrivingUnpack(DavitClient client, Path cache, ProgressListener downstream) {
        this.client = client;
        this.cache = cache;
        this.downstream = downstream == null ? ProgressListener.NONE : downstream;
    }

    /** Starts the thread that waits for the manifest and unpacks; then pull with this as the progress listener. */
    ArrivingUnpack start() {
        thread = Thread.ofPlatform().daemon(true).name("davit-unpack").start(this::unpack);
        return this;
    }

    @Override
    public void onEvent(ProgressEvent event) {
        downstream.onEvent(event);
        if (event instanceof ProgressEvent.BlobDone d) {
            synchronized (this) {
                arrived.add(d.descriptor().digest());
                notifyAll();
            }
        } else if (event instanceof ProgressEvent.ManifestChosen m) {
            synchronized (this) {
                if (chosen == null) {
                    chosen = m;
                }
                notifyAll();
            }
        }
    }

    /**
     * The pull ended ({@code ok}: it succeeded); waits for the thread. Returns the unpacked partial tree when it is of
     * manifest {@code digest}, or null: nothing was unpacked, or the unpack failed (a layer that is no tar archive, no
     * space), and the caller unpacks as usual, which says why in its own words. After a failed pull the partial tree
     * is gone.
     */
    Path end(boolean ok, Digest digest) {
        synchronized (this) {
            ended = true;
            failed = !ok;
            notifyAll();
        }
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (!ok) {
            discard();
            return null;
        }
        if (error != null) {
            discard();
            return null;
        }
        if (partial != null && !digest.equals(unpacked)) {
            discard();
        }
        return partial;
    }

    private void unpack() {
        ProgressEvent.ManifestChosen m;
        synchronized (this) {
            while (chosen == null && !ended) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    return;
                }
            }
            m = chosen;
        }
        if (m == null || dev.davit.env.Environment.Kind.MICROVM_ARTIFACT_TYPE.equals(m.manifest().effectiveArtifactType())
                || Files.exists(cache.resolve(m.descriptor().digest().toString().replace(':', '-')))) {
            return;   // no image manifest, a microVM environment, or one unpacked already
        }
        Path p = cache.resolve(".partial-" + UUID.randomUUID());
        try {
            Files.createDirectories(cache);
            new Unpacker(client.store(), UnpackOptions.defaults()).unpackArriving(m.descriptor(), m.manifest(), p,
                    this::await);
            synchronized (this) {
                partial = p;
                unpacked = m.descriptor().digest();
            }
        } catch (RuntimeException e) {
            deleteTree(p);
            if (!(e instanceof PullEnded) && !(e.getCause() instanceof PullEnded)) {
                synchronized (this) {
                    error = e;
                }
            }
        } catch (IOException e) {
            deleteTree(p);
            synchronized (this) {
                error = new DavitException(Kind.STORE, "cannot unpack into " + cache + ": " + e.getMessage(), e);
            }
        }
    }

    /** Waits until {@code blob} is in the store; throws {@link PullEnded} once the pull failed or ended without it. */
    private synchronized void await(Descriptor blob) throws InterruptedException {
        while (!arrived.contains(blob.digest())) {
            if (failed || ended) {
                throw new PullEnded();
            }
            wait();
        }
    }

    private void discard() {
        Path p;
        synchronized (this) {
            p = partial;
            partial = null;
        }
        if (p != null) {
            deleteTree(p);
        }
    }

    /** Deletes an unpacked tree and its owners record, if there; quietly (prune takes what is left). */
    static void deleteTree(Path p) {
        try {
            Files.deleteIfExists(Owners.fileOf(p));
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Fs.deleteTree(p);
            }
        } catch (IOException e) {
            // a leftover .partial- directory: the next unpack of the home's cache does not look at it
        }
    }

    /** The pull ended before the blob an unpack waits for arrived: the unpack stops, its tree is deleted. */
    private static final class PullEnded extends RuntimeException {
        PullEnded() {
            super("the pull ended", null, false, false);
        }
    }
}
