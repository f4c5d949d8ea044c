package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.Sandbox;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * A workspace's egress policy: changed while it runs (or while it is stopped: its sandbox records it) and the
 * denials of its gate, all of them or those of one exec. Behind {@link Workspaces}, whose methods of the same names
 * document them.
 */
class WorkspaceNetwork extends WorkspaceState {
    /**
     * How long after an exec ends a denial still counts as its. The gate records a denial before the refusal reaches
     * the sandbox, so one the command met is on disk when it ends; the margin covers the record's time (cut to the
     * millisecond) and a child that ran on for a moment.
     */
    static final Duration DENIAL_MARGIN = Duration.ofMillis(50);

    WorkspaceNetwork(WorkspaceState state) {
        super(state);
    }

    Workspace network(String id, EgressPolicy.Change change) {
        java.util.Objects.requireNonNull(change, "change");
        return locked(id, wid -> {
            Workspace w = get(wid);
            Sandbox s = sandboxes.status(w.sandboxId());
            Network n = s.spec().network();
            if (n.mode() != Network.Mode.POLICY) {
                throw new DavitException(Kind.USAGE, Message.of("workspace " + wid + " has no egress policy (its"
                        + " network is " + n.label() + "); create it with ", Input.ALLOW_HOST, ", ",
                        Input.ALLOW_CIDR, " or ", Input.ALLOW_PRESET, " to give it one")
                        .about(Subject.Type.WORKSPACE, wid));
            }
            sandboxes.network(w.sandboxId(), change);
            return w;
        });
    }

    List<EgressDenial> egressDenials(String id) {
        return sandboxes.egressDenials(get(id).sandboxId());
    }

    /**
     * The denials of workspace {@code w}'s gate from {@code start} to {@code end} and {@link #DENIAL_MARGIN} after:
     * what an exec that ran then met. Empty for a workspace without a policy; never fails an exec that ran.
     */
    List<EgressDenial> denialsDuring(Workspace w, Instant start, Instant end) {
        Instant from = start.truncatedTo(ChronoUnit.MILLIS);
        Instant until = end.plus(DENIAL_MARGIN);
        try {
            if (sandboxes.status(w.sandboxId()).spec().network().mode() != Network.Mode.POLICY) {
                return List.of();
            }
            return dev.davit.sandbox.EgressDenial.newest(sandboxes.egressDenials(w.sandboxId()).stream()
                    .filter(d -> !d.time().isBefore(from) && !d.time().isAfter(until)).toList());
        } catch (DavitException e) {
            return List.of(); // the sandbox went meanwhile: the exec's own result says what it met
        }
    }
}
