package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.client.DavitHome;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.copy.PushResult;
import dev.davit.sandbox.build.BuildProfile;
import dev.davit.sandbox.build.EnvBuilder;
import java.nio.file.Path;
import java.time.Instant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit env build PROFILE}: an environment built from Debian packages (or busybox), stored and pushable. */
@Command(name = "build",
        description = {"Build an environment from a profile: base (bash, coreutils), git (plus ca-certificates, curl,"
                + " git, less, procps), build (plus build-essential, cmake, pkg-config, python3, ca-certificates, curl,"
                + " git), all with mmdebstrap from a Debian mirror (no root needed: without root it uses unprivileged"
                + " user namespaces, newuidmap and the user's /etc/subuid and /etc/subgid ranges), or busybox (the"
                + " host's static busybox; for tests). The root filesystem is made reproducible (volatile files"
                + " removed, every time set to SOURCE_DATE_EPOCH or 0), davit's guest files (a static busybox) are installed, and it is stored as a"
                + " container image and as a microVM environment (vmlinux and initrd from Debian's kernel package,"
                + " rootfs.ext4) unless --no-vm."})
final class EnvBuildCommand extends DavitCommand {
    // the help option alone, not picocli's standard pair: its -V/--version would take --version, which here is the
    // environment's version, and --help then failed for want of PROFILE
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Parameters(index = "0", paramLabel = "PROFILE", description = "base, git, build or busybox, or an environment"
            + " of 'davit environment list' built from one (e.g. debian:12-build).")
    String profile;

    @Option(names = "--catalog", paramLabel = "CATALOG", description = "The catalog PROFILE's environment is in"
            + " (default: the built-in one). " + "A file (path or file://) or oci://REGISTRY/REPO:TAG.")
    String catalog;

    @Option(names = "--version", paramLabel = "V", defaultValue = "dev",
            description = "The environment's version: the image's tag and label (default: dev).")
    String version;

    @Option(names = "--tag", paramLabel = "REF", description = "Store the container image as REF (default:"
            + " localhost/davit/PROFILE:VERSION).")
    String tag;

    @Option(names = "--push", paramLabel = "REF", description = "Push the container image to REF afterwards.")
    String push;

    @Option(names = "--no-vm", description = "Build only the container image, not the microVM environment.")
    boolean noVm;

    @Option(names = "--vm-tag", paramLabel = "REF", description = "Store the microVM environment as REF (default:"
            + " localhost/davit/PROFILE-vm:VERSION).")
    String vmTag;

    @Option(names = "--push-vm", paramLabel = "REF", description = "Push the microVM environment to REF afterwards.")
    String pushVm;

    @Option(names = "--compression", paramLabel = "gzip|zstd|none", description = "The image layer's compression"
            + " (default: gzip, which every runtime reads; zstd is several times faster to write and unpack).")
    String compression = "gzip";

    @Option(names = "--suite", paramLabel = "SUITE", description = "The Debian suite (default: bookworm).")
    String suite;

    @Option(names = "--mirror", paramLabel = "URL", description = "The Debian mirror (default:"
            + " http://deb.debian.org/debian).")
    String mirror;

