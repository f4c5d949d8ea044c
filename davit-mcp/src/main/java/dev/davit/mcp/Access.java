package dev.davit.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which workspaces the model may reach: those this server made (recorded with its owner, {@code --owner}; with
 * {@code --isolate-sessions} those of the calling session only, {@code OWNER:SESSION}) and those the operator shared
 * ({@code --share-workspace NAME[:ro|:rw]}). Every tool's {@code workspace} argument is resolved here, once, among
 * those alone: any other is "no such workspace", by id or by name, with the error of one that does not exist.
 */
final class Access {
    /** The owner a server records when not given one. */
    static final String DEFAULT_OWNER = "mcp";

    /** What a shared workspace allows: read-only (tools with readOnlyHint) or everything but delete and update. */
    enum Mode { RO, RW }

    private final String owner;
    private final boolean isolateSessions;
    /** The shared workspaces, by id. */
    private final Map<String, Mode> shared;
    private final Workspaces workspaces;

    /**
     * Checks the options and finds the shared workspaces (by name or id, among the operator's: a workspace another
     * door owns is not the operator's to share).
     */
    Access(String owner, List<String> shares, boolean isolateSessions, Path davitHome) {
        this(owner, shares, isolateSessions, davitHome, false, EgressBound.NONE);
    }

    /**
     * As {@link #Access(String, List, boolean, Path)}, for a server that may ({@code allowNetwork}) or may not give a
     * model a network, and egress policies within {@code egress}: a workspace shared {@code rw} must not give the
     * model more than the server's own would get (see {@link #checkShare}).
     */
    Access(String owner, List<String> shares, boolean isolateSessions, Path davitHome, boolean allowNetwork,
           EgressBound egress) {
        if (owner == null || !owner.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new DavitException(Kind.USAGE, "--owner must be 1 to 64 letters, digits, '.', '_' or '-', not '"
                    + dev.davit.oci.internal.Text.shorten(String.valueOf(owner), 40) + "'");
        }
        this.owner = owner;
        this.isolateSessions = isolateSessions;
        this.workspaces = Workspaces.under(davitHome);
        Map<String, Mode> m = new LinkedHashMap<>();
        for (String s : shares) {
            int colon = s.lastIndexOf(':');
            String mode = colon < 0 ? "ro" : s.substring(colon + 1);
            String ref = colon < 0 ? s : s.substring(0, colon);
            if (!mode.equals("ro") && !mode.equals("rw")) {
                throw new DavitException(Kind.USAGE, "--share-workspace takes NAME, NAME:ro or NAME:rw, not '"
                        + dev.davit.oci.internal.Text.shorten(s, 80) + "'");
            }
            Workspace w;
            try {
                w = workspaces.get(ref);
            } catch (DavitException e) {
                throw new DavitException(e.kind() == Kind.NOT_FOUND ? Kind.USAGE : e.kind(), "--share-workspace "
                        + ref + ": " + e.getMessage());
            }
            Mode md = Mode.valueOf(mode.toUpperCase(java.util.Locale.ROOT));
            if (md == Mode.RW) {
                checkShare(ref, w, davitHome, allowNetwork, egress);
            }
            m.put(w.id(), md);
        }
        this.shared = Map.copyOf(m);
    }

