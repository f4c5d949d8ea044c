package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.reference.Reference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit rm REF}: removes a reference from the store; {@code davit gc} frees its blobs. */
@Command(name = "remove", aliases = {"rm", "rmi"}, mixinStandardHelpOptions = true,
        description = "Remove a reference from the store. Its blobs stay until 'davit gc'.")
final class RmCommand extends DavitCommand {
    @Parameters(paramLabel = "REF", description = "The reference to remove, e.g. alpine:3.20.")
    String reference;

    @Option(names = {"-f", "--force"}, description = "Succeed (removed: false) when the reference is not in the store.")
    boolean force;

    @Override
    protected int run(Output out) {
        String name = Reference.parse(reference).toString();
        boolean removed = client().remove(reference);
        if (!removed && !force) {
            throw new DavitException(Kind.NOT_FOUND, name + " is not in the store (see 'davit images')");
        }
        ObjectNode doc = Json.object();
        doc.put("reference", reference);
        doc.put("name", name);
        doc.put("removed", removed);
        out.result(doc, w -> w.println((removed ? "removed " : "not in the store: ") + Text.printable(name)));
        if (removed) {
            out.notice("run 'davit gc' to free blobs no other reference uses");
        }
        return 0;
    }
}
