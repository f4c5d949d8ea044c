package dev.davit.cli;

import dev.davit.sandbox.Network;
import java.util.Map;
import java.util.Stack;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code --network} with an optional value that must be attached ({@code --network=host}): {@code --network}
 * alone is {@link Network#NAT}, and the word after it stays what it is (the environment of {@code davit run}).
 */
final class NetworkOption implements picocli.CommandLine.IParameterPreprocessor {
    static final String DESCRIPTION = "Give the sandbox a network: --network alone = its own namespace with NAT to"
            + " the outside (the host's loopback and link-local addresses out of reach); --network=host = the"
            + " host's network, loopback included; --network=none = only a private lo (the default).";

    @Override
    public boolean preprocess(Stack<String> args, CommandSpec commandSpec, ArgSpec argSpec, Map<String, Object> info) {
        if (!"=".equals(info.get("separator"))) {
            args.push(Network.NAT.label()); // not attached: as if --network=nat
        }
        return false;
    }

    /** The parsed option, or {@link Network#NONE} when it was not given. */
    static Network parse(String value) {
        return value == null ? Network.NONE : Network.parse(value);
    }
}
