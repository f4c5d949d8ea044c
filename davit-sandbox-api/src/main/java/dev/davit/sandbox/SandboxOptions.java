package dev.davit.sandbox;

import dev.davit.oci.Action;
import dev.davit.oci.Message;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How {@code dev.davit.sandbox.engine.Sandboxes} runs sandboxes.
 *
 * @param stateDir   where each sandbox gets its own state directory while it runs ({@code <stateDir>/<id>/});
 *                   removed when the run ends, also on failure
 * @param bwrap      the bubblewrap binary; null looks {@code bwrap} up on {@code searchPath}
 * @param searchPath the PATH used to find tools (bwrap, runc, crun); null means the process's PATH
 * @param allowWeakerSandbox without root, make a sandbox also when it would lack a guarantee of the jail that this
 *                   host or build cannot give (docs/reference/sandbox/JAIL.md); else such a sandbox is
 *                   refused. Default: the environment variable {@code DAVIT_ALLOW_WEAKER_SANDBOX} is {@code 1}
 * @param egressDns  a directory holding the {@code resolv.conf} and {@code hosts} with which the egress gate of a
 *                   sandbox with an egress policy ({@link Network#policy}) resolves the names it allows; null (the
 *                   default) for the host's own {@code /etc/resolv.conf} and {@code /etc/hosts}; when it also holds
 *                   {@code ca-certificates.crt}, those CA certificates (PEM) are what the gate trusts, beside the
 *                   Java runtime's, for the hosts it adds a workspace's secrets for, instead of the host's
 *                   {@code /etc/ssl/certs/ca-certificates.crt}
 * @param trustedCas CA certificates the trust stores of long-lived sandboxes get at each start ({@link TrustedCas});
 *                   {@link TrustedCas#NONE} (the default; null means it) for none
 */
public record SandboxOptions(Path stateDir, Path bwrap, String searchPath, boolean allowWeakerSandbox,
                             Path egressDns, TrustedCas trustedCas) {
    /** The environment variable that, set to {@code 1}, makes {@code allowWeakerSandbox} the default. */
    public static final String ALLOW_WEAKER_SANDBOX_ENV = "DAVIT_ALLOW_WEAKER_SANDBOX";

    /**
     * Checks that there is a state directory and makes it absolute (a relative one is resolved against the current
     * directory now: helpers such as davit-exec run elsewhere).
     *
     * @throws NullPointerException when {@code stateDir} is null
     * @throws dev.davit.oci.DavitException USAGE when {@code bwrap} is given but is no executable file (a
     *         misconfiguration is no command's failure: found only when a run starts, it looked like one)
     */
    public SandboxOptions {
        stateDir = Objects.requireNonNull(stateDir, "stateDir").toAbsolutePath();
        trustedCas = trustedCas == null ? TrustedCas.NONE : trustedCas;
        if (bwrap != null && !(java.nio.file.Files.isRegularFile(bwrap) && java.nio.file.Files.isExecutable(bwrap))) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "SandboxOptions.withBwrap: "
                    + bwrap + (java.nio.file.Files.exists(bwrap) ? " is not an executable file" : " does not exist")
                    + "; give the path of the bwrap (bubblewrap) binary, or null to look bwrap up on the search path");
        }
    }

    /**
     * State in {@code stateDir}, tools from the process's PATH, {@code allowWeakerSandbox} from the environment
     * ({@code DAVIT_ALLOW_WEAKER_SANDBOX=1}), the host's name resolution, no CA certificates added: change any of
     * them with the {@code with...} methods.
     *
     * @param stateDir where sandboxes keep their state, not null (made when needed)
     * @return the options
     */
    public static SandboxOptions of(Path stateDir) {
        return new SandboxOptions(stateDir, null, null, "1".equals(System.getenv(ALLOW_WEAKER_SANDBOX_ENV)), null,
                TrustedCas.NONE);
    }

    /**
     * State under {@code <davitHome>/sandboxes}, tools from the process's PATH (as the CLI has them): {@link #of}
     * {@code <davitHome>/sandboxes}.
     *
     * @param davitHome the davit home directory
     * @return the options
     */
    public static SandboxOptions under(Path davitHome) {
        return of(davitHome.resolve("sandboxes"));
    }

    /**
     * These options with another bubblewrap binary.
     *
     * @param v the binary, or null to look {@code bwrap} up on the search path
     * @return new options, otherwise the same
     * @throws dev.davit.oci.DavitException USAGE when {@code v} is given but is no executable file
     */
    public SandboxOptions withBwrap(Path v) {
        return new SandboxOptions(stateDir, v, searchPath, allowWeakerSandbox, egressDns, trustedCas);
    }

    /**
     * These options with another search path for tools.
     *
     * @param v the PATH ({@code :}-separated directories), or null for the process's
     * @return new options, otherwise the same
     */
    public SandboxOptions withSearchPath(String v) {
        return new SandboxOptions(stateDir, bwrap, v, allowWeakerSandbox, egressDns, trustedCas);
    }

    /**
     * These options, allowing (or not) a rootless sandbox that lacks a guarantee (see the record's comment).
     *
     * @param v whether such a sandbox is made (true) or refused (false)
     * @return new options, otherwise the same
     */
    public SandboxOptions withAllowWeakerSandbox(boolean v) {
        return new SandboxOptions(stateDir, bwrap, searchPath, v, egressDns, trustedCas);
    }

    /**
     * These options with another place the egress gate resolves allowed names from (see the record's comment).
     *
     * @param v a directory with {@code resolv.conf} and {@code hosts}, or null for the host's
     * @return new options, otherwise the same
     */
    public SandboxOptions withEgressDns(Path v) {
        return new SandboxOptions(stateDir, bwrap, searchPath, allowWeakerSandbox, v == null ? null
                : v.toAbsolutePath(), trustedCas);
    }

    /**
     * These options with CA certificates every long-lived sandbox's trust store gets at its start (see
     * {@link TrustedCas}): the operator's choice, off by default.
     *
     * @param v the certificates, or null (or {@link TrustedCas#NONE}) for none
     * @return new options, otherwise the same
     */
    public SandboxOptions withTrustedCas(TrustedCas v) {
        return new SandboxOptions(stateDir, bwrap, searchPath, allowWeakerSandbox, egressDns, v);
    }

    /**
     * The first executable {@code name} on the search path ({@link #searchPath}, else the process's PATH, else the
     * usual system directories).
     *
     * @param name a program's file name, e.g. {@code slirp4netns}
     * @return its path, or null when no directory of the path has it
     */
    public Path which(String name) {
        return dev.davit.sandbox.host.Host.which(searchPath, name);
    }

    /**
     * The bubblewrap binary if there is one.
     *
     * @return {@link #bwrap} when given, else {@code bwrap} on the search path, else null
     */
    public Path bwrapOrNull() {
        return bwrap != null ? bwrap : which("bwrap");
    }

    /**
     * The bubblewrap binary.
     *
     * @return {@link #bwrapOrNull}'s path
     * @throws dev.davit.oci.DavitException HOST_UNSUPPORTED naming the package when it is not installed
     */
    public Path bwrap() {
        Path p = bwrapOrNull();
        if (p == null) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.HOST_UNSUPPORTED, Message.of("bwrap (bubblewrap)"
                    + " is not installed; install the bubblewrap package (see ", Action.DOCTOR.fix(), ")"));
        }
        return p;
    }
}
