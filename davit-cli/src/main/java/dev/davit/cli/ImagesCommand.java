package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageConfiguration;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code davit images}: what the store holds. */
@Command(name = "images", aliases = "ls", mixinStandardHelpOptions = true,
        description = "List the references in the store with digest, platform, size and when they were resolved.")
final class ImagesCommand extends DavitCommand {
    @Option(names = "--no-trunc", description = "Show full digests.")
    boolean noTrunc;

    private static final int MAX_CONFIG_BYTES = 1024 * 1024;

    /** One row: a store entry, its platform and the total size of its graph. */
    record Row(StoreEntry entry, String platform, long size) {
    }

    @Override
    protected int run(Output out) {
        OciStore store = client().store();
        List<Row> rows = new ArrayList<>();
        for (StoreEntry e : client().images()) {
            long size = store.graph(e.descriptor()).stream().mapToLong(Descriptor::size).sum();
            rows.add(new Row(e, platformOf(store, e), size));
        }
        rows.sort(Comparator.comparing(r -> r.entry().name()));
        ObjectNode doc = Json.object();
        ArrayNode arr = doc.putArray("images");
        for (Row r : rows) {
            StoreEntry e = r.entry();
            ObjectNode n = arr.addObject();
            n.put("name", e.name());
            n.put("digest", e.descriptor().digest().toString());
            n.put("media_type", e.descriptor().mediaType());
            n.put("platform", r.platform());
            n.put("size", r.size());
            n.put("resolved_digest", e.resolvedDigest() == null ? null : e.resolvedDigest().toString());
            n.put("resolved_at", JsonShapes.instant(e.resolvedAt()));
        }
        out.result(doc, w -> table(w, store, rows));
        return 0;
    }

    /** The platform recorded at pull time, else the one in the image config, else null. */
    static String platformOf(OciStore store, StoreEntry e) {
        if (e.platform() != null) {
            return e.platform();
        }
        if (!MediaTypes.isImageManifest(e.descriptor().mediaType())) {
            return null;
        }
        try {
            if (store.readManifest(e.descriptor()) instanceof ImageManifest im
                    && (im.config().mediaType().equals(MediaTypes.OCI_CONFIG)
                        || im.config().mediaType().equals(MediaTypes.DOCKER_CONFIG))
                    && im.config().size() <= MAX_CONFIG_BYTES) {
                Platform p = ImageConfiguration.parse(store.readBlob(im.config().digest(), MAX_CONFIG_BYTES))
                        .platform();
                return p == null ? null : p.toString();
            }
        } catch (DavitException ex) {
            // a damaged entry shows no platform; fsck reports it
        }
        return null;
    }

    /** For humans: the platform, "N platforms" for a multi-platform index, else "-". */
    private static String platformLabel(OciStore store, Row r) {
        if (r.platform() != null) {
            return Text.printable(r.platform());
        }
        Descriptor d = r.entry().descriptor();
        if (MediaTypes.isIndex(d.mediaType())) {
            try {
                if (store.readManifest(d) instanceof ImageIndex idx) {
                    long n = idx.manifests().stream()
                            .filter(m -> m.platform() != null && !"unknown".equals(m.platform().os())).count();
                    if (n > 0) {
                        return n + (n == 1 ? " platform" : " platforms");
                    }
                }
            } catch (DavitException ex) {
                // fsck reports it
            }
        }
        return "-";
    }

    private void table(PrintWriter w, OciStore store, List<Row> rows) {
        Instant now = Instant.now();
        List<String[]> cells = new ArrayList<>();
        cells.add(new String[] {"NAME", "DIGEST", "PLATFORM", "SIZE", "RESOLVED"});
        for (Row r : rows) {
            StoreEntry e = r.entry();
            var d = e.descriptor().digest();
            cells.add(new String[] {Text.printable(e.name()), noTrunc ? d.toString() : d.shortHex(),
                platformLabel(store, r), Units.bytes(r.size()),
                Units.ago(e.resolvedAt(), now)});
        }
        int[] widths = new int[5];
        for (String[] row : cells) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : cells) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                b.append(i == row.length - 1 ? row[i] : String.format("%-" + widths[i] + "s   ", row[i]));
            }
            w.println(b.toString().stripTrailing());
        }
    }
}
