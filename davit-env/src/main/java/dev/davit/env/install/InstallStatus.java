package dev.davit.env.install;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.env.Environment;
import dev.davit.oci.internal.Json;

import java.nio.file.Path;

/**
 * Whether an environment is installed, for {@code env list} and {@code env inspect}.
 *
 * @param environment  the catalog's environment
 * @param installed    true only for a valid install (see {@link InstallValidator})
 * @param reason       why it is not installed (null when installed)
 * @param path         the install directory (whether or not it exists)
 * @param sourceDigest the install manifest's source digest (null when not installed)
 * @param manifest     the parsed install manifest (null when not installed)
 */
public record InstallStatus(Environment environment, boolean installed, String reason, Path path,
                            String sourceDigest, InstallManifest manifest) {

    static InstallStatus valid(Environment e, Path path, InstallManifest m) {
        return new InstallStatus(e, true, null, path, m.sourceDigest(), m);
    }

    static InstallStatus invalid(Environment e, Path path, String reason) {
        return new InstallStatus(e, false, reason, path, null, null);
    }

    public JsonNode toJson() {
        ObjectNode o = Json.object();
        o.put("name", environment.name());
        o.put("version", environment.version());
        o.put("kind", environment.kind().name().toLowerCase(java.util.Locale.ROOT));
        o.put("installed", installed);
        o.put("reason", reason);
        o.put("path", path.toString());
        o.put("source_digest", sourceDigest);
        // who signed what is installed (the catalog's signedBy, verified at install), or null
        o.put("signed_by", manifest == null ? null : manifest.signedBy());
        return o;
    }
}
