package dev.davit.oci.client;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.bundle.OciLayoutSource;
import dev.davit.oci.copy.Copier;
import dev.davit.oci.copy.GraphSource;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.copy.Pusher;
import dev.davit.oci.copy.RegistrySource;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.VerifyingInputStream;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.policy.SigstoreSignature;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.registry.Uploads;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * How a {@link DavitClient} moves images: a pull into the store, a push from it (with the signatures kept beside),
 * and a copy between registries or to and from an OCI layout directory (with the signatures and referrers that go
 * along). The client checks the arguments and turns a null progress listener into {@link ProgressListener#NONE}
 * before it calls here.
 */
final class Transfers {
    private final DavitClient davit;
    private final ClientOptions options;
    private final Uploads.PushOptions pushOptions;
    private final Admissions admissions;

    Transfers(DavitClient davit, ClientOptions options, Admissions admissions) {
        this.davit = davit;
        this.options = options;
        this.pushOptions = options.push();
        this.admissions = admissions;
    }

    /** {@link DavitClient#pull(Reference, PlatformSelector, ProgressListener)}'s work. */
    PullResult pull(Reference ref, PlatformSelector p, ProgressListener l) {
        PullResult r = davit.withRegistry(l, client -> new Copier(davit.store(), admissions.admission(client))
                .pull(client, ref, p, l));
        admissions.keepSignatures(ref, r.resolvedDigest());
        return r;
    }

    /** {@link DavitClient#push(String, String, ProgressListener)}'s work, from {@code src} to {@code dst}. */
    PushResult push(Reference src, Reference dst, ProgressListener progress) {
        StoreEntry e = davit.store().entry(src.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                Message.of(src + " is not in the store; pull or build it first (see ", Action.IMAGES.fix(), ")")));
        PushResult r = pushFromStore(davit.store(), e.descriptor(), dst, progress);
        // its signatures kept in the store go along, when what they sign is what was pushed
        String resolved = e.descriptor().annotation(OciStore.RESOLVED_DIGEST);
        Digest top = e.descriptor().digest();
        if (resolved == null || resolved.equals(top.toString())) {
            String tag = SigstoreSignature.tag(top);
            davit.find(new Reference(src.registry(), src.repository(), tag, null).toString()).ifPresent(sig ->
                    pushFromStore(davit.store(), sig.descriptor(), new Reference(dst.registry(), dst.repository(),
                            tag, null), progress));
        }
        return r;
    }

    PushResult pushFromStore(OciStore from, Descriptor top, Reference dst, ProgressListener progress) {
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
        return davit.withRegistry(progress, client -> new Pusher(new Uploads(client.transport(), pushOptions),
                options.registry().maxConcurrentRequests()).push(source, top, dst, mountFrom::get, progress));
    }

    /** {@link DavitClient#copy(String, String, PlatformSelector, ProgressListener, boolean)}'s work. */
    DavitClient.CopyResult copy(String source, String destination, PlatformSelector platforms,
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
            PullResult r = davit.withRegistry(progress, client -> new Copier(layout, admissions.admission(client))
                    .copy(new RegistrySource(client, src),
                    src.identifier(), src, name, platforms, progress));
            return new DavitClient.CopyResult(r, null);
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
            return new DavitClient.CopyResult(null, davit.withRegistry(progress, client -> new Pusher(
                    new Uploads(client.transport(), pushOptions), options.registry().maxConcurrentRequests())
                    .push(gs, top, dst, d -> null, progress)));
        }
        Reference src = Reference.parse(source);
        PushResult r = davit.withRegistry(progress, client -> {
            RegistryClient.FetchedManifest top = client.fetchManifest(src);
            admissions.admission(client).admit(src, top.descriptor()); // before anything of it is copied
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
                for (String tag : List.of(SigstoreSignature.tag(signed), Referrers.fallbackTag(signed))) {
                    copyAttached(client, new Reference(src.registry(), src.repository(), tag, null),
                            new Reference(dst.registry(), dst.repository(), tag, null), mountFrom, progress);
                }
                new Signatures(davit).copyLookaside(src, dst, signed);
            }
            return pushed;
        });
        return new DavitClient.CopyResult(null, r);
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
}
