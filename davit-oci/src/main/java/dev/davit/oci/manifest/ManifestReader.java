package dev.davit.oci.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The manifest parser behind {@link ManifestParser#parse} and {@link ManifestParser#layoutIndex}: Jackson's trees
 * stay in this package (davit's writers of descriptors use {@code dev.davit.oci.internal.manifest.ManifestJson}).
 */
final class ManifestReader {
    private ManifestReader() {
    }

    private static final List<String> TOP_LEVEL_KEYS = List.of("schemaVersion", "mediaType", "artifactType", "config",
            "layers", "manifests", "subject", "annotations");
    private static final List<String> DESCRIPTOR_KEYS = List.of("mediaType", "digest", "size", "urls", "annotations",
            "platform", "artifactType", "data");
    private static final List<String> PLATFORM_KEYS = List.of("os", "architecture", "variant", "os.version",
            "os.features");

    /**
     * {@link ManifestParser#parse}.
     *
     * @param bytes       the document exactly as served
     * @param contentType the Content-Type it was served with, or null; used only when the document has no
     *                    {@code mediaType}, and to recognise Docker schema 1
     * @return an {@link ImageIndex} or an {@link ImageManifest}
     * @throws DavitException of kind VERIFICATION when the document is malformed, too large, not strict UTF-8,
     *     Docker schema 1 or of an unsupported media type
     */
    static Manifest parse(byte[] bytes, String contentType) {
        if (bytes == null) {
            throw bad("there is no document");
        }
        if (bytes.length > ManifestParser.MAX_MANIFEST_BYTES) {
            throw bad("it is " + bytes.length + " bytes, over the " + ManifestParser.MAX_MANIFEST_BYTES + "-byte limit");
        }
        ObjectNode obj = object(bytes);
        String ct = contentType == null ? null : contentType.split(";", 2)[0].trim();
        JsonNode sv = obj.get("schemaVersion");
        if (sv != null && sv.isInt() && sv.intValue() == 1
                || MediaTypes.DOCKER_SCHEMA1.equals(ct) || MediaTypes.DOCKER_SCHEMA1_SIGNED.equals(ct)) {
            throw new DavitException(DavitException.Kind.VERIFICATION,
                    "unsupported manifest: Docker schema 1 is deprecated; re-push the image with a current tool");
        }
        if (sv == null || !sv.isInt() || sv.intValue() != 2) {
            throw bad("schemaVersion must be 2");
        }
        String mediaType = optString(obj, "mediaType", null);
        if (mediaType == null) {
            if (ct != null && MediaTypes.isManifest(ct)) {
                mediaType = ct;
            } else if (obj.has("manifests")) {
                mediaType = MediaTypes.OCI_INDEX;
            } else if (obj.has("config")) {
                mediaType = MediaTypes.OCI_MANIFEST;
            } else {
                throw bad("it has no mediaType and is neither an index nor an image manifest");
            }
        }
        Digest digest = Digest.sha256(bytes);
        String artifactType = optString(obj, "artifactType", null);
        JsonNode subjectNode = obj.get("subject");
        Descriptor subject = subjectNode == null || subjectNode.isNull() ? null : descriptor(subjectNode, "subject");
        Map<String, String> annotations = stringMap(obj.get("annotations"), "annotations");
        if (MediaTypes.isIndex(mediaType)) {
            if (obj.has("config") || obj.has("layers")) {
                throw bad("an index must not have config or layers");
            }
            List<Descriptor> manifests = descriptors(obj.get("manifests"), "manifests", false);
            return new ImageIndex(mediaType, bytes.clone(), digest, manifests, artifactType, subject, annotations);
        }
        if (MediaTypes.isImageManifest(mediaType)) {
            if (obj.has("manifests")) {
                throw bad("an image manifest must not have manifests");
            }
            if (!obj.has("config")) {
                throw bad("config is missing");
            }
            Descriptor config = descriptor(obj.get("config"), "config");
            List<Descriptor> layers = obj.has("layers") || mediaType.equals(MediaTypes.DOCKER_MANIFEST)
                    ? descriptors(obj.get("layers"), "layers", true) : List.of();
            return new ImageManifest(mediaType, bytes.clone(), digest, config, layers, artifactType, subject,
                    annotations);
        }
        throw bad("unsupported mediaType '" + Text.shorten(mediaType, 80) + "'");
    }

    /** {@link ManifestParser#layoutIndex}. */
    static List<Descriptor> layoutIndex(byte[] bytes) {
        if (bytes == null) {
            throw bad("there is no document");
        }
        JsonNode m = object(bytes).get("manifests");
        if (m != null && !m.isNull() && !m.isArray()) {
            throw bad("manifests is not an array");
        }
        return descriptors(m, "index.json manifests", true);
    }

    /**
     * The top-level object of a document of {@code bytes}, its keys checked ({@link #checkKeys}).
     *
     * @throws DavitException VERIFICATION when the bytes are not strict UTF-8, not JSON or not an object
     */
    private static ObjectNode object(byte[] bytes) {
        // Decoded strictly here rather than by Jackson, which guesses UTF-16/32 from the first bytes and accepts
        // overlong and surrogate UTF-8 sequences: such bytes would mean one thing to davit and another to a
        // registry or another client.
        String text = strictUtf8(bytes);
        JsonNode root;
        try {
            root = Json.read(text);
        } catch (IOException e) {
            throw bad("it is not valid JSON (" + Text.shorten(firstLine(e.getMessage()), 100) + ")");
        } catch (RuntimeException e) {
            throw bad("it is not valid JSON");
        }
        if (!(root instanceof ObjectNode obj)) {
            throw bad("it is not a JSON object");
        }
        checkKeys(obj, null, TOP_LEVEL_KEYS);
        return obj;
    }

    /**
     * Parses one descriptor object (also used for {@code index.json} entries).
     *
     * @param n the JSON node that should be a descriptor object
     * @param where where the node is in its document (e.g. {@code layers[2]}), for error messages
     * @return the descriptor, with its platform when it has one
     * @throws DavitException of kind VERIFICATION when the node is not a well-formed descriptor
     */
    static Descriptor descriptor(JsonNode n, String where) {
        if (!(n instanceof ObjectNode o)) {
            throw bad(where + " is not a descriptor object");
        }
        checkKeys(o, where, DESCRIPTOR_KEYS);
        String mt = optString(o, "mediaType", where);
        if (mt == null || mt.isEmpty()) {
            throw bad(where + ".mediaType is missing");
        }
        String d = optString(o, "digest", where);
        if (d == null) {
            throw bad(where + ".digest is missing");
        }
        Digest digest;
        try {
            digest = Digest.parse(d);
        } catch (DavitException e) {
            throw bad(where + ".digest: " + e.getMessage());
        }
        JsonNode size = o.get("size");
        if (size == null || !size.canConvertToLong() || !size.isIntegralNumber() || size.longValue() < 0) {
            throw bad(where + ".size must be a non-negative integer");
        }
        List<String> urls = new ArrayList<>();
        JsonNode u = o.get("urls");
        if (u != null && !u.isNull()) {
            if (!(u instanceof ArrayNode arr)) {
                throw bad(where + ".urls must be an array");
            }
            for (JsonNode x : arr) {
                if (!x.isTextual()) {
                    throw bad(where + ".urls must hold strings");
                }
                urls.add(x.textValue());
            }
        }
        Platform platform = null;
        JsonNode p = o.get("platform");
        if (p != null && !p.isNull()) {
            if (!(p instanceof ObjectNode po)) {
                throw bad(where + ".platform must be an object");
            }
            String pw = where + ".platform";
            checkKeys(po, pw, PLATFORM_KEYS);
            String os = optString(po, "os", pw);
            String arch = optString(po, "architecture", pw);
            if (os == null || arch == null || os.isEmpty() || arch.isEmpty()) {
                throw bad(where + ".platform needs os and architecture");
            }
            List<String> features = new ArrayList<>();
            JsonNode f = po.get("os.features");
            if (f != null && !f.isNull()) {
                if (!(f instanceof ArrayNode fa)) {
                    throw bad(pw + ".os.features must be an array of strings");
                }
                for (JsonNode x : fa) {
                    if (!x.isTextual()) {
                        throw bad(pw + ".os.features must be an array of strings");
                    }
                    features.add(x.textValue());
                }
            }
            platform = new Platform(os, arch, optString(po, "variant", pw), optString(po, "os.version", pw), features);
        }
        return new Descriptor(mt, digest, size.longValue(), urls, stringMap(o.get("annotations"), where + ".annotations"),
                platform, optString(o, "artifactType", where));
    }

    private static List<Descriptor> descriptors(JsonNode n, String where, boolean nullAllowed) {
        if (n == null || n.isNull()) {
            if (nullAllowed) {
                return List.of();
            }
            throw bad(where + " is missing");
        }
        if (!(n instanceof ArrayNode arr)) {
            throw bad(where + " must be an array");
        }
        List<Descriptor> out = new ArrayList<>(arr.size());
        for (int i = 0; i < arr.size(); i++) {
            out.add(descriptor(arr.get(i), where + "[" + i + "]"));
        }
        return out;
    }

    private static Map<String, String> stringMap(JsonNode n, String where) {
        if (n == null || n.isNull()) {
            return Map.of();
        }
        if (!(n instanceof ObjectNode o)) {
            throw bad(where + " must be an object of strings");
        }
        Map<String, String> m = new LinkedHashMap<>();
        var it = o.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().isTextual()) {
                throw bad(where + " must be an object of strings");
            }
            m.put(e.getKey(), e.getValue().textValue());
        }
        return m;
    }

    /**
     * Rejects keys that differ from a known field only in case ({@code MediaType}, {@code Manifests}, or
     * {@code size} spelt with a long s, U+017F). Go's encoding/json, which registries and most clients use,
     * matches such keys to the field case-insensitively, so they would act as duplicate keys that only the other
     * side sees.
     */
    private static void checkKeys(ObjectNode o, String where, List<String> known) {
        for (var it = o.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            for (String k : known) {
                if (!name.equals(k) && equalFold(name, k)) {
                    throw bad((where == null ? "" : where + ": ") + "key '" + Text.shorten(name, 40)
                            + "' differs from '" + k + "' only in case");
                }
            }
        }
    }

    /** Case-insensitive comparison with simple Unicode case folding, as Go's strings.EqualFold. */
    private static boolean equalFold(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb && Character.toLowerCase(Character.toUpperCase(ca))
                    != Character.toLowerCase(Character.toUpperCase(cb))) {
                return false;
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return i == a.length() && j == b.length();
    }

    /** The string {@code field} of {@code o}, or null when absent or null; {@code where} prefixes messages. */
    private static String optString(JsonNode o, String field, String where) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw bad((where == null ? "" : where + ".") + field + " must be a string");
        }
        return n.textValue();
    }

    /** Decodes UTF-8, rejecting malformed, overlong and surrogate sequences and naming the offending offset. */
    private static String strictUtf8(byte[] bytes) {
        try {
            return Text.strictUtf8(bytes, 0);
        } catch (Text.MalformedUtf8 e) {
            throw bad("it is not valid UTF-8 (at byte " + e.position() + ")");
        }
    }


    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static DavitException bad(String why) {
        return new DavitException(DavitException.Kind.VERIFICATION, "malformed manifest: " + why);
    }
}
