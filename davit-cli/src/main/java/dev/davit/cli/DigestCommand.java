package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code davit digest REF}: the digest the registry has for a reference now, without downloading it. */
@Command(name = "digest", mixinStandardHelpOptions = true,
        description = "Print the digest a reference has at the registry now (one HEAD request, nothing downloaded).")
final class DigestCommand extends DavitCommand {
    @Parameters(paramLabel = "REF", description = "The reference, e.g. alpine:3.20.")
    String reference;

    @Override
    protected int run(Output out) {
        Reference ref = Reference.parse(reference);
        Descriptor d = client().remoteDigest(reference);
        ObjectNode doc = Json.object();
        doc.put("reference", reference);
        doc.put("name", ref.toString());
        doc.setAll(JsonShapes.descriptor(d));
        out.result(doc, w -> w.println(d.digest()));
        return 0;
    }
}
