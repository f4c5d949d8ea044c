package dev.davit.sandbox.build;

import dev.davit.oci.build.Compression;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.build.LayerWriter;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.containerfile.Words;
import dev.davit.oci.internal.Text;
import dev.davit.oci.store.BlobIngest;
import dev.davit.oci.store.OciStore;
import dev.davit.sandbox.Changes;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ExecSpec;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.Sandbox;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stage's {@code RUN} step: its command in a davit sandbox over the stage's root filesystem (the jail, the build's
 * network, the default limits), its {@code --mount}s made ready, its layer the sandbox's changes, or the build cache's
 * when the same step was built before.
 */
final class RunStep {
    private static final Duration STEP_TIMEOUT = Duration.ofHours(1);

    /** The stage the step is of: its state, its errors, its images. */
    private final BuildStage bs;
    private final SourceFiles files;
    private final ImagePaths paths;

    RunStep(BuildStage bs, SourceFiles files, ImagePaths paths) {
        this.bs = bs;
        this.files = files;
        this.paths = paths;
    }

    String run(Instruction.Run r, String next, List<String> temps) throws IOException {
        List<String> argv = new ArrayList<>();
        if (!r.heredocs().isEmpty()) {
            // the shell reads the command line and its here-documents as written (RUN python3 <<EOF runs
            // python3 with the document as its input; a quoted delimiter keeps $ as it is)
            // and RUN <<EOF alone runs the document itself as the script
            boolean alone = r.command().shell().replaceAll("<<-?([\"']?)[A-Za-z_][A-Za-z0-9_]*\\1", "").isBlank();
            StringBuilder script = new StringBuilder(alone ? "" : r.command().shell() + "\n");
            for (Instruction.Heredoc h : r.heredocs()) {
                script.append(h.content()).append(alone ? "" : h.name() + "\n");
            }
            argv.addAll(bs.shell);
            argv.add(script.toString());
        } else {
            argv.addAll(bs.command(r.command()));
        }
        if (bs.current == null) {
            throw bs.error(r, "RUN in a stage FROM scratch has no program to run; COPY one in first, or start FROM"
                    + " an image");
        }
        Map<String, String> runEnv = new LinkedHashMap<>();
        bs.args.forEach((k, v) -> {
            if (v != null) {
                runEnv.put(k, v);
            }
        });
        runEnv.putAll(bs.env);
        // as Docker's builders give it: the user's home in /etc/passwd, when no ENV gives one (looked up on a
        // miss: the key has the layers and the user it follows from)
        boolean homeFromPasswd = !runEnv.containsKey("HOME");
        Network network = "none".equals(r.network()) ? Network.NONE : bs.options.network();
        // its mounts made ready: what a bind copies is in the key, a secret never (a usage error of a mount is
        // given this step's line where every step's is)
        StepMounts made = r.mounts().isEmpty() ? null : StepMounts.open(r, bs.workdir, bs.home,
                bs.options.secrets(), bs.client.store().tempDir(), new StepMounts.Sources() {
                    @Override
                    public String expand(String word) {
                        return Words.one(word, bs.file.escape(), bs::lookup);
                    }

                    @Override
                    public String inImage(String absolute) {
                        return paths.resolvedInImage(absolute, r);
                    }

                    @Override
                    public void copy(String from, String source, Path to) throws IOException {
                        files.mountCopy(from, source, to, r);
                    }
                });
        try (StepMounts mounts = made) {
            return run(r, next, temps, argv, runEnv, homeFromPasswd, network, mounts);
        }
    }

