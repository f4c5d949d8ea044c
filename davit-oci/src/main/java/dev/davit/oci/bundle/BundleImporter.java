package dev.davit.oci.bundle;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.digest.Hashed;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.BlobIngest;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Imports a bundle into the store in three steps, so a bad bundle changes no reference:
 * <ol>
 *   <li><b>read</b> — one streaming pass over the tar ({@link BundleReader}: paths, entry types and limits are
 *       checked). Every blob goes through the store's ingest and is committed only when its content matches the
 *       digest in its name; a blob the store already has is still hashed, so a corrupt bundle is always reported.
 *       On any failure the blob's partial file is deleted.</li>
 *   <li><b>check</b> — {@code oci-layout} is version 1.x, {@code index.json} parses (as strictly as a manifest, at
 *       most {@link ManifestParser#MAX_MANIFEST_BYTES}), every entry gets a reference (its ref name normalised,
 *       or what {@link ImportOptions} says),
 *       and every entry's whole graph is in the bundle: each blob present with the size its descriptor says, each
 *       manifest parsable.</li>
 *   <li><b>name</b> — only then each reference is set in {@code index.json} through the store's commit point
 *       ({@link OciStore#setEntry}), keeping the entry's annotations from the bundle.</li>
 * </ol>
 * A failure in steps 1-2 leaves {@code index.json} untouched; blobs already verified stay unreferenced until
 * {@code davit gc}. The whole import holds the store lock shared, so a concurrent gc waits for it.
 */
public final class BundleImporter {
    private static final int BUF = 1 << 16;
    private static final long PROGRESS_STEP = 1 << 20;
    private static final int MAX_INDEX_DEPTH = 4;
    private static final String BLOB_TYPE = "application/octet-stream";

    private final OciStore store;

    /**
     * An importer into one store.
     *
     * @param store the store that receives the blobs and the references
     */
    public BundleImporter(OciStore store) {
        this(store, (dev.davit.oci.copy.Copier.Admission) null);
    }

    /**
     * An importer into {@code store} that names a reference only when {@code admission} lets its image in (a
     * signature policy); a refused one refuses the whole import before any reference is named.
     *
     * @param store     the store
     * @param admission decides on each imported image, or null for none
     */
    public BundleImporter(OciStore store, dev.davit.oci.copy.Copier.Admission admission) {
        this(store, planned -> admission);
    }

    /**
     * An importer whose admission may see what the bundle names ({@code admissionFor} gets each reference the
     * bundle would name and its descriptor, its blobs in the store already): so a signature the bundle carries
     * admits an image with no registry reached.
     *
     * @param store        the store
     * @param admissionFor the admission of a bundle, given what it names; or one returning null for none
     */
    public BundleImporter(OciStore store,
                          java.util.function.Function<Map<String, Descriptor>, dev.davit.oci.copy.Copier.Admission>
                                  admissionFor) {
        this.store = store;
        this.admissionFor = admissionFor;
    }

    private final java.util.function.Function<Map<String, Descriptor>, dev.davit.oci.copy.Copier.Admission>
            admissionFor;

    /** A bundle entry and the reference it is imported as. */
    private record Planned(String bundleName, Reference reference, Descriptor descriptor) {
    }

    /** How the user asked to name entries, parsed. */
    private record Naming(Reference as, Map<String, Reference> map, Reference repository) {
    }

    /**
     * Imports a bundle file (a tar of an OCI image layout, plain, gzip or zstd) into the store.
     *
     * @param file the bundle
     * @param options how entries are named, and the size limits
     * @param progress receives progress events
     * @return the references set and the blobs stored
     * @throws DavitException of kind NOT_FOUND when the file does not exist, USAGE when it cannot be read or an
     *     entry cannot be named as {@code options} say, VERIFICATION when the bundle is malformed, incomplete,
     *     over a limit or its content does not match its digests, STORE when the store cannot be written
     */
    public ImportResult importBundle(Path file, ImportOptions options, ProgressListener progress) {
        long t0 = System.nanoTime();
        String what = BundleReader.describe(file);
        Naming naming = naming(options);
        try (AutoCloseable session = store.session()) {
            progress.onEvent(new ProgressEvent.Phase("reading bundle", file.toString()));
            Collector c = new Collector(what, naming, options.maxEntries(), options.only(), progress);
            BundleReader.Summary summary = BundleReader.read(file, new BundleReader.Limits(options.maxTotalBytes(),
                    options.maxEntries(), ManifestParser.MAX_MANIFEST_BYTES), c);
            if (c.layout == null) {
                throw new DavitException(Kind.VERIFICATION, what + " has no oci-layout file; it is not an OCI image"
                        + " layout archive");
            }
            if (c.index == null) {
                throw new DavitException(Kind.VERIFICATION, what + " has no index.json; it is not an OCI image"
                        + " layout archive");
            }
            progress.onEvent(new ProgressEvent.Phase("verifying", c.plan.size() + " references"));
            OciLayoutSource blobs = OciLayoutSource.over(store.root(), c.index.manifests(), what);
            for (Planned p : c.plan) {
                checkGraph(p, blobs, c.blobs, what);
            }
            if (!options.overwrite()) {
                refuseRenames(c.plan, what);
            }
            Map<Planned, Map<String, String>> admitted = new java.util.HashMap<>();
            Map<String, Descriptor> named = new LinkedHashMap<>();
            c.plan.forEach(p -> named.put(p.reference().toString(), p.descriptor()));
            dev.davit.oci.copy.Copier.Admission admission = admissionFor == null ? null : admissionFor.apply(named);
            if (admission != null) {
                for (Planned p : c.plan) {
                    admitted.put(p, admission.admit(p.reference(), p.descriptor())); // before any name is set
                }
            }
            // the commit point: everything is verified, name the references
            List<ImportResult.ImportedRef> refs = new ArrayList<>();
            for (Planned p : c.plan) {
                String name = p.reference().toString();
                Digest previous = store.entry(name).map(e -> e.descriptor().digest()).orElse(null);
                // a bundle's annotations never say what admitted an image: only this import's admission does
                Map<String, String> ann = new LinkedHashMap<>(dev.davit.oci.policy.Trust.strip(
                        p.descriptor().annotations()));
                ann.remove(OciStore.REF_NAME);
                ann.putAll(admitted.getOrDefault(p, Map.of()));
                StoreEntry e = store.setEntry(name, p.descriptor().withAnnotations(ann), Map.of());
                refs.add(new ImportResult.ImportedRef(p.bundleName(), p.reference(), e.descriptor(), previous));
            }
            progress.onEvent(new ProgressEvent.Phase("done", refs.size() + " references"));
            long bytes = c.blobs.values().stream().mapToLong(Long::longValue).sum();
            return new ImportResult(file.toAbsolutePath(), summary.compression(),
                    BundleMetadata.fromAnnotations(c.index.annotations()), refs, c.blobs.size(), c.stored, bytes,
                    Duration.ofNanos(System.nanoTime() - t0));
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.INTERNAL, "import of " + what + " failed: " + e, e);
        }
    }

    /** How many renamed references a refusal names (the rest are counted). */
    private static final int RENAMES_SHOWN = 3;

    /**
     * Refuses an import that would move a name the store already gives another image ({@link ImportOptions#overwrite}
     * not given): one line naming each such reference, its image now and the bundle's.
     */
    private void refuseRenames(List<Planned> plan, String what) {
        List<String> renamed = new ArrayList<>();
        for (Planned p : plan) {
            Digest previous = store.entry(p.reference().toString()).map(e -> e.descriptor().digest()).orElse(null);
            if (previous != null && !previous.equals(p.descriptor().digest())) {
                renamed.add(Text.printable(p.reference().toString()) + " (" + previous.shortHex()
                        + " -> " + p.descriptor().digest().shortHex() + ")");
            }
        }
        if (renamed.isEmpty()) {
            return;
        }
        String shown = String.join(", ", renamed.subList(0, Math.min(RENAMES_SHOWN, renamed.size())))
                + (renamed.size() > RENAMES_SHOWN ? " and " + (renamed.size() - RENAMES_SHOWN) + " more" : "");
        throw new DavitException(Kind.USAGE, Message.of(what + " would rename " + renamed.size() + " reference"
                + (renamed.size() == 1 ? "" : "s") + " the store already has to other images: " + shown
                + "; nothing was named. Give ", Input.OVERWRITE, " to replace them, or ", Input.MAP,
                " to import under other names"));
    }

    private static Naming naming(ImportOptions o) {
        Reference as = o.as() == null ? null : Reference.parse(o.as());
        Map<String, Reference> map = new LinkedHashMap<>();
        o.map().forEach((k, v) -> {
            if (k == null || k.isEmpty()) {
                throw new DavitException(Kind.USAGE, Message.of(Input.MAP, " needs NAME=REF with a non-empty NAME"));
            }
            map.put(k, Reference.parse(v));
        });
        Reference repo = null;
        if (o.repository() != null) {
            if (o.repository().contains("@")) {
                throw new DavitException(Kind.USAGE, Message.of(Input.REPOSITORY, " takes a repository without tag or"
                        + " digest, e.g. registry.example/team/app").value(o.repository()));
            }
            repo = Reference.parseRepository(o.repository());
        }
        if (as != null && (!map.isEmpty() || repo != null)) {
            throw new DavitException(Kind.USAGE, Message.of(Input.AS, " names the only entry of a bundle; it cannot be"
                    + " combined with ", Input.MAP, " or ", Input.REPOSITORY));
        }
        return new Naming(as, map, repo);
    }

    /** Receives the bundle's content: verifies blobs into the store, keeps the layout files. */
    private final class Collector implements BundleReader.Visitor {
        final String what;
        final Naming naming;
        final int maxEntries;
        final java.util.function.Predicate<String> only;
        final ProgressListener progress;
        final Map<Digest, Long> blobs = new HashMap<>();
        final byte[] buf = new byte[BUF];
        byte[] layout;
        ImageIndex index;
        List<Planned> plan;
        int stored;

        Collector(String what, Naming naming, int maxEntries, java.util.function.Predicate<String> only,
                  ProgressListener progress) {
            this.what = what;
            this.naming = naming;
            this.maxEntries = maxEntries;
            this.only = only;
            this.progress = progress;
        }

        @Override
        public void layout(byte[] bytes) {
            OciLayoutSource.checkLayoutVersion(bytes, what);
            layout = bytes;
        }

        @Override
        public void index(byte[] bytes) {
            ImageIndex idx = OciLayoutSource.parseIndex(bytes, what);
            if (idx.manifests().isEmpty()) {
                throw new DavitException(Kind.VERIFICATION, what + " names no references (index.json is empty);"
                        + " nothing to import");
            }
            if (idx.manifests().size() > maxEntries) {
                throw new DavitException(Kind.VERIFICATION, what + " names " + idx.manifests().size()
                        + " references, over the limit of " + maxEntries);
            }
            List<Descriptor> entries = idx.manifests();
            if (only != null) {
                entries = entries.stream().filter(e -> {
                    String n = RefNames.normalized(e.annotation(OciStore.REF_NAME));
                    return n != null && only.test(n);
                }).toList();
                if (entries.isEmpty()) {
                    throw new DavitException(Kind.NOT_FOUND, what + " holds none of the entries asked for; nothing"
                            + " to import");
                }
            }
            plan = plan(entries, naming, what);
            index = idx;
        }

        @Override
        public void blob(Digest digest, long size, InputStream content) throws IOException {
            Long prior = blobs.get(digest);
            if (prior != null) {
                if (prior != size) {
                    throw mismatch(digest);
                }
                hashOnly(digest, size, content);
                return;
            }
            Descriptor d = new Descriptor(BLOB_TYPE, digest, size);
            progress.onEvent(new ProgressEvent.BlobStarted(d, 0));
            try (BlobIngest in = store.ingest(d)) {
                if (in.present()) {
                    hashOnly(digest, size, content);
                    progress.onEvent(new ProgressEvent.BlobDone(d, true));
                } else {
                    boolean committed = false;
                    try {
                        in.restart();
                        long done = 0;
                        long reported = 0;
                        int n;
                        while ((n = content.read(buf)) > 0) {
                            in.write(buf, 0, n);
                            done += n;
                            if (done - reported >= PROGRESS_STEP) {
                                reported = done;
                                progress.onEvent(new ProgressEvent.BlobProgress(d, done));
                            }
                        }
                        in.commit();
                        committed = true;
                    } catch (DavitException e) {
                        throw e.kind() == Kind.VERIFICATION ? mismatch(digest) : e;
                    } finally {
                        if (!committed) {
                            in.discard();
                        }
                    }
                    stored++;
                    progress.onEvent(new ProgressEvent.BlobDone(d, false));
                }
            }
            blobs.put(digest, size);
        }

        private void hashOnly(Digest digest, long size, InputStream content) throws IOException {
            if (!Hashed.of(content, digest.algorithm(), buf).matches(digest, size)) {
                throw mismatch(digest);
            }
        }

        private DavitException mismatch(Digest digest) {
            return new DavitException(Kind.VERIFICATION, what + ": the content of blob " + digest + " does not match"
                    + " its digest; the bundle is corrupt, export it again");
        }
    }

    /** Decides the reference of every entry; refuses the bundle when one cannot be named. */
    private static List<Planned> plan(List<Descriptor> entries, Naming naming, String what) {
        if (naming.as() != null) {
            if (entries.size() != 1) {
                throw new DavitException(Kind.USAGE, Message.of(Input.AS, " names one reference, but " + what
                        + " has " + entries.size() + " entries; name them with ", Action.MAP_ENTRY.fix("NAME=REF"),
                        " or ", Action.REPOSITORY_OF.fix("REPO")));
            }
            Descriptor e = entries.get(0);
            checkDigest(naming.as(), e, what, Kind.USAGE);
            return List.of(new Planned(e.annotation(OciStore.REF_NAME), naming.as(), e));
        }
        List<Planned> out = new ArrayList<>();
        Set<String> used = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < entries.size(); i++) {
            Descriptor e = entries.get(i);
            String n = e.annotation(OciStore.REF_NAME);
            Reference named = RefNames.reference(n);
            String key = mapKey(n, named, e.digest(), naming.map());
            Reference r;
            Kind kind = Kind.USAGE;
            if (key != null) {
                r = naming.map().get(key);
                used.add(key);
            } else if (named != null) {
                r = named;
                kind = Kind.VERIFICATION;
            } else if (naming.repository() != null && RefNames.isTag(n)) {
                r = naming.repository().withTag(n);
            } else if (n == null) {
                throw new DavitException(Kind.USAGE, Message.of(what + ": entry " + (i + 1) + " ("
                        + e.digest().shortHex() + ") has no name; import it with ", Action.AS_REF.fix(), " (one-entry"
                        + " bundles) or ", Action.MAP_ENTRY.fix(e.digest() + "=REF")));
            } else {
                String shown = Text.shorten(n, 80);
                throw new DavitException(Kind.USAGE, Message.of(what + ": entry '" + shown + "' is not a"
                        + " reference: " + RefNames.problem(n) + "; import it with ", Action.AS_REF.fix(), " (one-entry"
                        + " bundles), ", Action.MAP_ENTRY.fix("'" + shown + "'=REF"), RefNames.isTag(n)
                        ? Message.of(" or ", Action.REPOSITORY_OF.fix("REPO"), " (as REPO:" + shown + ")") : ""));
            }
            checkDigest(r, e, what, kind);
            if (!names.add(r.toString())) {
                throw new DavitException(Kind.USAGE, Message.of(what + " would name " + r + " twice; give the entries"
                        + " distinct references with ", Action.MAP_ENTRY.fix("NAME=REF")));
            }
            out.add(new Planned(n, r, e));
        }
        for (String k : naming.map().keySet()) {
            if (!used.contains(k)) {
                throw new DavitException(Kind.USAGE, Message.of(Action.MAP_ENTRY.fix(Text.shorten(k, 80) + "=..."),
                        ": " + what + " has no entry named so"));
            }
        }
        return out;
    }

    /**
     * The {@code --map} key naming an entry: its ref name as written, else the reference that name stands for
     * (so {@code docker.io/imported/tiny:2} maps an entry named {@code imported/tiny:2}), else its digest; or null.
     */
    private static String mapKey(String name, Reference named, Digest digest, Map<String, Reference> map) {
        for (String k : new String[] {name, named == null ? null : named.toString(), digest.toString()}) {
            if (k != null && map.containsKey(k)) {
                return k;
            }
        }
        return null;
    }

    private static void checkDigest(Reference r, Descriptor e, String what, Kind kind) {
        if (r.digest() != null && !r.digest().equals(e.digest())) {
            throw new DavitException(kind, what + ": " + r + " names digest " + r.digest()
                    + " but the bundle entry is " + e.digest() + "; name it by tag or by its own digest");
        }
    }

    /** Checks that the entry's whole graph is in the bundle: blobs present with the right sizes, manifests valid. */
    private static void checkGraph(Planned p, OciLayoutSource source, Map<Digest, Long> blobs, String what) {
        String ref = p.reference().toString();
        Set<Digest> seen = new HashSet<>();
        Deque<Descriptor> todo = new ArrayDeque<>();
        Map<Digest, Integer> depth = new HashMap<>();
        todo.add(p.descriptor());
        depth.put(p.descriptor().digest(), 0);
        while (!todo.isEmpty()) {
            Descriptor d = todo.poll();
            if (!seen.add(d.digest())) {
                continue;
            }
            Long size = blobs.get(d.digest());
            if (size == null) {
                throw new DavitException(Kind.VERIFICATION, what + ": blob " + d.digest() + " ("
                        + Text.shorten(d.mediaType(), 80) + ") of " + ref + " is missing; the bundle is incomplete,"
                        + " export it again");
            }
            if (size != d.size()) {
                throw new DavitException(Kind.VERIFICATION, what + ": blob " + d.digest() + " of " + ref + " is "
                        + size + " bytes, its descriptor says " + d.size() + "; the bundle is corrupt");
            }
            if (!MediaTypes.isManifest(d.mediaType())) {
                continue;
            }
            Manifest m;
            try {
                m = source.fetchManifest(d);
            } catch (DavitException e) {
                throw new DavitException(Kind.VERIFICATION, what + ": manifest " + d.digest() + " of " + ref
                        + " is invalid: " + e.getMessage().replaceFirst("^malformed manifest: ", ""));
            }
            int level = depth.getOrDefault(d.digest(), 0);
            if (m instanceof ImageIndex && level >= MAX_INDEX_DEPTH) {
                throw new DavitException(Kind.VERIFICATION, what + ": indexes of " + ref + " nest deeper than "
                        + MAX_INDEX_DEPTH + " levels; refusing it");
            }
            for (Descriptor c : m.children()) {
                depth.putIfAbsent(c.digest(), level + 1);
                todo.add(c);
            }
        }
    }
}
