package dev.davit.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.EgressPolicy.Rule;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The presets of {@link EgressPolicy} ({@link EgressPolicy#presetsKnown}): the file {@value #PRESETS} beside it, read
 * once on first use into each preset's allow rules, and the lookup of a preset by name.
 */
final class EgressPresets {
    /** The presets' file, beside this class. */
    static final String PRESETS = "egress-presets.json";

    static final SortedMap<String, List<Rule>> ALL = load();

    private EgressPresets() {
    }

    private static SortedMap<String, List<Rule>> load() {
        try (InputStream in = EgressPolicy.class.getResourceAsStream(PRESETS)) {
            if (in == null) {
                throw new IllegalStateException(PRESETS + " is missing");
            }
            JsonNode doc = Json.read(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            SortedMap<String, List<Rule>> all = new TreeMap<>();
            doc.path("presets").properties().forEach(e -> {
                List<Rule> rs = new ArrayList<>();
                e.getValue().path("allow").forEach(h -> rs.add(EgressEntries.hostEntry(true, h.asText(),
                        Input.ALLOW_HOST)));
                all.put(e.getKey(), List.copyOf(rs));
            });
            return Collections.unmodifiableSortedMap(all);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + PRESETS + ": " + e.getMessage(), e);
        }
    }

    /** The allow rules of preset {@code name}, or the error naming the presets there are. */
    static List<Rule> preset(String name) {
        List<Rule> rs = ALL.get(name);
        if (rs == null) {
            throw new DavitException(DavitException.Kind.USAGE, Message.of("no preset '", name, "' (",
                    Input.ALLOW_PRESET, "); the presets are ", String.join(", ", ALL.keySet())).value(name));
        }
        return rs;
    }
}
