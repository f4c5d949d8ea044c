package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.bundle.BundleInfo;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code davit bundle SUBCOMMAND}: bundle tools that do not touch the store. */
@Command(name = "bundle", mixinStandardHelpOptions = true,
        description = "Work with bundle files (OCI-layout archives written by davit export or skopeo).",
        subcommands = {BundleCommand.Inspect.class},
        commandListHeading = "%nCommands:%n")
final class BundleCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    /** No subcommand: usage on stderr, exit 2. */
    @Override
    public Integer call() {
        if (!main.globals().json()) {
            spec.commandLine().usage(spec.commandLine().getErr());
        }
        throw new DavitException(Kind.USAGE, "no bundle command given (see 'davit bundle --help')");
    }

    /** {@code davit bundle inspect FILE}: metadata and references, without extracting blobs. */
    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Show a bundle's metadata and references (name, digest, media type, platforms, size)"
                    + " without extracting it; manifests are verified, layers skipped.")
    static final class Inspect implements Callable<Integer> {
        @ParentCommand
        BundleCommand bundle;

        @Parameters(paramLabel = "FILE", description = "The bundle file.")
        Path file;

        @Override
        public Integer call() {
            Main main = bundle.main;
            Output out = main.output();
            BundleInfo info;
            try (DavitClient client = DavitClient.create(main.clientOptions())) {
                info = client.bundles().inspect(file);
            }
            out.result(toJson(info), w -> human(w, info));
            return 0;
        }
    }

    static ObjectNode toJson(BundleInfo i) {
        ObjectNode doc = Json.object();
        doc.put("file", i.file().toString());
        doc.put("compression", i.compression().id());
        doc.put("size", i.size());
        doc.put("layout_version", i.layoutVersion());
        doc.set("metadata", BundleJson.metadata(i.metadata()));
        doc.set("annotations", JsonShapes.annotations(i.annotations()));
        doc.put("blobs", i.blobs());
        doc.put("content_size", i.blobBytes());
        doc.put("complete", i.complete());
        ArrayNode refs = doc.putArray("references");
        i.refs().forEach(r -> refs.add(BundleJson.ref(r)));
        return doc;
    }

    private static void human(PrintWriter w, BundleInfo i) {
        w.println("bundle " + Text.printable(i.file().toString()));
        w.println("  format:  OCI layout " + Text.printable(i.layoutVersion()) + ", " + i.compression().id() + ", "
                + Units.bytes(i.size()) + " (" + i.blobs() + " blobs, " + Units.bytes(i.blobBytes()) + " of content)");
        BundleJson.humanMetadata(w, i.metadata());
        BundleJson.table(w, i.refs(), null, null);
        if (!i.complete()) {
            w.println("  some references are incomplete: the bundle lacks blobs of their graphs");
        }
    }
}
