package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.manifest.Descriptor;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code davit pull REF}: fetches an image or artifact into the store. */
@Command(name = "pull", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = PullCommand.DESCRIPTION)
final class PullCommand extends DavitCommand {
    // the texts, shared by the annotations and CommandModels.pull
    static final String DESCRIPTION = "Pull an image or artifact into the store (verifying every digest).";
    static final String REFERENCE_TEXT = "What to pull, e.g. alpine:3.20, ghcr.io/o/r:tag, repo@sha256:...";

    @Parameters(paramLabel = "REF", description = REFERENCE_TEXT)
    String reference;

    @Mixin
    PlatformOptions platforms = new PlatformOptions();

    @Override
    protected int run(Output out) {
        var selector = platforms.selector();
        PullResult r;
        Trace.mark("pull: start");
        try (ProgressRenderer progress = out.progress()) {
            r = client().pull(reference, selector, progress);
        }
        Trace.mark("pull: pulled");
        out.result(toJson(reference, r), w -> human(w, r));
        return 0;
    }

    /** Total bytes of the stored graph: manifests plus config and layer blobs (what {@code images} shows). */
    static long graphSize(PullResult r) {
        return r.manifests().stream().mapToLong(Descriptor::size).sum() + r.totalBytes();
    }

    static ObjectNode toJson(String given, PullResult r) {
        ObjectNode doc = Json.object();
        doc.put("reference", given);
        doc.put("name", r.reference().toString());
        doc.put("resolved_digest", r.resolvedDigest().toString());
        doc.put("resolved_at", JsonShapes.instant(r.resolvedAt()));
        doc.put("digest", r.target().digest().toString());
        doc.put("media_type", r.target().mediaType());
        doc.put("platform", r.platform());
        doc.put("size", graphSize(r));
        doc.put("downloaded_bytes", r.downloadedBytes());
        long cached = r.blobs().stream().filter(PullResult.BlobResult::cached).count();
        doc.put("cached_blobs", cached);
        doc.put("fetched_blobs", r.blobs().size() - cached);
        doc.put("elapsed_ms", r.elapsed().toMillis());
        ArrayNode ms = doc.putArray("manifests");
        r.manifests().forEach(d -> ms.add(JsonShapes.descriptor(d)));
        ArrayNode bs = doc.putArray("blobs");
        for (PullResult.BlobResult b : r.blobs()) {
            bs.add(JsonShapes.descriptor(b.descriptor()).put("cached", b.cached()));
        }
        return doc;
    }

    private static void human(PrintWriter w, PullResult r) {
        long cached = r.blobs().stream().filter(PullResult.BlobResult::cached).count();
        long fetched = r.blobs().size() - cached;
        w.println("pulled " + Text.printable(r.reference().toString()));
        w.println("  digest:   " + r.target().digest());
        if (!r.resolvedDigest().equals(r.target().digest())) {
            w.println("  resolved: " + r.resolvedDigest() + " (index)");
        }
        if (r.platform() != null) {
            w.println("  platform: " + Text.printable(r.platform()));
        }
        w.println("  size:     " + Units.bytes(graphSize(r)) + " (" + fetched + (fetched == 1 ? " blob" : " blobs")
                + " fetched, " + cached + " cached; " + Units.bytes(r.downloadedBytes()) + " downloaded in "
                + Units.duration(r.elapsed()) + ")");
    }
}