    private String run(Instruction.Run r, String next, List<String> temps, List<String> argv,
                       Map<String, String> runEnv, boolean homeFromPasswd, Network network, StepMounts mounts)
            throws IOException {
        // what the layer depends on: the layers it runs over and everything the command sees
        // the build time too: the layer's times are clamped to it
        List<String> key = new ArrayList<>(List.of("RUN", "net=" + network, "wd=" + bs.workdir, "user=" + bs.user,
                "created=" + bs.created));
        key.add("layers=" + bs.layersOf(bs.current));
        key.add("argv=" + argv.size());
        key.addAll(argv);
        runEnv.forEach((k, v) -> key.add("env=" + k + "=" + v));
        if (mounts != null) {
            key.addAll(mounts.key());
        }
        String cacheKey = BuildCache.key(key);
        if (!bs.options.noCache()) {
            java.util.Optional<LayerBuilder.Layer> hit = bs.cache.find(cacheKey);
            if (hit.isPresent()) {
                bs.image(hit.get(), next, BuildStage.history(r));
                temps.add(next);
                bs.cachedStep = true;
                return next;
            }
        }
        // a miss: the caches locked, the secrets read, only now
        List<dev.davit.sandbox.Mount> stepMounts = mounts == null ? List.of() : mounts.materialize();
        RunTarget t = bs.builder.unpacked(bs.current, bs.lowest);
        bs.lowest = bs.current;
        if (homeFromPasswd) {
            runEnv.put("HOME", dev.davit.sandbox.backend.Users.home(t.rootfs(), bs.user));
        }
        ImageConfig image = new ImageConfig(List.of(), List.of(), List.of(), bs.workdir, bs.user);
        // what the step writes to /tmp, /run and /var/tmp is in its layer, and what the image has there is seen
        Sandbox s = bs.sandboxes.create(CreateSpec.builder(t.rootfs()).image(image).network(network)
                .scratchInLayer(true).mounts(stepMounts)
                .limits(Limits.unenforceable() == null ? Limits.DEFAULT : Limits.DEFAULT.enforceableHere())
                .ttl(STEP_TIMEOUT.plusMinutes(5)).build());
        try {
            bs.sandboxes.start(s.id());
            ExecResult res = bs.sandboxes.exec(s.id(), List.of("/bin/sh", "-c", "mkdir -p \"$0\"", bs.workdir),
                    Map.of(), "/", Duration.ofSeconds(30));
            if (res.exitCode() != 0) {
                throw bs.error(r, "cannot make the working directory " + bs.workdir + ": "
                        + Text.shorten(res.stderrText().strip(), 200));
            }
            // what the egress policy refuses is said as it happens, and named when the step fails
            StepDenials denials = network.egress() == null ? null : StepDenials.start(bs.sandboxes, s.id(), bs.say);
            RuntimeException failed = null;
            try {
                ExecSpec.Builder spec = ExecSpec.builder(mounts == null ? argv : mounts.wrap(argv)).env(runEnv)
                        .workdir(bs.workdir).timeout(STEP_TIMEOUT);
                if (denials != null) {
                    spec.tees(denials.output(), denials.output());
                }
                res = bs.sandboxes.exec(s.id(), spec.build());
            } catch (RuntimeException e) {
                failed = e; // the sandbox stopped under it, maybe by the watch below
            } finally {
                if (denials != null) {
                    denials.close();
                    bs.stepDenials = denials.all();
                }
            }
            if (denials != null && denials.stopped() != null && (failed != null || res.exitCode() != 0)) {
                throw bs.error(r, "RUN stopped: the build's egress policy refused " + denials.stopped() + " (the"
                        + " command kept retrying what it may not reach); allow that host in the build's network,"
                        + " or fetch it another way");
            }
            if (failed != null) {
                throw failed;
            }
            if (res.exitCode() != 0) {
                String tail = Text.printable((res.stdoutText() + res.stderrText()).strip());
                tail = tail.length() > 300 ? "..." + tail.substring(tail.length() - 300) : tail;
                throw bs.error(r, "RUN exited with " + res.exitCode() + (bs.stepDenials.isEmpty() ? ""
                        : " after the build's egress policy refused what it asked for: " + denials.named())
                        + (tail.isEmpty() ? "" : ": " + tail));
            }
            // what it printed, line by line (each printable; the last 40 lines)
            List<String> lines = (res.stdoutText() + res.stderrText()).lines().map(l -> l.contains("\r")
                    ? l.substring(l.lastIndexOf('\r') + 1) : l).filter(l -> !l.isBlank()).toList();
            if (lines.size() > 40) {
                bs.say.accept("... (" + (lines.size() - 40) + " lines before)");
                lines = lines.subList(lines.size() - 40, lines.size());
            }
            lines.forEach(l -> bs.say.accept(Text.shorten(Text.printable(l), 300)));
            LayerBuilder.Layer layer = layer(s);
            if (!bs.options.noCache()) {
                bs.cache.put(cacheKey, layer, bs.file.name() + ":" + r.line() + " RUN" + BuildStage.describe(r));
            }
            bs.image(layer, next, BuildStage.history(r));
            temps.add(next);
            return next;
        } finally {
            try {
                bs.sandboxes.rm(s.id());
            } catch (RuntimeException ignored) {
                // its ttl lets a reap remove it; what it may still change is not deleted meanwhile
                if (mounts != null) {
                    mounts.keepCopies();
                }
            }
        }
    }

    /** The sandbox's changes as a layer in the store. */
    private LayerBuilder.Layer layer(Sandbox s) throws IOException {
        OciStore store = bs.client.store();
        Path tmp = Files.createTempFile(store.tempDir(), "step-", ".tmp");
        try {
            LayerBuilder.Layer layer;
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
                 LayerWriter w = new LayerWriter(out, Compression.GZIP, -1).clampTimes(bs.created)) {
                // with a build time (SOURCE_DATE_EPOCH, --created) what the step wrote now has that time
                bs.leftOut("RUN", dev.davit.sandbox.backend.Machinery.of(bs.sandboxes).lifecycle().changes(s.id(), w, Changes.Rewrite.NONE).skipped());
                layer = w.finish();
            }
            if (!store.hasBlob(layer.descriptor().digest())) {
                try (BlobIngest in = store.ingest(layer.descriptor()); InputStream src = Files.newInputStream(tmp)) {
                    if (!in.present()) {
                        in.restart();
                        in.writeAll(src);
                        in.commit();
                    }
                }
            }
            return layer;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
