package dev.davit.env.install;

import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.artifact.ArtifactFiles;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.Hashed;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.internal.Json;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.policy.SignaturePolicy;
import dev.davit.oci.policy.Trust;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.unpack.UnpackOptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;

/**
 * The install lifecycle of environments under {@code $DAVIT_HOME/environments}: install (atomic, locked,
 * repairing), status, list and prune. See docs/reference/ENVIRONMENTS.md, sections Installs and Prune.
 */
public final class Installer {
    /** Where an install came from. */
    public enum Origin {
        /** A valid install was already there; nothing was done. */
        EXISTING,
        /** Copied from the environment's local profile directory. */
        PROFILE,
        /** Pulled from the OCI source. */
        OCI,
        /** Extracted from the archive URL. */
        ARCHIVE,
        /** Installed from a copy already in the store (offline, or the registry could not serve it). */
        STORE,
        /** Built locally from the environment's build profile (see {@link LocalBuilder}). */
        BUILD
    }

    /**
     * Makes an environment locally when neither an install nor the registry can provide it: {@code davit env build}
     * of the environment's {@code source.build} profile, stored under {@link #reference}. Implemented above this
     * module (the builder lives in davit-build); the installer then installs from the stored result like any
     * other store content.
     */
    public interface LocalBuilder {
        /**
         * The store reference a build of {@code e} is stored under, e.g. {@code localhost/davit/git:2026.11.1} for
         * a container or {@code localhost/davit/git-vm:2026.11.1} for a microVM.
         */
        String reference(Environment e);

        /** Builds {@code e} from its {@code source.build} profile and stores it under {@link #reference}. */
        void build(Environment e);

        /**
         * Why {@code e} cannot be built here (missing tools, another platform), or null when it can. Asked before a
         * build is tried, so a refusal costs nothing.
         */
        default String unavailable(Environment e) {
            return null;
        }
    }

    /**
     * Makes the {@link LocalBuilder} of an install ({@link #local}): davit-build's environment builds provide one,
     * found as a service ({@link java.util.ServiceLoader}), so this module names none of them.
     */
    public interface LocalBuilders {
        /**
         * A builder of environments that stores what it builds in {@code client}'s store.
         *
         * @param client    the registry client over the home's store
         * @param davitHome the davit home
         * @param env       the process environment (what source references and build profiles read)
         * @param notes     hears one line per step of a build
         * @param progress  hears the transfers of storing a build
         * @return the builder
         */
        LocalBuilder builder(DavitClient client, Path davitHome, Map<String, String> env,
                             java.util.function.Consumer<Message> notes, ProgressListener progress);
    }

    /**
     * The installer of {@code davitHome} that installs an environment from its published image or archive, else
     * (published nowhere, or the registry cannot serve it) builds it here from its {@code source.build} profile with
     * the builder found as a service ({@link LocalBuilders}; none: it never builds). Source references resolve with
     * the process environment. What {@code RunTargets.resolve} and the MCP server install with.
     *
     * @param client    the registry client over the home's store
     * @param davitHome the davit home to install into
     * @param progress  hears the transfers of pulls and of storing a build, or null for nothing
     * @param notes     hears one line per step (a fallback, a build's steps), or null
     * @return the installer
     */
    public static Installer local(DavitClient client, Path davitHome, ProgressListener progress,
                                  java.util.function.Consumer<Message> notes) {
        java.util.function.Consumer<Message> say = notes == null ? m -> { } : notes;
        ProgressListener heard = progress == null ? ProgressListener.NONE : progress;
        Map<String, String> env = System.getenv();
        LocalBuilder builder = java.util.ServiceLoader.load(LocalBuilders.class, Installer.class.getClassLoader())
                .findFirst().map(f -> f.builder(client, davitHome, env, say, heard)).orElse(null);
        return new Installer(davitHome, client,
                ref -> dev.davit.env.catalog.SourceReferences.resolve(ref, env).toString(),
                new Options(builder, false, say, heard));
    }

