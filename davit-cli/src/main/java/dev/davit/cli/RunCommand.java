package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.sandbox.target.RunTargets;
import dev.davit.env.Environment;
import dev.davit.env.catalog.CatalogResolver;
import dev.davit.env.install.Installer;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.reference.Reference;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.SpooledExcerpt;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.internal.SandboxJson;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit run ENV -- CMD...}: one command in a fresh sandbox over an environment's or image's rootfs. */
@Command(name = "run", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {RunCommand.DESCRIPTION_0, RunCommand.DESCRIPTION_1})
final class RunCommand extends EnvCommand.Sub {
    static final String DESCRIPTION_0 = "Run one command in a fresh sandbox over an environment and delete the"
            + " sandbox afterwards.";
    static final String DESCRIPTION_1 = "ENV is a catalog environment (installed if needed), an image reference"
            + " (pulled if needed and unpacked once into $DAVIT_HOME/rootfs/) or a microVM environment artifact"
            + " (unpacked once into $DAVIT_HOME/vm/). Containers write to their own overlay over the shared root"
            + " filesystem; microVMs to a copy-on-write overlay of rootfs.ext4. No network unless --network. Exits"
            + " with the command's exit code (124 when --timeout killed it, 137 when --max-output did, 127 when the"
            + " command was not found); davit's own errors keep their codes.";
    static final String MAX_OUTPUT_DESCRIPTION = "Stop the command when its stdout and stderr together pass BYTES"
            + " (e.g. 10M, 1G): copying stops there and its processes are killed (exit code 137;"
            + " default: no limit).";
    static final String OUTPUT_LIMIT_TEXT = "With --json, keep at most BYTES of each of stdout and stderr in the"
            + " result: its first and last halves, with a line saying how many bytes were left out between them"
            + " (e.g. 16K; default and most: 64M). The command is not stopped (see --max-output).";
    static final String NAME_TEXT = "A catalog environment (e.g. debian:12) or an image reference.";
    static final String COMMAND_TEXT = "The command and its arguments (after --); default: the image's Entrypoint "
            + "and Cmd.";
    static final String BACKEND_TEXT = "The sandbox backend: container, vm or k8s (default: what the environment is: a "
            + "microVM environment runs in a vm, a root filesystem in a container; k8s runs an image as a pod of the "
            + "cluster of KUBECONFIG, see docs/reference/KUBERNETES.md).";
    static final String RUNTIME_TEXT = "The container backend's runtime: bwrap, crun or runc (default: the first "
            + "installed, in that order).";
    static final String TIMEOUT_TEXT = "Kill the command after S seconds (exit code 124).";
    static final String STDIN_TEXT = "Pass davit's standard input to the command (default: the "
            + "command reads /dev/null).";
    static final String ENVS_TEXT = "Set a variable (repeatable); the host's environment is never passed.";
    static final String WORKDIR_TEXT = "The working directory inside (default: the image's WorkingDir, else /).";

    @Parameters(index = "0", paramLabel = "ENV", description = NAME_TEXT)
    String name;

    @Parameters(index = "1..*", paramLabel = "CMD", description = COMMAND_TEXT)
    List<String> command = new ArrayList<>();

    @Option(names = "--backend", paramLabel = "BACKEND",
            description = BACKEND_TEXT)
    String backend;

    @Option(names = "--runtime", paramLabel = "RUNTIME", description = RUNTIME_TEXT)
    String runtime;

    @picocli.CommandLine.Mixin
    ResourceOptions resources = new ResourceOptions();

    @Option(names = "--timeout", paramLabel = "S", description = TIMEOUT_TEXT)
    Double timeout;

    @Option(names = "--network", arity = "0..1", paramLabel = "MODE", preprocessor = NetworkOption.class,
            description = NetworkOption.DESCRIPTION)
    String network;

    @picocli.CommandLine.Mixin
    EgressOptions egress = new EgressOptions();

    @Option(names = "--max-output", paramLabel = "BYTES", description = MAX_OUTPUT_DESCRIPTION)
    String maxOutput;

    @Option(names = "--output-limit", paramLabel = "BYTES", description = OUTPUT_LIMIT_TEXT)
    String outputLimit;

    @Option(names = {"-i", "--stdin"}, description = STDIN_TEXT)
    boolean stdin;

