package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.bundle.ImportResult;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit import FILE}: verifies a bundle completely, then adds its references to the store. */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Import a bundle (an OCI-layout tar, plain, gzip or zstd; from davit export, skopeo"
                + " oci-archive or a tarred layout). Every blob is verified and the archive checked before any"
                + " reference is added; a bad bundle changes no reference.",
            "Entries named by a reference are imported under it, normalised (imported/tiny:2 as"
                + " docker.io/imported/tiny:2); bare tags (e.g. 'latest') and other names need --as, --map or --repo."})
final class ImportCommand extends DavitCommand {
    @Parameters(paramLabel = "FILE", description = "The bundle file.")
    Path file;

    @Option(names = "--as", paramLabel = "REF", description = "Name the bundle's only entry REF.")
    String as;

    @Option(names = "--map", paramLabel = "NAME=REF",
            description = "Name the entry whose ref name (as written or normalised) or digest is NAME as REF"
                    + " (repeatable; overrides the entry's own name).")
    Map<String, String> map = new LinkedHashMap<>();

    @Option(names = "--repo", paramLabel = "REPO",
            description = "Import entries named by a plain tag (e.g. latest) as REPO:tag.")
    String repository;

    @Option(names = "--overwrite", description = "Move names the store already gives other images to the"
            + " bundle's (without it such an import is refused, naming them, and nothing is named).")
    boolean overwrite;

    @Option(names = "--max-size", paramLabel = "SIZE",
            description = "Refuse bundles over SIZE uncompressed bytes (e.g. 500MB, 8GiB; default 64GiB).")
    String maxSize;

    @Option(names = "--max-entries", paramLabel = "N", description = "Refuse bundles with more than N tar entries"
            + " (default 100000).")
    Integer maxEntries;

    @Override
    protected int run(Output out) {
        ImportOptions options = ImportOptions.defaults().withAs(as).withMap(map).withRepository(repository)
                .withOverwrite(overwrite);
        if (maxSize != null) {
            options = options.withMaxTotalBytes(parseSize(maxSize));
        }
        if (maxEntries != null) {
            if (maxEntries <= 0) {
                throw new DavitException(Kind.USAGE, "--max-entries must be positive");
            }
            options = options.withMaxEntries(maxEntries);
        }
        ImportResult r;
        try (ProgressRenderer progress = out.progress()) {
            r = client().bundles().importBundle(file, options, progress);
        }
        out.result(toJson(r), w -> human(w, r));
        return 0;
    }

    /** Bytes from {@code 123}, {@code 500MB}, {@code 1.5G}, {@code 8GiB} (k/M/G/T decimal, KiB/MiB/GiB/TiB binary). */
    static long parseSize(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace(" ", "");
        int i = 0;
        while (i < t.length() && (Character.isDigit(t.charAt(i)) || t.charAt(i) == '.')) {
            i++;
        }
        String num = t.substring(0, i);
        String unit = t.substring(i);
        long mult = switch (unit) {
            case "", "b" -> 1L;
            case "k", "kb" -> 1000L;
            case "m", "mb" -> 1000_000L;
            case "g", "gb" -> 1000_000_000L;
            case "t", "tb" -> 1000_000_000_000L;
            case "kib" -> 1L << 10;
            case "mib" -> 1L << 20;
            case "gib" -> 1L << 30;
            case "tib" -> 1L << 40;
            default -> -1L;
        };
        try {
            double v = Double.parseDouble(num);
            if (mult > 0 && v > 0 && v * mult < Long.MAX_VALUE) {
                return Math.max(1, (long) (v * mult));
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new DavitException(Kind.USAGE, "invalid size '" + Text.shorten(text, 40)
                + "': give bytes or a number with kB, MB, GB, TB, KiB, MiB, GiB or TiB");
    }

    static String status(ImportResult.ImportedRef r) {
        return r.previous() == null ? "added" : r.previous().equals(r.descriptor().digest()) ? "unchanged" : "updated";
    }

    static ObjectNode toJson(ImportResult r) {
        ObjectNode doc = Json.object();
        doc.put("file", r.file().toString());
        doc.put("compression", r.compression().id());
        doc.put("blobs", r.blobs());
        doc.put("stored_blobs", r.storedBlobs());
        doc.put("cached_blobs", r.blobs() - r.storedBlobs());
        doc.put("content_size", r.blobBytes());
        doc.put("elapsed_ms", r.elapsed().toMillis());
        doc.set("metadata", BundleJson.metadata(r.metadata()));
        ArrayNode refs = doc.putArray("references");
        for (ImportResult.ImportedRef x : r.refs()) {
            ObjectNode n = refs.addObject();
            n.put("name", x.reference().toString());
            n.put("bundle_name", x.bundleName());
            n.put("digest", x.descriptor().digest().toString());
            n.put("media_type", x.descriptor().mediaType());
            n.put("previous_digest", x.previous() == null ? null : x.previous().toString());
            n.put("status", status(x));
        }
        return doc;
    }

    private static void human(PrintWriter w, ImportResult r) {
        int n = r.refs().size();
        w.println("imported " + n + (n == 1 ? " reference" : " references") + " from "
                + Text.printable(r.file().toString()));
        w.println("  blobs:   " + r.blobs() + " verified (" + r.storedBlobs() + " new, " + (r.blobs() - r.storedBlobs())
                + " already in the store), " + Units.bytes(r.blobBytes()) + " in " + Units.duration(r.elapsed()));
        BundleJson.humanMetadata(w, r.metadata());
        for (ImportResult.ImportedRef x : r.refs()) {
            String from = x.bundleName() != null && !x.bundleName().equals(x.reference().toString())
                    ? " (from '" + Text.shorten(x.bundleName(), 60) + "')" : "";
            w.println("  " + Text.printable(x.reference().toString()) + "  " + x.descriptor().digest().shortHex() + "  "
                    + status(x) + from);
        }
    }
}
