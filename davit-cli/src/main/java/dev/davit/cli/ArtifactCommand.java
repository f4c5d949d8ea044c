package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.client.ArtifactClient;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.internal.Text;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit artifact push|pull}: ORAS-style artifacts (arbitrary files) in a registry. */
@Command(name = "artifact", mixinStandardHelpOptions = true,
        description = "Push or pull artifacts: arbitrary files as the layers of an OCI manifest with an artifactType.",
        subcommands = {ArtifactCommand.Push.class, ArtifactCommand.Pull.class, ArtifactCommand.Attach.class})
final class ArtifactCommand extends GroupCommand {
    /** {@code davit artifact push REF FILE[:TYPE]... --artifact-type TYPE}. */
    @Command(name = "push", mixinStandardHelpOptions = true,
            description = "Store FILEs as an artifact named REF and push it. A file may carry its media type as"
                    + " FILE:TYPE (default application/octet-stream); its name goes into"
                    + " org.opencontainers.image.title.")
    static final class Push extends SubCommand {
        @Parameters(index = "0", paramLabel = "REF", description = "Where to push, e.g. ghcr.io/o/kernels:6.6.")
        String reference;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "FILE[:TYPE]", description = "The files.")
        List<String> files = new ArrayList<>();

        @Option(names = "--artifact-type", required = true, paramLabel = "TYPE",
                description = "The artifact's type, e.g. application/vnd.example.microvm.v1.")
        String artifactType;

        @Option(names = "--annotation", paramLabel = "K=V", description = "A manifest annotation (repeatable).")
        List<String> annotations = new ArrayList<>();

        @Option(names = "--zstd", description = "Store each file zstd-compressed: media type TYPE+zstd, the file's"
                + " digest and size in the layer's dev.davit.uncompressed.* annotations ('artifact pull', installs"
                + " and 'run' decompress it).")
        boolean zstd;

        @Override
        protected int run(Output out) {
            Map<String, String> ann = CliArgs.keyValues(annotations, "--annotation takes KEY=VALUE");
            List<Artifacts.FileSpec> specs = files.stream().map(Artifacts.FileSpec::parse)
                    .map(f -> new Artifacts.FileSpec(f.path(), f.mediaType(), zstd)).toList();
            PushResult r;
            try (ProgressRenderer progress = out.progress()) {
                r = client().artifacts().push(reference, artifactType, specs, ann, progress);
            }
            ObjectNode doc = PushCommand.toJson(reference, r);
            doc.put("artifact_type", artifactType);
            out.result(doc, w -> PushCommand.human(w, "pushed artifact", r));
            return 0;
        }
    }

    /** {@code davit artifact attach --subject REF --artifact-type TYPE FILE[:TYPE]...}. */
    @Command(name = "attach", mixinStandardHelpOptions = true,
            description = "Attach FILEs to image REF at its registry (an SBOM, a provenance statement): an artifact"
                    + " whose subject is REF's manifest, pushed by digest beside it and listed by 'davit referrers'"
                    + " (the referrers API, else the sha256-DIGEST tag).")
    static final class Attach extends SubCommand {
        @Option(names = "--subject", required = true, paramLabel = "REF", description = "The image it is about.")
        String subject;

        @Parameters(arity = "1..*", paramLabel = "FILE[:TYPE]", description = "The files.")
        List<String> files = new ArrayList<>();

        @Option(names = {"--artifact-type", "--type"}, required = true, paramLabel = "TYPE",
                description = "The artifact's type, e.g. application/spdx+json.")
        String artifactType;

        @Option(names = "--annotation", paramLabel = "K=V", description = "A manifest annotation (repeatable).")
        List<String> annotations = new ArrayList<>();

        @Override
        protected int run(Output out) {
            Map<String, String> ann = CliArgs.keyValues(annotations, "--annotation takes KEY=VALUE");
            List<Artifacts.FileSpec> specs = files.stream().map(Artifacts.FileSpec::parse).toList();
            ArtifactClient.Attached r;
            try (ProgressRenderer progress = out.progress()) {
                r = client().artifacts().attach(subject, artifactType, specs, ann, progress);
            }
            ObjectNode doc = dev.davit.oci.internal.Json.object();
            doc.put("subject", r.subject().toString());
            doc.put("subject_digest", r.subjectDigest().toString());
            doc.put("digest", r.artifact().digest().toString());
            doc.put("artifact_type", artifactType);
            doc.put("reference", r.subject().repositoryName() + "@" + r.artifact().digest());
            doc.put("referrers_tag", r.referrersTag());
            out.result(doc, w -> w.println("attached " + r.artifact().digest() + " (" + Text.printable(artifactType)
                    + ") to " + r.subject() + "@" + r.subjectDigest() + "\n  pull it: " + r.subject().repositoryName()
                    + "@" + r.artifact().digest()));
            return 0;
        }
    }

    /** {@code davit artifact pull REF DIR}. */
    @Command(name = "pull", mixinStandardHelpOptions = true,
            description = "Pull an artifact and write its files into DIR under their titles. Names that would"
                    + " escape DIR are refused.")
    static final class Pull extends SubCommand {
        @Parameters(index = "0", paramLabel = "REF", description = "The artifact.")
        String reference;

        @Parameters(index = "1", paramLabel = "DIR", description = "Where to write the files (created if missing).")
        Path dir;

        @Option(names = "--media-type", paramLabel = "TYPE", description = "Only layers of this media type (repeatable).")
        List<String> mediaTypes = new ArrayList<>();

        @Override
        protected int run(Output out) {
            ArtifactClient.Pulled r;
            try (ProgressRenderer progress = out.progress()) {
                r = client().artifacts().pull(reference, dir, new LinkedHashSet<>(mediaTypes), progress);
            }
            ObjectNode doc = PullCommand.toJson(reference, r.pull());
            doc.put("directory", dir.toString());
            ArrayNode fs = doc.putArray("files");
            for (Artifacts.Extracted e : r.files()) {
                fs.add(JsonShapes.descriptor(e.descriptor()).put("title", e.title()).put("path", e.path().toString()));
            }
            out.result(doc, w -> {
                w.println("pulled artifact " + dev.davit.oci.internal.Text.printable(r.pull().reference().toString()));
                for (Artifacts.Extracted e : r.files()) {
                    w.println("  " + dev.davit.oci.internal.Text.printable(e.path().toString()) + "  ("
                            + Units.bytes(e.descriptor().size()) + ", " + e.descriptor().mediaType() + ")");
                }
            });
            return 0;
        }
    }

    /** Subcommands reach the global options through their grand-parent. */
    abstract static class SubCommand extends DavitCommand {
    }
}
