package dev.davit.cli;

import dev.davit.sandbox.internal.SandboxJson;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code davit sandbox network} and {@code davit workspace network}: show or change a sandbox's egress policy while
 * it runs, {@code network log} its denials, {@code sandbox network presets} the presets davit knows. Thin: the
 * policy and its change are the library's ({@link EgressPolicy}, {@code Sandboxes.network},
 * {@link Workspaces#network}).
 */
final class NetworkCommands {
    private NetworkCommands() {
    }

    static final String REMOVE_TEXT = "Drop the allow or deny entry written exactly so (a name such as pypi.org:443,"
            + " or an address such as 203.0.113.0/24), before the entries given are added. Repeatable;"
            + " comma-separated values too.";

    /** Base of {@code sandbox network} and {@code workspace network}: ID and the change options. */
    abstract static class ChangeCmd extends DavitCommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "ID", description = "The sandbox's or workspace's id"
                + " (or a workspace's name).")
        String id;

        @Mixin
        EgressOptions egress = new EgressOptions();

        @Option(names = "--remove", split = ",", paramLabel = "ENTRY", description = REMOVE_TEXT)
        List<String> remove = new ArrayList<>();

        /** The network of {@code id} now. */
        abstract Network current(String id);

        /** Applies {@code change} to {@code id}'s policy; returns its network after it. */
        abstract Network change(String id, EgressPolicy.Change change);

        @Override
        protected int run(Output out) {
            if (id == null) {
                throw new DavitException(Kind.USAGE, "give the id of the " + spec.parent().name() + " whose network"
                        + " to show or change (or a subcommand: " + String.join(", ", spec.subcommands().keySet())
                        + ")");
            }
            Network n = egress.given() || !remove.isEmpty() ? change(id, egress.change(remove)) : current(id);
            printPolicy(out, id, n);
            return 0;
        }
    }

    /** Prints network {@code n} of {@code id}: {@code {"id", "mode", "allow", "deny", "presets"}}, or its entries. */
    static void printPolicy(Output out, String id, Network n) {
        ObjectNode doc = Json.object().put("id", id);
        doc.setAll(SandboxJson.network(n));
        out.result(doc, p -> {
            if (n.mode() != Network.Mode.POLICY) {
                p.println(id + ": network " + n.label() + " (no egress policy)");
                return;
            }
            EgressPolicy e = n.egress();
            p.println(id + ": egress policy, " + e.rules().size() + (e.rules().size() == 1 ? " entry" : " entries")
                    + (e.presets().isEmpty() ? "" : " (presets: " + String.join(", ", e.presets()) + ")"));
            e.rules().forEach(r -> p.println("  " + (r.allow() ? "allow " : "deny  ") + r));
        });
    }

    /** Prints denials: {@code {"denials": [...]}} in JSON, else a table. */
    static void printDenials(Output out, List<EgressDenial> denials) {
        ArrayNode a = SandboxJson.denied(denials);
        out.result(a, p -> table(p, denials));
    }

    /**
     * In human mode, a line on stderr per denial an exec met (the first five; then how many more and where to read
     * them), so that a refused name reads as one and not as a timeout; --json has them in {@code network_denied}.
     */
    static void warnDenials(Output out, List<EgressDenial> denials, String workspace) {
        if (out.json()) {
            return;
        }
        denials.stream().limit(5).forEach(d -> out.warn("egress denied: " + d.target() + ": " + d.reason()));
        if (denials.size() > 5) {
            out.warn("egress denied: " + (denials.size() - 5) + " more; see 'davit workspace network log "
                    + workspace + "'");
        }
    }

    private static void table(PrintWriter p, List<EgressDenial> denials) {
        String f = "%-24s %-7s %-36s %-28s %s%n";
        p.printf(f, "TIME", "KIND", "TARGET", "RULE", "REASON");
        for (EgressDenial d : denials) {
            p.printf(f, d.time(), d.kind(), Text.printable(d.target()), d.rule() == null ? "-"
                    : Text.printable(d.rule()), Text.printable(d.reason()));
        }
    }

    @Command(name = "network", mixinStandardHelpOptions = true,
            description = {"Show or change a sandbox's egress policy while it runs (no restart): new names and"
                    + " connections follow it at once, connections open already are left alone; a stopped one's"
                    + " holds from its next start. Prints the policy after the change.",
                "Only a sandbox created with a policy (--allow-host, --allow-cidr, --allow-preset) has one. A deny"
                    + " entry wins over an allow entry. 'network log ID' lists what its gate refused."},
            subcommands = {SandboxLogCmd.class, PresetsCmd.class})
    static final class SandboxNetworkCmd extends ChangeCmd {
        @Override
        Network current(String id) {
            return SandboxCommand.sandboxes(main).status(id).spec().network();
        }

        @Override
        Network change(String id, EgressPolicy.Change change) {
            return SandboxCommand.sandboxes(main).network(id, change).spec().network();
        }
    }

    @Command(name = "network", mixinStandardHelpOptions = true,
            description = {"Show or change a workspace's egress policy while it runs (no restart): new names and"
                    + " connections follow it at once, connections open already are left alone; a stopped one's"
                    + " holds from its next start. Prints the policy after the change.",
                "Only a workspace created with a policy (--allow-host, --allow-cidr, --allow-preset) has one. A deny"
                    + " entry wins over an allow entry. 'network log WS' lists what its gate refused; each exec's"
                    + " --json result carries its own (network_denied)."},
            subcommands = {WorkspaceLogCmd.class})
    static final class WorkspaceNetworkCmd extends ChangeCmd {
        @Override
        Network current(String id) {
            return WorkspaceCommand.workspaces(main).sandbox(id).spec().network();
        }

        @Override
        Network change(String id, EgressPolicy.Change change) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            ws.network(id, change);
            return ws.sandbox(id).spec().network();
        }
    }

    @Command(name = "log", mixinStandardHelpOptions = true, description = "List what the sandbox's egress gate"
            + " refused, oldest first (kept bounded): TIME KIND TARGET RULE REASON; --json: an array.")
    static final class SandboxLogCmd extends SandboxCommand.IdCmd {
        @Override
        protected int run(Output out) {
            printDenials(out, SandboxCommand.sandboxes(main).egressDenials(id));
            return 0;
        }
    }

    @Command(name = "log", mixinStandardHelpOptions = true, description = "List what the workspace's egress gate"
            + " refused, oldest first (kept bounded): TIME KIND TARGET RULE REASON; --json: an array.")
    static final class WorkspaceLogCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            printDenials(out, WorkspaceCommand.workspaces(main).egressDenials(id));
            return 0;
        }
    }

    @Command(name = "presets", mixinStandardHelpOptions = true, description = "List the presets --allow-preset"
            + " takes, with the names each allows; --json: {NAME: [entries]}.")
    static final class PresetsCmd extends DavitCommand {
        @Override
        protected int run(Output out) {
            Map<String, List<EgressPolicy.Rule>> all = EgressPolicy.presetsKnown();
            ObjectNode doc = Json.object();
            all.forEach((name, rules) -> rules.forEach(r -> doc.withArray(name).add(r.toString())));
            out.result(doc, p -> all.forEach((name, rules) -> p.println(name + ": " + String.join(", ",
                    rules.stream().map(EgressPolicy.Rule::toString).toList()))));
            return 0;
        }
    }
}
