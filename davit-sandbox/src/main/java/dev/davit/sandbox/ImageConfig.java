package dev.davit.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The run defaults of an OCI image config ({@code config.Entrypoint}, {@code Cmd}, {@code Env}, {@code WorkingDir},
 * {@code User}). Missing fields are empty lists or null.
 */
public record ImageConfig(List<String> entrypoint, List<String> cmd, List<String> env, String workingDir,
                          String user) {
    /** No defaults. */
    public static final ImageConfig EMPTY = new ImageConfig(List.of(), List.of(), List.of(), null, null);

    public ImageConfig {
        entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        env = env == null ? List.of() : List.copyOf(env);
        workingDir = workingDir == null || workingDir.isBlank() ? null : workingDir;
        user = user == null || user.isBlank() ? null : user;
    }

    /** Reads the defaults from an image config document (the whole config blob); null gives {@link #EMPTY}. */
    public static ImageConfig fromJson(JsonNode configDocument) {
        if (configDocument == null || !configDocument.path("config").isObject()) {
            return EMPTY;
        }
        JsonNode c = configDocument.path("config");
        return new ImageConfig(strings(c.path("Entrypoint")), strings(c.path("Cmd")), strings(c.path("Env")),
                c.path("WorkingDir").isTextual() ? c.path("WorkingDir").asText() : null,
                c.path("User").isTextual() ? c.path("User").asText() : null);
    }

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(e -> out.add(e.asText()));
        }
        return out;
    }
}
