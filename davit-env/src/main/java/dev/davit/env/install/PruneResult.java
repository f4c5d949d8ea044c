package dev.davit.env.install;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;

import java.util.List;

/**
 * What {@link Installer#prune} deleted.
 *
 * @param deletedEnvironmentDirs the deleted directories, relative to {@code $DAVIT_HOME/environments}
 *                               ({@code <platform>/<dir>}), sorted
 */
public record PruneResult(List<String> deletedEnvironmentDirs) {
    public PruneResult {
        deletedEnvironmentDirs = deletedEnvironmentDirs.stream().sorted().toList();
    }

    public int count() {
        return deletedEnvironmentDirs.size();
    }

    /** {@code {"deleted_environment_dirs": [...], "count": N}}. */
    public JsonNode toJson() {
        ObjectNode o = Json.object();
        ArrayNode a = o.putArray("deleted_environment_dirs");
        deletedEnvironmentDirs.forEach(a::add);
        o.put("count", count());
        return o;
    }
}
