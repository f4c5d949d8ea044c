package dev.davit.sandbox.build;

import static dev.davit.sandbox.build.BuildPaths.leftOut;
import static dev.davit.sandbox.build.BuildPaths.normal;
import static dev.davit.sandbox.build.BuildPaths.realDir;
import static dev.davit.sandbox.build.BuildPaths.relative;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.containerfile.IgnoreRules;
import dev.davit.oci.containerfile.Instruction;
import dev.davit.oci.containerfile.SourceGlob;
import dev.davit.oci.containerfile.Words;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A stage's {@code COPY} and {@code ADD} steps: each source (the build context's files, another stage's or image's,
 * a here-document, an ADD's URL or archive) staged in a directory of its own as the destination in the image has it,
 * with the owners and modes the flags give, and made a layer; a copy from a stage or image is taken from the build
 * cache when the same was copied before.
 */
final class CopyStep {
    /** A source that stands for the ADD's URL of its index (no path has a NUL). */
    private static final String FETCHED = "\0fetched:";

    /** The stage the step is of: its state, its errors, its images. */
    private final BuildStage bs;
    private final SourceFiles files;
    private final AddSources adds;
    private final ImagePaths paths;

    CopyStep(BuildStage bs, SourceFiles files, AddSources adds, ImagePaths paths) {
        this.bs = bs;
        this.files = files;
        this.adds = adds;
        this.paths = paths;
    }

