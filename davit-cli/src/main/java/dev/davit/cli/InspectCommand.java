package dev.davit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.client.DavitClient.Inspection;
import dev.davit.oci.store.StoreEntry;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit inspect REF}: the manifest and config of a pulled reference, or of a remote one. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show the manifest and config of a pulled reference (or, with --remote, of one at the registry).")
final class InspectCommand extends DavitCommand {
    @Parameters(paramLabel = "REF", description = "The reference, e.g. alpine:3.20.")
    String reference;

    @Option(names = "--remote", description = "Ask the registry instead of the store (nothing is pulled).")
    boolean remote;

    @Option(names = "--raw", description = "Print the manifest bytes exactly as stored or served.")
    boolean raw;

    @Mixin
    PlatformOptions platforms = new PlatformOptions();

    @Override
    protected int run(Output out) {
        if (raw && out.json()) {
            throw new DavitException(Kind.USAGE, "--raw and --json cannot be combined");
        }
        if (!remote && (platforms.platform != null || platforms.all)) {
            throw new DavitException(Kind.USAGE, "--platform and --all-platforms need --remote; a pulled reference"
                    + " names one manifest already");
        }
        Inspection i = remote ? client().inspectRemote(reference, platforms.selector())
                : client().inspectLocal(reference);
        if (raw) {
            out.raw(i.manifest().bytes());
            return 0;
        }
        ObjectNode doc = toJson(reference, i);
        out.result(doc, w -> human(w, doc));
        return 0;
    }

    static ObjectNode toJson(String given, Inspection i) {
        StoreEntry e = i.entry();
        ObjectNode doc = Json.object();
        doc.put("reference", given);
        doc.put("name", i.reference().toString());
        doc.put("source", e != null ? "store" : "registry");
        doc.put("digest", i.descriptor().digest().toString());
        doc.put("media_type", i.descriptor().mediaType());
        doc.put("size", i.descriptor().size());
        doc.put("platform", platform(i));
        doc.put("resolved_digest", e == null || e.resolvedDigest() == null ? null : e.resolvedDigest().toString());
        doc.put("resolved_at", e == null ? null : JsonShapes.instant(e.resolvedAt()));
        doc.set("manifest", manifestJson(i));
        doc.set("config", configJson(i));
        doc.set("annotations", JsonShapes.annotations(i.manifest().annotations()));
        return doc;
    }

    private static JsonNode manifestJson(Inspection i) {
        try {
            return Json.read(i.manifest().bytes());
        } catch (IOException ex) {
            throw new DavitException(Kind.VERIFICATION, "manifest " + i.descriptor().digest() + " is not valid JSON");
        }
    }

    /** The config document as it is stored, or null. */
    private static JsonNode configJson(Inspection i) {
        if (i.config() == null) {
            return null;
        }
        try {
            return Json.read(i.config().json().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException ex) {
            throw new DavitException(Kind.VERIFICATION, "the config of " + i.reference() + " is not valid JSON");
        }
    }

    /** The store's record of the platform, else the config's os/architecture/variant, else the descriptor's. */
    private static String platform(Inspection i) {
        if (i.entry() != null && i.entry().platform() != null) {
            return i.entry().platform();
        }
        if (i.config() != null && i.config().platform() != null) {
            return i.config().platform().toString();
        }
        return i.descriptor().platform() == null ? null : i.descriptor().platform().toString();
    }

    private static void human(PrintWriter w, ObjectNode doc) {
        field(w, "name", doc.get("name").asText());
        field(w, "source", doc.get("source").asText());
        field(w, "digest", doc.get("digest").asText());
        field(w, "media type", doc.get("media_type").asText());
        field(w, "size", Units.bytes(doc.get("size").asLong()) + " (manifest)");
        if (!doc.get("platform").isNull()) {
            field(w, "platform", doc.get("platform").asText());
        }
        if (!doc.get("resolved_digest").isNull()) {
            field(w, "resolved", doc.get("resolved_digest").asText()
                    + (doc.get("resolved_at").isNull() ? "" : " at " + doc.get("resolved_at").asText()));
        }
        for (Map.Entry<String, JsonNode> a : doc.get("annotations").properties()) {
            field(w, "annotation", a.getKey() + "=" + a.getValue().asText());
        }
        w.println("manifest:");
        printJson(w, doc.get("manifest"));
        if (!doc.get("config").isNull()) {
            w.println("config:");
            printJson(w, doc.get("config"));
        }
    }

    private static void field(PrintWriter w, String name, String value) {
        w.println(String.format("%-12s %s", name + ":", Text.printable(value)));
    }

    private static void printJson(PrintWriter w, JsonNode n) {
        for (String line : Json.pretty(n).split("\n", -1)) {
            w.println(Text.printable(line));
        }
    }
}
