package dev.davit.sandbox.build;

import static dev.davit.sandbox.build.ContainerfileBuilder.CREATED_BY;
import dev.davit.sandbox.target.RunTargets;
import static dev.davit.sandbox.build.ContainerfileBuilder.DEFAULT_PATH;
import static dev.davit.sandbox.build.ContainerfileBuilder.LAYER_INDEXES;
import static dev.davit.sandbox.build.ContainerfileBuilder.redacted;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.BuildPlan;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.containerfile.IgnoreRules;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.containerfile.Words;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.unpack.LayerIndex;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.build.ContainerfileBuilder.Options;
import dev.davit.sandbox.build.ContainerfileBuilder.Step;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One stage's build, instruction by instruction: its base ({@code FROM}, pulled when missing, and the base image's
 * {@code ONBUILD} triggers), the instructions that change the config ({@code ENV}, {@code ARG}, {@code WORKDIR},
 * {@code USER}, ...), and each step's image and history entry. A {@code RUN} is {@link RunStep}'s, a {@code COPY} or
 * {@code ADD} {@link CopyStep}'s; they read and change the state this holds (the config so far, the current image and
 * its tree).
 */
final class BuildStage {
    final Containerfile file;
    private final BuildPlan.Stage stage;
    private final Map<String, String> buildArgs;
    final Instant created;
    final Options options;
    boolean cachedStep;
    /** What the egress policy refused the step going on. */
    List<dev.davit.sandbox.EgressDenial> stepDenials = List.of();
    private final List<Step> steps;
    private final int total;
    final Path context;
    private final Map<Integer, String> built;
    private final Map<Integer, ImageTree> trees;
    /** The current image's files, looked up without unpacking it. */
    ImageTree tree;
    /** The last image of the stage that was unpacked, whose tree the next one starts from; null: none. */
    String lowest;
    final Map<Integer, String> lowers;
    final IgnoreRules ignore;
    final Map<String, String> env = new LinkedHashMap<>();
    final Map<String, String> args = new LinkedHashMap<>();
    private final Map<String, String> labels = new LinkedHashMap<>();
    private final List<String> ports = new ArrayList<>();
    private final java.util.Set<String> volumes = new java.util.LinkedHashSet<>();
    private String stopSignal;
    private BuildOptions.Healthcheck healthcheck;
    /** The stage's own ONBUILD triggers: a base's are never inherited (Docker's rule). */
    private final List<String> onBuild = new ArrayList<>();
    List<String> shell = List.of("/bin/sh", "-c");
    private List<String> cmd;
    private boolean cmdHere;
    private List<String> entrypoint;
    String workdir;
    private boolean workdirSet;
    String user;
    String current;
    private final BuildPlan plan;
    /** The special files (fifos, sockets, devices) the COPY going on found in a directory it copies. */
    final List<String> specialsLeftOut = new ArrayList<>();
    /** The builder whose build this stage is of: it unpacks the images. */
    final ContainerfileBuilder builder;
    final DavitClient client;
    final Sandboxes sandboxes;
    final Path home;
    final Consumer<String> say;
    final BuildCache cache;
    /** The steps a build runs besides its file's instructions: its bases' ONBUILD triggers (the builder's count). */
    private final java.util.concurrent.atomic.AtomicInteger extraSteps;
    /** The most ONBUILD triggers a base image may have. */
    private static final int MAX_TRIGGERS = 1000;
    /** The RUN steps. */
    private final RunStep runs;
    /** The COPY and ADD steps. */
    private final CopyStep copies;

