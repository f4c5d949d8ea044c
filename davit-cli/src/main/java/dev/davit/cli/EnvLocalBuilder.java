package dev.davit.cli;

import dev.davit.env.Environment;
import dev.davit.env.install.Installer;
import dev.davit.oci.client.DavitClient;
import dev.davit.sandbox.build.LocalEnvBuilder;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The CLI's {@link Installer.LocalBuilder}: the library's {@link LocalEnvBuilder}, with the phases, their durations
 * and the progress shown in human mode.
 */
final class EnvLocalBuilder implements Installer.LocalBuilder {
    private final LocalEnvBuilder builder;
    private final Output out;

    EnvLocalBuilder(Supplier<DavitClient> client, Path home, Map<String, String> env, Output out) {
        this.builder = new LocalEnvBuilder(client, home, env, new EnvBuildCommand.PhaseLines(out), out::progress);
        this.out = out;
    }

    @Override
    public String reference(Environment e) {
        return builder.reference(e);
    }

    @Override
    public String unavailable(Environment e) {
        return builder.unavailable(e);
    }

    @Override
    public void build(Environment e) {
        out.notice("==> building " + e.name() + " " + e.version() + " from profile " + e.source().build()
                + " (once; later runs use the install)");
        long start = System.nanoTime();
        builder.build(e);
        out.notice("==> built " + e.name() + " in " + Units.duration(java.time.Duration.ofNanos(
                System.nanoTime() - start)));
    }
}
