package dev.davit.sandbox.target;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.artifact.ArtifactFiles;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageConfiguration;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.StoreEntry;
import dev.davit.oci.unpack.Owners;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.Sandbox;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Images and environments made runnable ({@link RunTarget}s): pulled, unpacked once into the home's shared caches,
 * their configs read; and the caches pruned. davit's own: exported only to the modules that run sandboxes.
 */
public final class RunTargets {
    /** The largest image config read. */
    public static final int MAX_CONFIG_BYTES = 4 << 20;
    private static final List<String> VM_FILES = List.of("vmlinux", "initrd", "rootfs.ext4");

    /**
     * The image {@code reference} made runnable: pulled into {@code client}'s store when it is not there
     * ({@code progress} hears the transfer), then, once per manifest, unpacked into the cache shared by every davit
     * of {@code davitHome} ({@code rootfs/<digest>/}: unpacked beside it and renamed into place, so no caller ever
     * sees a half-unpacked tree and two that race use one result) and its config read; a microVM environment
     * artifact's files are placed in {@code vm/<digest>/} instead. {@code notes} (null: none) hears what is done
     * ("pulling ...", "unpacking ...").
     *
     * @param client    the registry client whose store holds (or gets) the image
     * @param davitHome the davit home whose {@code rootfs/} and {@code vm/} caches hold unpacked images
     * @param reference an image reference; an index is resolved to this host's platform
     * @param progress  hears the pull's transfer, or null for nothing
     * @param notes     hears one line per step davit takes, or null
     * @return the directory to run, the image's run defaults and the backend it is for
     * @throws DavitException USAGE for a malformed reference or one that is not an image; NOT_FOUND, AUTH or
     *                        NETWORK when the pull fails; STORE when the image cannot be unpacked
     */
    public static RunTarget ofImage(DavitClient client, Path davitHome, String reference, ProgressListener progress,
                                    Consumer<String> notes) {
        Consumer<String> say = notes == null ? m -> { } : notes;
        Reference ref = Reference.parse(reference);
        Optional<StoreEntry> found = client.find(reference);
        Path cache = davitHome.resolve("rootfs");
        Path streamed = null;
        dev.davit.oci.digest.Digest streamedOf = null;
        if (found.isEmpty()) {
            say.accept("pulling " + ref);
            // the layers are unpacked in order as they arrive, into a tree published below only if the pull succeeds
            ArrivingUnpack arriving = new ArrivingUnpack(client, cache, progress).start();
            dev.davit.oci.copy.PullResult pulled;
            try {
                pulled = client.pull(reference, PlatformSelector.host(), arriving);
            } catch (RuntimeException e) {
                arriving.end(false, null);
                throw e;
            }
            streamedOf = pulled.target().digest();
            streamed = arriving.end(true, streamedOf);
            found = client.find(reference);
        } else {
            // held to the signature policy as a pull is: what admitted it is recorded, so this is a hash when the
            // policy has not changed since
            // what was admitted, whatever the name says now
            found = Optional.of(client.signatures().checkTrust(reference));
        }
        try {
            StoreEntry entry = found.orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                    reference + " is not in the store"));
            Manifest top = client.store().readManifest(entry.descriptor());
            Optional<RunTarget> vm = microvm(client, davitHome, ref, entry, top, say);
            if (vm.isPresent()) {
                return vm.get();
            }
            HostImage image = hostImage(client, reference, entry.descriptor(), top);
            Path dir = treeOf(cache, image);
            // the tree made during the pull is of the manifest that pull fetched; the name may name another one by now
            // (a concurrent pull or tag moved it): then it is not used, and the image the name names is unpacked
            if (streamed != null && image.descriptor().digest().equals(streamedOf)) {
                say.accept("unpacking " + ref + " into " + dir + " (as its layers arrived)");
                Path tree = streamed;
                unpack(cache, dir, say, partial -> moveTree(tree, partial));
            } else if (!Files.isDirectory(dir)) {
                say.accept("unpacking " + ref + " into " + dir);
                unpack(client, reference, cache, dir, say);
            }
            return new RunTarget(ref.toString(), image.descriptor().digest().toString(), dir,
                    imageConfig(config(client, image.manifest())), RunSpec.CONTAINER);
        } finally {
            if (streamed != null) {
                ArrivingUnpack.deleteTree(streamed); // not published (moved away when it was)
            }
        }
    }

    /**
     * {@code reference} made runnable: an environment of {@code catalog} (e.g. {@code debian:12}), installed into
     * the home unless it is already (from its published image or archive, else built here from its
     * {@code source.build} profile, once: see {@link #ofEnvironment}); else an image reference ({@link #ofImage}).
     * What {@code dev.davit.Davit#image} does, for a caller with its own client.
     *
     * @param client    the registry client over the home's store
     * @param davitHome the davit home
     * @param catalog   the catalog to look names up in; null: the built-in one
     * @param reference an environment name or an image reference
     * @param progress  hears the transfers of pulls, or null for nothing
     * @param notes     hears one line per step davit takes (a pull, an install, a build; a fallback and why, whose
     *                  words each door chooses), or null
     * @return the directory to run, the image's run defaults and the backend it is for
     * @throws DavitException as {@link #ofImage}, and what an environment's install throws
     */
    public static RunTarget resolve(DavitClient client, Path davitHome, dev.davit.env.Catalog catalog,
                                    String reference, ProgressListener progress, Consumer<Message> notes) {
        Consumer<Message> heardNotes = notes == null ? m -> { } : notes;
        Consumer<String> say = line -> heardNotes.accept(Message.of(line));
        ProgressListener heard = progress == null ? ProgressListener.NONE : progress;
        if (dev.davit.env.catalog.CatalogParser.isEnvironmentName(reference)) {
            // the built-in catalog is read only when a name could be in it
            dev.davit.env.Catalog c = catalog != null ? catalog : dev.davit.env.catalog.Catalogs.builtIn();
            Optional<dev.davit.env.Environment> e = c.find(reference);
            if (e.isPresent()) {
                return environment(client, davitHome, c, e.get(), heard, heardNotes);
            }
        }
        return ofImage(client, davitHome, reference, heard, say);
    }

    /** A catalog environment, installed into the home (as {@code davit env pull} does) unless it is already. */
    private static RunTarget environment(DavitClient client, Path home, dev.davit.env.Catalog catalog,
                                         dev.davit.env.Environment e, ProgressListener progress,
                                         Consumer<Message> notes) {
        dev.davit.env.install.Installer installer = dev.davit.env.install.Installer.local(client, home,
                progress, notes);
        if (!installer.status(e).installed()) {
            notes.accept(Message.of("installing environment " + e.name() + " " + e.version() + " (once; later uses find the"
                    + " install)"));
        }
        dev.davit.env.install.Installer.InstallResult installed = installer.install(catalog, e);
        String image = e.source().reference() == null ? null
                : dev.davit.env.catalog.SourceReferences.resolve(e.source().reference(), System.getenv()).toString();
        return ofEnvironment(client, e, installed.path(), installed.sourceDigest(), image);
    }

    /**
     * A catalog environment once installed (by davit-env's installer, into {@code $DAVIT_HOME/environments}): a
     * microVM environment runs in a vm; a root filesystem in a container, with the run defaults of its image when
     * that image is in the store (else none).
     *
     * @param client         the registry client whose store may hold the environment's image (nothing is pulled)
     * @param environment    the catalog's environment
     * @param installed      its install directory (for a container environment, with a {@code rootfs/} in it)
     * @param sourceDigest   the digest of what it was installed from
     * @param imageReference the environment's image in the store (its published or locally built reference), or
     *                       null for none
     * @return what to run and how
     * @throws DavitException STORE when a container environment's install has no {@code rootfs/}
     */
    public static RunTarget ofEnvironment(DavitClient client, dev.davit.env.Environment environment, Path installed,
                                          String sourceDigest, String imageReference) {
        if (environment.kind() == dev.davit.env.Environment.Kind.MICROVM) {
            return new RunTarget(environment.name(), sourceDigest, installed, ImageConfig.EMPTY, RunSpec.VM);
        }
        Path rootfs = installed.resolve("rootfs");
        if (!Files.isDirectory(rootfs)) {
            throw new DavitException(Kind.STORE, Message.of("the install of " + environment.name() + " has no"
                    + " rootfs/ directory; ", Action.REINSTALL_ENV.fix(environment.name()))
                    .about(Subject.Type.ENVIRONMENT, environment.name()));
        }
        ImageConfig image = ImageConfig.EMPTY;
        if (imageReference != null && client.find(imageReference).isPresent()) {
            image = imageConfig(config(client, imageReference));
        }
        return new RunTarget(environment.name(), sourceDigest, rootfs, image, RunSpec.CONTAINER);
    }

    /** Where {@code image} is unpacked in the home's cache {@code cache}: {@code rootfs/<algorithm>-<hex>}. */
    private static Path treeOf(Path cache, HostImage image) {
        return cache.resolve(image.descriptor().digest().toString().replace(':', '-'));
    }

    /** An image manifest for this host, and its descriptor. */
    private record HostImage(Descriptor descriptor, ImageManifest manifest) {
    }

    /** The image manifest for this host of store entry {@code top} (an index is resolved); refused when none. */
    private static HostImage hostImage(DavitClient client, String reference, Descriptor d, Manifest top) {
        if (top instanceof ImageIndex idx) {
            d = PlatformSelector.host().select(idx, reference).get(0);
            top = client.store().readManifest(d);
        }
        if (!(top instanceof ImageManifest im)) {
            throw new DavitException(Kind.USAGE, Text.printable(reference) + " is not an image");
        }
        return new HostImage(d, im);
    }

    /**
     * The config of image {@code reference} in {@code client}'s store (its manifest for this host); null when the
     * config is not usable (then it runs without image defaults).
     *
     * @param client    the registry client whose store holds the image (it is not pulled)
     * @param reference an image reference
     * @return the config document (up to {@link #MAX_CONFIG_BYTES}), or null
     * @throws DavitException NOT_FOUND when the image is not in the store; USAGE when it is not an image
     */
    public static ImageConfiguration config(DavitClient client, String reference) {
        StoreEntry entry = client.find(reference).orElseThrow(() -> new DavitException(Kind.NOT_FOUND,
                reference + " is not in the store"));
        return config(client, hostImage(client, reference, entry.descriptor(),
                client.store().readManifest(entry.descriptor())).manifest());
    }

    private static ImageConfiguration config(DavitClient client, ImageManifest im) {
        try {
            return ImageConfiguration.parse(client.store().readBlob(im.config().digest(), MAX_CONFIG_BYTES));
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static void unpack(DavitClient client, String reference, Path cache, Path dir, Consumer<String> say) {
        unpack(cache, dir, say, partial -> client.unpack(reference, partial, PlatformSelector.host(),
                UnpackOptions.defaults()));
    }

    /**
     * Image {@code reference} of {@code client}'s store (a Containerfile build's step), unpacked as {@link #ofImage}
     * unpacks it, but never pulled, and starting from the unpacked tree of image {@code lower} when that tree is in
     * the home's cache and {@code lower}'s layers begin this image's: its files are linked, not copied (an unpack
     * writes new files, never into one), and only the layers on top are read. Otherwise a whole unpack.
     *
     * @param client    the registry client over the home's store
     * @param davitHome the davit home
     * @param reference the image, in the store
     * @param lower     an image unpacked before (an earlier step's), or null
     * @param notes     hears one line per step davit takes ("unpacking ..."), or null
     * @return the directory to run and the image's run defaults
     * @throws DavitException NOT_FOUND when the image is not in the store; as {@link #ofImage}
     */
    public static RunTarget ofImageOver(DavitClient client, Path davitHome, String reference, String lower,
                                        Consumer<String> notes) {
        Consumer<String> say = notes == null ? m -> { } : notes;
        StoreEntry entry = client.signatures().checkTrust(reference);
        HostImage image = hostImage(client, reference, entry.descriptor(), client.store().readManifest(
                entry.descriptor()));
        Path cache = davitHome.resolve("rootfs");
        Path dir = treeOf(cache, image);
        if (!Files.isDirectory(dir)) {
            Optional<StoreEntry> under = lower == null ? Optional.empty() : client.find(lower);
            HostImage low = under.map(e -> hostImage(client, lower, e.descriptor(), client.store().readManifest(
                    e.descriptor()))).orElse(null);
            Path lowDir = low == null ? null : treeOf(cache, low);
            int k = low == null ? 0 : low.manifest().layers().size();
            boolean prefix = low != null && k > 0 && k <= image.manifest().layers().size()
                    && Files.isDirectory(lowDir, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            for (int i = 0; prefix && i < k; i++) {
                prefix = low.manifest().layers().get(i).digest().equals(image.manifest().layers().get(i).digest());
            }
            say.accept("unpacking " + Reference.parse(reference) + " into " + dir + (prefix ? " over " + lowDir : ""));
            if (prefix) {
                int below = k;
                unpack(cache, dir, say, partial -> new dev.davit.oci.unpack.Unpacker(client.store(),
                        UnpackOptions.defaults()).unpackOver(image.descriptor(), PlatformSelector.host(), partial,
                        lowDir, below));
            } else {
                unpack(client, reference, cache, dir, say);
            }
        }
        return new RunTarget(Reference.parse(reference).toString(), image.descriptor().digest().toString(), dir,
                imageConfig(config(client, image.manifest())), RunSpec.CONTAINER);
    }

    /** A tree unpacked while its image was pulled, moved to where {@link #unpack} publishes it from. */
    private static void moveTree(Path tree, Path partial) {
        try {
            // made now, whenever its first layer was: a prune takes partial trees an hour old
            Files.setLastModifiedTime(tree, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
            Files.move(tree, partial, StandardCopyOption.ATOMIC_MOVE);
            Owners.moveRecord(tree, partial);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot move " + tree + " to " + partial + ": " + e.getMessage(), e);
        }
    }

    private static void unpack(Path cache, Path dir, Consumer<String> say, Consumer<Path> into) {
        Path partial = cache.resolve(".partial-" + UUID.randomUUID());
        try {
            Files.createDirectories(cache);
            into.accept(partial);
            boolean ours = false;
            try {
                Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
                ours = true;
            } catch (java.nio.file.FileSystemException raced) {
                if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    throw raced;
                }
                // another davit, or another call of this one, unpacked the same image first (rename(2) says
                // ENOTEMPTY, which Java reports as a plain FileSystemException): use that one, drop ours
                Fs.deleteTree(partial);
                Files.deleteIfExists(Owners.fileOf(partial));
            }
            if (ours) {
                Owners.moveRecord(partial, dir); // a rootless unpack's owners
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot unpack into " + cache + ": " + e.getMessage());
        } finally {
            try {
                Files.deleteIfExists(Owners.fileOf(partial)); // a lost race's
                Fs.deleteTree(partial);
            } catch (IOException e) {
                say.accept("could not delete " + partial + ": " + e.getMessage());
            }
        }
    }

    /**
     * A microVM environment artifact in the store (artifactType {@value dev.davit.env.Environment.Kind#MICROVM_ARTIFACT_TYPE}): its
     * files are made once in {@code <davitHome>/vm/<digest>/} and used from there (the vm backend never writes
     * them): layers stored as-is are hard-linked (else copied), compressed ones decompressed and verified.
     */
    private static Optional<RunTarget> microvm(DavitClient client, Path davitHome, Reference ref, StoreEntry entry,
                                               Manifest m, Consumer<String> say) {
        var store = client.store();
        if (!(m instanceof ImageManifest im) || !dev.davit.env.Environment.Kind.MICROVM_ARTIFACT_TYPE.equals(im.effectiveArtifactType())) {
            return Optional.empty();
        }
        Path cache = davitHome.resolve("vm");
        Path dir = cache.resolve(entry.descriptor().digest().toString().replace(':', '-'));
        if (!Files.isRegularFile(dir.resolve("rootfs.ext4"))) {
            say.accept("unpacking the microVM environment " + ref + " into " + dir);
            Path partial = cache.resolve(".partial-" + UUID.randomUUID());
            try {
                Files.createDirectories(partial);
                for (Descriptor l : im.layers()) {
                    String title = l.annotation(Artifacts.TITLE);
                    if (title != null && VM_FILES.contains(title)) {
                        ArtifactFiles.materialize(store, l, partial.resolve(title), ArtifactFiles.Placement.LINK);
                    }
                }
                try {
                    Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
                    // another davit linked it first
                }
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot unpack the microVM environment into " + cache + ": "
                        + e.getMessage());
            } finally {
                try {
                    Fs.deleteTree(partial);
                } catch (IOException e) {
                    say.accept("could not delete " + partial + ": " + e.getMessage());
                }
            }
        }
        return Optional.of(new RunTarget(ref.toString(), entry.descriptor().digest().toString(), dir,
                ImageConfig.EMPTY, RunSpec.VM));
    }

    /**
     * What {@link #prune} removed.
     *
     * @param removed    how many unpacked images (root filesystems and microVM environments) went
     * @param freedBytes about how many bytes they took
     */
    public record Pruned(int removed, long freedBytes) {
    }

    /**
     * Removes the unpacked images of {@code davitHome}'s caches ({@code rootfs/<digest>/}, {@code vm/<digest>/})
     * that nothing uses: no entry of {@code client}'s store reaches their digest (an image removed, a build's
     * intermediate step) and no sandbox of {@code sandboxes} was made from them; also the leftovers of an unpack
     * that failed (an hour after it last changed). Left: what an entry reaches, what a sandbox was made from, and
     * what changed in the last {@code unusedFor}. Not guarded: a one-shot run of an image removed from the
     * store while it runs.
     *
     * @param client     the store's client
     * @param davitHome  the home whose caches are pruned
     * @param sandboxes  lists the home's sandboxes, e.g. {@code sandboxes::list} (their root filesystems are kept);
     *                   asked after the caches and the store are read
     * @param only       the digests to consider ({@code sha256:HEX}), or null for all
     * @param unusedFor  how long an unpacked image must be unchanged to go
     * @return what was removed
     * @throws DavitException STORE when a cache cannot be read or an entry removed
     */
    public static Pruned prune(DavitClient client, Path davitHome, java.util.function.Supplier<List<Sandbox>> sandboxes,
                               java.util.Set<String> only, java.time.Duration unusedFor) {
        List<Path> candidates = new java.util.ArrayList<>();
        for (String cache : List.of("rootfs", "vm")) {
            Path dir = davitHome.resolve(cache);
            if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            try (java.util.stream.Stream<Path> s = Files.list(dir)) {
                s.filter(p -> Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).forEach(candidates::add);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read " + dir + ": " + e.getMessage());
            }
        }
        // listed first, judged after: an image unpacked meanwhile has its entry in the store already
        java.util.Set<String> live = new java.util.HashSet<>();
        for (StoreEntry e : client.store().entries()) {
            client.store().graph(e.descriptor()).forEach(d -> live.add(d.digest().toString()));
            if (e.resolvedDigest() != null) {
                live.add(e.resolvedDigest().toString());
            }
        }
        java.util.Set<Path> used = new java.util.HashSet<>();
        for (Sandbox s : sandboxes.get()) {
            used.add(s.spec().rootfs().toAbsolutePath().normalize());
        }
        java.time.Instant before = java.time.Instant.now().minus(unusedFor);
        int removed = 0;
        long freed = 0;
        for (Path p : candidates) {
            String name = p.getFileName().toString();
            // a partial tree, or the private directory an unpack into one writes first (left by a killed process)
            boolean partial = name.startsWith(".partial-")
                    || name.startsWith("..partial-") && name.contains(".davit-unpack-");
            String digest = name.replaceFirst("-", ":");
            if (!partial && (!name.matches("sha256-[0-9a-f]{64}") || live.contains(digest)
                    || only != null && !only.contains(digest) || used.contains(p.toAbsolutePath().normalize()))) {
                continue;
            }
            try {
                // an unpack under way writes below its partial directory, rarely into it: an hour at least
                java.time.Instant changed = Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        .toInstant();
                if (changed.isAfter(before) || partial && changed.isAfter(java.time.Instant.now().minus(
                        java.time.Duration.ofHours(1)))) {
                    continue;
                }
                long size = bytesIn(p);
                Fs.deleteTree(p);
                Files.deleteIfExists(Owners.fileOf(p));
                removed++;
                freed += size;
            } catch (java.nio.file.NoSuchFileException gone) {
                // another prune took it
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot remove " + p + ": " + e.getMessage());
            }
        }
        return new Pruned(removed, freed);
    }

    /**
     * The bytes of the regular files below {@code dir} that have no other link (links not followed; what cannot be
     * read counts 0).
     */
    private static long bytesIn(Path dir) throws IOException {
        long[] total = {0};
        Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path f, java.nio.file.attribute.BasicFileAttributes a) {
                try {
                    // a hard link of a store blob (a microVM environment's files) frees nothing
                    if (a.isRegularFile() && ((Number) Files.getAttribute(f, "unix:nlink",
                            java.nio.file.LinkOption.NOFOLLOW_LINKS)).intValue() == 1) {
                        total[0] += a.size();
                    }
                } catch (IOException | RuntimeException e) {
                    // not counted
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path f, IOException e) {
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }

    /**
     * The run defaults of an image config.
     *
     * @param config the image's config document ({@code DavitClient.inspectLocal(ref).config()}), or null
     * @return its {@code Entrypoint}, {@code Cmd}, {@code Env}, {@code WorkingDir} and {@code User};
     *         {@link ImageConfig#EMPTY} for null
     */
    public static ImageConfig imageConfig(ImageConfiguration config) {
        if (config == null) {
            return ImageConfig.EMPTY;
        }
        ImageConfiguration.RunDefaults d = config.defaults();
        return new ImageConfig(d.entrypoint(), d.cmd(), d.env(), d.workingDir(), d.user());
    }

    private RunTargets() {
    }
}
