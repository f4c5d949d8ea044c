package dev.davit.oci.auth;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.io.File;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the credentials for a registry host. Sources, first match wins:
 * <ol>
 *   <li>credentials given explicitly, e.g. from command-line flags ({@link #withCredentials}); explicitly
 *       given anonymous credentials stop the search;</li>
 *   <li>the davit config file ({@link DavitConfig#defaultPath});</li>
 *   <li>Docker's config file: {@code $DOCKER_CONFIG/config.json}, else {@code <home>/.docker/config.json}.</li>
 * </ol>
 * In each file, {@code credHelpers[host]} is asked first, then the {@code credsStore} helper, then the inline
 * {@code auths[host]} entry; a helper that has no credentials for the host passes on to the next. Keys may be
 * written as {@code host[:port]}, as URLs ({@code https://host/}, {@code http://host}, {@code host/v2/}), and
 * Docker Hub as {@code https://index.docker.io/v1/}.
 *
 * <p>A missing {@code credHelpers} helper is an error; a missing {@code credsStore} helper is logged and
 * skipped, since config files copied from Docker Desktop often name one. Files are read on each
 * {@link #resolve} call, so resolve once per registry per operation. Instances are immutable and thread-safe.
 */
public final class CredentialResolver {
    /** SLF4J starts on first use (5-10 ms in a fresh JVM): a command that resolves no credentials never pays it. */
    private static final class Log {
        static final Logger LOG = LoggerFactory.getLogger(CredentialResolver.class);
    }

    /** How long a credential helper may take by default. */
    public static final Duration DEFAULT_HELPER_TIMEOUT = Duration.ofSeconds(30);

    private final Map<String, String> env;
    private final Path home;
    private final List<Path> helperDirs;
    private final Map<String, Credentials> explicit;
    private final Duration helperTimeout;

    /**
     * A resolver over the given environment and home directory, finding credential helpers on the
     * environment's {@code PATH}.
     *
     * @param env the environment variables to use ({@code PATH}, {@code DOCKER_CONFIG}, davit's config location);
     *            copied, entries with null values dropped
     * @param home the user's home directory, where {@code .docker/config.json} is looked for; not null
     */
    public CredentialResolver(Map<String, String> env, Path home) {
        this(env, home, pathDirectories(env));
    }

    /**
     * A resolver over the given environment and home directory, finding credential helpers in
     * {@code helperDirs}. Helpers run with exactly {@code env} as their environment.
     *
     * @param env the environment variables to use; copied, entries with null values dropped
     * @param home the user's home directory; not null
     * @param helperDirs the directories searched, in order, for {@code docker-credential-<name>} helpers
     */
    public CredentialResolver(Map<String, String> env, Path home, List<Path> helperDirs) {
        this(Map.copyOf(withoutNulls(env)), Objects.requireNonNull(home, "home"), List.copyOf(helperDirs),
                Map.of(), DEFAULT_HELPER_TIMEOUT);
    }

    private CredentialResolver(Map<String, String> env, Path home, List<Path> helperDirs,
            Map<String, Credentials> explicit, Duration helperTimeout) {
        this.env = env;
        this.home = home;
        this.helperDirs = helperDirs;
        this.explicit = explicit;
        this.helperTimeout = helperTimeout;
    }

    /** {@return a resolver over this process's environment, {@code user.home} and {@code PATH}} */
    public static CredentialResolver fromSystem() {
        return new CredentialResolver(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /**
     * {@return the directories listed in the environment's {@code PATH}, in order} Empty and unusable entries
     * are skipped.
     *
     * @param env the environment variables; no {@code PATH} gives an empty list
     */
    public static List<Path> pathDirectories(Map<String, String> env) {
        List<Path> dirs = new ArrayList<>();
        String path = env.get("PATH");
        if (path != null) {
            for (String part : path.split(File.pathSeparator)) {
                try {
                    if (!part.isEmpty()) {
                        dirs.add(Path.of(part));
                    }
                } catch (InvalidPathException e) {
                    // skip
                }
            }
        }
        return List.copyOf(dirs);
    }

    /**
     * This resolver with credentials given for one registry (e.g. from {@code --username}/{@code --password}),
     * which take precedence over every config file. {@link Credentials#anonymous()} forces anonymous access.
     *
     * @param registry host[:port] as in a reference; {@code docker.io} for Docker Hub
     * @param credentials the credentials to use for it; not null
     * @return a new resolver; this one is unchanged
     */
    public CredentialResolver withCredentials(String registry, Credentials credentials) {
        Objects.requireNonNull(credentials, "credentials");
        Map<String, Credentials> map = new HashMap<>(explicit);
        map.put(host(registry), credentials);
        return new CredentialResolver(env, home, helperDirs, Map.copyOf(map), helperTimeout);
    }

    /**
     * {@return this resolver with a different time limit for each credential helper run}
     *
     * @param timeout the limit, positive; the default is {@link #DEFAULT_HELPER_TIMEOUT}
     * @throws IllegalArgumentException if the timeout is not positive
     */
    public CredentialResolver withHelperTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive");
        }
        return new CredentialResolver(env, home, helperDirs, explicit, timeout);
    }

    /** {@return the davit config file consulted, see {@link DavitConfig#defaultPath}} It need not exist. */
    public Path davitConfigPath() {
        return DavitConfig.defaultPath(env, home);
    }

    /**
     * {@return the Docker config file consulted: {@code $DOCKER_CONFIG/config.json}, else
     * {@code ~/.docker/config.json}} It need not exist.
     */
    public Path dockerConfigPath() {
        String dir = env.get("DOCKER_CONFIG");
        return (dir != null && !dir.isEmpty() ? Path.of(dir) : home.resolve(".docker")).resolve("config.json");
    }

    /**
     * Reads the davit config file, e.g. for {@link DavitConfig#isInsecure}.
     *
     * @return the file's contents; empty when the file does not exist
     * @throws DavitException of kind USAGE if the file is unreadable or malformed
     */
    public DavitConfig davitConfig() {
        return DavitConfig.load(davitConfigPath());
    }

    /**
     * The credentials for a registry, with {@link Credentials#source()} naming where they were found;
     * {@link Credentials#anonymous()} if no source has any.
     *
     * @param registry host[:port] as in a reference; {@code docker.io} (or {@code index.docker.io},
     *                 {@code registry-1.docker.io}) for Docker Hub
     * @return the credentials found, never null
     * @throws DavitException of kind USAGE for an unreadable or malformed config file, AUTH if a credential
     *                        helper is missing, fails or times out
     */
    public Credentials resolve(String registry) {
        String host = host(registry);
        Credentials given = explicit.get(host);
        if (given != null) {
            return given;
        }
        Optional<Credentials> found = lookup(davitConfig().authFile(), host);
        if (found.isEmpty()) {
            Path docker = dockerConfigPath();
            found = lookup(AuthFile.of(docker, AuthFile.readRoot(docker)), host);
        }
        Credentials c = found.orElse(Credentials.anonymous());
        Log.LOG.debug("credentials for {}: {}", host, c.source());
        return c;
    }

    private Optional<Credentials> lookup(AuthFile file, String host) {
        String where = Text.printable(file.path.toString());
        Optional<String> helper = file.helperFor(host);
        if (helper.isPresent()) {
            Path exe = findHelper(helper.get(), where).orElseThrow(() -> new DavitException(DavitException.Kind.AUTH,
                    "credHelpers in " + where + " names " + describe(helper.get()) + " for " + host
                            + ", but it is not on the PATH; install it or remove the entry"));
            Optional<Credentials> c = CredentialHelper.get(exe, helper.get(), Hosts.serverUrl(host), env,
                    helperTimeout);
            if (c.isPresent()) {
                return Optional.of(c.get().withSource("credential helper " + describe(helper.get())
                        + " (credHelpers in " + where + ")"));
            }
        }
        if (!file.credsStore.isEmpty()) {
            Optional<Path> exe = findHelper(file.credsStore, where);
            if (exe.isEmpty()) {
                Log.LOG.warn("credsStore in {} names {}, which is not on the PATH; ignoring it", where,
                        describe(file.credsStore));
            } else {
                Optional<Credentials> c = CredentialHelper.get(exe.get(), file.credsStore, Hosts.serverUrl(host),
                        env, helperTimeout);
                if (c.isPresent()) {
                    return Optional.of(c.get().withSource("credential helper " + describe(file.credsStore)
                            + " (credsStore in " + where + ")"));
                }
            }
        }
        return file.auth(host).map(c -> c.withSource("auths in " + where));
    }

    private Optional<Path> findHelper(String name, String where) {
        if (!CredentialHelper.isValidName(name)) {
            throw new DavitException(DavitException.Kind.AUTH, "'" + Text.shorten(name, 60) + "' in " + where
                    + " is not a credential helper name (letters, digits, '.', '_', '-'); fix the file");
        }
        return CredentialHelper.find(name, helperDirs);
    }

    private static String describe(String helperName) {
        return CredentialHelper.PREFIX + Text.shorten(helperName, 60);
    }

    private static String host(String registry) {
        String host = Hosts.normalize(registry);
        if (host.isEmpty()) {
            throw new DavitException(DavitException.Kind.USAGE, "'" + Text.shorten(registry, 100)
                    + "' is not a registry host[:port]; give one such as ghcr.io or localhost:5000");
        }
        return Text.printable(host);
    }

    private static Map<String, String> withoutNulls(Map<String, String> env) {
        Map<String, String> m = new HashMap<>();
        env.forEach((k, v) -> {
            if (k != null && v != null) {
                m.put(k, v);
            }
        });
        return m;
    }

    @Override
    public String toString() {
        return "CredentialResolver[davitConfig=" + davitConfigPath() + ", dockerConfig=" + dockerConfigPath()
                + ", explicit=" + explicit.keySet() + "]";
    }
}
