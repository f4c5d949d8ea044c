package dev.davit.oci.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * davit's own config file, a JSON object such as
 * <pre>
 * {"auths": {"ghcr.io": {"auth": "base64(user:password)"}},
 *  "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
 *  "credsStore": "pass",
 *  "insecureRegistries": ["localhost:5000"]}
 * </pre>
 * {@code auths}, {@code credHelpers} and {@code credsStore} mean what they mean in Docker's config.json; other
 * keys are ignored and kept by {@link #storeCredentials} and {@link #removeCredentials}. Its location is
 * {@link #defaultPath}.
 */
public final class DavitConfig {

    private final Path path;
    private final AuthFile authFile;
    private final List<String> insecureRegistries;

    private DavitConfig(Path path, AuthFile authFile, List<String> insecureRegistries) {
        this.path = path;
        this.authFile = authFile;
        this.insecureRegistries = insecureRegistries;
    }

    /**
     * The config file's location: {@code $DAVIT_CONFIG} if set, else {@code $XDG_CONFIG_HOME/davit/config.json}
     * if that variable is an absolute path, else {@code <home>/.config/davit/config.json}. Empty variables
     * count as unset.
     *
     * @param env the environment variables; only {@code DAVIT_CONFIG} and {@code XDG_CONFIG_HOME} are read
     * @param home the user's home directory
     * @return the path, which need not exist
     */
    public static Path defaultPath(Map<String, String> env, Path home) {
        String explicit = env.get("DAVIT_CONFIG");
        if (explicit != null && !explicit.isEmpty()) {
            return Path.of(explicit);
        }
        String xdg = env.get("XDG_CONFIG_HOME");
        if (xdg != null && !xdg.isEmpty() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "davit", "config.json");
        }
        return home.resolve(".config").resolve("davit").resolve("config.json");
    }

    /**
     * Reads a config file; a missing or empty file is an empty config.
     *
     * @param file the config file, usually {@link #defaultPath}
     * @return the parsed config
     * @throws DavitException of kind USAGE if it cannot be read, is not a JSON object, or a known key has the
     *                        wrong type; the message never quotes the file's content
     */
    public static DavitConfig load(Path file) {
        ObjectNode root = AuthFile.readRoot(file);
        AuthFile auth = AuthFile.of(file, root);
        List<String> insecure = new ArrayList<>();
        JsonNode list = root.get("insecureRegistries");
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                throw AuthFile.invalid(file, "has an 'insecureRegistries' that is not a list of hosts");
            }
            for (JsonNode n : list) {
                if (!n.isTextual() || Hosts.normalize(n.textValue()).isEmpty()) {
                    throw AuthFile.invalid(file, "has an 'insecureRegistries' entry that is not a host[:port]");
                }
                insecure.add(Hosts.normalize(n.textValue()));
            }
        }
        return new DavitConfig(file, auth, List.copyOf(insecure));
    }

    /** {@return the file this config was read from (it may not exist)} */
    public Path path() {
        return path;
    }

    /**
     * {@return the hosts to reach over plain HTTP or with unverified TLS, normalised to lower-case host[:port]}
     * Unmodifiable, empty when none.
     */
    public List<String> insecureRegistries() {
        return insecureRegistries;
    }

    /**
     * {@return whether a registry is listed in {@code insecureRegistries} (matched case-insensitively)}
     *
     * @param registry host[:port], also accepted as a URL such as {@code https://host/}
     */
    public boolean isInsecure(String registry) {
        return insecureRegistries.contains(Hosts.normalize(registry));
    }

    AuthFile authFile() {
        return authFile;
    }

    /**
     * Stores credentials for a registry ({@code davit login}) as {@code auths[host]}: {@code {"auth": base64}}
     * for a username and password, {@code {"identitytoken": ...}} for an identity token. Entries whose keys
     * denote the same host (e.g. {@code https://host/}) are replaced; all other content is kept. The file is
     * replaced atomically, with mode 0600, and its directory created if missing.
     *
     * @param file the config file to update, usually {@link #defaultPath}; created if missing
     * @param registry host[:port] as in a reference; {@code docker.io} for Docker Hub
     * @param credentials the credentials to store; not anonymous
     * @throws DavitException of kind USAGE for anonymous credentials or an unusable existing file, STORE if
     *                        the file cannot be written
     */
    public static void storeCredentials(Path file, String registry, Credentials credentials) {
        Objects.requireNonNull(credentials, "credentials");
        String host = hostOf(registry);
        ObjectNode entry = Json.object();
        switch (credentials.type()) {
            case BASIC -> entry.put("auth", Base64.getEncoder().encodeToString(
                    (credentials.username() + ":" + credentials.secret()).getBytes(StandardCharsets.UTF_8)));
            case IDENTITY_TOKEN -> {
                if (!credentials.username().isEmpty()) {
                    entry.put("username", credentials.username());
                }
                entry.put("identitytoken", credentials.secret());
            }
            case ANONYMOUS -> throw new DavitException(DavitException.Kind.USAGE,
                    "there are no credentials to store for " + Text.printable(host) + "; give a username and password");
        }
        ObjectNode root = AuthFile.readRoot(file);
        AuthFile.of(file, root);
        ObjectNode auths = root.get("auths") instanceof ObjectNode o ? o : root.putObject("auths");
        removeHost(auths, host);
        auths.set(host, entry);
        write(file, root);
    }

    /**
     * Removes the stored credentials for a registry ({@code davit logout}): every {@code auths} entry whose key
     * denotes the host. The file is left untouched when there is none.
     *
     * @param file the config file to update, usually {@link #defaultPath}
     * @param registry host[:port] as in a reference; {@code docker.io} for Docker Hub
     * @return whether an entry existed
     * @throws DavitException of kind USAGE for an unusable existing file, STORE if it cannot be written
     */
    public static boolean removeCredentials(Path file, String registry) {
        String host = hostOf(registry);
        ObjectNode root = AuthFile.readRoot(file);
        AuthFile.of(file, root);
        if (!(root.get("auths") instanceof ObjectNode auths) || !removeHost(auths, host)) {
            return false;
        }
        write(file, root);
        return true;
    }

    private static String hostOf(String registry) {
        String host = Hosts.normalize(registry);
        if (host.isEmpty() || !host.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new DavitException(DavitException.Kind.USAGE, "'" + Text.shorten(registry, 100)
                    + "' is not a registry host[:port]; give one such as ghcr.io or localhost:5000");
        }
        return host;
    }

    private static boolean removeHost(ObjectNode auths, String host) {
        boolean removed = false;
        for (Iterator<String> it = auths.fieldNames(); it.hasNext(); ) {
            if (Hosts.normalize(it.next()).equals(host)) {
                it.remove();
                removed = true;
            }
        }
        return removed;
    }

    private static void write(Path file, ObjectNode root) {
        byte[] bytes = (Json.pretty(root) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            AtomicFiles.writePrivate(file, bytes);
        } catch (IOException | RuntimeException e) {
            throw new DavitException(DavitException.Kind.STORE, "cannot write the config file "
                    + Text.printable(file.toString()) + " (" + e.getClass().getSimpleName() + ": "
                    + Text.shorten(e.getMessage(), 200) + "); check that its directory is writable");
        }
    }

    @Override
    public String toString() {
        return "DavitConfig[path=" + Text.printable(path.toString()) + ", auths=" + authFile.auths.size()
                + " entries, insecureRegistries=" + insecureRegistries + "]";
    }
}