    /**
     * How installs find their content.
     *
     * @param builder builds environments that have a {@code source.build} profile; null: never build
     * @param offline never touch the network: only installs, profile directories and the store serve
     * @param notes   hears one line for each decision a user should know about (a fallback and its reason), as data
     *                for the caller's door to word ({@link Message#toString()}: the library's words)
     * @param progress hears the transfer of the pulls an install makes; null: nothing
     */
    public record Options(LocalBuilder builder, boolean offline, java.util.function.Consumer<Message> notes,
                          ProgressListener progress) {
        /** Online, no local builds, notes dropped: what installs did before builds existed. */
        public static final Options DEFAULTS = new Options(null, false, n -> { });

        public Options {
            notes = notes == null ? n -> { } : notes;
            progress = progress == null ? ProgressListener.NONE : progress;
        }

        /** Options whose pulls report no progress. */
        public Options(LocalBuilder builder, boolean offline, java.util.function.Consumer<Message> notes) {
            this(builder, offline, notes, null);
        }
    }

    /**
     * What {@link #install} did.
     *
     * @param environment  the environment
     * @param path         its install directory
     * @param origin       where the install came from
     * @param sourceDigest the install manifest's source digest
     * @param repaired     the reason an existing directory was replaced (null when there was none)
     * @param manifest     the install manifest
     */
    public record InstallResult(Environment environment, Path path, Origin origin, String sourceDigest,
                                String repaired, InstallManifest manifest) {
    }

    static final String PARTIAL_PREFIX = ".partial-";

    private final Path environments;
    private final DavitClient client;
    private final Function<String, String> references;
    private final InstallValidator validator;
    private final Options options;

    /**
     * @param davitHome  {@code $DAVIT_HOME}; installs live in its {@code environments/} directory
     * @param client     the client whose store OCI sources are pulled into
     * @param references maps a {@code Source.reference} to a full OCI reference (e.g. {@code repo://} mapping)
     * @param options    local builds, offline mode and notes
     */
    public Installer(Path davitHome, DavitClient client, Function<String, String> references, Options options) {
        this.environments = davitHome.resolve("environments");
        this.client = Objects.requireNonNull(client, "client");
        this.references = Objects.requireNonNull(references, "references");
        this.validator = new InstallValidator(client.store());
        this.options = Objects.requireNonNull(options, "options");
    }

    /** An installer with {@link Options#DEFAULTS}. */
    public Installer(Path davitHome, DavitClient client, Function<String, String> references) {
        this(davitHome, client, references, Options.DEFAULTS);
    }

    /** An installer taking {@code Source.reference} as a full OCI reference. */
    public Installer(Path davitHome, DavitClient client) {
        this(davitHome, client, Function.identity());
    }

    /**
     * The options this installer was made with.
     *
     * @return its options, e.g. the local builder {@link #local} found
     */
    public Options options() {
        return options;
    }

    /** {@code $DAVIT_HOME/environments}. */
    public Path environmentsDir() {
        return environments;
    }

    /** {@code environments/<platform with '/' -> '_'>/<name with ':' -> '_'>-<version>}. */
    public Path installDir(Environment e) {
        return environments.resolve(platformOf(e).replace('/', '_')).resolve(e.installDirName());
    }

    static String platformOf(Environment e) {
        return e.platform() == null || e.platform().isBlank() ? Platform.host().toString() : e.platform();
    }

    /** Whether {@code e} is installed, and why not. */
    public InstallStatus status(Environment e) {
        return validator.check(e, installDir(e));
    }

    /** The status of every environment of the catalog, in catalog order. */
    public List<InstallStatus> list(Catalog catalog) {
        return catalog.environments().stream().map(this::status).toList();
    }

