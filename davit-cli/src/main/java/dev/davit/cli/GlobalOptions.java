package dev.davit.cli;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * Options every command accepts, before or after the subcommand name. They are declared once on {@link Main}
 * with {@link ScopeType#INHERIT}; picocli binds the subcommands' copies to these same fields.
 */
public final class GlobalOptions {
    // the descriptions, shared with CommandModels
    static final String JSON = "Print exactly one JSON document on stdout (results and errors); no progress.";
    static final String QUIET = "No progress output, only results.";
    static final String DEBUG = "Debug logging on stderr and stack traces on errors.";
    static final String STORE = "The store directory (default: the home's store: --home, else $DAVIT_HOME, else"
            + " $XDG_CACHE_HOME/davit, else ~/.cache/davit, and /store).";
    static final String HOME = "davit's home: its store, environments, sandboxes and workspaces (default:"
            + " $DAVIT_HOME, else $XDG_CACHE_HOME/davit, else ~/.cache/davit).";
    static final String INSECURE = "Reach this registry over plain HTTP (repeatable). Loopback registries always are.";
    static final String USERNAME = "Authenticate as USER (password from --password-stdin, or asked on a terminal);"
            + " overrides saved credentials for this command.";
    static final String PASSWORD_STDIN = "Read the password (or token) for --username from standard input.";
    static final String SIGNATURE_POLICY = "The signature policy (containers-policy.json) images pulled or copied"
            + " must meet (default: the home's policy.json, else ~/.config/containers/policy.json, else"
            + " /etc/containers/policy.json, else none).";

    @Option(names = "--json", scope = ScopeType.INHERIT,
            description = JSON)
    boolean json;

    @Option(names = {"-q", "--quiet"}, scope = ScopeType.INHERIT,
            description = QUIET)
    boolean quiet;

    @Option(names = "--debug", scope = ScopeType.INHERIT,
            description = DEBUG)
    boolean debug;

    private final Set<String> insecureRegistries = new LinkedHashSet<>();

    @Option(names = "--store", paramLabel = "DIR", scope = ScopeType.INHERIT,
            description = STORE)
    Path store;

    @Option(names = "--home", paramLabel = "DIR", scope = ScopeType.INHERIT,
            description = HOME)
    Path home;

    /**
     * Accumulates: picocli hands the subcommand's inherited copy of a repeatable option a fresh list, so values
     * given before and after the subcommand name arrive in separate calls.
     */
    @Option(names = "--insecure-registry", paramLabel = "HOST[:PORT]", scope = ScopeType.INHERIT,
            description = INSECURE)
    void insecureRegistries(List<String> hosts) {
        if (hosts != null) {
            insecureRegistries.addAll(hosts);
        }
    }

    @Option(names = "--signature-policy", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = SIGNATURE_POLICY)
    Path signaturePolicy;

    @Option(names = {"-u", "--username"}, paramLabel = "USER", scope = ScopeType.INHERIT,
            description = USERNAME)
    String username;

    @Option(names = "--password-stdin", scope = ScopeType.INHERIT,
            description = PASSWORD_STDIN)
    boolean passwordStdin;

    public String username() {
        return username;
    }

    public boolean passwordStdin() {
        return passwordStdin;
    }

    public boolean json() {
        return json;
    }

    public boolean quiet() {
        return quiet;
    }

    public boolean debug() {
        return debug;
    }

    public List<String> insecureRegistries() {
        return List.copyOf(insecureRegistries);
    }

    public Path store() {
        return store;
    }

    /** {@return the {@code --signature-policy} given, or null} */
    public Path signaturePolicy() {
        return signaturePolicy;
    }

    /** {@return the {@code --home} given, or null} */
    public Path home() {
        return home;
    }
}
