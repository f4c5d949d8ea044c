package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.sandbox.target.RunTargets;
import dev.davit.oci.client.DavitHome;
import dev.davit.oci.internal.Json;
import dev.davit.oci.store.OciStore.GcReport;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Command;

/**
 * {@code davit gc}: deletes blobs no reference reaches, leftover partial downloads, and the unpacked images of the
 * home's caches that no reference and no sandbox uses.
 */
@Command(name = "gc", mixinStandardHelpOptions = true,
        description = "Delete blobs no reference in the store uses, leftover temporary files, and unpacked images"
                + " (rootfs/, vm/) that no reference and no sandbox uses. Waits for running pulls to finish.")
final class GcCommand extends DavitCommand {

    @Override
    protected int run(Output out) {
        GcReport r = client().gc();
        Path home = DavitHome.resolve(main.env());
        RunTargets.Pruned p = RunTargets.prune(client(), home, new Sandboxes(SandboxOptions.under(home))::list, null,
                Duration.ZERO);
        ObjectNode doc = Json.object();
        doc.put("removed_blobs", r.removedBlobs());
        doc.put("freed_bytes", r.freedBytes());
        doc.put("removed_temp_files", r.removedTempFiles());
        doc.put("removed_unpacked", p.removed());
        doc.put("unpacked_freed_bytes", p.freedBytes());
        out.result(doc, w -> w.println("removed " + r.removedBlobs() + (r.removedBlobs() == 1 ? " blob" : " blobs")
                + " (" + Units.bytes(r.freedBytes()) + " freed), " + r.removedTempFiles() + " temporary "
                + (r.removedTempFiles() == 1 ? "file" : "files") + " and " + p.removed() + " unpacked "
                + (p.removed() == 1 ? "image" : "images") + " (" + Units.bytes(p.freedBytes()) + " freed)"));
        return 0;
    }
}
