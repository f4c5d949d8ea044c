package dev.davit.sandbox.workspace;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One workspace as recorded in {@code <stateDir>/<id>/workspace.json}.
 *
 * @param id            its id ({@code ws-} and 12 hex digits)
 * @param name          the name given at creation, or null
 * @param sandboxId     the long-lived sandbox it works in
 * @param createdAt     when it was created
 * @param ttl           how long after creation the sandbox's reap may remove its sandbox; null means never
 * @param seed          the host directory or archive /workspace was seeded from, or null (empty)
 * @param baselineFiles how many entries (files, directories, links) the baseline holds, /workspace excluded
 * @param baselineBytes the size of the baseline's regular files together
 * @param labels        its labels (see {@link WorkspaceLabels}), sorted by key; never null
 * @param secrets       its secrets' names and sizes (never their values: see {@link Secrets}), in the order given
 * @param owner         who made it, as the door that made it recorded (a door's, e.g. an MCP
 *                      server's {@code mcp}), or null: the operator's own (the CLI's and the library's by default,
 *                      and every workspace made before owners were recorded)
 */
public record Workspace(String id, String name, String sandboxId, Instant createdAt, Duration ttl, String seed,
                        long baselineFiles, long baselineBytes, Map<String, String> labels,
                        java.util.List<SecretInfo> secrets, String owner) {
    /**
     * What a workspace's state shows of one secret: its name and how many bytes its value holds.
     *
     * @param name     the secret's name (as an environment variable's; its file is /run/secrets/NAME)
     * @param bytes    the size of its value, in bytes
     * @param injected where the egress gate injects it ({@code HOST:HEADER}; the sandbox holds a placeholder), or
     *                 null for a secret the sandbox holds
     */
    public record SecretInfo(String name, long bytes, String injected) {
        /**
         * A secret the sandbox holds.
         *
         * @param name  the secret's name
         * @param bytes the size of its value, in bytes
         */
        public SecretInfo(String name, long bytes) {
            this(name, bytes, null);
        }
    }

    /** Copies the labels (sorted by key) and secrets; null ones become empty. */
    public Workspace {
        labels = labels == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(labels));
        secrets = secrets == null ? java.util.List.of() : java.util.List.copyOf(secrets);
    }

    /**
     * Whether {@code who} owns this workspace: its {@link #owner} is {@code who}, or one of {@code who}'s own
     * (e.g. an MCP server's sessions: {@code who:SESSION}).
     *
     * @param who an owner (a door's); null: the operator, who owns those without an owner
     * @return whether the workspace is {@code who}'s
     */
    public boolean ownedBy(String who) {
        return who == null ? owner == null : owner != null && (owner.equals(who) || owner.startsWith(who + ":"));
    }

    /**
     * This workspace with another name, labels and ttl; nothing is checked or saved (see {@link Workspaces#update}).
     *
     * @param newName   the name; null: none
     * @param newLabels the labels, replacing all of them; null: none
     * @param newTtl    the ttl, counted from {@link #createdAt}; null: never expires
     * @return a new record, the other components as they are
     */
    public Workspace with(String newName, Map<String, String> newLabels, Duration newTtl) {
        return new Workspace(id, newName, sandboxId, createdAt, newTtl, seed, baselineFiles, baselineBytes,
                newLabels, secrets, owner);
    }
}
