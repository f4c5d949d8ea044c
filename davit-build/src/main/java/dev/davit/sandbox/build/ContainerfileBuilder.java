package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.target.RunTargets;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.BuildPlan;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.containerfile.IgnoreRules;
import dev.davit.oci.internal.Text;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.unpack.LayerIndex;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds a Containerfile into an image of the store, daemonless: each {@code RUN} in a davit sandbox over the stage's
 * root filesystem (the jail, no network, the default limits), its layer the sandbox's changes
 * (the backend's {@code Lifecycle.changes}); each {@code COPY} a layer of the files it copies (from the build context, or an earlier
 * stage's root filesystem, links never followed); the other instructions the image's config. Stages as
 * {@link BuildPlan} orders them. Not built: {@code ADD} of a git repository (a
 * one-line error naming its line).
 */
public final class ContainerfileBuilder {
    /** The {@code created_by} of a layer's history entry: the instruction follows. */
    public static final String CREATED_BY = ImageBuilder.CREATED_BY + ": ";
    /** The PATH a stage FROM scratch has, as Docker's builders give it. */
    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    /** Where in the home the indexes of the layers a build looks paths up in are kept ({@link LayerIndex}). */
    static final String LAYER_INDEXES = "cache/layer-index";

    final DavitClient client;
    final Sandboxes sandboxes;
    final Path home;
    final Consumer<String> say;
    final BuildCache cache;
    /** How many images this builder unpacked (a cached step unpacks none). */
    private final java.util.concurrent.atomic.AtomicInteger unpacks = new java.util.concurrent.atomic.AtomicInteger();
    /** The steps a build runs besides its file's instructions: its bases' ONBUILD triggers. */
    final java.util.concurrent.atomic.AtomicInteger extraSteps = new java.util.concurrent.atomic.AtomicInteger();

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
    RunTarget unpacked(String ref) {
        return RunTargets.ofImage(client, home, ref, null, this::counted);
    }

    /**
     * Image {@code ref}, a build's own, unpacked over the tree of {@code lower} (an image unpacked before whose
     * layers begin it; null: none): its files linked, only the layers above read. Counted.
     */
    RunTarget unpacked(String ref, String lower) {
        return RunTargets.ofImageOver(client, home, ref, lower, this::counted);
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
                BuildStage st = new BuildStage(this, file, stage, plan, options, steps, total, context, built,
                        trees, lowers, ignore);
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
                RunTargets.prune(client, home, sandboxes::list, unpacked, Duration.ZERO);
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
}
