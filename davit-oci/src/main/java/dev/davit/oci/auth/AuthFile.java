package dev.davit.oci.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The credential part shared by Docker's {@code config.json} and davit's config file: {@code auths},
 * {@code credHelpers} and {@code credsStore}. Entries of {@code auths} are only interpreted when looked up,
 * so a broken entry for one host does not stop others from working.
 */
final class AuthFile {
    /** Config files larger than this are rejected. */
    static final int MAX_BYTES = 4 * 1024 * 1024;

    final Path path;
    final Map<String, JsonNode> auths;
    final Map<String, String> credHelpers;
    final String credsStore;

    private AuthFile(Path path, Map<String, JsonNode> auths, Map<String, String> credHelpers, String credsStore) {
        this.path = path;
        this.auths = auths;
        this.credHelpers = credHelpers;
        this.credsStore = credsStore;
    }

    /** Reads and parses a config file; a missing file gives an empty root object. */
    static ObjectNode readRoot(Path path) {
        byte[] bytes;
        try {
            if (Files.size(path) > MAX_BYTES) {
                throw invalid(path, "is over " + MAX_BYTES + " bytes");
            }
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            return Json.object();
        } catch (IOException e) {
            throw new DavitException(DavitException.Kind.USAGE, "cannot read " + Text.printable(path.toString())
                    + " (" + e.getClass().getSimpleName() + "); check its permissions");
        }
        if (bytes.length == 0 || new String(bytes, StandardCharsets.UTF_8).isBlank()) {
            return Json.object();
        }
        JsonNode root;
        try {
            root = Json.read(bytes);
        } catch (IOException | RuntimeException e) {
            // parser messages may quote the file, which holds secrets
            throw invalid(path, "is not valid JSON");
        }
        if (!(root instanceof ObjectNode obj)) {
            throw invalid(path, "is not a JSON object");
        }
        return obj;
    }

    /** Extracts the credential keys of a parsed config file, checking their types. */
    static AuthFile of(Path path, ObjectNode root) {
        Map<String, JsonNode> auths = new LinkedHashMap<>();
        JsonNode a = root.get("auths");
        if (a != null && !a.isNull()) {
            if (!a.isObject()) {
                throw invalid(path, "has an 'auths' that is not an object");
            }
            a.properties().forEach(e -> auths.put(e.getKey(), e.getValue()));
        }
        Map<String, String> helpers = new LinkedHashMap<>();
        JsonNode h = root.get("credHelpers");
        if (h != null && !h.isNull()) {
            if (!h.isObject()) {
                throw invalid(path, "has a 'credHelpers' that is not an object of host: helper");
            }
            for (Map.Entry<String, JsonNode> e : h.properties()) {
                if (!e.getValue().isTextual()) {
                    throw invalid(path, "has a non-string credHelpers entry for '" + Text.shorten(e.getKey(), 80)
                            + "'");
                }
                helpers.put(e.getKey(), e.getValue().textValue());
            }
        }
        JsonNode s = root.get("credsStore");
        if (s != null && !s.isNull() && !s.isTextual()) {
            throw invalid(path, "has a 'credsStore' that is not a string");
        }
        String store = s == null || s.isNull() ? "" : s.textValue();
        return new AuthFile(path, Collections.unmodifiableMap(auths), Collections.unmodifiableMap(helpers), store);
    }

    /** The credHelpers entry for a normalised host, matching keys like {@link #auth}. */
    Optional<String> helperFor(String host) {
        return match(credHelpers, host);
    }

    /**
     * The inline credentials of the {@code auths} entry for a normalised host: {@code identitytoken} if set,
     * else {@code auth} (base64 of user:password), else {@code username}/{@code password}. An entry without
     * any of these (Docker writes {@code {}} when a credsStore holds the secret) gives none.
     */
    Optional<Credentials> auth(String host) {
        Optional<JsonNode> found = match(auths, host);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        if (!(found.get() instanceof ObjectNode entry)) {
            throw invalid(path, "has an auths entry for " + Text.printable(host) + " that is not an object");
        }
        String username = text(entry, "username");
        String identityToken = text(entry, "identitytoken");
        String auth = text(entry, "auth");
        String[] decoded = auth.isEmpty() ? null : decodeAuth(auth);
        if (!identityToken.isEmpty()) {
            String user = !username.isEmpty() || decoded == null ? username : decoded[0];
            return Optional.of(Credentials.identityToken(user, identityToken));
        }
        if (!auth.isEmpty()) {
            if (decoded == null) {
                throw invalid(path, "has an auths entry for " + Text.printable(host)
                        + " whose 'auth' is not base64 of username:password");
            }
            return Optional.of(Credentials.basic(decoded[0], decoded[1]));
        }
        if (!username.isEmpty()) {
            return Optional.of(Credentials.basic(username, text(entry, "password")));
        }
        return Optional.empty();
    }

    /**
     * The value for a host: the key equal to the host (or Docker's Hub URL for {@code docker.io}) wins, else
     * the first key, in file order, that {@link Hosts#normalize normalises} to the host.
     */
    private static <V> Optional<V> match(Map<String, V> byKey, String host) {
        V exact = byKey.get(host);
        if (exact == null) {
            exact = byKey.get(Hosts.serverUrl(host));
        }
        if (exact != null) {
            return Optional.of(exact);
        }
        return byKey.entrySet().stream().filter(e -> Hosts.normalize(e.getKey()).equals(host))
                .map(Map.Entry::getValue).findFirst();
    }

    private static String text(ObjectNode obj, String field) {
        JsonNode n = obj.get(field);
        return n != null && n.isTextual() ? n.textValue() : "";
    }

    /** Decodes base64 {@code user:password}; null if it is not that. */
    private static String[] decodeAuth(String auth) {
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(auth.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
        int colon = decoded.indexOf(':');
        return colon <= 0 ? null : new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)};
    }

    static DavitException invalid(Path path, String problem) {
        return new DavitException(DavitException.Kind.USAGE, "the config file " + Text.printable(path.toString())
                + " " + problem + "; fix or remove it");
    }
}