    /**
     * Refuses to share {@code w} read-write when that would give the model what the server's own workspaces never get:
     * a container sandbox without limits where limits can be enforced, or a k8s one without (it would sit outside
     * the totals, with no memory, CPU, process or disk bound), the host's network, a NAT network when the server was started without
     * {@code --allow-network}, or an egress policy that allows more than {@code --allow-egress} does (without
     * {@code --allow-network}). Read-only sharing runs nothing in it and is always allowed.
     */
    private static void checkShare(String ref, Workspace w, Path davitHome, boolean allowNetwork,
                                   EgressBound egress) {
        dev.davit.sandbox.CreateSpec spec = new dev.davit.sandbox.engine.Sandboxes(dev.davit.sandbox.SandboxOptions.under(
                davitHome)).status(w.sandboxId()).spec();
        String why = null;
        String fix = null;
        // a pod's limits hold wherever the server runs (the cluster enforces them); a container's only where this
        // host can make cgroups
        boolean limitable = Backends.K8S.equals(spec.backend()) || dev.davit.sandbox.Limits.unenforceable() == null;
        if (!dev.davit.sandbox.RunSpec.VM.equals(spec.backend()) && !spec.limits().any() && limitable) {
            why = "it has no resource limits (made with --no-limits), so the model's commands there would have no"
                    + " memory, CPU, process or disk bound and sit outside the server's totals";
            fix = "recreate it with limits";
        } else if (spec.network() == dev.davit.sandbox.Network.HOST) {
            why = "it has the host's network (--network=host), which a model is never given";
            fix = "recreate it without --network=host";
        } else if (spec.network().mode() == dev.davit.sandbox.Network.Mode.NAT && !allowNetwork) {
            why = "it has a network (--network) and this server was started without --allow-network";
            fix = "start the server with --allow-network";
        } else if (spec.network().mode() == dev.davit.sandbox.Network.Mode.POLICY && !allowNetwork
                && !egress.covers(spec.network().egress())) {
            why = "its egress policy allows more than this server's --allow-egress ("
                    + (egress.any() ? egress.describe() : "none") + ")";
            fix = "start the server with --allow-egress covering it";
        }
        if (why != null) {
            throw new DavitException(Kind.USAGE, "--share-workspace " + ref + ":rw: " + why + "; share it read-only ("
                    + ref + ":ro), or " + fix);
        }
    }

    /** The owner recorded for a workspace a call of {@code session} creates. */
    String ownerFor(String session) {
        return isolateSessions ? owner + ":" + session : owner;
    }

    /** Whether {@code w} is this server's own (of any of its sessions): its reaper and cleanup act on those only. */
    boolean owns(Workspace w) {
        return w.ownedBy(owner);
    }

    /** Whether a call of {@code session} may see {@code w}. */
    boolean visible(Workspace w, String session) {
        return shared.containsKey(w.id()) || ownedHere(w, session);
    }

    /**
     * The workspace {@code ref} (an id or name) names among those {@code session} may see, for a call of
     * {@code tool} (which acts on it through a handle: {@link ToolCalls}).
     *
     * @throws DavitException NOT_FOUND (the library's own error for a workspace that does not exist) for one it may
     *                        not see
     * @throws io.modelcontextprotocol.spec.McpError invalid params when a shared workspace does not allow the tool
     */
    Workspace resolve(String ref, String session, Tool tool) {
        Workspace w = workspaces.get(ref, x -> visible(x, session));
        Mode mode = ownedHere(w, session) ? null : shared.get(w.id());
        if (mode == Mode.RO && !tool.hints().readOnly()) {
            throw Tool.invalid("workspace " + ref + " was shared read-only by the operator (--share-workspace): "
                    + tool.name() + " would change it; use tools that only read (workspace_file_read,"
                    + " workspace_diff, workspace_status, ...), or create a workspace of your own");
        }
        if (mode == Mode.RW && (tool.name().equals("workspace_remove") || tool.name().equals("workspace_update")
                || tool.name().equals("workspace_fork"))) {
            throw Tool.invalid("workspace " + ref + " was shared by the operator (--share-workspace): it cannot be"
                    + " deleted, renamed, relabelled, given a ttl or forked (a fork would copy its secrets into a"
                    + " workspace of the server's own) through this server; use it with the other tools");
        }
        return w;
    }

    /** Whether {@code w} is the server's own, as a call of {@code session} sees it (its session's alone, isolated). */
    private boolean ownedHere(Workspace w, String session) {
        return isolateSessions ? ownerFor(session).equals(w.owner()) : owns(w);
    }

    /** {@code workspace_list}'s document with only the workspaces {@code session} may see. */
    JsonNode list(JsonNode doc, String session) {
        if (doc.path("workspaces") instanceof ArrayNode a) {
            for (int i = a.size() - 1; i >= 0; i--) {
                String id = a.get(i).path("id").asText();
                Workspace w;
                try {
                    w = workspaces.get(id, x -> visible(x, session));
                } catch (DavitException e) {
                    w = null; // not visible, or removed meanwhile
                }
                if (w == null) {
                    a.remove(i);
                }
            }
        }
        return doc;
    }
}
