package dev.davit.cli;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code davit logout REGISTRY}: placeholder; credentials are not wired yet. */
@Command(name = "logout", mixinStandardHelpOptions = true,
        description = "Forget the credentials of a registry (not implemented yet).")
final class LogoutCommand extends DavitCommand {
    @Parameters(paramLabel = "REGISTRY", description = "The registry host[:port], e.g. ghcr.io.")
    String registry;

    @Override
    protected int run(Output out) {
        throw new DavitException(Kind.INTERNAL, "davit logout is not implemented yet");
    }
}
