package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit referrers REF}: what refers to a manifest at the registry (OCI 1.1 {@code subject}). */
@Command(name = "referrers", mixinStandardHelpOptions = true, description = "List the manifests that refer to REF at"
        + " its registry (their subject is it: signatures, SBOMs, workspace snapshots): through the registry's"
        + " referrers API, else its sha256-DIGEST tag.")
final class ReferrersCommand extends DavitCommand {
    @Parameters(paramLabel = "REF", description = "The manifest referred to, by tag or digest.")
    String reference;

    @Option(names = "--artifact-type", paramLabel = "TYPE", description = "Only referrers of this artifact type (e.g."
            + " application/vnd.dev.davit.workspace.snapshot.v1).")
    String artifactType;

    @Override
    protected int run(Output out) {
        List<Descriptor> found = client().artifacts().referrers(reference, artifactType);
        ObjectNode doc = Json.object();
        doc.put("reference", reference);
        ArrayNode arr = doc.putArray("referrers");
        for (Descriptor d : found) {
            ObjectNode o = arr.addObject();
            o.put("digest", d.digest().toString());
            o.put("media_type", d.mediaType());
            o.put("artifact_type", d.artifactType());
            o.put("size", d.size());
            ObjectNode a = o.putObject("annotations");
            d.annotations().forEach(a::put);
        }
        out.result(doc, w -> found.forEach(d -> w.println(d.digest() + " " + Text.printable(d.artifactType() == null
                ? "-" : d.artifactType()) + d.annotations().entrySet().stream().map(e -> " " + Text.printable(
                e.getKey() + "=" + e.getValue())).reduce("", String::concat))));
        return 0;
    }
}