    String copy(Instruction.Copy c, String next, List<String> temps) throws IOException {
        bs.specialsLeftOut.clear(); // an earlier COPY's, had it failed
        if (c.chmod() != null && !c.chmod().matches("[0-7]{3,4}")) {
            throw bs.error(c, c.keyword() + " --chmod takes octal digits, e.g. 0755");
        }
        Path from;
        String cacheKey = null;
        String fromRef = null;
        dev.davit.oci.digest.Digest fromPinned = null; // what the key's layers were read from
        if (c.from() == null) {
            from = bs.context;
        } else {
            Integer idx = bs.stageIndex(c.from());
            String ref = bs.fromRef(idx, Words.one(c.from(), bs.file.escape(), bs::lookup));
            fromRef = ref;
            fromPinned = bs.client.store().entry(ref).map(e -> e.descriptor().digest()).orElse(null);
            // what it copies follows from the two images' layers and the words: a cached layer spares the
            // unpack of the stage or image it copies from
            cacheKey = bs.options.noCache() || c.add() ? null : copyKey(c, ref);
            java.util.Optional<LayerBuilder.Layer> hit = cacheKey == null ? java.util.Optional.empty()
                    : bs.cache.find(cacheKey);
            if (hit.isPresent()) {
                bs.image(hit.get(), next, BuildStage.history(c));
                temps.add(next);
                bs.cachedStep = true;
                return next;
            }
            from = (idx != null ? bs.builder.unpacked(ref, bs.lowers.get(idx)) : bs.builder.unpacked(ref)).rootfs();
        }
        // what is copied from the context is root's unless --chown says otherwise, as Docker makes it; from a
        // stage or an image it keeps its owners
        BuildOptions.Owner owner = c.chown() != null ? owner(Words.one(c.chown(), bs.file.escape(),
                bs::lookup), c) : c.from() == null ? new BuildOptions.Owner(0, 0) : null;
        String dest = Words.one(c.dest(), bs.file.escape(), bs::lookup);
        // a path of the image: .. stops at its root, never above the staging directory
        // the image's links on the way are followed within the image (as Docker's builders do), never on the host
        String absolute = paths.inImage(Path.of("/").resolve(dest.startsWith("/") ? dest : bs.workdir + "/" + dest)
                .normalize().toString(), c);
        ImageTree.Node inBase = paths.parentsOf(absolute, c);
        // each source as the files it names: a glob's matches, what the context's ignore file leaves in
        IgnoreRules rules = c.from() == null ? bs.ignore : null;
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
            String src = Words.one(raw, bs.file.escape(), bs::lookup);
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
            for (String m : files.expand(from, src, rules, c)) {
                sources.add(m);
                pivots.put(m, drop);
                String g = normal(m.replaceFirst("^/+", ""));
                List<String> parts = g.isEmpty() ? List.of() : List.of(g.split("/"));
                bases.put(m, c.parents() ? String.join("/", parts.subList(0, Math.min(drop, parts.size())))
                        : glob ? String.join("/", parts.subList(0, Math.max(0, parts.size() - 1))) : g);
            }
        }
        if (c.checksum() != null && (urls.size() != 1 || c.sources().size() != 1)) {
            throw bs.error(c, "ADD --checksum is for one URL source alone; give the other sources an ADD of their"
                    + " own");
        }
        boolean intoDir = dest.endsWith("/") || dest.equals(".") || dest.endsWith("/.") || sources.size() > 1
                || inBase != null && inBase.directory() || c.parents();
        Path stage = Files.createTempDirectory(bs.client.store().tempDir(), "copy-");
        try {
            Path target = absolute.equals("/") ? stage : stage.resolve(absolute.substring(1));
            if (!target.normalize().startsWith(stage)) {
                throw bs.error(c, "the destination " + Text.shorten(dest, 100) + " leads out of the image");
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
                    String text = h.expand() ? Words.expandVariables(h.content(), bs.file.escape(), bs::lookup)
                            : h.content();
                    Files.write(to, text.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                            java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE,
                            LinkOption.NOFOLLOW_LINKS);
                    copied.add(to);
                    continue;
                }
                if (raw.startsWith(FETCHED)) {
                    String url = urls.get(Integer.parseInt(raw.substring(FETCHED.length())));
                    Path file1 = adds.fetch(url, stage, target, intoDir, budget, c);
                    copied.add(file1);
                    continue;
                }
                String src = raw;
                // a source that is a link is followed within the context (or the stage), as buildah and BuildKit
                // follow it; what it copies keeps the name the COPY gave
                if (java.util.Arrays.asList(src.split("/")).contains("..")) {
                    throw bs.error(c, Text.shorten(src, 100) + " leads out of the build's files (..); give a path"
                            + " inside them");
                }
                String given = normal(src.replaceFirst("^/+", ""));
                String resolved = files.followLinks(from, given, c);
                if (rules != null && !resolved.equals(given) && leftOut(from, resolved, rules)) {
                    throw bs.error(c, Text.shorten(src, 100) + " is a link to " + Text.shorten(resolved, 100)
                            + ", which the context's ignore file leaves out");
                }
                Path source = files.within(from, resolved.equals(given) ? src : resolved, c);
                // read through descriptors from here: nothing on the way followed, whatever changes meanwhile
                String rel = relative(from, source);
                int slash = rel.lastIndexOf('/');
                try (dev.davit.sandbox.fs.Dir top = dev.davit.sandbox.fs.Dir.open(from, c.from() == null
                        ? "the build context" : "stage or image " + c.from());
                     dev.davit.sandbox.fs.Dir parent = top.dir(slash < 0 ? "" : rel.substring(0, slash))) {
                    String name = slash < 0 ? rel : rel.substring(slash + 1);
                    dev.davit.sandbox.fs.Stat st = rel.isEmpty() ? top.stat(".") : parent.stat(name);
                    if (st == null) {
                        throw files.missing(c, src); // gone since it was looked at
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
                    Path unpacked = c.add() && st.isRegularFile() ? adds.unpack(parent, name, src, c) : null;
                    if (unpacked != null) {
                        // a local tar's content, into the destination as a directory (Docker's ADD)
                        try (dev.davit.sandbox.fs.Dir u = dev.davit.sandbox.fs.Dir.open(unpacked, "the archive "
                                + Text.shorten(src, 80))) {
                            realDir(stage, target);
                            files.copyTree(u, target, stage, copied, budget, c, null, null, links, 0);
                        } finally {
                            dev.davit.oci.internal.Fs.deleteTree(unpacked);
                        }
                    } else if (st.isDirectory()) {
                        // a directory's content, as Docker copies it, less what the ignore file and --exclude
                        // leave out (with --parents, below its own path)
                        Path into = c.parents() ? kept(target, given, pivots.get(raw)) : target;
                        try (dev.davit.sandbox.fs.Dir d = rel.isEmpty() ? top.dir("") : parent.dir(name)) {
                            realDir(stage, into);
                            files.copyTree(d, into, stage, copied, budget, c, rules, ex, rel, links, 0);
                        }
                    } else if (st.isRegularFile() || st.isSymbolicLink()) {
                        String as = given.isEmpty() ? name : given.substring(given.lastIndexOf('/') + 1);
                        Path file1 = c.parents() ? kept(target, given, pivots.get(raw)) : intoDir
                                ? target.resolve(as) : target;
                        realDir(stage, file1.getParent());
                        files.counted(st.size(), budget, c);
                        files.copyEntry(parent, name, st, file1, links, c);
                        copied.add(file1);
                    } else {
                        throw bs.error(c, Text.shorten(src, 100) + " is not a file, a link or a directory (a fifo,"
                                + " a socket or a device is not copied)");
                    }
                }
            }
            if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS) && inBase == null) {
                copied.add(target); // made by this COPY: its owner and mode are the COPY's too
                // and its time the build's (or the epoch), never now: the layer is the same build after build
                Files.setLastModifiedTime(target, java.nio.file.attribute.FileTime.from(bs.created == null
                        ? Instant.EPOCH : bs.created));
            }
            // the destination, when the image has it as a directory, and the directories above what is copied
            // keep the image's attributes (a /tmp stays 1777); those the COPY makes are the --chown owner's
            Map<String, BuildOptions.Owner> owners = new HashMap<>();
            List<Path> made = paths.matchParents(stage, target, inBase != null && inBase.directory()
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
            if (bs.created == null) {
                o.keepMtimes(true);
            } else {
                o.fileMtime(bs.created);
            }
            LayerBuilder.Layer layer = new LayerBuilder(o.build()).build(stage, bs.client.store(),
                    ProgressListener.NONE);
            bs.leftOut(c.keyword(), bs.specialsLeftOut);
            bs.specialsLeftOut.clear();
            // cached only when the name still names the image the key was made of (a pull meanwhile may have
            // moved it, and the copy would then be of another image than the key says)
            String named = fromRef;
            if (cacheKey != null && fromPinned != null && fromPinned.equals(bs.client.store().entry(named)
                    .map(e -> e.descriptor().digest()).orElse(null))) {
                bs.cache.put(cacheKey, layer, bs.file.name() + ":" + c.line() + " " + c.keyword()
                        + BuildStage.describe(c));
            }
            bs.image(layer, next, BuildStage.history(c));
            temps.add(next);
            return next;
        } finally {
            dev.davit.oci.internal.Fs.deleteTree(stage);
        }
    }

    /** The build cache's key of COPY {@code c} from image {@code ref}: both images' layers and the words. */
    private String copyKey(Instruction.Copy c, String ref) {
        List<String> key = new ArrayList<>(List.of(c.keyword(), "from=" + bs.layersOf(ref), "layers="
                + bs.layersOf(bs.current), "wd=" + bs.workdir, "created=" + bs.created, "chmod=" + c.chmod(), "chown="
                + (c.chown() == null ? "" : Words.one(c.chown(), bs.file.escape(), bs::lookup)), "dest="
                + Words.one(c.dest(), bs.file.escape(), bs::lookup), "parents=" + c.parents(), "sources="
                + c.sources().size()));
        for (String e : c.excludes()) {
            key.add("exclude=" + Words.one(e, bs.file.escape(), bs::lookup));
        }
        for (String raw : c.sources()) {
            key.add(raw.startsWith("<<") ? raw : Words.one(raw, bs.file.escape(), bs::lookup));
        }
        c.heredocs().forEach(h -> key.add("doc=" + h.name() + "\n" + (h.expand() ? Words.expandVariables(
                h.content(), bs.file.escape(), bs::lookup) : h.content())));
        return BuildCache.key(key);
    }

    /** {@code c}'s --exclude patterns as rules of their own (never joined to the ignore file's); null: none. */
    private IgnoreRules exclusions(Instruction.Copy c) {
        if (c.excludes().isEmpty()) {
            return null;
        }
        StringBuilder text = new StringBuilder();
        for (String e : c.excludes()) {
            String p = Words.one(e, bs.file.escape(), bs::lookup);
            if (p.contains("\n") || p.startsWith("#")) {
                throw bs.error(c, c.keyword() + " --exclude pattern " + Text.shorten(Text.printable(p), 60)
                        + " cannot be read (a line break, or a leading #)");
            }
            text.append(p).append('\n');
        }
        try {
            return IgnoreRules.parse(text.toString());
        } catch (IllegalArgumentException e) {
            throw bs.error(c, c.keyword() + " --exclude: " + e.getMessage().replaceFirst("^line \\d+ of the ignore"
                    + " file: ", ""));
        }
    }

    /**
     * The owner {@code --chown} names: {@code user[:group]}, each a number or a name of the image's
     * {@code /etc/passwd} and {@code /etc/group}; a name without a group has its primary group in
     * {@code /etc/passwd}, a number without one the same number, as buildah gives them; with an empty group
     * ({@code user:}) either has its primary group when {@code /etc/passwd} lists it.
     */
    private BuildOptions.Owner owner(String chown, Instruction i) {
        if (chown.isEmpty() || chown.chars().anyMatch(ch -> ch <= ' ' || ch == 0x7f) || chown.length() > 200) {
            throw bs.error(i, i.keyword() + " --chown takes user[:group], names or numbers, e.g. 1000:1000");
        }
        int colon = chown.indexOf(':');
        String u = colon < 0 ? chown : chown.substring(0, colon);
        String g = colon < 0 ? null : chown.substring(colon + 1);
        if (u.matches("[0-9]{1,9}") && (g == null || g.matches("[0-9]{1,9}"))) {
            long uid = Long.parseLong(u);
            return new BuildOptions.Owner(uid, g == null ? uid : Long.parseLong(g));
        }
        int[] ids = dev.davit.sandbox.backend.Users.resolve(bs.tree::lines, g == null ? u : u + ":" + g);
        return new BuildOptions.Owner(ids[0], ids[1]);
    }

    /**
     * Where {@code COPY --parents} puts source {@code given}: below {@code target}, less its first {@code drop}
     * parts.
     */
    private static Path kept(Path target, String given, Integer drop) {
        List<String> parts = given.isEmpty() ? List.of() : List.of(given.split("/"));
        int n = drop == null ? 0 : Math.min(drop, parts.size());
        String kept = String.join("/", parts.subList(n, parts.size()));
        return kept.isEmpty() ? target : target.resolve(kept);
    }
}