    /**
     * Makes sure {@code e} is installed. Sources in order: a valid existing install; the profile directory when
     * all artifacts are present in it; the OCI source (pinned to {@code Source.digest} when set); the archive URL;
     * a copy of the OCI source already in the store; a local build of {@code Source.build} (an earlier one from
     * the store, else a new one). A pull or archive that fails because the registry is unreachable, the content is
     * missing or access is denied falls through to the next source with a note; a digest mismatch or corrupt
     * content never does. Offline, only installs, profile directories and the store serve. An invalid existing
     * install is replaced. Safe to call concurrently from threads and processes.
     */
    public InstallResult install(Catalog catalog, Environment e) {
        Path dir = installDir(e);
        try {
            Files.createDirectories(dir.getParent());
        } catch (IOException ex) {
            throw new DavitException(Kind.STORE, "cannot create " + dir.getParent() + ": " + ex.getMessage()
                    + "; check that $DAVIT_HOME is writable");
        }
        try (InstallLock lock = InstallLock.acquire(dir)) {
            InstallStatus st = validator.check(e, dir);
            if (st.installed()) {
                return new InstallResult(e, dir, Origin.EXISTING, st.sourceDigest(), null, st.manifest());
            }
            String repaired = Files.exists(dir, LinkOption.NOFOLLOW_LINKS) ? st.reason() : null;
            Environment.Source src = e.source();
            if (src.profile() != null && profileComplete(e, Path.of(src.profile()))) {
                return build(catalog, e, dir, Origin.PROFILE, repaired, p -> fromProfile(e, Path.of(src.profile()), p));
            }
            DavitException failure = null;
            if (src.reference() != null && !options.offline()) {
                try {
                    return build(catalog, e, dir, Origin.OCI, repaired, p -> fromOci(e, p));
                } catch (DavitException ex) {
                    failure = fallThrough(ex, failure);
                }
            }
            if (src.archive() != null && !options.offline()) {
                try {
                    return build(catalog, e, dir, Origin.ARCHIVE, repaired, p -> fromArchive(e, src.archive(), p));
                } catch (DavitException ex) {
                    failure = fallThrough(ex, failure);
                }
            }
            Reference stored = storedSource(e);
            if (stored != null) {
                if (failure != null) {
                    options.notes().accept(Message.of("using the copy of " + stored + " in the store"));
                }
                return build(catalog, e, dir, Origin.STORE, repaired, p -> fromStore(e, stored, p));
            }
            if (e.source().signedBy() != null) {
                // a local build is signed by no one: a signed entry comes from its registry or the store, or not
                if (failure != null) {
                    throw failure;
                }
                throw new DavitException(Kind.NOT_FOUND, "environment '" + e.name() + "' must be signed by its"
                        + " catalog's signedBy key, and neither its registry nor the store has it");
            }
            Reference earlier = storedBuild(e);
            if (earlier != null) {
                options.notes().accept(Message.of("using the earlier local build " + earlier + " in the store"));
                return build(catalog, e, dir, Origin.BUILD, repaired, p -> fromStore(e, earlier, p));
            }
            if (options.offline()) {
                throw new DavitException(Kind.NOT_FOUND, Message.of("environment '" + e.name() + "' is neither installed"
                        + " nor in the store, and ", Input.INSTALL_OFFLINE, " forbids pulling"
                        + (buildable(e) ? " or building" : "") + " it; run ", Action.INSTALL_ENV.fix(e.name()),
                        " once with network access, then use it offline").about(Subject.Type.ENVIRONMENT, e.name()));
            }
            if (buildable(e)) {
                String why = options.builder().unavailable(e);
                if (why != null) {
                    DavitException ex = new DavitException(Kind.NOT_FOUND, "environment '" + e.name() + "' cannot"
                            + " be pulled" + (failure != null ? " (" + failure.getMessage() + ")" : "")
                            + " and cannot be built here: " + why);
                    if (failure != null) {
                        ex.addSuppressed(failure);
                    }
                    throw ex;
                }
                options.builder().build(e);
                Reference built = storedBuild(e);
                if (built == null) {
                    throw new DavitException(Kind.INTERNAL, "the build of " + e.name() + " stored nothing under "
                            + options.builder().reference(e));
                }
                return build(catalog, e, dir, Origin.BUILD, repaired, p -> fromStore(e, built, p));
            }
            if (failure != null) {
                throw failure;
            }
            throw new DavitException(Kind.NOT_FOUND, "environment '" + e.name() + "' is not installed and no"
                    + " downloadable source is configured" + (src.profile() != null
                    ? " (profile directory " + src.profile() + " does not hold all of " + InstallValidator.artifactsOf(e)
                    + ")" : ""));
        }
    }

    /**
     * Whether a failed pull may fall through to the next source: only when the content could not be reached
     * (network), does not exist (not found) or is refused (auth). Anything else — a digest mismatch, corrupt
     * content, a store that cannot be written — is rethrown. The first failure is kept, later ones suppressed.
     */
    private DavitException fallThrough(DavitException ex, DavitException earlier) {
        if (ex.kind() != Kind.NETWORK && ex.kind() != Kind.NOT_FOUND && ex.kind() != Kind.AUTH) {
            if (earlier != null) {
                ex.addSuppressed(earlier);
            }
            throw ex;
        }
        options.notes().accept(ex.message());
        if (earlier != null) {
            earlier.addSuppressed(ex);
            return earlier;
        }
        return ex;
    }

