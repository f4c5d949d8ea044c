package dev.davit.sandbox.agent;

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
     * @return its file, or null when the jar has none (built without cargo) or {@code -Ddavit.agent.off=true}
     */
    public static Path installed(SandboxOptions options) {
        return Jail.agentProgram(options);
    }
}