    BuildStage(ContainerfileBuilder builder, Containerfile file, BuildPlan.Stage stage, BuildPlan plan,
               Options options, List<Step> steps, int total, Path context, Map<Integer, String> built,
               Map<Integer, ImageTree> trees, Map<Integer, String> lowers, IgnoreRules ignore) {
        this.builder = builder;
        this.client = builder.client;
        this.sandboxes = builder.sandboxes;
        this.home = builder.home;
        this.say = builder.say;
        this.cache = builder.cache;
        this.extraSteps = builder.extraSteps;
        this.trees = trees;
        this.lowers = lowers;
        this.ignore = ignore;
        this.file = file;
        this.stage = stage;
        this.plan = plan;
        this.options = options;
        this.buildArgs = options.args();
        this.created = options.created();
        this.steps = steps;
        this.total = total;
        this.context = context;
        this.built = built;
        SourceFiles files = new SourceFiles(this);
        ImagePaths paths = new ImagePaths(this);
        this.copies = new CopyStep(this, files, new AddSources(this, files), paths);
        this.runs = new RunStep(this, files, paths);
    }

    String lookup(String key) {
        return env.containsKey(key) ? env.get(key) : args.get(key);
    }

    DavitException error(Instruction i, String what) {
        return new DavitException(Kind.USAGE, file.name() + ":" + i.line() + ": " + what.replace('\n', ' '));
    }

