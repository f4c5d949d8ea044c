package dev.davit.env.install;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The install manifest, {@code environment.json}, written last into an install directory (see docs/reference/ENVIRONMENTS.md).
 *
 * @param catalogVersion the version of the catalog the install was made from
 * @param name           the environment's name
 * @param version        the environment's version
 * @param kind           {@code container} or {@code microvm}
 * @param platform       {@code os/arch[/variant]}
 * @param source         where the artifacts came from: {@code oci://REGISTRY/REPO@sha256:...}, {@code profile://PATH}
 *                       or the archive URL
 * @param sourceDigest   the manifest digest of an OCI source, the sha256 of an archive, null for a profile
 * @param installedAt    ISO-8601 UTC instant
 * @param artifacts      what the install holds
 * @param signedBy       who signed what was installed, as the catalog's {@code signedBy} was verified (e.g.
 *                       {@code sigstore key sha256:0123...}, {@code GPG <fingerprint>}), or null
 */
public record InstallManifest(String catalogVersion, String name, String version, String kind, String platform,
                              String source, String sourceDigest, String installedAt, List<Artifact> artifacts,
                              String signedBy) {
    public static final String FILE_NAME = "environment.json";
    public static final int SCHEMA_VERSION = 1;

    public InstallManifest {
        artifacts = List.copyOf(artifacts);
    }

    /** An install no catalog signer was verified for. */
    public InstallManifest(String catalogVersion, String name, String version, String kind, String platform,
                           String source, String sourceDigest, String installedAt, List<Artifact> artifacts) {
        this(catalogVersion, name, version, kind, platform, source, sourceDigest, installedAt, artifacts, null);
    }

    /**
     * One artifact of an install.
     *
     * @param name   {@code vmlinux}, {@code rootfs.ext4}, {@code initrd} or {@code rootfs/}
     * @param type   {@code file} or {@code directory}
     * @param size   bytes of a file (-1 for a directory)
     * @param digest {@code sha256:...} of a file's content (null for a directory)
     * @param verified the file's stamp right after the install verified its content, or null (see {@link FileStamp})
     */
    public record Artifact(String name, String type, long size, String digest, FileStamp verified) {
        /** An artifact without a stamp. */
        public Artifact(String name, String type, long size, String digest) {
            this(name, type, size, digest, null);
        }

        public boolean isDirectory() {
            return "directory".equals(type);
        }
    }

    public JsonNode toJson() {
        ObjectNode o = Json.object();
        o.put("schema_version", SCHEMA_VERSION);
        o.put("catalog_version", catalogVersion);
        o.put("name", name);
        o.put("version", version);
        o.put("kind", kind);
        o.put("platform", platform);
        o.put("source", source);
        o.put("source_digest", sourceDigest);
        o.put("installed_at", installedAt);
        if (signedBy != null) {
            o.put("signed_by", signedBy);
        }
        ArrayNode a = o.putArray("artifacts");
        for (Artifact art : artifacts) {
            ObjectNode n = a.addObject();
            n.put("name", art.name());
            n.put("type", art.type());
            if (art.isDirectory()) {
                n.putNull("size");
                n.putNull("digest");
            } else {
                n.put("size", art.size());
                n.put("digest", art.digest());
                if (art.verified() != null) {
                    n.set("verified", art.verified().toJson());
                }
            }
        }
        return o;
    }

    /** Parses {@code environment.json}; throws {@link IOException} with a reason when it is not a valid manifest. */
    public static InstallManifest parse(byte[] bytes) throws IOException {
        JsonNode n = Json.read(bytes);
        if (!n.isObject()) {
            throw new IOException("not a JSON object");
        }
        if (n.path("schema_version").asInt(-1) != SCHEMA_VERSION) {
            throw new IOException("unsupported schema_version " + n.path("schema_version"));
        }
        List<Artifact> arts = new ArrayList<>();
        JsonNode a = n.get("artifacts");
        if (a == null || !a.isArray()) {
            throw new IOException("no artifacts array");
        }
        for (JsonNode x : a) {
            String name = text(x, "name", true);
            String type = text(x, "type", true);
            if (type.equals("file")) {
                if (!x.path("size").canConvertToLong() || x.path("size").asLong() < 0) {
                    throw new IOException("artifact " + name + " has no size");
                }
                arts.add(new Artifact(name, type, x.get("size").asLong(), text(x, "digest", true),
                        FileStamp.parse(x.get("verified"))));
            } else if (type.equals("directory")) {
                arts.add(new Artifact(name, type, -1, null));
            } else {
                throw new IOException("artifact " + name + " has unknown type " + type);
            }
        }
        return new InstallManifest(text(n, "catalog_version", false), text(n, "name", true), text(n, "version", true),
                text(n, "kind", true), text(n, "platform", false), text(n, "source", true),
                text(n, "source_digest", false), text(n, "installed_at", true), arts, text(n, "signed_by", false));
    }

    private static String text(JsonNode n, String key, boolean required) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            if (required) {
                throw new IOException("missing '" + key + "'");
            }
            return null;
        }
        if (!v.isTextual()) {
            throw new IOException("'" + key + "' is not a string");
        }
        return v.asText();
    }

    /** The artifact named {@code name}, or null. */
    public Artifact artifact(String name) {
        return artifacts.stream().filter(a -> a.name().equals(name)).findFirst().orElse(null);
    }
}
