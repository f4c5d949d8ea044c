package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.oci.unpack.UnpackResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit unpack REF DIR}: writes a pulled image's root filesystem into a new directory, offline. */
@Command(name = "unpack", mixinStandardHelpOptions = true,
        description = {"Unpack a pulled image into a root filesystem directory, without the network.",
            "DIR must not exist or be empty; it appears only when the unpack succeeded. Every layer is checked"
                + " against the config's diff_ids; names with '..', writes through links and hard links"
                + " outside DIR are refused."})
final class UnpackCommand extends DavitCommand {
    /** How many skipped entries the human output lists. */
    static final int SKIPPED_SHOWN = 10;

    @Parameters(index = "0", paramLabel = "REF", description = "A pulled image, e.g. alpine:3.20 or repo@sha256:...")
    String reference;

    @Parameters(index = "1", paramLabel = "DIR", description = "Where to write the root filesystem.")
    Path dir;

    @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]",
            description = "The platform to pick from a multi-platform image (default: this machine's, linux/<arch>).")
    String platform;

    @Option(names = "--max-size", paramLabel = "SIZE",
            description = "The most uncompressed layer data to read, e.g. 500MB, 4GiB, 10G (default: 32GiB).")
    String maxSize;

    @Option(names = "--max-entries", paramLabel = "N",
            description = "The most tar entries of all layers together (default: 1000000).")
    Long maxEntries;

    @Option(names = "--rootless", description = "Unpack as if not root: files belong to you, device nodes are"
            + " skipped (the default when not running as root).")
    boolean rootless;

    @Override
    protected int run(Output out) {
        PlatformSelector selector = platform != null ? PlatformSelector.of(Platform.parse(platform))
                : PlatformSelector.host();
        UnpackOptions.Builder b = UnpackOptions.builder();
        if (maxSize != null) {
            b.maxBytes(Units.parseBytes(maxSize, "--max-size"));
        }
        if (maxEntries != null) {
            if (maxEntries < 1) {
                throw new DavitException(Kind.USAGE, "--max-entries must be at least 1");
            }
            b.maxEntries(maxEntries);
        }
        if (rootless) {
            b.privileges(UnpackOptions.Privileges.ROOTLESS);
        }
        Reference ref = Reference.parse(reference);
        UnpackResult r = client().unpack(reference, dir, selector, b.build());
        out.result(toJson(reference, ref, r), w -> human(w, ref, r));
        return 0;
    }

    static ObjectNode toJson(String given, Reference ref, UnpackResult r) {
        ObjectNode doc = Json.object();
        doc.put("reference", given);
        doc.put("name", ref.toString());
        doc.put("digest", r.manifest().digest().toString());
        doc.put("platform", r.platform());
        doc.put("dir", r.dir().toString());
        ArrayNode layers = doc.putArray("layers");
        for (UnpackResult.Layer l : r.layers()) {
            layers.add(JsonShapes.descriptor(l.descriptor()).put("diff_id", l.diffId().toString()));
        }
        doc.put("files", r.files());
        doc.put("directories", r.directories());
        doc.put("symlinks", r.symlinks());
        doc.put("hardlinks", r.hardlinks());
        doc.put("special_files", r.specialFiles());
        doc.put("whiteouts", r.whiteouts());
        doc.put("bytes", r.bytes());
        ArrayNode skipped = doc.putArray("skipped");
        r.skipped().forEach(s -> skipped.addObject().put("path", s.path()).put("reason", s.reason()));
        doc.put("skipped_total", r.skippedTotal());
        ArrayNode notes = doc.putArray("notes");
        r.notes().forEach(notes::add);
        doc.put("elapsed_ms", r.elapsed().toMillis());
        return doc;
    }

    private static void human(PrintWriter w, Reference ref, UnpackResult r) {
        w.println("unpacked " + Text.printable(ref.toString()) + " into " + Text.printable(r.dir().toString()));
        w.println("  digest:   " + r.manifest().digest());
        if (r.platform() != null) {
            w.println("  platform: " + Text.printable(r.platform()));
        }
        w.println("  layers:   " + r.layers().size() + (r.whiteouts() > 0 ? " (" + r.whiteouts() + " whiteouts applied)"
                : ""));
        w.println("  content:  " + count(r.files(), "file") + " (" + Units.bytes(r.bytes()) + "), "
                + count(r.directories(), "directory", "directories") + ", " + count(r.symlinks(), "symlink") + ", "
                + count(r.hardlinks(), "hard link") + (r.specialFiles() > 0 ? ", " + count(r.specialFiles(),
                        "special file") : "") + " in " + Units.duration(r.elapsed()));
        for (int i = 0; i < r.skipped().size() && i < SKIPPED_SHOWN; i++) {
            UnpackResult.Skipped s = r.skipped().get(i);
            w.println("  skipped:  " + Text.printable(s.path()) + ": " + Text.printable(s.reason()));
        }
        long more = r.skippedTotal() - Math.min(r.skipped().size(), SKIPPED_SHOWN);
        if (more > 0) {
            w.println("  skipped:  ... " + more + " more (see --json)");
        }
        for (String n : r.notes()) {
            w.println("  note:     " + Text.printable(n));
        }
    }

    private static String count(long n, String one) {
        return count(n, one, one + "s");
    }

    private static String count(long n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }
}