    BuildResult run(String tag, List<String> temps, String as) throws IOException {
        long t0 = System.nanoTime();
        say.accept("STEP " + (steps.size() + 1) + "/" + total + ": FROM " + stage.from().image()
                + (stage.name() == null ? "" : " AS " + stage.name()));
        current = base(tag, temps);
        // an image's root filesystem is unpacked once, for the RUN steps and the lookups of the others; a stage's
        // own is the tree it ended with
        tree = stage.baseStage() >= 0 ? trees.get(stage.baseStage()) : current == null ? ImageTree.of(null)
                : ImageTree.of(builder.unpacked(current).rootfs());
        lowest = stage.baseStage() >= 0 ? lowers.get(stage.baseStage()) : current;
        dev.davit.oci.manifest.ImageConfiguration baseConfig = current == null ? null : RunTargets.config(client,
                current);
        ImageConfig base = dev.davit.sandbox.target.RunTargets.imageConfig(baseConfig);
        // a base's ONBUILD triggers run first, as instructions of this stage (Docker's rule), and are not kept
        List<Instruction> triggers = new ArrayList<>();
        if (baseConfig != null) {
            com.fasterxml.jackson.databind.JsonNode on = dev.davit.oci.internal.Json.read(baseConfig.json()
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8)).path("config").path("OnBuild");
            if (on.size() > MAX_TRIGGERS) {
                throw error(stage.from(), "the base image " + Text.shorten(stage.base(), 80) + " has "
                        + on.size() + " ONBUILD triggers, more than " + MAX_TRIGGERS + "; build FROM another image");
            }
            for (com.fasterxml.jackson.databind.JsonNode t : on.isArray() ? on : List.<com.fasterxml.jackson
                    .databind.JsonNode>of()) {
                // an earlier stage's are this file's own; an image's are its author's, read as Docker reads
                // them (the default escape) and kept from the build's secrets, caches and other stages
                boolean own = stage.baseStage() >= 0;
                Instruction trigger = Containerfile.trigger(file.name(), stage.from().line(), t.asText(), own
                        ? file.escape() : '\\');
                if (!own) {
                    refuseForeign(trigger, t.asText());
                }
                triggers.add(trigger);
            }
            extraSteps.addAndGet(triggers.size());
        }
        for (String kv : base.env()) {
            int eq = kv.indexOf('=');
            env.put(eq < 0 ? kv : kv.substring(0, eq), eq < 0 ? "" : kv.substring(eq + 1));
        }
        workdirSet = base.workingDir() != null && !base.workingDir().isEmpty();
        workdir = workdirSet ? base.workingDir() : "/";
        if (current == null) {
            env.put("PATH", DEFAULT_PATH); // as Docker's builders give a stage FROM scratch
        }
        user = base.user();
        steps.add(new Step(stage.from().line(), "FROM", (System.nanoTime() - t0) / 1_000_000, false));
        int n = 0;
        List<Instruction> all = new ArrayList<>(triggers);
        all.addAll(stage.instructions());
        for (int k = 0; k < all.size(); k++) {
            Instruction i = all.get(k);
            boolean trigger = k < triggers.size();
            long s0 = System.nanoTime();
            say.accept("STEP " + (steps.size() + 1) + "/" + (total + extraSteps.get()) + ": "
                    + (trigger ? "ONBUILD " : "") + i.keyword() + describe(i) + " (line " + i.line()
                    + (trigger ? ", the base image's trigger" : "") + ")");
            cachedStep = false;
            stepDenials = List.of();
            String next;
            try {
                next = step(i, tag + "s" + stage.index() + "-" + (++n), temps);
            } catch (DavitException e) {
                if (trigger && e.getMessage().startsWith(file.name() + ":") && e.kind() == Kind.USAGE) {
                    // said as the base image's trigger's, not as the FROM line's own
                    throw error(i, "the base image's ONBUILD trigger " + i.keyword() + describe(i) + ": "
                            + e.getMessage().substring(e.getMessage().indexOf(": ") + 2));
                }
                if (e.getMessage().startsWith(file.name() + ":") || e.kind() != Kind.USAGE
                        && e.kind() != Kind.VERIFICATION) {
                    throw e;
                }
                throw error(i, (trigger ? "the base image's ONBUILD trigger " + i.keyword() + describe(i) + ": "
                        : "") + e.getMessage());
            } catch (java.nio.file.FileSystemException e) {
                throw error(i, i.keyword() + " failed: cannot use " + Text.printable(String.valueOf(e.getFile()))
                        + " (" + (e.getReason() != null ? Text.printable(e.getReason()) : e.getClass()
                        .getSimpleName()) + ")");
            } catch (IOException | RuntimeException e) {
                throw error(i, i.keyword() + " failed: " + Text.printable(String.valueOf(e.getMessage())));
            }
            if (next != null) {
                current = next;
            }
            long ms = (System.nanoTime() - s0) / 1_000_000;
            steps.add(new Step(i.line(), i.keyword(), ms, cachedStep, stepDenials));
            if (i instanceof Instruction.Run) {
                say.accept(cachedStep ? "--> CACHED" : String.format(java.util.Locale.ROOT, "--> %.1f s",
                        ms / 1000.0));
            }
        }
        // the config's last changes, named as the build's result or for the stages that follow
        return image(null, as, "(end of stage " + stage.label() + ")");
    }

    /**
     * Refuses what a base image's trigger may not do in this build: read another stage or image ({@code --from}),
     * or the build's secrets and caches (a hostile base would bake the user's secret into the image, or leave a
     * poisoned cache for the next build).
     */
    private void refuseForeign(Instruction trigger, String text) {
        String why = switch (trigger) {
            case Instruction.Copy c when c.from() != null -> "copies from another stage or image";
            case Instruction.Run r when r.mounts().stream().anyMatch(m -> m.type().equals("secret")
                    || m.type().equals("cache") || m.options().containsKey("from")) ->
                    "mounts the build's secrets, caches or another stage";
            default -> null;
        };
        if (why != null) {
            throw error(stage.from(), "the base image's ONBUILD trigger '" + Text.shorten(Text.printable(text), 60)
                    + "' " + why + ", which a base image's trigger may not; build FROM an image without it");
        }
    }

    /** What a step line shows of {@code i}: a RUN's command or a COPY's sources, short and printable. */
    static String describe(Instruction i) {
        String what = switch (i) {
            case Instruction.Run r -> r.command().exec() ? String.join(" ", r.command().args())
                    : r.command().shell();
            // a URL without its user, password, query or fragment (a signed URL's token stays out of the log)
            case Instruction.Copy c -> String.join(" ", c.sources().stream().map(src -> c.add() ? redacted(src)
                    : src).toList()) + " "
                    + c.dest();
            default -> "";
        };
        what = Text.printable(what.replaceAll("\\s+", " ").strip());
        return what.isEmpty() ? "" : " " + Text.shorten(what, 60);
    }

    /**
     * What the history entry of {@code i}'s layer says it was made by: the instruction as the Containerfile
     * writes it (its words unexpanded, so no build argument's value is recorded; a URL without its user,
     * password, query or fragment; a RUN's here-documents with it), as Docker's builders record it; at most
     * 64 KiB. Two steps that made the same files from different instructions make different images.
     */
    static String history(Instruction i) {
        StringBuilder b = new StringBuilder(i.keyword());
        switch (i) {
            case Instruction.Run r -> {
                flags(b, "network", r.network());
                for (Instruction.RunMount m : r.mounts()) {
                    b.append(" --mount=").append(m.text());
                }
                b.append(' ').append(r.command().exec() ? r.command().args().stream().map(a -> '"'
                        + a.replace("\\", "\\\\").replace("\"", "\\\"") + '"').collect(
                        java.util.stream.Collectors.joining(", ", "[", "]")) : r.command().shell());
                for (Instruction.Heredoc h : r.heredocs()) {
                    b.append('\n').append(h.content()).append(h.name());
                }
            }
            case Instruction.Copy c -> {
                flags(b, "from", c.from(), "chown", c.chown(), "chmod", c.chmod(), "checksum", c.checksum());
                for (String e : c.excludes()) {
                    b.append(" --exclude=").append(e);
                }
                if (c.parents()) {
                    b.append(" --parents");
                }
                for (String src : c.sources()) {
                    b.append(' ').append(c.add() ? redacted(src) : src);
                }
                b.append(' ').append(c.dest());
            }
            case Instruction.Single s -> b.append(' ').append(s.value());
            default -> { }
        }
        return b.length() > 65536 ? b.substring(0, 65536) + "..." : b.toString();
    }

    /** Appends each Containerfile flag of {@code namesAndValues} that has a value, as it is written. */
    private static void flags(StringBuilder b, String... namesAndValues) {
        for (int k = 0; k < namesAndValues.length; k += 2) {
            if (namesAndValues[k + 1] != null) {
                b.append(" --").append(namesAndValues[k]).append('=').append(namesAndValues[k + 1]);
            }
        }
    }

    /** The stage's base, named in the store (pulled when missing); null for scratch. */
    private String base(String tag, List<String> temps) {
        if (stage.baseStage() >= 0) {
            return built.get(stage.baseStage());
        }
        if (stage.base().equals("scratch")) {
            return null; // an empty root filesystem and this platform's empty config
        }
        String ref = stage.base();
        String platform = stage.from().platform();
        if (platform != null && !dev.davit.oci.manifest.Platform.host().accepts(dev.davit.oci.manifest.Platform
                .parse(Words.one(platform, file.escape(), plan.globals()::get)))) {
            throw error(stage.from(), "FROM's platform " + Text.shorten(platform, 40) + " is not this host's;"
                    + " davit builds for the host's platform only");
        }
        if (client.find(ref).isEmpty()) {
            say.accept("pulling " + ref);
            client.pull(ref, PlatformSelector.host(), ProgressListener.NONE);
        }
        return ref;
    }

    /** Applies instruction {@code i}; the new image's name when it made one. */
    private String step(Instruction i, String next, List<String> temps) throws IOException {
        switch (i) {
            case Instruction.Pairs p when p.keyword().equals("ENV") -> {
                // every pair sees the values from before the line, as Docker's ENV a=x b=$a
                Map<String, String> before = new LinkedHashMap<>(env);
                java.util.function.Function<String, String> was = k -> before.containsKey(k) ? before.get(k)
                        : args.get(k);
                for (Map.Entry<String, String> e : p.pairs()) {
                    env.put(e.getKey(), Words.one(e.getValue(), file.escape(), was));
                }
            }
            case Instruction.Pairs p -> {
                for (Map.Entry<String, String> e : p.pairs()) {
                    labels.put(e.getKey(), Words.one(e.getValue(), file.escape(), this::lookup));
                }
            }
            case Instruction.Arg a -> {
                for (Map.Entry<String, String> e : a.args()) {
                    String value = buildArgs.containsKey(e.getKey()) ? buildArgs.get(e.getKey())
                            : e.getValue() != null ? Words.one(e.getValue(), file.escape(), this::lookup)
                            : plan.globals().get(e.getKey());
                    args.put(e.getKey(), value); // null: declared, unset
                }
            }
            case Instruction.Single s when s.keyword().equals("WORKDIR") -> {
                String dir = Words.one(s.value(), file.escape(), this::lookup);
                workdir = Path.of("/").resolve(dir.startsWith("/") ? dir : workdir + "/" + dir).normalize()
                        .toString();
                workdirSet = true;
                return workdirLayer(s, next, temps);
            }
            case Instruction.Single s when s.keyword().equals("USER") -> user = Words.one(s.value(),
                    file.escape(), this::lookup);
            case Instruction.Single s when s.keyword().equals("STOPSIGNAL") -> stopSignal = Words.one(s.value(),
                    file.escape(), this::lookup);
            case Instruction.Values v when v.keyword().equals("VOLUME") -> {
                for (String w : v.values()) {
                    String path = Words.one(w, file.escape(), this::lookup);
                    if (path.isEmpty()) {
                        throw error(v, "VOLUME takes a path, not an empty word");
                    }
                    volumes.add(path);
                }
            }
            case Instruction.Values v when v.keyword().equals("EXPOSE") -> {
                for (String w : v.values()) {
                    ports.add(Words.one(w, file.escape(), this::lookup));
                }
            }
            case Instruction.Shell s -> shell = s.shell();
            case Instruction.Healthcheck h -> healthcheck = new BuildOptions.Healthcheck(h.test(), h.interval(),
                    h.timeout(), h.startPeriod(), h.startInterval(), h.retries());
            case Instruction.OnBuild o -> onBuild.add(o.trigger());
            case Instruction.Exec e when e.keyword().equals("CMD") -> {
                cmd = command(e.command());
                cmdHere = true;
            }
            case Instruction.Exec e -> {
                entrypoint = command(e.command());
                if (!cmdHere) {
                    cmd = List.of(); // as Docker does: an ENTRYPOINT resets the CMD this stage did not set
                }
            }
            case Instruction.Run r -> {
                return runs.run(r, next, temps);
            }
            case Instruction.Copy c -> {
                return copies.copy(c, next, temps);
            }
            default -> throw error(i, i.keyword() + " is not built by davit yet");
        }
        return null;
    }

    /** A layer making the working directory (0755, root's) when the image lacks it, as Docker makes it; else null. */
    private String workdirLayer(Instruction i, String next, List<String> temps) throws IOException {
        String path = "";
        for (String part : workdir.substring(1).split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            path = path.isEmpty() ? part : path + "/" + part;
            ImageTree.Node n = tree.stat(path);
            if (n != null && n.symlink()) {
                return null; // through the image's link: its own, never looked at on the host
            }
            if (n == null) {
                Path stage = Files.createTempDirectory(client.store().tempDir(), "workdir-");
                try {
                    Path made = Files.createDirectories(stage.resolve(workdir.substring(1)));
                    // what it makes is the stage's USER's, as Docker's builders make it (USER app, WORKDIR /app,
                    // RUN npm install)
                    Map<String, BuildOptions.Owner> owners = new HashMap<>();
                    int[] ids = user == null || user.isEmpty() ? null
                            : dev.davit.sandbox.backend.Users.resolve(tree::lines, user);
                    if (ids != null) {
                        Path first = stage.resolve(path);
                        for (Path d = made; d.startsWith(first); d = d.getParent()) {
                            owners.put(stage.relativize(d).toString(), new BuildOptions.Owner(ids[0], ids[1]));
                        }
                    }
                    LayerBuilder.Layer layer = new LayerBuilder(BuildOptions.builder().owners(owners).build())
                            .build(stage, client.store(), ProgressListener.NONE);
                    image(layer, next, history(i));
                    temps.add(next);
                    return next;
                } finally {
                    dev.davit.oci.internal.Fs.deleteTree(stage);
                }
            }
        }
        return null;
    }

    /** The digests of image {@code ref}'s layers, in order; empty for none (scratch). */
    String layersOf(String ref) {
        if (ref == null) {
            return "";
        }
        Descriptor d = client.store().entry(ref).orElseThrow().descriptor();
        StringBuilder b = new StringBuilder();
        if (client.store().readManifest(d) instanceof dev.davit.oci.manifest.ImageManifest m) {
            m.layers().forEach(l -> b.append(l.digest()).append(' '));
        } else {
            b.append(d.digest()); // an index: its digest stands for what this platform's image has
        }
        return b.toString();
    }

    List<String> command(Instruction.Command c) {
        if (c.exec()) {
            return c.args();
        }
        List<String> a = new ArrayList<>(shell);
        a.add(c.shell());
        return a;
    }

    /** The image of the current one with {@code layer} (null: none) and the config so far, named {@code as}. */
    BuildResult image(LayerBuilder.Layer layer, String as, String createdBy) {
        BuildOptions.Builder b = BuildOptions.builder().workdir(workdirSet ? workdir : null).created(created);
        env.forEach(b::env);
        labels.forEach(b::label);
        ports.forEach(b::exposedPort);
        volumes.forEach(b::volume);
        b.stopSignal(stopSignal);
        b.healthcheck(healthcheck);
        b.onBuild(onBuild);
        if (user != null && !user.isEmpty()) {
            b.user(user);
        }
        if (entrypoint != null) {
            b.entrypoint(entrypoint);
        }
        if (cmd != null) {
            b.cmd(cmd);
        }
        Descriptor d = current == null ? null : client.store().entry(current).orElseThrow().descriptor();
        // the base the annotations name: what the stage started from, never a name of the build's own
        BuildResult r = new ImageBuilder(client.store()).image(d, Reference.parse(stage.base()), layer,
                Reference.parse(as), b.build(), Map.of(), CREATED_BY + createdBy);
        current = as;
        if (layer != null) {
            Descriptor made = layer.descriptor();
            tree = tree.with(() -> LayerIndex.of(client.store(), made, home.resolve(LAYER_INDEXES)));
        }
        return r;
    }

    /** The index of the stage built before that {@code from} names (its name or index), or null: an image. */
    Integer stageIndex(String from) {
        Integer idx = null;
        for (BuildPlan.Stage s : plan.stages()) {
            if ((from.equalsIgnoreCase(s.name() == null ? "" : s.name())
                    || from.equals(Integer.toString(s.index()))) && built.containsKey(s.index())) {
                idx = s.index();
            }
        }
        return idx;
    }

    /** The image of stage {@code idx}, or (null) image {@code image}, pulled when missing and held to the policy. */
    String fromRef(Integer idx, String image) {
        String ref = idx != null ? built.get(idx) : image;
        if (idx == null && client.find(ref).isEmpty()) {
            client.pull(ref, PlatformSelector.host(), ProgressListener.NONE);
        } else if (idx == null) {
            // held to the signature policy as its unpack would hold it, hit or miss
            client.signatures().checkTrust(ref);
        }
        return ref;
    }

    /**
     * Says which special files (fifos, sockets, device nodes) a step left out of its layer, as a notice of the
     * build's output: never silently (at most 10 named, then how many more).
     */
    void leftOut(String step, List<String> paths) {
        if (paths.isEmpty()) {
            return;
        }
        List<String> shown = paths.stream().limit(10).map(p -> Text.shorten(Text.printable(p), 120)).toList();
        say.accept(step + " left out " + paths.size() + (paths.size() == 1 ? " special file" : " special files")
                + " (a fifo, socket or device node is never stored in a layer): " + String.join(", ", shown)
                + (paths.size() > shown.size() ? " and " + (paths.size() - shown.size()) + " more" : ""));
    }
}
