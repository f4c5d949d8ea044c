package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.auth.Credentials;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code davit login REGISTRY -u USER --password-stdin}: checks the credentials against the registry and saves
 * them in davit's config file (mode 0600). The password never appears in output.
 */
@Command(name = "login", mixinStandardHelpOptions = true,
        description = "Check credentials against a registry and save them in davit's config file."
                + " Use -u USER and --password-stdin (or answer the prompt on a terminal).")
final class LoginCommand extends DavitCommand {
    @Parameters(paramLabel = "REGISTRY", description = "The registry host[:port], e.g. ghcr.io or 127.0.0.1:5000.")
    String registry;

    @Override
    protected int run(Output out) {
        Credentials creds = main.flagCredentials();
        if (creds == null) {
            throw new DavitException(Kind.USAGE, "davit login needs a username: davit login " + Text.shorten(registry, 60)
                    + " -u USER --password-stdin");
        }
        Path file = client().login(registry, creds);
        ObjectNode doc = Json.object();
        doc.put("registry", registry);
        doc.put("username", creds.username());
        doc.put("config", file.toString());
        doc.put("logged_in", true);
        out.result(doc, w -> w.println("logged in to " + Text.printable(registry) + " as "
                + Text.printable(creds.username()) + " (saved in " + file + ")"));
        return 0;
    }
}