    @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = ENVS_TEXT)
    List<String> envs = new ArrayList<>();

    @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = WORKDIR_TEXT)
    String workdir;

    /**
     * A resolved environment: a root filesystem directory ({@code backend} container) or a microVM environment
     * directory with vmlinux, initrd and rootfs.ext4 ({@code backend} vm).
     */
    record Target(String environment, String digest, Path rootfs, ImageConfig image, String backend) {
        /** The backend to use: the one asked for, which must suit this environment, else its own. */
        String backendFor(String asked) {
            if (asked == null || asked.equals(backend)) {
                return backend;
            }
            if (backend.equals("container") && !asked.equals("vm")) {
                return asked; // an image runs as a pod too (k8s), pushed by digest to the cluster's registry
            }
            throw new DavitException(Kind.USAGE, Text.printable(environment) + " is a " + (backend.equals("vm")
                    ? "microVM environment (kernel and rootfs.ext4); it runs only with --backend vm"
                    : "container root filesystem; --backend vm needs a microVM environment such as one built by"
                    + " 'davit environment build PROFILE' (localhost/davit/PROFILE-vm:VERSION)"));
        }
    }

    @Override
    protected int run(Output out) {
        if (backend != null && !Sandboxes.BACKENDS.contains(backend)) {
            throw new DavitException(Kind.USAGE, "unknown backend '" + backend + "'; available: "
                    + String.join(", ", Sandboxes.BACKENDS));
        }
        Duration limit = CliArgs.seconds(timeout, "--timeout");
        Map<String, String> env = CliArgs.keyValues(envs, "--env needs K=V");
        Network net = egress.network(network); // a bad value fails before anything is pulled
        long maxBytes = maxOutputBytes(maxOutput);
        int keep = outputLimit(outputLimit);
        Trace.mark("run: options checked");
        Target t = resolve(this, out, name);
        Trace.mark("run: resolved ", t.rootfs());
        String chosen = t.backendFor(backend);
        RunSpec.Builder b = RunSpec.builder(t.rootfs()).command(command).env(env).workdir(workdir).timeout(limit)
                .network(net).image(t.image()).backend(chosen).runtime(runtime).maxOutput(maxBytes)
                .capture(8192); // the output is streamed, or kept in files (below); the result keeps only enough
                                // to tell a sandbox's own one-line failure (e.g. a missing command: 127)
        if (chosen.equals("vm")) {
            b.vcpus(resources.vmVcpus()).memoryMiB(resources.vmMemory()).limits(resources.vmLimits());
        } else if (chosen.equals("container")) {
            b.limits(resources.containerLimits(out));
        } else {
            b.limits(resources.podLimits()); // a pod's limits: the cluster enforces them, not this host
        }
        RunSpec spec = b.build();
        Trace.mark("run: spec built");
        Sandboxes sandboxes = new Sandboxes(EgressOptions.withDns(resources.sandboxOptions(home()), main.env()));
        out.notice("==> running in a " + (chosen.equals("vm") ? "microVM" : chosen.equals("container") ? "container"
                : chosen + " pod") + " sandbox" + (net.enabled() ? " (network: " + EgressOptions.brief(net) + ")" : "") + ": "
                + String.join(" ", spec.effectiveCommand()));
        java.io.InputStream in = stdin ? System.in : null;
        if (!out.json()) {
            ExecResult r = sandboxes.run(spec, in, out.rawStdout(), out.rawStderr());
            return ended(out, r, spec);
        }
        // --json: up to 64 MiB of each stream, kept in files (the sandboxes' state directory) and written out from
        // them, so that a flood costs no memory: `davit run` with -Xmx64m prints a 100 MB flood's excerpt
        java.nio.file.Path spool = sandboxes.options().stateDir();
        try (SpooledExcerpt so = SpooledExcerpt.create(spool, keep / 2, keep - keep / 2);
             SpooledExcerpt se = SpooledExcerpt.create(spool, keep / 2, keep - keep / 2)) {
            ExecResult r = sandboxes.run(spec, in, so, se);
            ended(out, r, spec);
            ObjectNode doc = Json.object();
            doc.put("environment", t.environment());
            doc.put("digest", t.digest());
            if (!chosen.equals("vm")) {
                doc.set("limits", SandboxJson.limits(spec.limits()));
            }
            out.printJson(resultJson(doc, r, so, se));
            return r.exitCode();
        }
    }

    /** The warnings and the closing notice of a run. */
    private int ended(Output out, ExecResult r, RunSpec spec) {
        Trace.mark("run: sandbox done ", SandboxJson.timings(r.timings()));
        if (r.timedOut()) {
            out.warn("the command timed out after " + timeout + " s and was killed (exit 124)");
        }
        warnOutputLimited(out, r, maxOutput);
        if (r.oomKilled()) {
            out.warn("the sandbox reached its memory limit of " + spec.limits().memoryMiB() + " MiB and the kernel"
                    + " killed a process (raise it with --memory MiB)");
        }
        if (r.diskFull()) {
            out.warn("the sandbox filled its disk limit of " + spec.limits().diskMiB() + " MiB and writes failed"
                    + " (raise it with --disk MiB)");
        }
        out.notice("==> exit " + r.exitCode() + " (" + r.sandboxId() + ", create " + r.timings().createMs()
                + " ms, start " + r.timings().startMs() + " ms, exec " + r.timings().execMs() + " ms, delete "
                + r.timings().deleteMs() + " ms)");
        return r.exitCode();
    }

    /** The bytes of an {@code --output-limit} value: 2 to 64 MiB; 64 MiB when not given. */
    static int outputLimit(String value) {
        if (value == null) {
            return ExecResult.MAX_CAPTURED_BYTES;
        }
        long n = Units.parseBytes(value, "--output-limit");
        if (n < 2 || n > ExecResult.MAX_CAPTURED_BYTES) {
            throw new DavitException(Kind.USAGE, "--output-limit must be between 2 bytes and 64M, not " + value);
        }
        return (int) n;
    }

    /** The bytes of a {@code --max-output} value; 0 when not given. */
    static long maxOutputBytes(String value) {
        return value == null ? 0 : Units.parseBytes(value, "--max-output");
    }

    /** The one warning line of a command stopped by {@code --max-output} ({@code value} as given). */
    static void warnOutputLimited(Output out, ExecResult r, String value) {
        if (r.outputLimited()) {
            out.warn("the command's output passed --max-output " + value + " and the command was killed (exit "
                    + r.exitCode() + "); raise it with a larger --max-output BYTES, or drop the option");
        }
    }

    /**
     * Adds what a command run gave to {@code doc}, its output as excerpts kept in files ({@link SandboxJson#excerpt}:
     * the {@code davit run} and {@code workspace exec} documents, written out from the files);
     * {@code truncated} says whether bytes were left out.
     */
    static ObjectNode resultJson(ObjectNode doc, ExecResult r, SpooledExcerpt stdout, SpooledExcerpt stderr) {
        return SandboxJson.result(doc, r, stdout, stderr);
    }

    /** Adds what a command run gave to {@code doc} (the {@code sandbox exec} document). */
    static ObjectNode resultJson(ObjectNode doc, ExecResult r) {
        return SandboxJson.result(doc, r);
    }

    /** A catalog environment (installed if needed), else an image reference (pulled and unpacked if needed). */
    static Target resolve(EnvCommand.Sub ctx, Output out, String name) {
        if (!ctx.catalogMayName(out, name)) {
            return image(ctx, out, name);
        }
        CatalogResolver.Resolved r = ctx.catalog(out);
        Trace.mark("resolve: catalog loaded");
        Optional<Environment> found = r.catalog().find(name);
        if (found.isPresent()) {
            return environment(ctx, out, r, found.get());
        }
        return image(ctx, out, name);
    }

    private static Target environment(EnvCommand.Sub ctx, Output out, CatalogResolver.Resolved r, Environment e) {
        EnvCommand.Sub.requireCompatible(e);
        out.notice("==> environment " + e.name() + " " + e.version());
        Installer.InstallResult res = ctx.installer(out).install(r.catalog(), e);
        String ref = ctx.registryReference(e);
        if (e.kind() != Environment.Kind.MICROVM && (ref == null || ctx.client().find(ref).isEmpty())) {
            ref = e.source().build() == null ? null : ctx.localBuilder(out).reference(e);
        }
        RunTarget t = RunTargets.ofEnvironment(ctx.client(), e, res.path(), res.sourceDigest(), ref);
        return new Target(t.name(), t.digest(), t.rootfs(), t.image(), t.backend());
    }

    /** An image reference made runnable by the library ({@link RunTargets#ofImage}), with progress and notices. */
    private static Target image(EnvCommand.Sub ctx, Output out, String reference) {
        Reference.parse(reference); // a bad reference fails before anything else
        Trace.mark("image: parsed");
        ProgressRenderer[] shown = {null}; // drawn only if there is a pull
        dev.davit.oci.copy.ProgressListener progress = e -> {
            if (shown[0] == null) {
                shown[0] = out.progress();
            }
            shown[0].onEvent(e);
        };
        RunTarget t;
        try {
            t = RunTargets.ofImage(ctx.client(), ctx.home(), reference, progress, note -> {
                if (note.startsWith("could not")) {
                    out.warn(note);
                } else {
                    out.notice("==> " + note);
                }
            });
        } finally {
            if (shown[0] != null) {
                shown[0].close();
            }
        }
        Trace.mark("image: resolved");
        return new Target(t.name(), t.digest(), t.rootfs(), t.image(), t.backend());
    }
}
