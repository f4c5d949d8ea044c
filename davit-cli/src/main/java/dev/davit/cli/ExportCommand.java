package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.bundle.BundleMetadata;
import dev.davit.oci.bundle.Compression;
import dev.davit.oci.bundle.ExportOptions;
import dev.davit.oci.bundle.ExportResult;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit export REF... FILE}: writes store entries into a bundle (an OCI-layout archive). */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write references from the store into a bundle FILE: a tar of an OCI image layout"
                + " (skopeo reads it as oci-archive:FILE:REF). The file is replaced atomically."})
final class ExportCommand extends DavitCommand {
    @Parameters(paramLabel = "REF... FILE", arity = "2..*",
            description = "References in the store, then the bundle file to write.")
    List<String> args;

    @Option(names = "--compress", paramLabel = "gzip|zstd|none",
            description = "Compress the whole tar (default: from FILE's name: .gz/.tgz gzip, .zst/.tzst zstd, else none).")
    String compress;

    @Option(names = "--name", paramLabel = "NAME", description = "Bundle name (annotation dev.davit.bundle.name).")
    String name;

    @Option(names = "--kind", paramLabel = "KIND", description = "Bundle kind, e.g. environment (dev.davit.bundle.kind).")
    String kind;

    @Option(names = "--parent", paramLabel = "PARENT", description = "The bundle this one derives from (dev.davit.bundle.parent).")
    String parent;

    @Option(names = "--created", paramLabel = "TIME",
            description = "Creation time: now, an ISO-8601 instant or epoch seconds (dev.davit.bundle.created;"
                    + " also the tar entries' mtime). Default: none, mtimes are the epoch.")
    String created;

    @Option(names = "--recipe", paramLabel = "TEXT", description = "How the bundle was made (dev.davit.bundle.recipe).")
    String recipe;

    @Option(names = "--recipe-file", paramLabel = "FILE", description = "Read the recipe text from FILE (UTF-8).")
    Path recipeFile;

    @Option(names = "--no-verify", description = "Do not re-read and verify the written file before renaming it.")
    boolean noVerify;

    @Override
    protected int run(Output out) {
        List<String> refs = args.subList(0, args.size() - 1);
        Path file = Path.of(args.get(args.size() - 1));
        if (file.toString().isEmpty()) {
            throw new DavitException(Kind.USAGE, "the bundle FILE is empty");
        }
        if (recipe != null && recipeFile != null) {
            throw new DavitException(Kind.USAGE, "--recipe and --recipe-file cannot be combined");
        }
        String recipeText = recipe;
        if (recipeFile != null) {
            try {
                if (Files.size(recipeFile) > BundleMetadata.MAX_RECIPE * 4L) {
                    throw new DavitException(Kind.USAGE, "--recipe-file " + Text.shorten(recipeFile.toString(), 80)
                            + " is larger than the " + BundleMetadata.MAX_RECIPE + "-character recipe limit");
                }
                recipeText = Files.readString(recipeFile);
            } catch (IOException | java.io.UncheckedIOException e) {
                throw new DavitException(Kind.USAGE, "cannot read --recipe-file " + Text.shorten(recipeFile.toString(),
                        80) + ": " + e.getMessage());
            }
        }
        BundleMetadata meta = new BundleMetadata(name, kind, parent,
                created == null ? null : BundleMetadata.parseTime(created), recipeText);
        ExportOptions options = ExportOptions.defaults().withMetadata(meta).withVerify(!noVerify)
                .withCompression(compress == null ? null : Compression.parse(compress));
        ExportResult r;
        try (ProgressRenderer progress = out.progress()) {
            r = client().bundles().export(refs, file, options, progress);
        }
        out.result(toJson(r), w -> human(w, r));
        return 0;
    }

    static ObjectNode toJson(ExportResult r) {
        ObjectNode doc = Json.object();
        doc.put("file", r.file().toString());
        doc.put("compression", r.compression().id());
        doc.put("size", r.size());
        doc.put("digest", r.digest().toString());
        doc.put("blobs", r.blobs());
        doc.put("content_size", r.contentBytes());
        doc.put("verified", r.verified());
        doc.put("elapsed_ms", r.elapsed().toMillis());
        doc.set("metadata", BundleJson.metadata(r.metadata()));
        ArrayNode refs = doc.putArray("references");
        r.refs().forEach(x -> refs.add(BundleJson.ref(x)));
        return doc;
    }

    private static void human(PrintWriter w, ExportResult r) {
        int n = r.refs().size();
        w.println("exported " + n + (n == 1 ? " reference" : " references") + " to "
                + Text.printable(r.file().toString()));
        w.println("  size:    " + Units.bytes(r.size()) + " (" + r.compression().id() + "; " + r.blobs() + " blobs, "
                + Units.bytes(r.contentBytes()) + " of content" + (r.verified() ? ", verified" : "") + ", "
                + Units.duration(r.elapsed()) + ")");
        w.println("  digest:  " + r.digest());
        BundleJson.humanMetadata(w, r.metadata());
        BundleJson.table(w, r.refs(), null, null);
    }
}
