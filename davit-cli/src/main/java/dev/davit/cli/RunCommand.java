package dev.davit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.env.Environment;
import dev.davit.env.catalog.CatalogResolver;
import dev.davit.env.catalog.DavitVersions;
import dev.davit.env.install.Installer;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Json;
import dev.davit.oci.Text;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.StoreEntry;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.Sandboxes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit run ENV -- CMD...}: one command in a fresh sandbox over an environment's or image's rootfs. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run one command in a fresh sandbox over an environment's root filesystem.",
            "ENV is a catalog environment (installed if needed) or an image reference (pulled if needed and unpacked"
                + " once into $DAVIT_HOME/rootfs/). The root filesystem is read-only; /tmp, /run and /var/tmp are"
                + " private tmpfs. No network unless --network. Exits with the command's exit code (124 when"
                + " --timeout killed it, 127 when the command was not found); davit's own errors keep their codes."})
final class RunCommand extends EnvCommand.Sub {
    /** The largest image config read. */
    static final int MAX_CONFIG_BYTES = 4 << 20;

    @Parameters(index = "0", paramLabel = "ENV", description = "A catalog environment (e.g. debian:12) or an image"
            + " reference.")
    String name;

    @Parameters(index = "1..*", paramLabel = "CMD", description = "The command and its arguments (after --);"
            + " default: the image's Entrypoint and Cmd.")
    List<String> command = new ArrayList<>();

    @Option(names = "--backend", paramLabel = "BACKEND",
            description = "The sandbox backend: container or vm (default: the environment's kind; container for"
                    + " images).")
    String backend;

    @Option(names = "--runtime", paramLabel = "RUNTIME", description = "The container backend's runtime: bwrap,"
            + " crun or runc (default: the first installed, in that order).")
    String runtime;

    @Option(names = "--vcpus", paramLabel = "N", defaultValue = "1", description = "vCPUs of a microVM (vm"
            + " backend).")
    int vcpus;

    @Option(names = "--memory", paramLabel = "MiB", defaultValue = "512", description = "Memory of a microVM in MiB"
            + " (vm backend).")
    int memory;

    @Option(names = "--timeout", paramLabel = "S", description = "Kill the command after S seconds (exit code 124).")
    Double timeout;

    @Option(names = "--network", description = "Share the host's network (default: none, only a private lo).")
    boolean network;

