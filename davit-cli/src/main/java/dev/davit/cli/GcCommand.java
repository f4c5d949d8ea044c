package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.store.OciStore.GcReport;
import picocli.CommandLine.Command;

/** {@code davit gc}: deletes blobs no reference reaches, and leftover partial downloads. */
@Command(name = "gc", mixinStandardHelpOptions = true,
        description = "Delete blobs no reference in the store uses, and leftover temporary files."
                + " Waits for running pulls to finish.")
final class GcCommand extends DavitCommand {

    @Override
    protected int run(Output out) {
        GcReport r = client().gc();
        ObjectNode doc = Json.object();
        doc.put("removed_blobs", r.removedBlobs());
        doc.put("freed_bytes", r.freedBytes());
        doc.put("removed_temp_files", r.removedTempFiles());
        out.result(doc, w -> w.println("removed " + r.removedBlobs() + (r.removedBlobs() == 1 ? " blob" : " blobs")
                + " (" + Units.bytes(r.freedBytes()) + " freed) and " + r.removedTempFiles() + " temporary "
                + (r.removedTempFiles() == 1 ? "file" : "files")));
        return 0;
    }
}
