package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.bundle.BundleMetadata;
import dev.davit.oci.bundle.BundleRef;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** JSON shapes and human tables shared by {@code export}, {@code import} and {@code bundle inspect}. */
final class BundleJson {
    private BundleJson() {
    }

    /** {@code {"name","kind","parent","created","recipe"}}, null where absent. */
    static ObjectNode metadata(BundleMetadata m) {
        ObjectNode n = Json.object();
        n.put("name", m.name());
        n.put("kind", m.kind());
        n.put("parent", m.parent());
        n.put("created", JsonShapes.instant(m.created()));
        n.put("recipe", m.recipe());
        return n;
    }

    /** One reference of a bundle (see docs/reference/JSON.md). */
    static ObjectNode ref(BundleRef r) {
        ObjectNode n = Json.object();
        n.put("name", r.name());
        n.put("reference", r.reference());
        n.put("digest", r.descriptor().digest().toString());
        n.put("media_type", r.descriptor().mediaType());
        n.put("artifact_type", r.descriptor().artifactType());
        ArrayNode p = n.putArray("platforms");
        r.platforms().forEach(p::add);
        n.put("size", r.size());
        n.put("complete", r.complete());
        n.set("annotations", JsonShapes.annotations(r.descriptor().annotations()));
        return n;
    }

    static void humanMetadata(PrintWriter w, BundleMetadata m) {
        line(w, "name:", m.name());
        line(w, "kind:", m.kind());
        line(w, "parent:", m.parent());
        line(w, "created:", m.created() == null ? null : m.created().toString());
        if (m.recipe() != null) {
            String first = m.recipe().lines().findFirst().orElse("");
            long lines = m.recipe().lines().count();
            line(w, "recipe:", Text.shorten(first, 60) + (lines > 1 ? " (" + lines + " lines)" : ""));
        }
    }

    private static void line(PrintWriter w, String label, String value) {
        if (value != null) {
            w.println(String.format("  %-9s%s", label, Text.printable(value)));
        }
    }

    /** A table of references: NAME, DIGEST, PLATFORMS, SIZE (plus a last column when given). */
    static void table(PrintWriter w, List<BundleRef> refs, List<String> extra, String extraHeader) {
        List<String[]> cells = new ArrayList<>();
        cells.add(extraHeader == null ? new String[] {"NAME", "DIGEST", "PLATFORMS", "SIZE"}
                : new String[] {"NAME", "DIGEST", "PLATFORMS", "SIZE", extraHeader});
        for (int i = 0; i < refs.size(); i++) {
            BundleRef r = refs.get(i);
            String platforms = r.platforms().isEmpty()
                    ? (r.descriptor().artifactType() != null ? "artifact" : "-")
                    : r.platforms().size() > 3 ? r.platforms().size() + " platforms" : String.join(",", r.platforms());
            String name = r.name() == null ? "(unnamed)" : Text.shorten(r.name(), 100);
            if (r.reference() != null && !r.reference().equals(r.name())) {
                name += " (" + Text.shorten(r.reference(), 100) + ")";
            }
            String size = Units.bytes(r.size()) + (r.complete() ? "" : " (incomplete)");
            cells.add(extraHeader == null
                    ? new String[] {name, r.descriptor().digest().shortHex(), Text.printable(platforms), size}
                    : new String[] {name, r.descriptor().digest().shortHex(), Text.printable(platforms), size,
                        extra.get(i)});
        }
        int cols = cells.get(0).length;
        int[] widths = new int[cols];
        for (String[] row : cells) {
            for (int i = 0; i < cols; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : cells) {
            StringBuilder b = new StringBuilder("  ");
            for (int i = 0; i < cols; i++) {
                b.append(i == cols - 1 ? row[i] : String.format("%-" + widths[i] + "s   ", row[i]));
            }
            w.println(b.toString().stripTrailing());
        }
    }
}
