package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.Compression;
import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.build.LayerWriter;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.BuildPlan;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.containerfile.IgnoreRules;
import dev.davit.oci.containerfile.SourceGlob;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.containerfile.Words;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.BlobIngest;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.unpack.LayerIndex;
import dev.davit.sandbox.Changes;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ExecSpec;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.network.UrlFetch;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds a Containerfile into an image of the store, daemonless: each {@code RUN} in a davit sandbox over the stage's
 * root filesystem (the jail, no network, the default limits), its layer the sandbox's changes
 * ({@link Sandboxes#changes}); each {@code COPY} a layer of the files it copies (from the build context, or an earlier
 * stage's root filesystem, links never followed); the other instructions the image's config. Stages as
 * {@link BuildPlan} orders them. Not built: {@code ADD} of a git repository (a
 * one-line error naming its line).
 */
public final class ContainerfileBuilder {
    /** The {@code created_by} of a layer's history entry: the instruction follows. */
    public static final String CREATED_BY = ImageBuilder.CREATED_BY + ": ";
    private static final Duration STEP_TIMEOUT = Duration.ofHours(1);
    /** The PATH a stage FROM scratch has, as Docker's builders give it. */
    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    /** Where in the home the indexes of the layers a build looks paths up in are kept ({@link LayerIndex}). */
    static final String LAYER_INDEXES = "cache/layer-index";

    private final DavitClient client;
    private final Sandboxes sandboxes;
    private final Path home;
    private final Consumer<String> say;
    private final BuildCache cache;
    /** How many images this builder unpacked (a cached step unpacks none). */
    private final java.util.concurrent.atomic.AtomicInteger unpacks = new java.util.concurrent.atomic.AtomicInteger();
    /** The steps a build runs besides its file's instructions: its bases' ONBUILD triggers. */
    private final java.util.concurrent.atomic.AtomicInteger extraSteps = new java.util.concurrent.atomic.AtomicInteger();
    /** The most ONBUILD triggers a base image may have. */
    private static final int MAX_TRIGGERS = 1000;

    /**
     * A builder into {@code client}'s store, running steps in {@code sandboxes}.
     *
     * @param client    the client over the home's store (bases are pulled into it; the result is named there)
     * @param sandboxes the sandboxes the RUN steps run in
     * @param home      the davit home (its unpacked images' cache)
     * @param say       hears one line per step ({@code STEP 3/9: RUN ...}), or null
     */
    public ContainerfileBuilder(DavitClient client, Sandboxes sandboxes, Path home, Consumer<String> say) {
        this.client = client;
        // the operator's CA certificates are never appended to a step's sandbox: its layer would carry them into
        // the image (a build behind a TLS-intercepting proxy gives the CA with ADD or a RUN of its own)
        this.sandboxes = sandboxes.options().trustedCas().isEmpty() ? sandboxes
                : new Sandboxes(sandboxes.options().withTrustedCas(dev.davit.sandbox.TrustedCas.NONE));
        this.home = home;
        this.say = say == null ? s -> { } : say;
        this.cache = new BuildCache(client.store(), home);
    }

    /** {@return how many images this builder has unpacked: a step taken from the cache unpacks none} */
    int unpacks() {
        return unpacks.get();
    }

    /** Image {@code ref} unpacked (once per image in the home), counted. */
    private RunTarget unpacked(String ref) {
        return RunTarget.ofImage(client, home, ref, null, this::counted);
    }

    /**
     * Image {@code ref}, a build's own, unpacked over the tree of {@code lower} (an image unpacked before whose
     * layers begin it; null: none): its files linked, only the layers above read. Counted.
     */
    private RunTarget unpacked(String ref, String lower) {
        return RunTarget.ofImageOver(client, home, ref, lower, this::counted);
    }

    private void counted(String note) {
        if (note.startsWith("unpacking ")) {
            unpacks.incrementAndGet();
        }
    }

    /**
     * One step that was built.
     *
     * @param line        its line in the Containerfile
     * @param instruction its keyword
     * @param millis      how long it took
     * @param cached      whether its layer came from the build cache (no sandbox ran)
     * @param denials     what the build's egress policy refused a RUN (the newest
     *                    {@link dev.davit.sandbox.EgressDenial#MAX_IN_RESULT}); empty otherwise
     */
    public record Step(int line, String instruction, long millis, boolean cached,
                       List<dev.davit.sandbox.EgressDenial> denials) {
        /** Copies the list; null is empty. */
        public Step {
            denials = denials == null ? List.of() : List.copyOf(denials);
        }

        /**
         * A step the egress policy refused nothing.
         *
         * @param line        its line in the Containerfile
         * @param instruction its keyword
         * @param millis      how long it took
         * @param cached      whether its layer came from the build cache
         */
        public Step(int line, String instruction, long millis, boolean cached) {
            this(line, instruction, millis, cached, List.of());
        }
    }

    /**
     * How a Containerfile is built; immutable, {@link #defaults()} then the {@code with} methods.
     *
     * @param target  a stage's name or index, or null for the last
     * @param args    build arguments ({@code --build-arg})
     * @param created the image's time, or null for none (reproducible)
     * @param noCache whether every {@code RUN} runs again, the build cache neither read nor written
     * @param network the network of each {@code RUN} (a {@code RUN --network=none} has none): {@link Network#NONE}
     *                by default, an egress policy ({@link Network#policy}) to allow only what the build needs
     * @param secrets what a {@code RUN --mount=type=secret,id=ID} reads, by id ({@code --secret}): read when the
     *                step runs, never in a layer, a history entry or a cache key
     */
    public record Options(String target, Map<String, String> args, Instant created, boolean noCache,
                          Network network, Map<String, Secret> secrets) {
        /** Copies the maps; a null map is empty, a null network none. */
        public Options {
            args = args == null ? Map.of() : Map.copyOf(args);
            network = network == null ? Network.NONE : network;
            secrets = secrets == null ? Map.of() : Map.copyOf(secrets);
        }

        /**
         * Options without secrets.
         *
         * @param target  a stage's name or index, or null for the last
         * @param args    build arguments
         * @param created the image's time, or null
         * @param noCache whether the build cache is left alone
         * @param network the RUN steps' network
         */
        public Options(String target, Map<String, String> args, Instant created, boolean noCache, Network network) {
            this(target, args, created, noCache, network, Map.of());
        }

        /** {@return the last stage, no build arguments, no time, the cache used, no network, no secrets} */
        public static Options defaults() {
            return new Options(null, Map.of(), null, false, Network.NONE, Map.of());
        }

        /**
         * {@return these options with the secrets {@code byId}}
         *
         * @param byId the secrets a RUN may mount, by id
         */
        public Options withSecrets(Map<String, Secret> byId) {
            return new Options(target, args, created, noCache, network, byId);
        }

        /**
         * {@return these options building stage {@code stage}}
         *
         * @param stage a stage's name or index, or null for the last
         */
        public Options withTarget(String stage) {
            return new Options(stage, args, created, noCache, network, secrets);
        }

        /**
         * {@return these options with build arguments {@code buildArgs}}
         *
         * @param buildArgs the arguments
         */
        public Options withArgs(Map<String, String> buildArgs) {
            return new Options(target, buildArgs, created, noCache, network, secrets);
        }

        /**
         * {@return these options with the image's time {@code time}}
         *
         * @param time the time, or null for none
         */
        public Options withCreated(Instant time) {
            return new Options(target, args, time, noCache, network, secrets);
        }

        /**
         * {@return these options with the build cache used or not}
         *
         * @param off true: every RUN runs again
         */
        public Options withNoCache(boolean off) {
            return new Options(target, args, created, off, network, secrets);
        }

        /**
         * {@return these options with the RUN steps' network {@code net}}
         *
         * @param net the network
         */
        public Options withNetwork(Network net) {
            return new Options(target, args, created, noCache, net, secrets);
        }
    }

    /**
     * Where a build secret's value is read when a RUN mounts it: a file, or a variable of davit's environment. The
     * value itself is never held here (nor printed with it).
     *
     * @param file the file, or null
     * @param env  the variable's name, or null
     */
    public record Secret(Path file, String env) {
        /** Checks that exactly one is given. */
        public Secret {
            if ((file == null) == (env == null)) {
                throw new DavitException(Kind.USAGE, "a build secret comes from a file or from a variable, one of the"
                        + " two");
            }
        }

        /**
         * {@return the secret's value, read now}
         *
         * @param id its id, for the error
         * @throws DavitException USAGE when the file cannot be read or the variable is not set
         */
        byte[] read(String id) {
            if (env != null) {
                String v = System.getenv(env);
                if (v == null) {
                    throw new DavitException(Kind.USAGE, "the build secret " + Text.shorten(id, 40) + " comes from"
                            + " the variable " + Text.shorten(env, 40) + ", which is not set; set it or give the"
                            + " secret a file");
                }
                return v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }
            try {
                if (Files.size(file) > 1 << 20) {
                    throw new DavitException(Kind.USAGE, "the build secret " + Text.shorten(id, 40) + " is larger"
                            + " than 1 MiB; give a smaller file");
                }
                return Files.readAllBytes(file);
            } catch (IOException e) {
                throw new DavitException(Kind.USAGE, "cannot read the build secret " + Text.shorten(id, 40)
                        + " from " + Text.shorten(Text.printable(file.toString()), 100) + ": " + e.getClass()
                        .getSimpleName() + "; give a readable file");
            }
        }
    }

    /**
     * What a build made.
     *
     * @param image the image, named
     * @param steps the steps, in order
     */
    public record Result(BuildResult image, List<Step> steps) {
        /** Copies the list. */
        public Result {
            steps = List.copyOf(steps);
        }
    }

    /**
     * Builds {@code file} (its stage {@code target}, null: the last) with {@code context} as the build context and
     * names the result {@code reference}.
     *
     * @param file      the parsed Containerfile
     * @param context   the build context directory
     * @param target    a stage's name or index, or null
     * @param args      build arguments
     * @param reference the image's name, with a tag
     * @param created   the image's time, or null for none (reproducible)
     * @return the image and its steps
     * @throws DavitException USAGE naming the file and line of a step that failed (with its exit code and the end of
     *                        its output) or that davit does not build yet; what pulls and sandboxes throw
     */
    public Result build(Containerfile file, Path context, String target, Map<String, String> args, String reference,
                        Instant created) {
        return build(file, context, reference, Options.defaults().withTarget(target).withArgs(args)
                .withCreated(created));
    }

    /**
     * Builds {@code file} with {@code context} as the build context and names the result {@code reference}, as
     * {@code options} say. A {@code RUN} whose layers, command, variables, working directory, user and network are
     * those of one built before into this store takes its layer from the build cache ({@link Step#cached()}).
     *
     * @param file      the parsed Containerfile
     * @param context   the build context directory
     * @param reference the image's name, with a tag
     * @param options   the target, build arguments, time, cache and network
     * @return the image and its steps
     * @throws DavitException as {@link #build(Containerfile, Path, String, Map, String, Instant)}
     */
    public Result build(Containerfile file, Path context, String reference, Options options) {
        extraSteps.set(0);
        String target = options.target();
        Map<String, String> args = options.args();
        Instant created = options.created();
        Reference name = Reference.parse(reference);
        IgnoreRules ignore = ignoreRules(context);
        BuildPlan plan = BuildPlan.of(file, target, args);
        if (!plan.unusedArgs().isEmpty()) {
            say.accept("build arguments no ARG takes: " + String.join(", ", plan.unusedArgs()));
        }
        int total = plan.stages().stream().mapToInt(s -> s.instructions().size() + 1).sum();
        List<Step> steps = new ArrayList<>();
        Map<Integer, String> built = new HashMap<>();
        Map<Integer, ImageTree> trees = new HashMap<>();
        Map<Integer, String> lowers = new HashMap<>();
        List<String> temps = new ArrayList<>();
        String tag = "localhost/davit-build/" + Long.toHexString(System.nanoTime()) + ":";
        try (AutoCloseable held = client.store().session()) {
            BuildResult image = null;
            for (BuildPlan.Stage stage : plan.stages()) {
                Stage st = new Stage(file, stage, plan, options, steps, total, context, built, trees, lowers,
                        ignore);
                boolean last = stage.index() == plan.target().index();
                String as = last ? name.toString() : tag + "s" + stage.index();
                BuildResult r = st.run(tag, temps, as);
                if (!last) {
                    temps.add(as);
                }
                built.put(stage.index(), as);
                trees.put(stage.index(), st.tree);
                lowers.put(stage.index(), st.lowest);
                image = r;
            }
            return new Result(image, steps);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "the build of " + file.name() + " failed: " + e, e);
        } finally {
            java.util.Set<String> unpacked = new java.util.HashSet<>();
            for (String t : temps) {
                try {
                    client.find(t).ifPresent(e -> unpacked.add(e.descriptor().digest().toString()));
                    client.store().removeEntry(t);
                } catch (RuntimeException e) {
                    say.accept("could not remove the build's name " + t + ": " + e.getMessage());
                }
            }
            try {
                // the steps' unpacked root filesystems that nothing else names (another build's steps, the result
                // and its base are kept): each would stay in the home's cache for good
                RunTarget.prune(client, home, sandboxes::list, unpacked, Duration.ZERO);
            } catch (RuntimeException e) {
                say.accept("could not remove the build steps' unpacked images: " + e.getMessage());
            }
            LayerIndex.prune(client.store(), home.resolve(LAYER_INDEXES)); // the indexes of layers a gc freed
        }
    }

    /**
     * The rules of the context's {@code .containerignore}, else its {@code .dockerignore} (as buildah prefers them),
     * else none: a regular file of at most 1 MiB, never through a link.
     */
    private static IgnoreRules ignoreRules(Path context) {
        for (String name : List.of(".containerignore", ".dockerignore")) {
            Path f = context.resolve(name);
            if (!Files.exists(f, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            try {
                if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) || Files.size(f) > 1 << 20) {
                    throw new DavitException(Kind.USAGE, "the build context's " + name + " is not a file of at most"
                            + " 1 MiB; make it one, or remove it");
                }
                return IgnoreRules.parse(Files.readString(f));
            } catch (IllegalArgumentException e) {
                throw new DavitException(Kind.USAGE, "the build context's " + name + ": " + e.getMessage());
            } catch (IOException e) {
                throw new DavitException(Kind.USAGE, "cannot read the build context's " + name + ": "
                        + e.getMessage());
            }
        }
        return IgnoreRules.parse("");
    }

    /**
     * An ADD source as its history and the step line show it: what follows a {@code ?} or {@code #} left out, and a
     * URL's user and password, whether it is written in quotes or with variables (a signed URL's token,
     * {@code ${BASE}/f?sig=}) and wherever they are.
     */
    static String redacted(String src) {
        String u = src;
        int cut = -1;
        for (char ch : new char[] {'?', '#'}) {
            int k = u.indexOf(ch);
            cut = k >= 0 && (cut < 0 || k < cut) ? k : cut;
        }
        if (cut >= 0) {
            u = u.substring(0, cut) + "?…" + (u.endsWith("\"") || u.endsWith("'") ? u.substring(u.length() - 1)
                    : "");
        }
        int scheme = u.indexOf("://");
        if (scheme >= 0) {
            int from = scheme + 3;
            int at = u.indexOf('@', from);
            int slash = u.indexOf('/', from);
            if (at >= 0 && (slash < 0 || at < slash)) {
                u = u.substring(0, from) + u.substring(at + 1);
            }
        }
        return u;
    }

    /** One stage's build, instruction by instruction. */
    private final class Stage {
        private final Containerfile file;
        private final BuildPlan.Stage stage;
        private final Map<String, String> buildArgs;
        private final Instant created;
        private final Options options;
        /** A source that stands for the ADD's URL of its index (no path has a NUL). */
        private static final String FETCHED = "\0fetched:";
        private boolean cachedStep;
        /** What the egress policy refused the step going on. */
        private List<dev.davit.sandbox.EgressDenial> stepDenials = List.of();
        private final List<Step> steps;
        private final int total;
        private final Path context;
        private final Map<Integer, String> built;
        private final Map<Integer, ImageTree> trees;
        /** The current image's files, looked up without unpacking it. */
        private ImageTree tree;
        /** The last image of the stage that was unpacked, whose tree the next one starts from; null: none. */
        private String lowest;
        private final Map<Integer, String> lowers;
        private final IgnoreRules ignore;
        private final Map<String, String> env = new LinkedHashMap<>();
        private final Map<String, String> args = new LinkedHashMap<>();
        private final Map<String, String> labels = new LinkedHashMap<>();
        private final List<String> ports = new ArrayList<>();
        private final java.util.Set<String> volumes = new java.util.LinkedHashSet<>();
        private String stopSignal;
        private BuildOptions.Healthcheck healthcheck;
        /** The stage's own ONBUILD triggers: a base's are never inherited (Docker's rule). */
        private final List<String> onBuild = new ArrayList<>();
        private List<String> shell = List.of("/bin/sh", "-c");
        private List<String> cmd;
        private boolean cmdHere;
        private List<String> entrypoint;
        private String workdir;
        private boolean workdirSet;
        private String user;
        private String current;
        private final BuildPlan plan;
        /** The special files (fifos, sockets, devices) the COPY going on found in a directory it copies. */
        private final List<String> specialsLeftOut = new ArrayList<>();

        Stage(Containerfile file, BuildPlan.Stage stage, BuildPlan plan, Options options, List<Step> steps,
              int total, Path context, Map<Integer, String> built, Map<Integer, ImageTree> trees,
              Map<Integer, String> lowers, IgnoreRules ignore) {
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
        }

        private String lookup(String key) {
            return env.containsKey(key) ? env.get(key) : args.get(key);
        }

        private DavitException error(Instruction i, String what) {
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
                    : ImageTree.of(unpacked(current).rootfs());
            lowest = stage.baseStage() >= 0 ? lowers.get(stage.baseStage()) : current;
            dev.davit.oci.manifest.ImageConfiguration baseConfig = current == null ? null : RunTarget.config(client,
                    current);
            ImageConfig base = ImageConfig.of(baseConfig);
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
        private static String describe(Instruction i) {
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
        private static String history(Instruction i) {
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
                    return run(r, next, temps);
                }
                case Instruction.Copy c -> {
                    return copy(c, next, temps);
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
        private String layersOf(String ref) {
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

        private List<String> command(Instruction.Command c) {
            if (c.exec()) {
                return c.args();
            }
            List<String> a = new ArrayList<>(shell);
            a.add(c.shell());
            return a;
        }

        /** The image of the current one with {@code layer} (null: none) and the config so far, named {@code as}. */
        private BuildResult image(LayerBuilder.Layer layer, String as, String createdBy) {
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

        private String run(Instruction.Run r, String next, List<String> temps) throws IOException {
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
                argv.addAll(shell);
                argv.add(script.toString());
            } else {
                argv.addAll(command(r.command()));
            }
            if (current == null) {
                throw error(r, "RUN in a stage FROM scratch has no program to run; COPY one in first, or start FROM"
                        + " an image");
            }
            Map<String, String> runEnv = new LinkedHashMap<>();
            args.forEach((k, v) -> {
                if (v != null) {
                    runEnv.put(k, v);
                }
            });
            runEnv.putAll(env);
            // as Docker's builders give it: the user's home in /etc/passwd, when no ENV gives one (looked up on a
            // miss: the key has the layers and the user it follows from)
            boolean homeFromPasswd = !runEnv.containsKey("HOME");
            Network network = "none".equals(r.network()) ? Network.NONE : options.network();
            // its mounts made ready: what a bind copies is in the key, a secret never (a usage error of a mount is
            // given this step's line where every step's is)
            StepMounts made = r.mounts().isEmpty() ? null : StepMounts.open(r, workdir, home,
                    options.secrets(), client.store().tempDir(), new StepMounts.Sources() {
                        @Override
                        public String expand(String word) {
                            return Words.one(word, file.escape(), Stage.this::lookup);
                        }

                        @Override
                        public String inImage(String absolute) {
                            return resolvedInImage(absolute, r);
                        }

                        @Override
                        public void copy(String from, String source, Path to) throws IOException {
                            mountCopy(from, source, to, r);
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
            List<String> key = new ArrayList<>(List.of("RUN", "net=" + network, "wd=" + workdir, "user=" + user,
                    "created=" + created));
            key.add("layers=" + layersOf(current));
            key.add("argv=" + argv.size());
            key.addAll(argv);
            runEnv.forEach((k, v) -> key.add("env=" + k + "=" + v));
            if (mounts != null) {
                key.addAll(mounts.key());
            }
            String cacheKey = BuildCache.key(key);
            if (!options.noCache()) {
                java.util.Optional<LayerBuilder.Layer> hit = cache.find(cacheKey);
                if (hit.isPresent()) {
                    image(hit.get(), next, history(r));
                    temps.add(next);
                    cachedStep = true;
                    return next;
                }
            }
            // a miss: the caches locked, the secrets read, only now
            List<dev.davit.sandbox.Mount> stepMounts = mounts == null ? List.of() : mounts.materialize();
            RunTarget t = unpacked(current, lowest);
            lowest = current;
            if (homeFromPasswd) {
                runEnv.put("HOME", dev.davit.sandbox.backend.Users.home(t.rootfs(), user));
            }
            ImageConfig image = new ImageConfig(List.of(), List.of(), List.of(), workdir, user);
            // what the step writes to /tmp, /run and /var/tmp is in its layer, and what the image has there is seen
            Sandbox s = sandboxes.create(CreateSpec.builder(t.rootfs()).image(image).network(network)
                    .scratchInLayer(true).mounts(stepMounts)
                    .limits(Limits.unenforceable() == null ? Limits.DEFAULT : Limits.DEFAULT.enforceableHere())
                    .ttl(STEP_TIMEOUT.plusMinutes(5)).build());
            try {
                sandboxes.start(s.id());
                ExecResult res = sandboxes.exec(s.id(), List.of("/bin/sh", "-c", "mkdir -p \"$0\"", workdir),
                        Map.of(), "/", Duration.ofSeconds(30));
                if (res.exitCode() != 0) {
                    throw error(r, "cannot make the working directory " + workdir + ": "
                            + Text.shorten(res.stderrText().strip(), 200));
                }
                // what the egress policy refuses is said as it happens, and named when the step fails
                StepDenials denials = network.egress() == null ? null : StepDenials.start(sandboxes, s.id(), say);
                RuntimeException failed = null;
                try {
                    ExecSpec.Builder spec = ExecSpec.builder(mounts == null ? argv : mounts.wrap(argv)).env(runEnv)
                            .workdir(workdir).timeout(STEP_TIMEOUT);
                    if (denials != null) {
                        spec.tees(denials.output(), denials.output());
                    }
                    res = sandboxes.exec(s.id(), spec.build());
                } catch (RuntimeException e) {
                    failed = e; // the sandbox stopped under it, maybe by the watch below
                } finally {
                    if (denials != null) {
                        denials.close();
                        stepDenials = denials.all();
                    }
                }
                if (denials != null && denials.stopped() != null && (failed != null || res.exitCode() != 0)) {
                    throw error(r, "RUN stopped: the build's egress policy refused " + denials.stopped() + " (the"
                            + " command kept retrying what it may not reach); allow that host in the build's network,"
                            + " or fetch it another way");
                }
                if (failed != null) {
                    throw failed;
                }
                if (res.exitCode() != 0) {
                    String tail = Text.printable((res.stdoutText() + res.stderrText()).strip());
                    tail = tail.length() > 300 ? "..." + tail.substring(tail.length() - 300) : tail;
                    throw error(r, "RUN exited with " + res.exitCode() + (stepDenials.isEmpty() ? ""
                            : " after the build's egress policy refused what it asked for: " + denials.named())
                            + (tail.isEmpty() ? "" : ": " + tail));
                }
                // what it printed, line by line (each printable; the last 40 lines)
                List<String> lines = (res.stdoutText() + res.stderrText()).lines().map(l -> l.contains("\r")
                        ? l.substring(l.lastIndexOf('\r') + 1) : l).filter(l -> !l.isBlank()).toList();
                if (lines.size() > 40) {
                    say.accept("... (" + (lines.size() - 40) + " lines before)");
                    lines = lines.subList(lines.size() - 40, lines.size());
                }
                lines.forEach(l -> say.accept(Text.shorten(Text.printable(l), 300)));
                LayerBuilder.Layer layer = layer(s);
                if (!options.noCache()) {
                    cache.put(cacheKey, layer, file.name() + ":" + r.line() + " RUN" + describe(r));
                }
                image(layer, next, history(r));
                temps.add(next);
                return next;
            } finally {
                try {
                    sandboxes.rm(s.id());
                } catch (RuntimeException ignored) {
                    // its ttl lets a reap remove it; what it may still change is not deleted meanwhile
                    if (mounts != null) {
                        mounts.keepCopies();
                    }
                }
            }
        }

        /**
         * Says which special files (fifos, sockets, device nodes) a step left out of its layer, as a notice of the
         * build's output: never silently (at most 10 named, then how many more).
         */
        private void leftOut(String step, List<String> paths) {
            if (paths.isEmpty()) {
                return;
            }
            List<String> shown = paths.stream().limit(10).map(p -> Text.shorten(Text.printable(p), 120)).toList();
            say.accept(step + " left out " + paths.size() + (paths.size() == 1 ? " special file" : " special files")
                    + " (a fifo, socket or device node is never stored in a layer): " + String.join(", ", shown)
                    + (paths.size() > shown.size() ? " and " + (paths.size() - shown.size()) + " more" : ""));
        }

        /** The sandbox's changes as a layer in the store. */
        private LayerBuilder.Layer layer(Sandbox s) throws IOException {
            OciStore store = client.store();
            Path tmp = Files.createTempFile(store.tempDir(), "step-", ".tmp");
            try {
                LayerBuilder.Layer layer;
                try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
                     LayerWriter w = new LayerWriter(out, Compression.GZIP, -1).clampTimes(created)) {
                    // with a build time (SOURCE_DATE_EPOCH, --created) what the step wrote now has that time
                    leftOut("RUN", sandboxes.changes(s.id(), w, Changes.Rewrite.NONE).skipped());
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

        /** Where {@code COPY --parents} puts source {@code given}: below {@code target}, less its first {@code drop} parts. */
        private static Path kept(Path target, String given, Integer drop) {
            List<String> parts = given.isEmpty() ? List.of() : List.of(given.split("/"));
            int n = drop == null ? 0 : Math.min(drop, parts.size());
            String kept = String.join("/", parts.subList(n, parts.size()));
            return kept.isEmpty() ? target : target.resolve(kept);
        }

        /** {@code c}'s --exclude patterns as rules of their own (never joined to the ignore file's); null: none. */
        private IgnoreRules exclusions(Instruction.Copy c) {
            if (c.excludes().isEmpty()) {
                return null;
            }
            StringBuilder text = new StringBuilder();
            for (String e : c.excludes()) {
                String p = Words.one(e, file.escape(), this::lookup);
                if (p.contains("\n") || p.startsWith("#")) {
                    throw error(c, c.keyword() + " --exclude pattern " + Text.shorten(Text.printable(p), 60)
                            + " cannot be read (a line break, or a leading #)");
                }
                text.append(p).append('\n');
            }
            try {
                return IgnoreRules.parse(text.toString());
            } catch (IllegalArgumentException e) {
                throw error(c, c.keyword() + " --exclude: " + e.getMessage().replaceFirst("^line \\d+ of the ignore"
                        + " file: ", ""));
            }
        }

        /**
         * A COPY source's --exclude patterns: {@code rules}, relative to {@code base} (a path of the context or stage),
         * applied besides the ignore file's, never in place of them; {@code source} the source's own path.
         */
        private record Exclusions(IgnoreRules rules, String base, String source) {
            /** {@code path} (of the context or stage) relative to the base; null when it is not below it. */
            String relative(String path) {
                return base.isEmpty() ? path : path.equals(base) ? "" : path.startsWith(base + "/")
                        ? path.substring(base.length() + 1) : null;
            }

            boolean excludes(String path) {
                String r = relative(path);
                return r != null && !r.isEmpty() && rules.excluded(r);
            }

            boolean mayIncludeUnder(String path) {
                String r = relative(path);
                return r == null || r.isEmpty() || rules.mayIncludeUnder(r);
            }

            /** Whether the source itself is excluded (a glob's match, a file, a path --parents keeps). */
            boolean dropsSource() {
                return excludes(source) && !mayIncludeUnder(source);
            }
        }

        /** The index of the stage built before that {@code from} names (its name or index), or null: an image. */
        private Integer stageIndex(String from) {
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
        private String fromRef(Integer idx, String image) {
            String ref = idx != null ? built.get(idx) : image;
            if (idx == null && client.find(ref).isEmpty()) {
                client.pull(ref, PlatformSelector.host(), ProgressListener.NONE);
            } else if (idx == null) {
                client.checkTrust(ref); // held to the signature policy as its unpack would hold it, hit or miss
            }
            return ref;
        }

        /**
         * Copies {@code source} of the context (from null, less what the ignore file leaves out) or of stage or image
         * {@code from} into {@code to} (new) for a {@code RUN --mount=type=bind}: a source that is a link followed
         * within them as COPY follows it, read through descriptors, never a host file.
         */
        private void mountCopy(String from, String source, Path to, Instruction i) throws IOException {
            Path root;
            IgnoreRules rules = null;
            if (from == null) {
                root = context;
                rules = ignore;
            } else {
                Integer idx = stageIndex(from);
                String ref = fromRef(idx, from);
                root = (idx != null ? unpacked(ref, lowers.get(idx)) : unpacked(ref)).rootfs();
            }
            if (java.util.Arrays.asList(source.split("/")).contains("..")) {
                throw error(i, "RUN --mount source " + Text.shorten(source, 100) + " leads out of the build's files"
                        + " (..); give a path inside them");
            }
            String given = normal(source.replaceFirst("^/+", ""));
            String resolved = given.isEmpty() ? given : followLinks(root, given, i);
            if (rules != null && !resolved.isEmpty() && (leftOut(root, resolved, rules))) {
                throw error(i, "RUN --mount source " + Text.shorten(source, 100) + " is left out by the context's"
                        + " ignore file");
            }
            Path src = resolved.isEmpty() ? root : within(root, resolved, i);
            String rel = relative(root, src);
            int slash = rel.lastIndexOf('/');
            try (dev.davit.sandbox.fs.Dir top = dev.davit.sandbox.fs.Dir.open(root, from == null
                    ? "the build context" : "stage or image " + from);
                 dev.davit.sandbox.fs.Dir parent = top.dir(slash < 0 ? "" : rel.substring(0, slash))) {
                String name = slash < 0 ? rel : rel.substring(slash + 1);
                dev.davit.sandbox.fs.Stat st = rel.isEmpty() ? top.stat(".") : parent.stat(name);
                if (st == null) {
                    throw missing(i, source);
                }
                long[] budget = {0, 0};
                Map<List<Long>, Path> links = new HashMap<>();
                if (st.isDirectory()) {
                    Files.createDirectory(to);
                    try (dev.davit.sandbox.fs.Dir d = rel.isEmpty() ? top.dir("") : parent.dir(name)) {
                        copyTree(d, to, to.getParent(), new java.util.LinkedHashSet<>(), budget, i, rules, rel,
                                links, 0);
                    }
                } else if (st.isRegularFile()) {
                    counted(st.size(), budget, i);
                    copyEntry(parent, name, st, to, links, i);
                } else {
                    throw error(i, "RUN --mount source " + Text.shorten(source, 100) + " is not a file or a"
                            + " directory");
                }
            }
        }

        /** {@code absolute} with every link of the image on the way followed within the image, the last one too. */
        private String resolvedInImage(String absolute, Instruction i) {
            String p = inImage(absolute, i);
            for (int k = 0; k < 40; k++) {
                ImageTree.Node n = p.equals("/") ? null : tree.stat(p.substring(1));
                if (n == null || !n.symlink()) {
                    return p;
                }
                String link = n.link();
                String parent = p.substring(0, p.lastIndexOf('/'));
                p = inImage(Path.of("/").resolve(link.startsWith("/") ? link : parent + "/" + link).normalize()
                        .toString(), i);
            }
            throw error(i, "the mount's target goes through more than 40 links of the image");
        }

        private String copy(Instruction.Copy c, String next, List<String> temps) throws IOException {
            specialsLeftOut.clear(); // an earlier COPY's, had it failed
            if (c.chmod() != null && !c.chmod().matches("[0-7]{3,4}")) {
                throw error(c, c.keyword() + " --chmod takes octal digits, e.g. 0755");
            }
            Path from;
            String cacheKey = null;
            String fromRef = null;
            dev.davit.oci.digest.Digest fromPinned = null; // what the key's layers were read from
            if (c.from() == null) {
                from = context;
            } else {
                Integer idx = stageIndex(c.from());
                String ref = fromRef(idx, Words.one(c.from(), file.escape(), this::lookup));
                fromRef = ref;
                fromPinned = client.store().entry(ref).map(e -> e.descriptor().digest()).orElse(null);
                // what it copies follows from the two images' layers and the words: a cached layer spares the
                // unpack of the stage or image it copies from
                cacheKey = options.noCache() || c.add() ? null : copyKey(c, ref);
                java.util.Optional<LayerBuilder.Layer> hit = cacheKey == null ? java.util.Optional.empty()
                        : cache.find(cacheKey);
                if (hit.isPresent()) {
                    image(hit.get(), next, history(c));
                    temps.add(next);
                    cachedStep = true;
                    return next;
                }
                from = (idx != null ? unpacked(ref, lowers.get(idx)) : unpacked(ref)).rootfs();
            }
            // what is copied from the context is root's unless --chown says otherwise, as Docker makes it; from a
            // stage or an image it keeps its owners
            BuildOptions.Owner owner = c.chown() != null ? owner(Words.one(c.chown(), file.escape(),
                    this::lookup), c) : c.from() == null ? new BuildOptions.Owner(0, 0) : null;
            String dest = Words.one(c.dest(), file.escape(), this::lookup);
            // a path of the image: .. stops at its root, never above the staging directory
            // the image's links on the way are followed within the image (as Docker's builders do), never on the host
            String absolute = inImage(Path.of("/").resolve(dest.startsWith("/") ? dest : workdir + "/" + dest)
                    .normalize().toString(), c);
            ImageTree.Node inBase = parentsOf(absolute, c);
            // each source as the files it names: a glob's matches, what the context's ignore file leaves in
            IgnoreRules rules = c.from() == null ? ignore : null;
            IgnoreRules exclusions = exclusions(c);
            List<String> sources = new ArrayList<>();
            // with --parents, how many leading parts of each source's path are not kept: those before a /./
            Map<String, Integer> pivots = new HashMap<>();
            // what each source's --exclude patterns are relative to: the source itself, a glob's directory, or with
            // --parents the root or the pivot (as BuildKit's copy applies them)
            Map<String, String> bases = new HashMap<>();
            List<String> urls = new ArrayList<>();
            for (String raw : c.sources()) {
                if (raw.startsWith("<<")) {
                    sources.add(raw);
                    continue;
                }
                String src = Words.one(raw, file.escape(), this::lookup);
                if (c.add() && (src.matches("(?i)[a-z][a-z0-9+.-]*://.*") || src.startsWith("git@"))) {
                    urls.add(src);
                    sources.add(FETCHED + (urls.size() - 1));
                    continue;
                }
                String tail = src.replaceFirst("^(\\./)+", "");
                int pivot = tail.indexOf("/./");
                String before = pivot < 0 ? "" : normal(tail.substring(0, pivot));
                int drop = before.isEmpty() ? 0 : before.split("/").length;
                boolean glob = SourceGlob.hasMeta(src.replaceFirst("^/+", ""));
                for (String m : expand(from, src, rules, c)) {
                    sources.add(m);
                    pivots.put(m, drop);
                    String g = normal(m.replaceFirst("^/+", ""));
                    List<String> parts = g.isEmpty() ? List.of() : List.of(g.split("/"));
                    bases.put(m, c.parents() ? String.join("/", parts.subList(0, Math.min(drop, parts.size())))
                            : glob ? String.join("/", parts.subList(0, Math.max(0, parts.size() - 1))) : g);
                }
            }
            if (c.checksum() != null && (urls.size() != 1 || c.sources().size() != 1)) {
                throw error(c, "ADD --checksum is for one URL source alone; give the other sources an ADD of their"
                        + " own");
            }
            boolean intoDir = dest.endsWith("/") || dest.equals(".") || dest.endsWith("/.") || sources.size() > 1
                    || inBase != null && inBase.directory() || c.parents();
            Path stage = Files.createTempDirectory(client.store().tempDir(), "copy-");
            try {
                Path target = absolute.equals("/") ? stage : stage.resolve(absolute.substring(1));
                if (!target.normalize().startsWith(stage)) {
                    throw error(c, "the destination " + Text.shorten(dest, 100) + " leads out of the image");
                }
                Map<String, Instruction.Heredoc> docs = new HashMap<>();
                c.heredocs().forEach(h -> docs.put(h.name(), h));
                java.util.Set<Path> copied = new java.util.LinkedHashSet<>();
                Map<List<Long>, Path> links = new HashMap<>(); // the first copy of each file of several links
                long[] budget = {0, 0};
                for (String raw : sources) {
                    String heredoc = raw.replaceFirst("^<<-?[\"']?", "").replaceFirst("[\"']$", "");
                    if (raw.startsWith("<<") && docs.containsKey(heredoc)) {
                        Path to = intoDir ? target.resolve(heredoc) : target;
                        realDir(stage, to.getParent());
                        // an unquoted delimiter: the document's variables expanded, quotes kept (Docker's reference)
                        Instruction.Heredoc h = docs.get(heredoc);
                        String text = h.expand() ? Words.expandVariables(h.content(), file.escape(), this::lookup)
                                : h.content();
                        Files.write(to, text.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE,
                                LinkOption.NOFOLLOW_LINKS);
                        copied.add(to);
                        continue;
                    }
                    if (raw.startsWith(FETCHED)) {
                        String url = urls.get(Integer.parseInt(raw.substring(FETCHED.length())));
                        Path file1 = fetch(url, stage, target, intoDir, budget, c);
                        copied.add(file1);
                        continue;
                    }
                    String src = raw;
                    // a source that is a link is followed within the context (or the stage), as buildah and BuildKit
                    // follow it; what it copies keeps the name the COPY gave
                    if (java.util.Arrays.asList(src.split("/")).contains("..")) {
                        throw error(c, Text.shorten(src, 100) + " leads out of the build's files (..); give a path"
                                + " inside them");
                    }
                    String given = normal(src.replaceFirst("^/+", ""));
                    String resolved = followLinks(from, given, c);
                    if (rules != null && !resolved.equals(given) && leftOut(from, resolved, rules)) {
                        throw error(c, Text.shorten(src, 100) + " is a link to " + Text.shorten(resolved, 100)
                                + ", which the context's ignore file leaves out");
                    }
                    Path source = within(from, resolved.equals(given) ? src : resolved, c);
                    // read through descriptors from here: nothing on the way followed, whatever changes meanwhile
                    String rel = relative(from, source);
                    int slash = rel.lastIndexOf('/');
                    try (dev.davit.sandbox.fs.Dir top = dev.davit.sandbox.fs.Dir.open(from, c.from() == null
                            ? "the build context" : "stage or image " + c.from());
                         dev.davit.sandbox.fs.Dir parent = top.dir(slash < 0 ? "" : rel.substring(0, slash))) {
                        String name = slash < 0 ? rel : rel.substring(slash + 1);
                        dev.davit.sandbox.fs.Stat st = rel.isEmpty() ? top.stat(".") : parent.stat(name);
                        if (st == null) {
                            throw missing(c, src); // gone since it was looked at
                        }
                        // its --exclude patterns: relative to a directory source itself, a file source's directory
                        // (it is matched by its name), a glob's directory, or with --parents the root or the pivot
                        String base = bases.getOrDefault(raw, given);
                        String self = given;
                        if (base.equals(given) && !c.parents()) { // the source itself (followed where it links)
                            self = rel;
                            base = st.isDirectory() ? rel : rel.contains("/") ? rel.substring(0, rel.lastIndexOf('/'))
                                    : "";
                        }
                        Exclusions ex = exclusions == null ? null : new Exclusions(exclusions, base, self);
                        if (ex != null && ex.dropsSource()) {
                            continue; // a source --exclude names (a glob's match, a file, a path --parents keeps)
                        }
                        Path unpacked = c.add() && st.isRegularFile() ? unpack(parent, name, src, c) : null;
                        if (unpacked != null) {
                            // a local tar's content, into the destination as a directory (Docker's ADD)
                            try (dev.davit.sandbox.fs.Dir u = dev.davit.sandbox.fs.Dir.open(unpacked, "the archive "
                                    + Text.shorten(src, 80))) {
                                realDir(stage, target);
                                copyTree(u, target, stage, copied, budget, c, null, null, links, 0);
                            } finally {
                                dev.davit.oci.internal.Fs.deleteTree(unpacked);
                            }
                        } else if (st.isDirectory()) {
                            // a directory's content, as Docker copies it, less what the ignore file and --exclude
                            // leave out (with --parents, below its own path)
                            Path into = c.parents() ? kept(target, given, pivots.get(raw)) : target;
                            try (dev.davit.sandbox.fs.Dir d = rel.isEmpty() ? top.dir("") : parent.dir(name)) {
                                realDir(stage, into);
                                copyTree(d, into, stage, copied, budget, c, rules, ex, rel, links, 0);
                            }
                        } else if (st.isRegularFile() || st.isSymbolicLink()) {
                            String as = given.isEmpty() ? name : given.substring(given.lastIndexOf('/') + 1);
                            Path file1 = c.parents() ? kept(target, given, pivots.get(raw)) : intoDir
                                    ? target.resolve(as) : target;
                            realDir(stage, file1.getParent());
                            counted(st.size(), budget, c);
                            copyEntry(parent, name, st, file1, links, c);
                            copied.add(file1);
                        } else {
                            throw error(c, Text.shorten(src, 100) + " is not a file, a link or a directory (a fifo,"
                                    + " a socket or a device is not copied)");
                        }
                    }
                }
                if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS) && inBase == null) {
                    copied.add(target); // made by this COPY: its owner and mode are the COPY's too
                    // and its time the build's (or the epoch), never now: the layer is the same build after build
                    Files.setLastModifiedTime(target, java.nio.file.attribute.FileTime.from(created == null
                            ? Instant.EPOCH : created));
                }
                // the destination, when the image has it as a directory, and the directories above what is copied
                // keep the image's attributes (a /tmp stays 1777); those the COPY makes are the --chown owner's
                Map<String, BuildOptions.Owner> owners = new HashMap<>();
                List<Path> made = matchParents(stage, target, inBase != null && inBase.directory()
                        && Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS), owners);
                if (owner != null) {
                    made.forEach(d -> owners.put(stage.relativize(d).toString(), owner));
                }
                for (Path q : copied) { // every entry the COPY wrote is in it, once
                    if (!Files.exists(q, LinkOption.NOFOLLOW_LINKS)) {
                        continue; // replaced by a later source
                    }
                    if (owner != null) {
                        owners.put(stage.relativize(q).toString(), owner);
                    }
                    if (c.chmod() != null && !Files.isSymbolicLink(q)) {
                        Files.setAttribute(q, "unix:mode", Integer.parseInt(c.chmod(), 8), LinkOption.NOFOLLOW_LINKS);
                    }
                }
                // the files' own times, or with a build time (SOURCE_DATE_EPOCH, --created) that time: a checkout's
                // times differ from clone to clone, and the layer must not
                BuildOptions.Builder o = BuildOptions.builder().preserveOwner(true).owners(owners);
                if (created == null) {
                    o.keepMtimes(true);
                } else {
                    o.fileMtime(created);
                }
                LayerBuilder.Layer layer = new LayerBuilder(o.build()).build(stage, client.store(),
                        ProgressListener.NONE);
                leftOut(c.keyword(), specialsLeftOut);
                specialsLeftOut.clear();
                // cached only when the name still names the image the key was made of (a pull meanwhile may have
                // moved it, and the copy would then be of another image than the key says)
                String named = fromRef;
                if (cacheKey != null && fromPinned != null && fromPinned.equals(client.store().entry(named)
                        .map(e -> e.descriptor().digest()).orElse(null))) {
                    cache.put(cacheKey, layer, file.name() + ":" + c.line() + " " + c.keyword() + describe(c));
                }
                image(layer, next, history(c));
                temps.add(next);
                return next;
            } finally {
                dev.davit.oci.internal.Fs.deleteTree(stage);
            }
        }

        /** The build cache's key of COPY {@code c} from image {@code ref}: both images' layers and the words. */
        private String copyKey(Instruction.Copy c, String ref) {
            List<String> key = new ArrayList<>(List.of(c.keyword(), "from=" + layersOf(ref), "layers="
                    + layersOf(current), "wd=" + workdir, "created=" + created, "chmod=" + c.chmod(), "chown="
                    + (c.chown() == null ? "" : Words.one(c.chown(), file.escape(), this::lookup)), "dest="
                    + Words.one(c.dest(), file.escape(), this::lookup), "parents=" + c.parents(), "sources="
                    + c.sources().size()));
            for (String e : c.excludes()) {
                key.add("exclude=" + Words.one(e, file.escape(), this::lookup));
            }
            for (String raw : c.sources()) {
                key.add(raw.startsWith("<<") ? raw : Words.one(raw, file.escape(), this::lookup));
            }
            c.heredocs().forEach(h -> key.add("doc=" + h.name() + "\n" + (h.expand() ? Words.expandVariables(
                    h.content(), file.escape(), this::lookup) : h.content())));
            return BuildCache.key(key);
        }

        /**
         * Fetches {@code url} (an {@code ADD}'s source) into the COPY's staging directory, as Docker's ADD does: into
         * {@code target} itself, or into it as a directory under the name the URL's path ends with; 0600, its time
         * the server's {@code Last-Modified} (else now), never unpacked. The fetch is made from the host, judged as a
         * RUN's connections would be by the build's network ({@link UrlFetch}); {@code --checksum} is checked.
         */
        private Path fetch(String url, Path stage, Path target, boolean intoDir, long[] budget, Instruction.Copy c)
                throws IOException {
            if (url.startsWith("git@") || url.regionMatches(true, 0, "git://", 0, 6)) {
                throw error(c, "ADD of a git repository is not supported; clone it into the build context and COPY"
                        + " it");
            }
            java.net.URI uri;
            try {
                uri = new java.net.URI(url);
            } catch (java.net.URISyntaxException e) {
                throw error(c, "ADD " + Text.shorten(UrlFetch.shown(url), 100) + " is not a valid URL");
            }
            String shown = UrlFetch.shown(uri);
            if (!options.network().enabled()) {
                throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of(file.name() + ":" + c.line()
                        + ": ADD " + Text.shorten(shown, 100) + " is fetched through the build's network, and the"
                        + " build has none: allow its host (", dev.davit.oci.Input.ALLOW_HOST, ") or give it ",
                        dev.davit.oci.Input.NETWORK, ", or put the file in the build context and COPY it"));
            }
            String path = uri.getPath() == null ? "" : uri.getPath();
            String name = path.substring(path.lastIndexOf('/') + 1);
            if (intoDir && (name.isEmpty() || name.equals(".") || name.equals(".."))) {
                throw error(c, "ADD " + Text.shorten(shown, 100) + " names no file to put into " + c.dest()
                        + "; give the destination a file name");
            }
            Path to = intoDir ? target.resolve(name) : target;
            if (!to.normalize().startsWith(stage)) {
                throw error(c, "ADD " + Text.shorten(shown, 100) + " leads out of the image");
            }
            realDir(stage, to.getParent());
            Files.deleteIfExists(to); // an earlier source's entry (a link itself, never what it names)
            say.accept("fetching " + shown);
            long left = dev.davit.sandbox.fs.Budget.MAX_BYTES - budget[0];
            UrlFetch.Result r;
            try {
                r = new UrlFetch(options.network()).fetch(uri, to, Math.max(0, left));
            } catch (UrlFetch.FetchException e) {
                String what = file.name() + ":" + c.line() + ": ADD: " + e.getMessage().replace('\n', ' ');
                throw new DavitException(Kind.USAGE, options.network().mode() == Network.Mode.POLICY
                        ? dev.davit.oci.Message.of(what, "; if the build should reach it, allow it (",
                                dev.davit.oci.Input.ALLOW_HOST, ")")
                        : dev.davit.oci.Message.of(what));
            }
            if (c.checksum() != null && !c.checksum().equals(r.sha256())) {
                Files.deleteIfExists(to);
                throw error(c, "ADD " + Text.shorten(shown, 100) + " is " + r.sha256() + ", not the "
                        + c.checksum() + " --checksum wants; nothing of it is kept");
            }
            counted(r.size(), budget, c);
            Files.setLastModifiedTime(to, java.nio.file.attribute.FileTime.from(r.lastModified() != null
                    ? r.lastModified() : Instant.now()));
            return to;
        }

        /**
         * The owner {@code --chown} names: {@code user[:group]}, each a number or a name of the image's
         * {@code /etc/passwd} and {@code /etc/group}; a name without a group has its primary group in
         * {@code /etc/passwd}, a number without one the same number, as buildah gives them; with an empty group
         * ({@code user:}) either has its primary group when {@code /etc/passwd} lists it.
         */
        private BuildOptions.Owner owner(String chown, Instruction i) {
            if (chown.isEmpty() || chown.chars().anyMatch(ch -> ch <= ' ' || ch == 0x7f) || chown.length() > 200) {
                throw error(i, i.keyword() + " --chown takes user[:group], names or numbers, e.g. 1000:1000");
            }
            int colon = chown.indexOf(':');
            String u = colon < 0 ? chown : chown.substring(0, colon);
            String g = colon < 0 ? null : chown.substring(colon + 1);
            if (u.matches("[0-9]{1,9}") && (g == null || g.matches("[0-9]{1,9}"))) {
                long uid = Long.parseLong(u);
                return new BuildOptions.Owner(uid, g == null ? uid : Long.parseLong(g));
            }
            int[] ids = dev.davit.sandbox.backend.Users.resolve(tree::lines, g == null ? u : u + ":" + g);
            return new BuildOptions.Owner(ids[0], ids[1]);
        }

        /**
         * {@code source}, a file an {@code ADD} names, unpacked into a new directory when it is a tar (plain, gzip,
         * bzip2 or zstd; found by its content, never its name) as an untrusted archive is (bounded, no devices, no
         * setuid bits, no link out); null when it is not a tar, and then it is copied as it is.
         */
        private Path unpack(dev.davit.sandbox.fs.Dir parent, String name, String src, Instruction i)
                throws IOException {
            try (dev.davit.sandbox.fs.Dir.Opened f = parent.openFile(name)) {
                return unpack(f, src, i);
            } catch (dev.davit.sandbox.fs.Dir.NotRegularFile e) {
                throw error(i, Text.shorten(src, 100) + " changed while the build read it; build again");
            }
        }

        private Path unpack(dev.davit.sandbox.fs.Dir.Opened source, String src, Instruction i) throws IOException {
            final byte[] head;
            String kind;
            try (InputStream in = new java.io.BufferedInputStream(java.nio.channels.Channels.newInputStream(
                    source.read()), 1 << 16)) {
                in.mark(8);
                byte[] magic = in.readNBytes(6);
                in.reset();
                kind = magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b ? "gzip"
                        : magic.length >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h' ? "bzip2"
                        : magic.length >= 6 && (magic[0] & 0xff) == 0xfd && magic[1] == '7' && magic[2] == 'z'
                        && magic[3] == 'X' && magic[4] == 'Z' && magic[5] == 0 ? "xz"
                        : magic.length >= 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                        && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd ? "zstd" : "none";
                try (InputStream plain = decompressed(in, kind)) {
                    head = plain.readNBytes(512);
                } catch (org.tukaani.xz.MemoryLimitException e) {
                    throw xzTooBig(i, src);
                } catch (IOException e) {
                    return null; // compressed, but not readable as that: a file as it is, as Docker copies it
                }
            }
            if (head.length < 512 || !new String(head, 257, 5, java.nio.charset.StandardCharsets.ISO_8859_1)
                    .equals("ustar")) {
                return null;
            }
            Path dir = Files.createTempDirectory(client.store().tempDir(), "add-");
            try (InputStream in = decompressed(new java.io.BufferedInputStream(java.nio.channels.Channels
                    .newInputStream(source.read()), 1 << 16), kind)) {
                dev.davit.oci.unpack.TarExtractor.extractUntrusted(in, dir, new dev.davit.oci.unpack.TarExtractor
                        .Limits(dev.davit.sandbox.fs.Budget.MAX_BYTES, dev.davit.sandbox.fs.Budget.MAX_ENTRIES,
                        64L << 20), "the archive " + Text.shorten(src, 80), "; ADD a smaller archive");
                return dir;
            } catch (org.tukaani.xz.MemoryLimitException e) {
                dev.davit.oci.internal.Fs.deleteTree(dir);
                throw xzTooBig(i, src);
            } catch (IOException | RuntimeException e) {
                dev.davit.oci.internal.Fs.deleteTree(dir);
                throw e;
            }
        }

        private DavitException xzTooBig(Instruction i, String src) {
            return error(i, "the xz archive " + Text.shorten(src, 80) + " needs over " + (XZ_MEMORY_KIB >> 10)
                    + " MiB to unpack (xz -9 needs 65); compress it with a smaller dictionary, or COPY it as it is");
        }

        /** The most memory an xz stream of an ADD may need to be read (KiB): xz -9's needs, with room. */
        private static final int XZ_MEMORY_KIB = 128 << 10;

        private static InputStream decompressed(InputStream in, String kind) throws IOException {
            return switch (kind) {
                case "xz" -> new org.tukaani.xz.XZInputStream(in, XZ_MEMORY_KIB);
                case "gzip" -> new java.util.zip.GZIPInputStream(in, 1 << 16);
                case "bzip2" -> new org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream(in,
                        true);
                case "zstd" -> new com.github.luben.zstd.ZstdInputStream(in);
                default -> in;
            };
        }

        /**
         * {@code absolute}, a path of the image, with the links of the image on the way to its last component
         * resolved as the image sees them: an absolute target from the image's root, {@code ..} stopping there, at
         * most 40 links. Only the link texts are read; nothing on the host is followed.
         */
        private String inImage(String absolute, Instruction i) {
            if (absolute.equals("/")) {
                return absolute;
            }
            int slash = absolute.lastIndexOf('/');
            String last = absolute.substring(slash + 1);
            List<String> done = walkLinks(slash == 0 ? "" : absolute.substring(1, slash), path -> {
                ImageTree.Node p = tree.stat(path);
                return p != null && p.symlink() ? p.link() : null;
            }, () -> error(i, "the destination goes through more than 40 links of the image"));
            return "/" + (done.isEmpty() ? "" : String.join("/", done) + "/") + last;
        }

        /**
         * What {@code absolute} is in root filesystem {@code base} (null: nothing); a link on the way to it is an
         * error (the image's own link is not followed on the host, and a real directory in its place would break it).
         */
        private ImageTree.Node parentsOf(String absolute, Instruction i) {
            ImageTree.Node p = tree.stat("");
            String[] parts = absolute.substring(1).split("/");
            String path = "";
            for (int k = 0; k < parts.length; k++) {
                if (parts[k].isEmpty()) {
                    continue;
                }
                path = path.isEmpty() ? parts[k] : path + "/" + parts[k];
                p = tree.stat(path);
                if (p != null && p.symlink()) {
                    if (k == parts.length - 1) {
                        return null; // the destination itself: replaced
                    }
                    throw error(i, "the destination goes through the image's link /" + String.join("/",
                            java.util.Arrays.copyOf(parts, k + 1)) + ", which davit does not follow yet; copy to what"
                            + " it names");
                }
                if (p == null) {
                    return null;
                }
            }
            return p;
        }

        /**
         * Gives each staged directory above {@code target} (and {@code target} itself when {@code self}: a directory
         * of the image) the mode and time of the image's own, where it has one, and its owner in {@code owners} (the
         * layer's, never a chown: rootless, the builder could not give it); returns the others, which the COPY makes.
         */
        private List<Path> matchParents(Path stage, Path target, boolean self, Map<String, BuildOptions.Owner> owners)
                throws IOException {
            List<Path> made = new ArrayList<>();
            for (Path d = self ? target : target.getParent(); d != null && d.startsWith(stage) && !d.equals(stage);
                 d = d.getParent()) {
                String rel = stage.relativize(d).toString();
                ImageTree.Node there = tree.stat(rel);
                if (there != null && there.directory()) {
                    Files.setAttribute(d, "unix:mode", there.mode());
                    owners.put(rel, new BuildOptions.Owner(there.uid(), there.gid())); // the layer's; no chown
                    Files.setLastModifiedTime(d, there.mtime());
                } else {
                    Files.setLastModifiedTime(d, java.nio.file.attribute.FileTime.from(created == null
                            ? Instant.EPOCH : created));
                    made.add(d);
                }
            }
            return made;
        }

        /**
         * Makes {@code dir} (at or below {@code root}, the COPY's own staging directory) a real directory with real
         * directories above it: a link or a file an earlier source left on the way is replaced (as a later source
         * replaces an earlier one), never followed, so nothing is written through it to the host.
         */
        private static void realDir(Path root, Path dir) throws IOException {
            if (dir.equals(root)) {
                return;
            }
            Path p = root;
            for (Path part : root.relativize(dir)) {
                p = p.resolve(part.toString());
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (java.nio.file.NoSuchFileException e) {
                    a = null;
                }
                if (a != null && !a.isDirectory()) {
                    Files.delete(p); // a link or a file: deleted itself, never what it names
                    a = null;
                }
                if (a == null) {
                    Files.createDirectory(p);
                }
            }
        }

        /** Counts {@code f} against the COPY's bounds (bytes, sparse files at their size; entries). */
        private void counted(long size, long[] budget, Instruction i) {
            // the entry itself (a link's size is its own, never what it names: a host file, a dead mount)
            budget[0] += size;
            budget[1]++;
            if (budget[0] > dev.davit.sandbox.fs.Budget.MAX_BYTES || budget[1] > dev.davit.sandbox.fs.Budget.MAX_ENTRIES) {
                throw error(i, "the COPY passes " + (dev.davit.sandbox.fs.Budget.MAX_BYTES >> 30) + " GiB or "
                        + dev.davit.sandbox.fs.Budget.MAX_ENTRIES + " files; copy less");
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new DavitException(Kind.CANCELLED, "the build was cancelled");
            }
        }

        /**
         * The files source {@code src} names below {@code root}: itself, or a glob's matches (sorted; none is an
         * error); what {@code rules} (the context's ignore file; null for none) leaves out is not there.
         */
        private List<String> expand(Path root, String src, IgnoreRules rules, Instruction i) {
            String clean = src.replaceFirst("^/+", "");
            if (!SourceGlob.hasMeta(clean)) {
                if (rules != null && leftOut(root, clean, rules)) {
                    throw error(i, Text.shorten(src, 100) + " is left out of the build context by its ignore file;"
                            + " copy another file, or add !" + Text.shorten(normal(clean), 60) + " to it");
                }
                return List.of(src);
            }
            List<String> found;
            try {
                found = SourceGlob.expand(clean, dir -> names(root, dir, i));
            } catch (IllegalArgumentException e) {
                throw error(i, Text.printable(String.valueOf(e.getMessage())));
            }
            List<String> kept = new ArrayList<>();
            for (String f : found) {
                Path p = reach(root, f);
                if (p != null && Files.exists(p, LinkOption.NOFOLLOW_LINKS)
                        && (rules == null || !leftOut(root, f, rules))) {
                    kept.add(f);
                }
            }
            if (kept.isEmpty()) {
                throw error(i, "no file of " + (i instanceof Instruction.Copy c && c.from() != null ? "stage or image "
                        + c.from() : "the build context") + " matches " + Text.shorten(src, 100));
            }
            return kept;
        }

        /**
         * Whether {@code rel} below {@code root} is left out by {@code rules}: excluded, and not a directory an
         * exception brings something back into.
         */
        private static boolean leftOut(Path root, String rel, IgnoreRules rules) {
            String n = normal(rel);
            if (!rules.excluded(n)) {
                return false;
            }
            Path p = reach(root, rel);
            return p == null || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) || !rules.mayIncludeUnder(n);
        }

        /** The names in directory {@code dir} below {@code root} (none when it is not a directory or is reached through a link). */
        private List<String> names(Path root, String dir, Instruction i) {
            Path d = dir.isEmpty() ? root : reach(root, dir);
            if (d == null || !Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                return List.of();
            }
            try (var list = Files.list(d)) {
                return list.map(p -> p.getFileName().toString()).limit(1_000_001).toList();
            } catch (IOException e) {
                throw error(i, "cannot list " + Text.shorten(dir, 100) + ": " + e.getMessage());
            }
        }

        /** {@code rel} below {@code root} with no link on the way and no {@code ..}; null otherwise. */
        private static Path reach(Path root, String rel) {
            Path p = root;
            for (String part : rel.split("/")) {
                if (part.isEmpty() || part.equals(".")) {
                    continue;
                }
                if (part.equals("..") || !p.equals(root) && Files.isSymbolicLink(p)) {
                    return null;
                }
                p = p.resolve(part);
            }
            return p;
        }

        /** {@code p} (below {@code root}) as a clean relative path with {@code /}. */
        private static String relative(Path root, Path p) {
            return normal(root.relativize(p).toString());
        }

        private static String normal(String rel) {
            String n = Path.of("/").resolve(rel).normalize().toString().substring(1);
            return n;
        }

        /** The error of source {@code rel} of {@code i} that is not there. */
        private DavitException missing(Instruction i, String rel) {
            return error(i, "no " + Text.shorten(rel, 100) + " in " + (i instanceof Instruction.Copy c
                    && c.from() != null ? "stage or image " + c.from() : "the build context"));
        }

        /**
         * {@code rel} (below {@code root}: the context, or a stage's tree) with the links on its way and at its end
         * resolved as the tree sees them: an absolute target from {@code root}, {@code ..} stopping there, at most 40
         * links. Only link texts are read; nothing is followed on the host (the copy then opens what this names
         * through descriptors, refusing a link that appeared meanwhile).
         */
        private String followLinks(Path root, String rel, Instruction i) {
            return String.join("/", walkLinks(rel, path -> {
                Path p = root.resolve(path);
                if (!Files.isSymbolicLink(p)) {
                    return null;
                }
                try {
                    return Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    throw error(i, "cannot read the link " + Text.shorten(rel, 100) + ": " + e.getMessage());
                }
            }, () -> error(i, Text.shorten(rel, 100) + " goes through more than 40 links")));
        }

        /**
         * The components of {@code rel} (a path below a root) with every link on its way resolved: {@code linkAt}
         * gives the text of the link at a path (components joined with {@code /}), or null when it is none; an
         * absolute target starts again from the root, {@code ..} stops there; more than 40 links is
         * {@code tooMany}'s error.
         */
        private static List<String> walkLinks(String rel, java.util.function.Function<String, String> linkAt,
                                              java.util.function.Supplier<DavitException> tooMany) {
            java.util.Deque<String> todo = new java.util.ArrayDeque<>(List.of(rel.split("/")));
            List<String> done = new ArrayList<>();
            int links = 0;
            while (!todo.isEmpty()) {
                String part = todo.pop();
                if (part.isEmpty() || part.equals(".")) {
                    continue;
                }
                if (part.equals("..")) {
                    if (!done.isEmpty()) {
                        done.remove(done.size() - 1);
                    }
                    continue;
                }
                String target = linkAt.apply(done.isEmpty() ? part : String.join("/", done) + "/" + part);
                if (target == null) {
                    done.add(part);
                    continue;
                }
                if (++links > 40) {
                    throw tooMany.get();
                }
                if (target.startsWith("/")) {
                    done.clear();
                }
                List<String> parts = List.of(target.split("/"));
                for (int k = parts.size() - 1; k >= 0; k--) {
                    todo.push(parts.get(k));
                }
            }
            return done;
        }

        /** {@code rel} below {@code root}, no part of it a link, no {@code ..}: else a one-line error. */
        private Path within(Path root, String rel, Instruction i) {
            Path p = root;
            for (String part : rel.replaceFirst("^/+", "").split("/")) {
                if (part.isEmpty() || part.equals(".")) {
                    continue;
                }
                if (part.equals("..")) {
                    throw error(i, Text.shorten(rel, 100) + " leads out of the build's files (..); give a path"
                            + " inside them");
                }
                if (Files.isSymbolicLink(p) && !p.equals(root)) {
                    throw error(i, Text.shorten(rel, 100) + " goes through a link; copy what it names instead");
                }
                p = p.resolve(part);
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                throw missing(i, rel);
            }
            return p;
        }

        /**
         * Copies directory {@code src}'s content into {@code to} (below {@code root}, the staging directory), read
         * through descriptors ({@link dev.davit.sandbox.fs.Dir}: each directory opened below its parent with no link
         * followed, each file opened without following and checked to be the one listed), so a tree changed while it
         * is read (a directory swapped for a link) yields an error or what is really there, never a host file; links
         * copied as links, attributes kept, hard links kept linked; {@code rules} (null: none) leave out what the
         * ignore file says, {@code rel} being {@code src}'s path in the context.
         */
        private void copyTree(dev.davit.sandbox.fs.Dir src, Path to, Path root, java.util.Set<Path> copied,
                              long[] budget, Instruction i, IgnoreRules rules, String rel,
                              Map<List<Long>, Path> links, int depth) throws IOException {
            copyTree(src, to, root, copied, budget, i, rules, null, rel, links, depth);
        }

        /** {@link #copyTree}, less what {@code ex} (a COPY's --exclude; null: none) leaves out too. */
        private void copyTree(dev.davit.sandbox.fs.Dir src, Path to, Path root, java.util.Set<Path> copied,
                              long[] budget, Instruction i, IgnoreRules rules, Exclusions ex, String rel,
                              Map<List<Long>, Path> links, int depth) throws IOException {
            if (depth > 256) {
                throw error(i, "the COPY goes more than 256 directories deep; copy less");
            }
            for (String name : src.names()) {
                dev.davit.sandbox.fs.Stat st = src.stat(name);
                if (st == null) {
                    continue; // gone meanwhile
                }
                String r = rel == null || rel.isEmpty() ? name : rel + "/" + name;
                boolean ignored = rules != null && rules.excluded(r);
                boolean dropped = ex != null && ex.excludes(r);
                boolean excluded = ignored || dropped;
                Path t = to.resolve(name);
                if (st.isDirectory()) {
                    // left out by either, and nothing below it let back in by the one that left it out
                    if (ignored && !rules.mayIncludeUnder(r) || dropped && !ex.mayIncludeUnder(r)) {
                        continue;
                    }
                    counted(st.size(), budget, i);
                    try (dev.davit.sandbox.fs.Dir sub = src.dir(name)) {
                        if (!excluded) {
                            realDir(root, t);
                            copied.add(t);
                        }
                        copyTree(sub, t, root, copied, budget, i, rules, ex, r, links, depth + 1);
                    }
                    if (Files.isDirectory(t, LinkOption.NOFOLLOW_LINKS)) { // excluded, and nothing came back: none
                        if (excluded) {
                            copied.add(t);
                        }
                        attributes(t, st); // its own mode and time, once what is in it is written
                    }
                } else if (!excluded && (st.isRegularFile() || st.isSymbolicLink())) {
                    counted(st.size(), budget, i);
                    if (!Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
                        realDir(root, to); // an excluded directory an exception enters
                        for (Path q = to; q.startsWith(root) && !q.equals(root); q = q.getParent()) {
                            copied.add(q);
                        }
                    }
                    copyEntry(src, name, st, t, links, i);
                    copied.add(t);
                } else if (!excluded) {
                    specialsLeftOut.add(r); // a fifo, socket or device: never copied, and said so
                }
            }
        }

        /**
         * Copies entry {@code name} of {@code src} (a regular file or a link, as {@code st} says) to {@code t}: a
         * file through its descriptor, checked to be the one {@code st} saw; a link as a link; attributes kept; a
         * file with more links than one linked to its first copy.
         */
        private void copyEntry(dev.davit.sandbox.fs.Dir src, String name, dev.davit.sandbox.fs.Stat st, Path t,
                               Map<List<Long>, Path> links, Instruction i) throws IOException {
            Files.deleteIfExists(t); // an earlier source's entry (a link itself, never what it names)
            if (st.isSymbolicLink()) {
                Files.createSymbolicLink(t, Path.of(src.readLink(name)));
                attributes(t, st);
                return;
            }
            List<Long> inode = List.of(st.dev(), st.ino());
            Path first = st.nlink() > 1 ? links.get(inode) : null;
            if (first != null) {
                Files.createLink(t, first);
                return;
            }
            try (dev.davit.sandbox.fs.Dir.Opened f = src.openFile(name)) {
                if (f.stat().ino() != st.ino() || f.stat().dev() != st.dev()) {
                    throw error(i, Text.shorten(name, 100) + " changed while the build read it; build again");
                }
                try (java.nio.channels.FileChannel in = f.read();
                     java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(t,
                             java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE,
                             LinkOption.NOFOLLOW_LINKS)) {
                    long n = f.stat().size();
                    for (long done = 0; done < n; ) {
                        long k = in.transferTo(done, n - done, out);
                        if (k <= 0) {
                            break; // shorter than it said: what it has
                        }
                        done += k;
                    }
                }
                attributes(t, f.stat());
            } catch (dev.davit.sandbox.fs.Dir.NotRegularFile e) {
                throw error(i, Text.shorten(name, 100) + " changed while the build read it; build again");
            }
            if (st.nlink() > 1) {
                links.put(inode, t);
            }
        }

        /** Gives staged entry {@code t} the mode, owner and time of {@code st} (never through a link). */
        private static void attributes(Path t, dev.davit.sandbox.fs.Stat st) throws IOException {
            if (!st.isSymbolicLink()) {
                Files.setAttribute(t, "unix:mode", st.mode() & 07777, LinkOption.NOFOLLOW_LINKS);
            }
            try {
                Files.setAttribute(t, "unix:uid", st.uid(), LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(t, "unix:gid", st.gid(), LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                // not root: the owner stays the builder's (the layer records the COPY's owner)
            }
            Files.getFileAttributeView(t, java.nio.file.attribute.BasicFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS).setTimes(st.modified(), null, null);
        }
    }
}
