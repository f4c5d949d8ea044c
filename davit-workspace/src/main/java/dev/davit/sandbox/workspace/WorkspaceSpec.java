package dev.davit.sandbox.workspace;

import dev.davit.sandbox.CreateSpec;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * A workspace to create ({@link Workspaces#create(WorkspaceSpec)}): its sandbox, and what the workspace adds to it.
 * Made with {@link #builder}:
 *
 * <pre>{@code
 * Workspace w = workspaces.create(WorkspaceSpec.builder(sandbox).name("review").seed(Path.of("repo")).build());
 * }</pre>
 *
 * @param sandbox   the sandbox to create: environment, backend (container or microVM), limits, network and ttl (the
 *                  workspace's, counted from now); a container environment must not have /workspace
 * @param name      a name to find it by (see {@link WorkspaceLabels#checkName}), free in this davit home; null: none
 * @param seed      what /workspace starts with: a host directory or a {@code .tar}, {@code .tar.gz}, {@code .tgz} or
 *                  {@code .tar.zst} file, read through this path; null: empty
 * @param seedShown what the workspace records as its seed ({@link Workspace#seed}), for a seed read through another
 *                  path than the one its caller knows it by (e.g. a descriptor held open since a check); null:
 *                  {@code seed}'s absolute path
 * @param labels    its labels (see {@link WorkspaceLabels#check}); empty when null
 * @param secrets   its secrets ({@link Secrets#of}): saved in the workspace's state (0600), put into its sandbox's
 *                  /run/secrets (a tmpfs; a microVM's own, in the guest) at each start and redacted from what it
 *                  shows; {@link Secrets#NONE} when null
 * @param admit     called holding the lock of the set of workspaces with how many exist or are being created (this
 *                  one not counted), before this one counts; it refuses by throwing (e.g. an operator's limit), and
 *                  nothing is made then; null: none
 */
public record WorkspaceSpec(CreateSpec sandbox, String name, Path seed, String seedShown, Map<String, String> labels,
                            Secrets secrets, IntConsumer admit) {
    /**
     * Fills in the defaults (no labels, no secrets).
     *
     * @throws NullPointerException when {@code sandbox} is null
     */
    public WorkspaceSpec {
        Objects.requireNonNull(sandbox, "sandbox");
        labels = labels == null ? Map.of() : labels;
        secrets = secrets == null ? Secrets.NONE : secrets;
    }

    /**
     * A builder of a workspace of sandbox {@code sandbox}, with no name, an empty /workspace, no labels and no secrets.
     *
     * @param sandbox the sandbox to create, not null
     * @return the builder
     */
    public static Builder builder(CreateSpec sandbox) {
        return new Builder(Objects.requireNonNull(sandbox, "sandbox"));
    }

    /** Builds a {@link WorkspaceSpec}; each setter replaces the value and returns this builder. */
    public static final class Builder {
        private final CreateSpec sandbox;
        private String name;
        private Path seed;
        private String seedShown;
        private Map<String, String> labels;
        private Secrets secrets;
        private IntConsumer admit;

        private Builder(CreateSpec sandbox) {
            this.sandbox = sandbox;
        }

        /**
         * Sets the name ({@link WorkspaceSpec#name}).
         *
         * @param v the name, or null for none
         * @return this builder
         */
        public Builder name(String v) {
            name = v;
            return this;
        }

        /**
         * Sets the seed ({@link WorkspaceSpec#seed}).
         *
         * @param v a host directory or archive, or null for an empty /workspace
         * @return this builder
         */
        public Builder seed(Path v) {
            seed = v;
            return this;
        }

        /**
         * Sets what the workspace records as its seed ({@link WorkspaceSpec#seedShown}).
         *
         * @param v the seed as the caller knows it, or null for the seed's absolute path
         * @return this builder
         */
        public Builder seedShown(String v) {
            seedShown = v;
            return this;
        }

        /**
         * Sets the labels ({@link WorkspaceSpec#labels}).
         *
         * @param v the labels, or null for none
         * @return this builder
         */
        public Builder labels(Map<String, String> v) {
            labels = v;
            return this;
        }

        /**
         * Sets the secrets ({@link WorkspaceSpec#secrets}).
         *
         * @param v the secrets, or null for none
         * @return this builder
         */
        public Builder secrets(Secrets v) {
            secrets = v;
            return this;
        }

        /**
         * Sets the admission check ({@link WorkspaceSpec#admit}).
         *
         * @param v called with how many workspaces exist or are being created; throws to refuse; null for none
         * @return this builder
         */
        public Builder admit(IntConsumer v) {
            admit = v;
            return this;
        }

        /**
         * The spec.
         *
         * @return a new {@link WorkspaceSpec} of this builder's values
         */
        public WorkspaceSpec build() {
            return new WorkspaceSpec(sandbox, name, seed, seedShown, labels, secrets, admit);
        }
    }
}
