package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.store.OciStore.FsckReport;
import dev.davit.oci.store.OciStore.Problem;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code davit fsck}: verifies every blob and every entry's graph; exits 6 when it finds problems. */
@Command(name = "fsck", mixinStandardHelpOptions = true,
        description = "Verify the store: every blob against its digest, every reference's content complete."
                + " Exits 6 when problems are found.")
final class FsckCommand extends DavitCommand {
    @Option(names = "--repair", description = "Delete corrupt blobs (pull the affected references again afterwards).")
    boolean repair;

    @Override
    protected int run(Output out) {
        FsckReport r = client().fsck(repair);
        ObjectNode doc = Json.object();
        doc.put("blobs_checked", r.blobsChecked());
        doc.put("entries_checked", r.entriesChecked());
        doc.put("clean", r.clean());
        ArrayNode arr = doc.putArray("problems");
        for (Problem p : r.problems()) {
            arr.addObject().put("kind", p.kind()).put("subject", p.subject()).put("message", p.message());
        }
        doc.put("repaired", r.repaired());
        out.result(doc, w -> human(w, r));
        if (r.clean()) {
            return 0;
        }
        int n = r.problems().size();
        out.warn("error: fsck found " + n + (n == 1 ? " problem" : " problems")
                + (repair ? "; " + r.repaired() + " repaired, pull the affected references again"
                        : "; run 'davit fsck --repair', then pull the affected references again"));
        return Kind.VERIFICATION.exitCode();
    }

    private static void human(PrintWriter w, FsckReport r) {
        for (Problem p : r.problems()) {
            w.println(Text.printable(p.kind() + ": " + p.subject() + ": " + p.message()));
        }
        w.println("checked " + r.blobsChecked() + (r.blobsChecked() == 1 ? " blob" : " blobs") + " and "
                + r.entriesChecked() + (r.entriesChecked() == 1 ? " reference" : " references") + ": "
                + (r.clean() ? "clean" : r.problems().size() + " problem(s)")
                + (r.repaired() > 0 ? ", " + r.repaired() + " repaired" : ""));
    }
}
