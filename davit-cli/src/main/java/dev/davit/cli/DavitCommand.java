package dev.davit.cli;

import dev.davit.oci.client.DavitClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Base of every subcommand: reaches the global options through {@link Main}, builds the {@link DavitClient} on
 * first use and closes it afterwards. Errors propagate to {@link Main}, which reports them.
 */
abstract class DavitCommand implements Callable<Integer> {
    /** The root command, found through the command spec (subcommands may be nested, e.g. artifact push). */
    Main main;

    @Spec
    CommandSpec spec;

    private DavitClient client;

    @Override
    public final Integer call() {
        if (main == null) {
            main = (Main) spec.root().userObject();
        }
        try {
            return run(main.output());
        } finally {
            if (client != null) {
                client.close();
            }
        }
    }

    /** Runs the command; returns the exit code. */
    protected abstract int run(Output out);

    protected DavitClient client() {
        if (client == null) {
            client = DavitClient.create(main.clientOptions());
        }
        return client;
    }
}
