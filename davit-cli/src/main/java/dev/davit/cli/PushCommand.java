package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.PushResult;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code davit push REF [TARGET]}: pushes an image or index from the store to a registry. */
@Command(name = "push", mixinStandardHelpOptions = true,
        description = "Push an image or index from the store to a registry: blobs the target has are skipped,"
                + " blobs in another repository of the same registry are mounted, manifests go byte for byte.")
final class PushCommand extends DavitCommand {
    @Parameters(index = "0", paramLabel = "REF", description = "A reference in the store (see 'davit images').")
    String reference;

    @Parameters(index = "1", arity = "0..1", paramLabel = "TARGET",
            description = "Where to push (default: REF itself), e.g. registry.example/team/app:1.")
    String target;

    @Override
    protected int run(Output out) {
        PushResult r;
        try (ProgressRenderer progress = out.progress()) {
            r = client().push(reference, target, progress);
        }
        out.result(toJson(reference, r), w -> human(w, "pushed", r));
        return 0;
    }

    static ObjectNode toJson(String given, PushResult r) {
        ObjectNode doc = Json.object();
        doc.put("reference", given);
        doc.put("target", r.target().toString());
        doc.put("digest", r.top().digest().toString());
        doc.put("media_type", r.top().mediaType());
        doc.put("uploaded_bytes", r.uploadedBytes());
        doc.put("elapsed_ms", r.elapsed().toMillis());
        ArrayNode ms = doc.putArray("manifests");
        r.manifests().forEach(d -> ms.add(JsonShapes.descriptor(d)));
        ArrayNode bs = doc.putArray("blobs");
        for (PushResult.BlobPush b : r.blobs()) {
            ObjectNode o = JsonShapes.descriptor(b.descriptor());
            o.put("how", b.how().name().toLowerCase(java.util.Locale.ROOT));
            if (b.mountedFrom() != null) {
                o.put("mounted_from", b.mountedFrom());
            }
            bs.add(o);
        }
        return doc;
    }

    static void human(PrintWriter w, String verb, PushResult r) {
        long uploaded = r.blobs().stream().filter(b -> b.how() == PushResult.How.UPLOADED).count();
        long mounted = r.blobs().stream().filter(b -> b.how() == PushResult.How.MOUNTED).count();
        long existed = r.blobs().stream().filter(b -> b.how() == PushResult.How.EXISTED).count();
        w.println(verb + " " + Text.printable(r.target().toString()));
        w.println("  digest:   " + r.top().digest());
        w.println("  blobs:    " + uploaded + " uploaded, " + mounted + " mounted, " + existed + " already there; "
                + Units.bytes(r.uploadedBytes()) + " sent in " + Units.duration(r.elapsed()));
    }
}
