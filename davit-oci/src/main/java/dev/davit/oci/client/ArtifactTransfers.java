package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.OciStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link DavitClient}'s artifacts: files made into an artifact in the store and pushed under a name, or attached
 * to an image as a referrer, and an artifact pulled and its files written out. The client checks the arguments
 * before it calls here.
 */
final class ArtifactTransfers {
    private final DavitClient davit;

    ArtifactTransfers(DavitClient davit) {
        this.davit = davit;
    }

    /** {@link ArtifactClient#push(String, String, List, Map, ProgressListener)}'s work, as {@code ref}. */
    PushResult push(Reference ref, String artifactType, List<Artifacts.FileSpec> files,
                    Map<String, String> annotations, ProgressListener progress) {
        Map<String, String> notes = annotations == null ? Map.of() : annotations;
        Descriptor md;
        try (AutoCloseable session = davit.store().session()) {
            md = Artifacts.create(davit.store(), artifactType, files, notes);
            davit.store().setEntry(ref.toString(), md, Map.of(OciStore.RESOLVED_AT, Instant.now().toString()));
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot create the artifact: " + e.getMessage(), e);
        }
        return davit.pushFromStore(davit.store(), md, ref, progress);
    }

    /** {@link ArtifactClient#attach}'s work, to the image {@code ref} names. */
    ArtifactClient.Attached attach(Reference ref, String artifactType, List<Artifacts.FileSpec> files,
                                Map<String, String> annotations, ProgressListener progress) {
        Descriptor target = davit.remoteDigest(ref.toString());
        Descriptor md;
        try (AutoCloseable session = davit.store().session()) {
            md = Artifacts.create(davit.store(), artifactType, files, annotations == null ? Map.of() : annotations,
                    target);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot create the artifact: " + e.getMessage(), e);
        }
        Reference byDigest = new Reference(ref.registry(), ref.repository(), null, md.digest());
        davit.pushFromStore(davit.store(), md, byDigest, progress);
        Descriptor listed = new Descriptor(md.mediaType(), md.digest(), md.size(), List.of(),
                annotations == null ? Map.of() : annotations, null, artifactType);
        boolean tagged = davit.artifacts().attachReferrer(ref.repositoryName(), target.digest(), listed);
        return new ArtifactClient.Attached(ref, target.digest(), listed, tagged);
    }

    /** {@link ArtifactClient#pull(String, Path, Set, ProgressListener)}'s work. */
    ArtifactClient.Pulled pull(String reference, Path dir, Set<String> mediaTypes, ProgressListener progress) {
        PullResult r = davit.pull(reference, PlatformSelector.host(), progress);
        Manifest m = davit.store().readManifest(r.target());
        return new ArtifactClient.Pulled(r, Artifacts.extract(davit.store(), m, dir, mediaTypes == null ? Set.of()
                : mediaTypes));
    }
}
