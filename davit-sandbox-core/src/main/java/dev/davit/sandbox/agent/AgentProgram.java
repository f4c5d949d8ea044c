package dev.davit.sandbox.agent;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.jail.Jail;
import java.nio.file.Path;

/** The davit-agent program of this jar, for the backends that ship it into a sandbox themselves (the k8s one). */
public final class AgentProgram {
    private AgentProgram() {
    }

    /**
     * The agent for this machine's architecture, installed into the home's cache first when needed.
     *
     * @param options the home's options
     * @return its file, or null when the jar has none (built without cargo)
     */
    public static Path installed(SandboxOptions options) {
        return Jail.agentProgram(options);
    }

    /**
     * The agent for this machine's architecture, installed first when needed: every backend's one way into a
     * sandbox, so a jar without it (built where cargo was not) refuses to run commands in one.
     *
     * @param options the home's options
     * @return its file
     * @throws DavitException of kind {@code HOST_UNSUPPORTED} when the jar has none
     */
    public static Path required(SandboxOptions options) {
        Path p = installed(options);
        if (p == null) {
            throw missing();
        }
        return p;
    }

    /**
     * The agent's bytes for architecture {@code arch} (as {@code os.arch} names it: {@code amd64}, {@code aarch64}),
     * for an image of another machine's (the k8s backend's gate image is made for both).
     *
     * @param arch the architecture
     * @return its bytes, or null when the jar has none for it
     */
    public static byte[] bytes(String arch) {
        return Jail.agentBytes(arch);
    }

    /** The refusal of a jar without davit-agent for this machine. */
    public static DavitException missing() {
        return new DavitException(Kind.HOST_UNSUPPORTED, "this davit has no davit-agent for "
                + System.getProperty("os.arch") + " (it was built without cargo), and commands reach a sandbox only"
                + " through it; build davit where cargo is installed (scripts/install-deps.sh)");
    }
}