    /** Whether the store holds what installs {@code e} without the network: its OCI source or an earlier build. */
    public boolean inStore(Environment e) {
        return storedSource(e) != null || storedBuild(e) != null;
    }

    /** The profile a local build would make {@code e} from here, or null when none can. */
    public String buildProfile(Environment e) {
        return buildable(e) && options.builder().unavailable(e) == null ? e.source().build() : null;
    }

    /** Whether a local build can make {@code e}: a builder, a {@code source.build} profile and no pinned digest. */
    private boolean buildable(Environment e) {
        return options.builder() != null && e.source().build() != null && e.source().digest() == null;
    }

    /** The OCI source's reference when the store holds it completely (pinned digest honoured), else null. */
    private Reference storedSource(Environment e) {
        return e.source().reference() == null ? null : complete(ociReference(e));
    }

    /** The reference of an earlier local build when the store holds it completely, else null. */
    private Reference storedBuild(Environment e) {
        return buildable(e) ? complete(Reference.parse(options.builder().reference(e))) : null;
    }

    private Reference complete(Reference ref) {
        var entry = client.store().entry(ref.toString());
        return entry.isPresent() && client.store().isComplete(entry.get().descriptor()) ? ref : null;
    }

    /** What a source put into a partial directory. */
    record Filled(String source, String sourceDigest, Map<String, Digest> knownDigests, String signedBy) {
        Filled(String source, String sourceDigest, Map<String, Digest> knownDigests) {
            this(source, sourceDigest, knownDigests, null);
        }

        /** This, recording {@code signer} as who signed it (when not null). */
        Filled signedBy(String signer) {
            return signer == null ? this : new Filled(source, sourceDigest, knownDigests, signer);
        }
    }

    @FunctionalInterface
    interface Filler {
        Filled fill(Path partial) throws IOException;
    }