    @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = "Set a variable (repeatable); the host's"
            + " environment is never passed.")
    List<String> envs = new ArrayList<>();

    @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "The working directory inside (default:"
            + " the image's WorkingDir, else /).")
    String workdir;

    /** A resolved root filesystem. */
    record Target(String environment, String digest, Path rootfs, ImageConfig image) {
    }

    @Override
    protected int run(Output out) {
        if (backend != null && !Sandboxes.BACKENDS.contains(backend)) {
            throw new DavitException(Kind.USAGE, "unknown backend '" + backend + "'; available: "
                    + String.join(", ", Sandboxes.BACKENDS));
        }
        Duration limit = CliArgs.seconds(timeout, "--timeout");
        Map<String, String> env = CliArgs.keyValues(envs, "--env needs K=V");
        Target t = resolve(this, out, name);
        RunSpec spec = RunSpec.builder(t.rootfs()).command(command).env(env).workdir(workdir).timeout(limit)
                .network(network).image(t.image()).backend(backend).runtime(runtime).vcpus(vcpus).memoryMiB(memory)
                .build();
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.under(home()));
        out.notice("==> running in a " + (backend == null ? "container" : backend) + " sandbox" + (network ? " (with network)" : "") + ": "
                + String.join(" ", spec.effectiveCommand()));
        ExecResult r = out.json() ? sandboxes.run(spec) : sandboxes.run(spec, out.rawStdout(), out.rawStderr());
        if (r.timedOut()) {
            out.warn("the command timed out after " + timeout + " s and was killed (exit 124)");
        }
        out.notice("==> exit " + r.exitCode() + " (" + r.sandboxId() + ", create " + r.timings().createMs()
                + " ms, start " + r.timings().startMs() + " ms, exec " + r.timings().execMs() + " ms, delete "
                + r.timings().deleteMs() + " ms)");
        if (out.json()) {
            ObjectNode doc = Json.object();
            doc.put("environment", t.environment());
            doc.put("digest", t.digest());
            doc.put("backend", r.backend());
            doc.put("runtime", r.runtime());
            doc.put("sandbox_id", r.sandboxId());
            doc.put("exit_code", r.exitCode());
            doc.put("stdout", new String(r.stdout(), StandardCharsets.UTF_8));
            doc.put("stderr", new String(r.stderr(), StandardCharsets.UTF_8));
            doc.put("timed_out", r.timedOut());
            doc.put("truncated", r.truncated());
            doc.set("timings_ms", r.timings().toJson());
            out.printJson(doc);
        }
        return r.exitCode();
    }

    /** A catalog environment (installed if needed), else an image reference (pulled and unpacked if needed). */
    static Target resolve(EnvCommand.Sub ctx, Output out, String name) {
        CatalogResolver.Resolved r = ctx.catalog(out);
        Optional<Environment> found = r.catalog().find(name);
        if (found.isPresent()) {
            return environment(ctx, out, r, found.get());
        }
        return image(ctx, out, name);
    }

    private static Target environment(EnvCommand.Sub ctx, Output out, CatalogResolver.Resolved r, Environment e) {
        if (e.kind() != Environment.Kind.CONTAINER) {
            throw new DavitException(Kind.USAGE, "environment " + e.name() + " is a "
                    + e.kind().name().toLowerCase(java.util.Locale.ROOT) + "; only container environments can run"
                    + " so far (the vm backend is not implemented yet)");
        }
        if (!DavitVersions.accepts(e.davitVersions(), Main.version())) {
            throw new DavitException(Kind.USAGE, "environment " + e.name() + " " + e.version() + " needs davit "
                    + e.davitVersions() + ", this is davit " + Main.version());
        }
        out.notice("==> environment " + e.name() + " " + e.version());
        Installer.InstallResult res = ctx.installer().install(r.catalog(), e);
        Path rootfs = res.path().resolve("rootfs");
        if (!Files.isDirectory(rootfs)) {
            throw new DavitException(Kind.STORE, "the install of " + e.name() + " has no rootfs/ directory; run"
                    + " 'davit env pull " + e.name() + "' to repair it");
        }
        ImageConfig image = ImageConfig.EMPTY;
        String ref = ctx.registryReference(e);
        if (ref != null && ctx.client().find(ref).isPresent()) {
            image = ImageConfig.fromJson(config(ctx, ref).config());
        }
        return new Target(e.name(), res.sourceDigest(), rootfs, image);
    }

    /** A manifest for this host and its config document. */
    record Resolved(Descriptor manifest, JsonNode config) {
    }

    private static Target image(EnvCommand.Sub ctx, Output out, String reference) {
        Reference ref = Reference.parse(reference);
        if (ctx.client().find(reference).isEmpty()) {
            out.notice("==> pulling " + ref);
            try (ProgressRenderer progress = out.progress()) {
                ctx.client().pull(reference, PlatformSelector.host(), progress);
            }
        }
        Resolved m = config(ctx, reference);
        String key = m.manifest().digest().toString().replace(':', '-');
        Path cache = ctx.home().resolve("rootfs");
        Path dir = cache.resolve(key);
        if (!Files.isDirectory(dir)) {
            out.notice("==> unpacking " + ref + " into " + dir);
            Path partial = cache.resolve(".partial-" + UUID.randomUUID());
            try {
                Files.createDirectories(cache);
                ctx.client().unpack(reference, partial, PlatformSelector.host(), UnpackOptions.defaults());
                try {
                    Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
                    // another davit unpacked the same image first; use that one
                }
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot unpack into " + cache + ": " + e.getMessage());
            } finally {
                try {
                    dev.davit.oci.store.Fs.deleteTree(partial);
                } catch (IOException e) {
                    out.warn("could not delete " + partial + ": " + e.getMessage());
                }
            }
        }
        return new Target(ref.toString(), m.manifest().digest().toString(), dir, ImageConfig.fromJson(m.config()));
    }

    /** The store entry's manifest for this host (an index is resolved) and its config. */
    private static Resolved config(EnvCommand.Sub ctx, String reference) {
        var store = ctx.client().store();
        StoreEntry entry = ctx.client().find(reference).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                reference + " is not in the store"));
        Descriptor d = entry.descriptor();
        Manifest m = store.readManifest(d);
        if (m instanceof ImageIndex idx) {
            d = PlatformSelector.host().select(idx, reference).get(0);
            m = store.readManifest(d);
        }
        if (!(m instanceof ImageManifest im)) {
            throw new DavitException(Kind.USAGE, Text.printable(reference) + " is not an image");
        }
        JsonNode config = null;
        try {
            config = Json.read(store.readBlob(im.config().digest(), MAX_CONFIG_BYTES));
        } catch (IOException | RuntimeException e) {
            // no usable config: run without image defaults
        }
        return new Resolved(d, config);
    }
}
