package dev.davit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.BuildResult;
import dev.davit.oci.build.Compression;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Platform;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit build DIR REF}: one reproducible layer from a directory, on an optional base, named REF. */
@Command(name = "build", mixinStandardHelpOptions = true,
        description = {"Build an image from a directory: one reproducible layer on top of an optional base image,"
                + " stored and named REF.", "With --file, build a Containerfile (Dockerfile) with DIR as its context:"
                + " each RUN in a davit sandbox (the jail, no network, the default limits), each COPY a layer."})
final class BuildCommand extends DavitCommand {
    private static final int MAX_SKIPPED_NOTICES = 10;

    @Parameters(index = "0", paramLabel = "DIR", description = "The directory whose content becomes the layer (with"
            + " --file: the build context).")
    Path dir;

    @Option(names = {"-f", "--file"}, paramLabel = "CONTAINERFILE", description = "Build this Containerfile"
            + " (Dockerfile) instead; the options below --target then do not apply.")
    Path file;

    @Option(names = "--target", paramLabel = "STAGE", description = "With --file: the stage to build (default: the"
            + " last).")
    String target;

    @Option(names = "--build-arg", paramLabel = "K=V", description = "With --file: a build argument (repeatable).")
    List<String> buildArgs = new ArrayList<>();

    @Option(names = "--no-cache", description = "With --file: run every RUN again; the build cache is neither read"
            + " nor written.")
    boolean noCache;

    @Option(names = "--secret", paramLabel = "id=ID[,src=FILE|,env=VAR]", description = "With --file: a secret a RUN"
            + " --mount=type=secret,id=ID reads, from FILE or the variable VAR (default: the variable ID); never in"
            + " the image, its history or the build cache (repeatable).")
    List<String> secrets = new ArrayList<>();

    @Option(names = "--network", arity = "0..1", paramLabel = "MODE", preprocessor = NetworkOption.class,
            description = "With --file: the network of each RUN and ADD of a URL (default none). " + NetworkOption.DESCRIPTION)
    String network;

    @picocli.CommandLine.Mixin
    EgressOptions egress = new EgressOptions();

    @Option(names = "--vm", description = "With --file: also make the microVM environment of the result (Debian's"
            + " kernel, an initrd and rootfs.ext4), stored as REPO-vm:TAG.")
    boolean vm;

    @Parameters(index = "1", paramLabel = "REF", description = "The name to store the image as, e.g. my/app:1.0.")
    String reference;

    @Option(names = "--base", paramLabel = "REF",
            description = "Base image; pulled first when it is not in the store.")
    String base;

    @Option(names = "--cmd", paramLabel = "ARG",
            description = "Cmd: one argument per --cmd, or one JSON array (--cmd '[\"sh\",\"-c\",\"x\"]');"
                    + " '[]' clears the base's.")
    List<String> cmd;

    @Option(names = "--entrypoint", paramLabel = "ARG",
            description = "Entrypoint, like --cmd. Without --cmd it clears the base's Cmd.")
    List<String> entrypoint;

    @Option(names = "--env", paramLabel = "KEY=VALUE", description = "Set an environment variable (repeatable).")
    List<String> env = new ArrayList<>();

    @Option(names = "--workdir", paramLabel = "DIR", description = "Working directory (absolute).")
    String workdir;

    @Option(names = "--user", paramLabel = "USER[:GROUP]", description = "User (name or id) the process runs as.")
    String user;

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Set a label (repeatable).")
    List<String> labels = new ArrayList<>();

    @Option(names = "--expose", paramLabel = "PORT[/PROTO]", description = "Add an exposed port (repeatable).")
    List<String> ports = new ArrayList<>();

    @Option(names = "--compression", paramLabel = "gzip|zstd|none", description = "Layer compression (default: gzip).")
    String compression = "gzip";

    @Option(names = "--compression-level", paramLabel = "N",
            description = "gzip 1-9 (default 6), zstd 1-22 (default 3).")
    Integer level;

    @Option(names = "--preserve-owner", description = "Keep files' uid/gid and owner names (default: 0/0, no names).")
    boolean preserveOwner;

    @Option(names = "--keep-mtimes",
            description = "Keep files' modification times (default: 0, or SOURCE_DATE_EPOCH).")
    boolean keepMtimes;

    @Option(names = "--push", description = "Push the built image to REF's registry afterwards.")
    boolean push;

    @Option(names = "--created", paramLabel = "TIME",
            description = "Record a creation time: ISO-8601 (2024-05-01T10:00:00Z) or 'now' (default: none, or"
                    + " SOURCE_DATE_EPOCH).")
    String created;