    private InstallResult build(Catalog catalog, Environment e, Path dir, Origin origin, String repaired,
                                Filler filler) {
        Path partial = dir.resolveSibling(PARTIAL_PREFIX + dir.getFileName() + "-" + UUID.randomUUID());
        Path aside = null;
        try {
            Files.createDirectory(partial);
            Filled f = filler.fill(partial);
            List<InstallManifest.Artifact> arts = new ArrayList<>();
            for (String name : InstallValidator.artifactsOf(e)) {
                if (name.endsWith("/")) {
                    arts.add(new InstallManifest.Artifact(name, "directory", -1, null));
                    continue;
                }
                Path p = partial.resolve(name);
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new DavitException(Kind.NOT_FOUND, origin.name().toLowerCase(Locale.ROOT) + " source "
                            + f.source() + " has no file " + name + "; publish it with all of "
                            + InstallValidator.artifactsOf(e));
                }
                Digest d = f.knownDigests().get(name);
                FileStamp before = FileStamp.of(p);
                if (d == null) {
                    try (InputStream in = Files.newInputStream(p)) {
                        d = Hashed.of(in, Digest.Algorithm.SHA256, new byte[1 << 16]).digest();
                    }
                }
                // the content is verified now: the stamp lets status checks trust it while the file is unchanged
                FileStamp stamp = FileStamp.of(p);
                if (!stamp.equals(before)) {
                    throw new DavitException(Kind.VERIFICATION, name + " changed while it was being installed;"
                            + " install again");
                }
                arts.add(new InstallManifest.Artifact(name, "file", stamp.size(), d.toString(), stamp));
            }
            InstallManifest m = new InstallManifest(catalog == null ? null : catalog.version(), e.name(),
                    e.version(), e.kind().name().toLowerCase(Locale.ROOT), platformOf(e), f.source(),
                    f.sourceDigest(), Instant.now().toString(), arts, f.signedBy());
            Path mf = partial.resolve(InstallManifest.FILE_NAME);
            Files.write(mf, Json.pretty(m.toJson()).concat("\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try (FileChannel ch = FileChannel.open(mf, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Fs.fsyncDir(partial);
            InstallStatus check = validator.check(e, partial);
            if (!check.installed()) {
                throw new DavitException(Kind.VERIFICATION, "the new install of " + e.name() + " is not valid: "
                        + check.reason());
            }
            if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                aside = dir.resolveSibling(PARTIAL_PREFIX + dir.getFileName() + "-old-" + UUID.randomUUID());
                Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(dir.getParent());
            return new InstallResult(e, dir, origin, m.sourceDigest(), repaired, m);
        } catch (IOException ex) {
            throw new DavitException(Kind.STORE, "cannot install " + e.name() + " into " + dir + ": "
                    + ex.getMessage() + "; check free space and permissions");
        } finally {
            deleteQuietly(partial);
            if (aside != null) {
                deleteQuietly(aside);
            }
        }
    }

    // ---- profile ----

    /** True when the profile directory holds every artifact (a file, or a non-empty directory for rootfs/). */
    static boolean profileComplete(Environment e, Path profile) {
        if (!Files.isDirectory(profile)) {
            return false;
        }
        for (String name : InstallValidator.artifactsOf(e)) {
            if (name.endsWith("/")) {
                Path d = profile.resolve(name.substring(0, name.length() - 1));
                if (!Files.isDirectory(d)) {
                    return false;
                }
                try (var s = Files.list(d)) {
                    if (s.findAny().isEmpty()) {
                        return false;
                    }
                } catch (IOException ex) {
                    return false;
                }
            } else if (!Files.isRegularFile(profile.resolve(name))) {
                return false;
            }
        }
        return true;
    }

    private Filled fromProfile(Environment e, Path profile, Path partial) throws IOException {
        for (String name : InstallValidator.artifactsOf(e)) {
            if (name.endsWith("/")) {
                String n = name.substring(0, name.length() - 1);
                copyTree(profile.resolve(n), partial.resolve(n));
            } else {
                Fs.cloneOrCopy(profile.resolve(name), partial.resolve(name));
            }
        }
        return new Filled("profile://" + profile.toAbsolutePath().normalize(), null, Map.of());
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
                Files.createDirectories(to.resolve(from.relativize(d).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Path t = to.resolve(from.relativize(f).toString());
                if (a.isSymbolicLink()) {
                    Files.createSymbolicLink(t, Files.readSymbolicLink(f));
                } else if (a.isRegularFile()) {
                    Files.copy(f, t, StandardCopyOption.COPY_ATTRIBUTES);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    // ---- OCI ----

    /** {@code Source.reference} mapped to a full reference, pinned to {@code Source.digest} when set. */
    private Reference ociReference(Environment e) {
        Reference ref = Reference.parse(references.apply(e.source().reference()));
        if (e.source().digest() != null) {
            ref = new Reference(ref.registry(), ref.repository(), null, Digest.parse(e.source().digest()));
        }
        return ref;
    }

    private Filled fromOci(Environment e, Path partial) {
        Reference ref = ociReference(e);
        PlatformSelector platforms = PlatformSelector.of(Platform.parse(platformOf(e)));
        String signer = null;
        if (e.source().signedBy() != null) {
            // the catalog's signer, before anything is pulled: the digest verified is the digest pulled
            Digest top = ref.digest() != null ? ref.digest() : client.remoteDigest(ref.toString()).digest();
            signer = String.join(", ", client.signatures().verify(ref.toString(), top, catalogTrust(e)).signers());
            ref = new Reference(ref.registry(), ref.repository(), null, top);
        }
        PullResult pulled = client.pull(ref, platforms, options.progress());
        Filled f = fromStore(e, ref, pulled.resolvedDigest(), pulled.target(), partial);
        return f.signedBy(signer);
    }

    /** The catalog entry's {@code signedBy} as a trust: its key required of every image, attachments read. */
    private Trust catalogTrust(Environment e) {
        Environment.Signer s = e.source().signedBy();
        SignaturePolicy.Requirement r = s.gpgKey() == null
                ? new SignaturePolicy.SigstoreSigned(null, ascii(s.sigstoreKey()),
                        s.fulcioCa() == null ? null : new SignaturePolicy.Fulcio(null,
                                ascii(s.fulcioCa()), s.oidcIssuer(), s.subjectEmail()), null, ascii(s.rekorKey()),
                        SignaturePolicy.SignedIdentity.DEFAULT)
                : new SignaturePolicy.SignedBy("GPGKeys", List.of(), ascii(s.gpgKey()),
                        SignaturePolicy.SignedIdentity.DEFAULT);
        return new Trust(SignaturePolicy.requiring(r,
                "the catalog's signedBy of " + e.name() + " " + e.version()),
                client.options().trust().registries().withAttachments());
    }

    private static byte[] ascii(String s) {
        return s == null ? null : s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Installs from a reference the store holds completely, without touching the network. */
    private Filled fromStore(Environment e, Reference ref, Path partial) {
        String signer = null;
        if (e.source().signedBy() != null) {
            // the store's copy is held to the catalog's signer too (its signatures from the registry, else kept)
            signer = String.join(", ", client.signatures().verifyStored(ref.toString(), catalogTrust(e)).signers());
        }
        Filled f = fromStoreUnchecked(e, ref, partial);
        return f.signedBy(signer);
    }

    private Filled fromStoreUnchecked(Environment e, Reference ref, Path partial) {
        var entry = client.store().entry(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                ref + " is not in the store"));
        Descriptor target = entry.descriptor();
        Manifest m = client.store().readManifest(target);
        if (m instanceof dev.davit.oci.manifest.ImageIndex idx) {
            target = PlatformSelector.of(Platform.parse(platformOf(e))).select(idx, ref.toString()).get(0);
        }
        return fromStore(e, ref, entry.descriptor().digest(), target, partial);
    }

    private Filled fromStore(Environment e, Reference ref, Digest resolved, Descriptor target, Path partial) {
        PlatformSelector platforms = PlatformSelector.of(Platform.parse(platformOf(e)));
        String source = "oci://" + ref.repositoryName() + "@" + resolved;
        if (e.kind() == Environment.Kind.CONTAINER) {
            client.unpack(ref.toString(), partial.resolve("rootfs"), platforms, UnpackOptions.defaults());
            return new Filled(source, resolved.toString(), Map.of());
        }
        Map<String, Digest> known = linkArtifacts(e, target, partial, ref);
        return new Filled(source, resolved.toString(), known);
    }

    private Map<String, Digest> linkArtifacts(Environment e, Descriptor manifest, Path partial, Reference ref) {
        Manifest m = client.store().readManifest(manifest);
        if (!(m instanceof ImageManifest im)) {
            throw new DavitException(Kind.NOT_FOUND, ref + " is an index without a manifest for "
                    + platformOf(e) + "; publish the environment for that platform");
        }
        Map<String, Descriptor> byTitle = new HashMap<>();
        for (Descriptor l : im.layers()) {
            String t = l.annotation(Artifacts.TITLE);
            if (t != null) {
                byTitle.put(t, l);
            }
        }
        Map<String, Digest> known = new HashMap<>();
        for (String name : InstallValidator.artifactsOf(e)) {
            Descriptor l = byTitle.get(name);
            if (l == null) {
                throw new DavitException(Kind.NOT_FOUND, ref + " has no file titled " + name
                        + "; publish the environment with all of " + InstallValidator.artifactsOf(e));
            }
            Path blob = client.store().blobPath(l.digest());
            if (!blobIntact(blob, l)) {
                // a damaged store blob (e.g. an install linked to it was truncated): drop it and pull again
                try {
                    Files.deleteIfExists(blob);
                } catch (IOException ex) {
                    throw new DavitException(Kind.STORE, Message.of("cannot remove the damaged blob " + blob + ": "
                            + ex.getMessage() + "; run ", Action.FSCK_REPAIR.fix()));
                }
                if (options.offline()) {
                    throw new DavitException(Kind.VERIFICATION, Message.of("blob " + l.digest() + " of " + ref + " is"
                            + " damaged and ", Input.INSTALL_OFFLINE, " forbids pulling it again; run ",
                            Action.INSTALL_ENV.fix(e.name()), " online"));
                }
                client.pull(ref, PlatformSelector.of(Platform.parse(platformOf(e))), options.progress());
                if (!blobIntact(blob, l)) {
                    throw new DavitException(Kind.VERIFICATION, Message.of("blob " + l.digest() + " of " + ref
                            + " does not match its digest after a fresh pull; run ", Action.FSCK_REPAIR.fix()));
                }
            }
            // stored as-is: a hard link to the blob; compressed: decompressed (sparse) and verified
            ArtifactFiles.Materialized file = ArtifactFiles.materialize(client.store(), l, partial.resolve(name),
                    ArtifactFiles.Placement.LINK);
            known.put(name, file.digest());
        }
        return known;
    }

    private static boolean blobIntact(Path blob, Descriptor d) {
        try {
            if (!Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS) || Files.size(blob) != d.size()) {
                return false;
            }
            try (InputStream in = Files.newInputStream(blob)) {
                return Hashed.of(in, d.digest().algorithm(), new byte[1 << 16]).matches(d.digest(), d.size());
            }
        } catch (IOException ex) {
            return false;
        }
    }

    // ---- archive ----

    private Filled fromArchive(Environment e, String url, Path partial) throws IOException {
        Path download = partial.resolve(".archive");
        ArchiveSource.fetch(url, download);
        Digest d;
        try (InputStream in = Files.newInputStream(download)) {
            d = Hashed.of(in, Digest.Algorithm.SHA256, new byte[1 << 16]).digest();
        }
        TreeSet<String> wanted = new TreeSet<>();
        for (String a : InstallValidator.artifactsOf(e)) {
            wanted.add(a.endsWith("/") ? a.substring(0, a.length() - 1) : a);
        }
        ArchiveSource.extract(download, partial, wanted, url);
        Files.delete(download);
        return new Filled(url, d.toString(), Map.of());
    }

    // ---- prune ----

    /**
     * Removes everything under {@code environments/} that is not a valid install of an environment the catalog
     * names in its current version: partial directories, directories without or with an invalid install
     * manifest, unknown names, old versions and invalid installs. Directories whose install lock is held (an
     * install in progress) are skipped.
     */
    public PruneResult prune(Catalog catalog) {
        List<String> deleted = new ArrayList<>();
        if (!Files.isDirectory(environments)) {
            return new PruneResult(deleted);
        }
        Map<String, Environment> wanted = new HashMap<>();
        for (Environment e : catalog.environments()) {
            wanted.put(environments.relativize(installDir(e)).toString(), e);
        }
        try (DirectoryStream<Path> platforms = Files.newDirectoryStream(environments)) {
            for (Path platform : platforms) {
                if (!Files.isDirectory(platform, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try (DirectoryStream<Path> dirs = Files.newDirectoryStream(platform)) {
                    for (Path d : dirs) {
                        String name = d.getFileName().toString();
                        if (name.endsWith(".lock") && Files.isRegularFile(d, LinkOption.NOFOLLOW_LINKS)) {
                            continue;
                        }
                        String rel = environments.relativize(d).toString();
                        Environment e = wanted.get(rel);
                        if (e != null && validator.check(e, d).installed()) {
                            continue;
                        }
                        Path lockOf = name.startsWith(PARTIAL_PREFIX) ? platform.resolve(ownerOf(name)) : d;
                        try (InstallLock lock = InstallLock.tryAcquire(lockOf)) {
                            if (lock == null) {
                                continue; // an install is in progress
                            }
                            if (e != null && validator.check(e, d).installed()) {
                                continue; // installed meanwhile
                            }
                            if (Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
                                deleteTree(d);
                                deleted.add(rel);
                            }
                        }
                    }
                }
            }
        } catch (IOException ex) {
            throw new DavitException(Kind.STORE, "cannot prune " + environments + ": " + ex.getMessage()
                    + "; check permissions");
        }
        return new PruneResult(deleted);
    }

    /** {@code .partial-NAME-UUID} or {@code .partial-NAME-old-UUID} to {@code NAME}. */
    static String ownerOf(String partialName) {
        String rest = partialName.substring(PARTIAL_PREFIX.length());
        if (rest.length() > 37 && rest.charAt(rest.length() - 37) == '-') {
            rest = rest.substring(0, rest.length() - 37);
            if (rest.endsWith("-old")) {
                rest = rest.substring(0, rest.length() - 4);
            }
        }
        return rest.isEmpty() ? "_" : rest;
    }

    // ---- files ----

    static void deleteTree(Path p) throws IOException {
        dev.davit.oci.internal.Fs.deleteTree(p);
    }

    private static void deleteQuietly(Path p) {
        try {
            deleteTree(p);
        } catch (IOException ignored) {
            // prune removes what is left
        }
    }
}
