package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code davit logout REGISTRY}: removes saved credentials from davit's config file. */
@Command(name = "logout", mixinStandardHelpOptions = true,
        description = "Remove the credentials davit saved for a registry.")
final class LogoutCommand extends DavitCommand {
    @Parameters(paramLabel = "REGISTRY", description = "The registry host[:port].")
    String registry;

    @Override
    protected int run(Output out) {
        boolean removed = client().logout(registry);
        ObjectNode doc = Json.object();
        doc.put("registry", registry);
        doc.put("removed", removed);
        out.result(doc, w -> w.println(removed ? "removed the credentials of " + Text.printable(registry)
                : "no saved credentials for " + Text.printable(registry)));
        return 0;
    }
}
