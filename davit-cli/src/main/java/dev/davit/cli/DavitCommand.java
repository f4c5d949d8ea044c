package dev.davit.cli;

import dev.davit.oci.client.DavitClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * Base of every subcommand: reaches the global options through {@link Main}, builds the {@link DavitClient} on
 * first use and closes it afterwards. Errors propagate to {@link Main}, which reports them.
 */
abstract class DavitCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    private DavitClient client;

    @Override
    public final Integer call() {
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