    /**
     * The profile named {@code profile}, or the one the catalog environment of that name is built from (its
     * {@code source.build}): {@code env build} takes the names {@code env list} prints. {@code e} is that
     * environment ({@link #environment()}), or null.
     */
    private BuildProfile profile(Output out, dev.davit.env.Environment e) {
        if (BuildProfile.ALL.stream().anyMatch(b -> b.name().equals(profile))) {
            return BuildProfile.named(profile);
        }
        String names = String.join(", ", BuildProfile.ALL.stream().map(BuildProfile::name).toList());
        if (e == null) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "unknown profile '"
                    + profile + "'; give one of " + names + ", or an environment of 'davit environment list' built from one"
                    + " (e.g. debian:12-build)");
        }
        if (e.source().build() == null) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "environment " + profile
                    + " is not built from a profile (it is published, not built here); install it with 'davit env"
                    + " pull " + profile + "', or build a profile: " + names);
        }
        out.notice("==> " + profile + " is built from profile " + e.source().build());
        return BuildProfile.named(e.source().build());
    }

    /** The catalog environment called {@code profile}, or null. */
    private dev.davit.env.Environment environment() {
        if (BuildProfile.ALL.stream().anyMatch(b -> b.name().equals(profile))) {
            return null;
        }
        try {
            return new dev.davit.env.catalog.CatalogResolver(this::client).resolve(new dev.davit.env.catalog
                    .CatalogOptions(catalog, false, true, main.env(), DavitHome.resolve(main.env()))).catalog()
                    .find(profile).orElse(null);
        } catch (dev.davit.oci.DavitException x) {
            if (catalog != null) {
                throw x; // the catalog asked for cannot be read: its own error
            }
            return null; // no catalog to read: the profile's own error follows
        }
    }

    /**
     * A catalog environment whose {@code source.build} names a Containerfile: built as {@code davit run} builds it on
     * first use ({@link dev.davit.sandbox.build.LocalEnvBuilder}), at the catalog's version, and pushed with --push.
     */
    private int containerfile(Output out, dev.davit.env.Environment e) {
        if (tag != null || vmTag != null || pushVm != null || suite != null || mirror != null) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "environment " + profile
                    + " is built from its Containerfile " + e.containerfile() + " under its catalog name and version;"
                    + " drop --tag, --vm-tag, --push-vm, --suite and --mirror");
        }
        Path home = DavitHome.resolve(main.env());
        new EnvLocalBuilder(this::client, home, main.env(), out).build(e);
        String imageTag = dev.davit.sandbox.build.LocalEnvBuilder.containerfileTag(e, false);
        String vmRef = dev.davit.sandbox.build.LocalEnvBuilder.containerfileTag(e, true);
        PushResult pushed = null;
        if (push != null) {
            try (ProgressRenderer progress = out.progress()) {
                out.notice("==> pushing " + imageTag + " to " + push);
                pushed = client().push(imageTag, push, progress);
            }
        }
        ObjectNode doc = Json.object();
        doc.put("profile", "containerfile");
        doc.put("containerfile", e.containerfile().toString());
        doc.put("version", e.version());
        doc.putArray("packages");
        ObjectNode image = doc.putObject("image");
        image.put("reference", imageTag);
        image.put("digest", client().find(imageTag).orElseThrow().descriptor().digest().toString());
        if (pushed != null) {
            doc.set("push", PushCommand.toJson(imageTag, pushed));
        }
        var vm = e.kind() == dev.davit.env.Environment.Kind.MICROVM ? client().find(vmRef) : java.util.Optional
                .<dev.davit.oci.store.StoreEntry>empty();
        vm.ifPresent(v -> doc.putObject("microvm").put("reference", vmRef).put("digest", v.descriptor().digest()
                .toString()));
        PushResult pr = pushed;
        out.result(doc, w -> {
            w.println("built " + Text.printable(profile) + " " + Text.printable(e.version()) + " from "
                    + e.containerfile() + ": " + imageTag + " " + image.get("digest").asText());
            vm.ifPresent(v -> w.println("built its microVM environment: " + vmRef + " " + v.descriptor().digest()));
            if (pr != null) {
                PushCommand.human(w, "pushed", pr);
            }
        });
        return 0;
    }

    @Override
    protected int run(Output out) {
        dev.davit.env.Environment env = environment();
        if (env != null && env.containerfile() != null) {
            return containerfile(out, env);
        }
        BuildProfile p = profile(out, env);
        String imageTag = tag != null ? tag : "localhost/davit/" + p.name() + ":" + version;
        dev.davit.oci.reference.Reference.parse(imageTag); // a bad --tag fails before the long build
        String vmRef = noVm ? null : vmTag != null ? vmTag : "localhost/davit/" + p.name() + "-vm:" + version;
        for (String r : new String[] {push, vmRef, pushVm}) {
            if (r != null) {
                dev.davit.oci.reference.Reference.parse(r);
            }
        }
        if (noVm && (vmTag != null || pushVm != null)) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "--no-vm cannot go with"
                    + " --vm-tag or --push-vm; drop one of them");
        }
        Instant epoch = BuildOptions.sourceDateEpoch(main.env());
        Path home = DavitHome.resolve(main.env());
        dev.davit.oci.build.Compression layer = dev.davit.oci.build.Compression.parse(compression);
        EnvBuilder.Options o = new EnvBuilder.Options(p, version, imageTag, suite, mirror, epoch, vmRef,
                dev.davit.sandbox.build.LocalEnvBuilder.vmCache(main.env(), home), layer);
        Path work = home.resolve("builds");
        EnvBuilder.Result r;
        PushResult pushed = null;
        PushResult pushedVm = null;
        try (ProgressRenderer progress = out.progress()) {
            r = new EnvBuilder(client(), work).build(o, new PhaseLines(out), progress);
            if (push != null) {
                out.notice("==> pushing " + imageTag + " to " + push);
                pushed = client().push(imageTag, push, progress);
            }
            if (pushVm != null) {
                out.notice("==> pushing " + vmRef + " to " + pushVm);
                pushedVm = client().push(vmRef, pushVm, progress);
            }
        }
        ObjectNode doc = Json.object();
        doc.put("profile", p.name());
        doc.put("version", version);
        var pk = doc.putArray("packages");
        p.packages().forEach(pk::add);
        ObjectNode image = doc.putObject("image");
        image.put("reference", r.image().reference().toString());
        image.put("digest", r.image().manifest().digest().toString());
        image.put("size", r.image().totalSize());
        if (pushed != null) {
            doc.set("push", PushCommand.toJson(imageTag, pushed));
        }
        if (r.vm() != null) {
            ObjectNode vm = doc.putObject("microvm");
            vm.put("reference", dev.davit.oci.reference.Reference.parse(vmRef).toString());
            vm.put("digest", r.vm().digest().toString());
            vm.put("dir", r.vmDir().toString());
            if (pushedVm != null) {
                vm.set("push", PushCommand.toJson(vmRef, pushedVm));
            }
        }
        PushResult pr = pushed;
        PushResult prv = pushedVm;
        out.result(doc, w -> {
            w.println("built " + p.name() + " " + Text.printable(version) + ": " + r.image().reference() + " "
                    + r.image().manifest().digest() + " (" + Units.bytes(r.image().totalSize()) + ")");
            if (pr != null) {
                PushCommand.human(w, "pushed", pr);
            }
            if (r.vm() != null) {
                w.println("built " + p.name() + " " + Text.printable(version) + " microVM: " + vmRef + " "
                        + r.vm().digest() + " (files in " + r.vmDir() + ")");
            }
            if (prv != null) {
                PushCommand.human(w, "pushed", prv);
            }
        });
        return 0;
    }

    /**
     * A build's phases on stderr (nothing with --quiet or --json): {@code ==> PHASE} when one begins,
     * {@code     done (12.3 s)} when it ends, and the package downloads at about every quarter and at the end.
     */
    static final class PhaseLines implements EnvBuilder.Listener {
        private final Output out;
        private int shownQuarter = -1;

        PhaseLines(Output out) {
            this.out = out;
        }

        @Override
        public void phase(String line) {
            shownQuarter = -1;
            out.notice("==> " + line);
        }

        @Override
        public void phaseDone(String line, java.time.Duration took) {
            out.notice("    done (" + Units.duration(took) + ")");
        }

        @Override
        public void downloads(int done, int total) {
            int quarter = total == 0 ? 0 : done * 4 / total;
            if (quarter != shownQuarter) {
                shownQuarter = quarter;
                out.notice("    downloaded " + done + " of " + total + " packages");
            }
        }
    }
}
