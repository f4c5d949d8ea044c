package dev.davit.cli;

import dev.davit.oci.client.DavitClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code davit copy SRC DST}: registry to registry (streamed), or between a registry and an OCI layout. */
@Command(name = "copy", aliases = "cp", mixinStandardHelpOptions = true,
        description = "Copy an image between registries (streamed, nothing stored locally), or between a registry"
                + " and an OCI layout directory given as oci:PATH[:NAME].")
final class CopyCommand extends DavitCommand {
    @Parameters(index = "0", paramLabel = "SRC", description = "A reference, or oci:PATH[:NAME].")
    String source;

    @Parameters(index = "1", paramLabel = "DST", description = "A reference, or oci:PATH[:NAME].")
    String destination;

    @Mixin
    PlatformOptions platforms = new PlatformOptions();

    @picocli.CommandLine.Option(names = "--remove-signatures", description = "Between registries: leave the image's"
            + " signatures (its sha256-DIGEST.sig manifest) and referrers (its sha256-DIGEST tag) behind.")
    boolean removeSignatures;

    @Override
    protected int run(Output out) {
        DavitClient.CopyResult r;
        try (ProgressRenderer progress = out.progress()) {
            r = client().copy(source, destination, platforms.selector(), progress, removeSignatures);
        }
        if (r.pushed() != null) {
            var doc = PushCommand.toJson(source, r.pushed());
            doc.put("source", source);
            out.result(doc, w -> PushCommand.human(w, "copied to", r.pushed()));
        } else {
            var doc = PullCommand.toJson(source, r.pulled());
            doc.put("source", source);
            doc.put("target", destination);
            out.result(doc, w -> w.println("copied " + dev.davit.oci.internal.Text.printable(source) + " to "
                    + dev.davit.oci.internal.Text.printable(destination) + "\n  digest:   " + r.pulled().target().digest()));
        }
        return 0;
    }
}