    @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]",
            description = "Platform of the base to use (and of the image); default: the base's, else this machine's."
                    + " With --file: this host's only (its RUN steps run here).")
    String platform;

    /** The {@code --secret}s by id: BuildKit's forms ({@code type=file|env}, {@code source=}, an id alone). */
    private Map<String, dev.davit.sandbox.build.ContainerfileBuilder.Secret> secrets() {
        Map<String, dev.davit.sandbox.build.ContainerfileBuilder.Secret> byId = new java.util.LinkedHashMap<>();
        for (String given : secrets) {
            Map<String, String> f = new java.util.LinkedHashMap<>();
            for (String field : given.split(",")) {
                int eq = field.indexOf('=');
                if (eq <= 0) {
                    throw new DavitException(Kind.USAGE, "--secret takes id=ID with src=FILE or env=VAR, e.g. --secret"
                            + " id=npmrc,src=$HOME/.npmrc");
                }
                String k = field.substring(0, eq).strip().toLowerCase(java.util.Locale.ROOT);
                f.put(k.equals("source") ? "src" : k, field.substring(eq + 1));
            }
            String id = f.remove("id");
            String type = f.remove("type");
            String src = f.remove("src");
            String env = f.remove("env");
            if (id == null || id.isEmpty() || !f.isEmpty() || type != null && !type.equals("file")
                    && !type.equals("env") || src != null && env != null) {
                throw new DavitException(Kind.USAGE, "--secret takes id=ID with src=FILE or env=VAR, e.g. --secret"
                        + " id=npmrc,src=$HOME/.npmrc");
            }
            if ("env".equals(type) && src != null) {
                env = src; // BuildKit's type=env,src=VAR
                src = null;
            }
            if (src == null && env == null) {
                env = id;
            }
            if (env != null && main.env().get(env) == null) {
                throw new DavitException(Kind.USAGE, "--secret id=" + dev.davit.oci.internal.Text.shorten(id, 40)
                        + " reads the variable " + dev.davit.oci.internal.Text.shorten(env, 40) + ", which is not"
                        + " set; set it or give src=FILE");
            }
            if (src != null && !Files.isReadable(Path.of(src))) {
                throw new DavitException(Kind.USAGE, "--secret id=" + dev.davit.oci.internal.Text.shorten(id, 40)
                        + ": cannot read the file " + dev.davit.oci.internal.Text.shorten(src, 100) + "; give a"
                        + " readable file");
            }
            if (byId.put(id, new dev.davit.sandbox.build.ContainerfileBuilder.Secret(src == null ? null
                    : Path.of(src).toAbsolutePath(), env)) != null) {
                throw new DavitException(Kind.USAGE, "--secret id=" + dev.davit.oci.internal.Text.shorten(id, 40)
                        + " is given twice; give each id once");
            }
        }
        return byId;
    }

    @Override
    protected int run(Output out) {
        if (file != null) {
            return containerfile(out);
        }
        if (target != null || !buildArgs.isEmpty() || noCache || network != null || egress.given() || vm
                || !secrets.isEmpty()) {
            throw new DavitException(Kind.USAGE, "--target, --build-arg, --no-cache, --network, --secret, --vm and"
                    + " the egress policy options go with --file (a Containerfile)");
        }
        BuildOptions options = options();
        boolean pulled = false;
        BuildResult r;
        dev.davit.oci.copy.PushResult pushed;
        try (ProgressRenderer progress = out.progress()) {
            if (options.base() != null && client().find(options.base().toString()).isEmpty()) {
                PlatformSelector selector = options.platform() != null ? PlatformSelector.of(options.platform())
                        : PlatformSelector.host();
                client().pull(options.base(), selector, progress);
                pulled = true;
            }
            r = client().build(dir, reference, options, progress);
            pushed = push ? client().push(reference, null, progress) : null;
        }
        List<String> skipped = r.layer().skipped();
        for (int i = 0; i < Math.min(skipped.size(), MAX_SKIPPED_NOTICES); i++) {
            out.notice("skipped special file " + Text.shorten(skipped.get(i), 200)
                    + " (device nodes, fifos and sockets are not stored in layers)");
        }
        if (skipped.size() > MAX_SKIPPED_NOTICES) {
            out.notice("skipped " + (skipped.size() - MAX_SKIPPED_NOTICES) + " more special files");
        }
        boolean basePulled = pulled;
        var doc = toJson(reference, r, options, basePulled);
        if (pushed != null) {
            doc.set("push", PushCommand.toJson(reference, pushed));
        }
        out.result(doc, w -> {
            human(w, r, options, basePulled);
            if (pushed != null) {
                PushCommand.human(w, "pushed", pushed);
            }
        });
        return 0;
    }

    /** {@code --file}: a Containerfile built in davit's sandboxes. */
    private int containerfile(Output out) {
        String text;
        try {
            if (Files.size(file) > dev.davit.oci.containerfile.Containerfile.MAX_BYTES) {
                throw new DavitException(Kind.USAGE, file + " is larger than a Containerfile may be; give the right"
                        + " file with --file");
            }
            text = Files.readString(file);
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read --file " + file + ": " + e.getMessage());
        }
        if (!Files.isDirectory(dir)) {
            throw new DavitException(Kind.USAGE, "the build context " + dir + " is not a directory; give the"
                    + " directory the Containerfile's COPY sources are in");
        }
        if (platform != null && !dev.davit.oci.manifest.Platform.host().accepts(dev.davit.oci.manifest.Platform
                .parse(platform))) {
            throw new DavitException(Kind.USAGE, "--platform " + dev.davit.oci.internal.Text.shorten(platform, 40)
                    + " is not this host's (" + dev.davit.oci.manifest.Platform.host() + "): a Containerfile's RUN"
                    + " steps run here, so davit builds for this host's platform only; drop --platform");
        }
        Map<String, String> args = CliArgs.keyValues(buildArgs, "--build-arg needs K=V");
        var parsed = dev.davit.oci.containerfile.Containerfile.parse(text, file.getFileName().toString());
        if (parsed.directives().containsKey("syntax")) {
            out.notice("the '# syntax' directive is ignored: davit builds with its own front end");
        }
        java.nio.file.Path home = dev.davit.oci.client.DavitHome.resolve(main.env());
        var net = egress.network(network);
        var sandboxes = new dev.davit.sandbox.engine.Sandboxes(EgressOptions.withDns(dev.davit.sandbox.SandboxOptions
                .under(home), main.env()));
        Instant epoch = BuildOptions.sourceDateEpoch(main.env());
        if (net.enabled()) {
            out.notice("==> each RUN has a network: " + EgressOptions.brief(net));
        }
        var options = dev.davit.sandbox.build.ContainerfileBuilder.Options.defaults().withTarget(target)
                .withArgs(args).withCreated(created != null ? createdTime(created) : epoch).withNoCache(noCache)
                .withNetwork(net).withSecrets(secrets());
        var r = new dev.davit.sandbox.build.ContainerfileBuilder(client(), sandboxes, home, out::notice).build(parsed,
                dir, reference, options);
        ObjectNode doc = Json.object();
        doc.put("reference", r.image().reference().toString());
        doc.put("digest", r.image().manifest().digest().toString());
        com.fasterxml.jackson.databind.node.ArrayNode steps = doc.putArray("steps");
        r.steps().forEach(s -> {
            steps.addObject().put("line", s.line()).put("instruction", s.instruction()).put("ms", s.millis())
                    .put("cached", s.cached()).set("network_denied", dev.davit.sandbox.internal.SandboxJson
                    .denied(s.denials()));
        });
        if (vm) {
            dev.davit.oci.reference.Reference ref = r.image().reference();
            String vmTag = ref.repositoryName() + "-vm:" + (ref.tag() == null ? "latest" : ref.tag());
            var made = new dev.davit.sandbox.build.EnvBuilder(client(), home.resolve("builds")).microVm(
                    r.image().reference().toString(), vmTag, dev.davit.sandbox.build.LocalEnvBuilder.vmCache(
                    main.env(), home), options.created(), "containerfile", ref.tag() == null ? "latest" : ref.tag(),
                    new EnvBuildCommand.PhaseLines(out));
            ObjectNode v = doc.putObject("vm").put("reference", vmTag).put("digest", made.vm().digest().toString())
                    .put("dir", made.vmDir().toString());
            if (push) {
                v.set("push", PushCommand.toJson(vmTag, client().push(vmTag, null, ProgressListener.NONE)));
            }
        }
        if (push) {
            doc.set("push", PushCommand.toJson(reference, client().push(reference, null, ProgressListener.NONE)));
        }
        out.result(doc, w -> w.println(r.image().reference() + "@" + r.image().manifest().digest() + " ("
                + r.steps().size() + " steps)"));
        return 0;
    }

    /** The options from the command line and SOURCE_DATE_EPOCH. */
    BuildOptions options() {
        Instant epoch = BuildOptions.sourceDateEpoch(main.env());
        BuildOptions.Builder b = BuildOptions.builder()
                .base(base)
                .cmd(args("--cmd", cmd))
                .entrypoint(args("--entrypoint", entrypoint))
                .workdir(workdir)
                .user(user)
                .compression(Compression.parse(compression))
                .compressionLevel(level)
                .preserveOwner(preserveOwner)
                .keepMtimes(keepMtimes)
                .platform(platform == null ? null : Platform.parse(platform));
        env.forEach(b::env);
        labels.forEach(b::label);
        ports.forEach(b::exposedPort);
        if (epoch != null && !keepMtimes) {
            b.fileMtime(epoch);
        }
        b.created(created != null ? createdTime(created) : epoch);
        return b.build();
    }

    /** One argument per occurrence, or the strings of a single JSON array; null when the option is absent. */
    static List<String> args(String option, List<String> values) {
        if (values == null) {
            return null;
        }
        if (values.size() == 1 && values.get(0).stripLeading().startsWith("[")) {
            JsonNode n;
            try {
                n = Json.read(values.get(0).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } catch (IOException | RuntimeException e) {
                n = null;
            }
            List<String> out = new ArrayList<>();
            if (n != null && n.isArray()) {
                n.forEach(x -> out.add(x.isTextual() ? x.asText() : null));
            }
            if (n == null || !n.isArray() || out.contains(null)) {
                throw new DavitException(Kind.USAGE, option + " '" + Text.shorten(values.get(0), 60) + "' is not a"
                        + " JSON array of strings; write e.g. '[\"sh\",\"-c\",\"echo hi\"]' or repeat " + option
                        + " once per argument");
            }
            return out;
        }
        return values;
    }

    static Instant createdTime(String text) {
        if (text.equals("now")) {
            return Instant.now();
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new DavitException(Kind.USAGE, "--created '" + Text.shorten(text, 40) + "' is not a time; use"
                    + " ISO-8601 such as 2024-05-01T10:00:00Z, or now");
        }
    }

    static ObjectNode toJson(String given, BuildResult r, BuildOptions o, boolean basePulled) {
        ObjectNode doc = Json.object();
        doc.put("reference", given);
        doc.put("name", r.reference().toString());
        doc.put("digest", r.manifest().digest().toString());
        doc.put("media_type", r.manifest().mediaType());
        doc.put("platform", r.platform());
        doc.put("size", r.totalSize());
        doc.put("base", r.base() == null ? null : r.base().toString());
        doc.put("base_digest", r.baseManifest() == null ? null : r.baseManifest().digest().toString());
        doc.put("base_pulled", basePulled);
        doc.set("config", JsonShapes.descriptor(r.config()));
        ObjectNode layer = JsonShapes.descriptor(r.layer().descriptor());
        layer.put("diff_id", r.layer().diffId().toString());
        layer.put("compression", o.compression().id());
        layer.put("tar_size", r.layer().tarSize());
        layer.put("entries", r.layer().entries());
        layer.put("cached", r.layer().cached());
        ArrayNode skipped = layer.putArray("skipped");
        r.layer().skipped().forEach(skipped::add);
        doc.set("layer", layer);
        ArrayNode layers = doc.putArray("layers");
        for (int i = 0; i < r.layers().size(); i++) {
            Descriptor d = r.layers().get(i);
            layers.add(JsonShapes.descriptor(d).put("diff_id", r.diffIds().get(i).toString()));
        }
        doc.put("elapsed_ms", r.elapsed().toMillis());
        return doc;
    }

    private static void human(PrintWriter w, BuildResult r, BuildOptions o, boolean basePulled) {
        w.println("built " + Text.printable(r.reference().toString()));
        w.println("  digest:   " + r.manifest().digest());
        if (r.platform() != null) {
            w.println("  platform: " + Text.printable(r.platform()));
        }
        if (r.base() != null) {
            w.println("  base:     " + Text.printable(r.base().toString()) + " (" + r.baseManifest().digest().shortHex()
                    + (basePulled ? ", pulled" : "") + ")");
        }
        LayerBuilder.Layer l = r.layer();
        w.println("  layer:    " + l.descriptor().digest() + " (" + o.compression().id() + ", "
                + Units.bytes(l.descriptor().size()) + "; " + l.entries()
                + (l.entries() == 1 ? " entry, " : " entries, ") + Units.bytes(l.tarSize()) + " uncompressed" + (l.cached() ? "; already stored" : "") + ")");
        int n = r.layers().size();
        w.println("  size:     " + Units.bytes(r.totalSize()) + " (" + n + (n == 1 ? " layer" : " layers") + ") in "
                + Units.duration(r.elapsed()));
    }
}
