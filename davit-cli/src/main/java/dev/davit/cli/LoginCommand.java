package dev.davit.cli;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code davit login REGISTRY}: placeholder; credentials are not wired yet. */
@Command(name = "login", mixinStandardHelpOptions = true,
        description = "Store credentials for a registry (not implemented yet).")
final class LoginCommand extends DavitCommand {
    @Parameters(paramLabel = "REGISTRY", description = "The registry host[:port], e.g. ghcr.io.")
    String registry;

    @Override
    protected int run(Output out) {
        throw new DavitException(Kind.INTERNAL, "davit login is not implemented yet");
    }
}
