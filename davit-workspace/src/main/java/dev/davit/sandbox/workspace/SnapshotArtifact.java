package dev.davit.sandbox.workspace;

import static dev.davit.sandbox.workspace.WorkspaceImages.PART_BASELINE;
import static dev.davit.sandbox.workspace.WorkspaceImages.PART_SANDBOX;
import static dev.davit.sandbox.workspace.WorkspaceImages.PART_WORKSPACE;
import static dev.davit.sandbox.workspace.WorkspaceImages.SNAPSHOT_ARTIFACT_TYPE;
import static dev.davit.sandbox.workspace.WorkspaceImages.SNAPSHOT_CONFIG_TYPE;
import static dev.davit.sandbox.workspace.WorkspaceImages.SNAPSHOT_NAME;
import static dev.davit.sandbox.workspace.WorkspaceImages.WORKSPACE;

import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.build.LayerBuilder;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.OciStore;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.workspace.WorkspaceImages.Base;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The OCI artifact of a workspace snapshot, for {@link WorkspaceImages#pushSnapshot}: its config (what the snapshot
 * is, where it came from, the settings it carries) and its manifest (artifact type
 * {@value WorkspaceImages#SNAPSHOT_ARTIFACT_TYPE}, one titled layer per part, the environment as its subject), put
 * into the store and named.
 */
final class SnapshotArtifact {
    private SnapshotArtifact() {
    }

    /**
     * Stores the artifact of snapshot {@code snap} of workspace {@code ws} (of {@code sandbox}, running {@code env})
     * in {@code store}, whose session the caller holds, and names it {@code name}.
     *
     * @param layers the parts: the baseline, /workspace, and the rest of the sandbox (null: a snapshot of
     *               /workspace only)
     * @return the artifact's manifest, with its annotations and artifact type
     */
    static Descriptor store(OciStore store, Reference name, Workspace ws, Sandbox sandbox, Base env,
                            Workspaces.Snapshot snap, LayerBuilder.Layer[] layers) {
        LayerBuilder.Layer baseline = layers[0];
        LayerBuilder.Layer work = layers[1];
        LayerBuilder.Layer whole = layers[2];

        com.fasterxml.jackson.databind.node.ObjectNode cfg = dev.davit.oci.internal.Json.object();
        cfg.putObject("baseline").put("files", ws.baselineFiles()).put("bytes", ws.baselineBytes());
        cfg.putObject("environment").put("backend", sandbox.spec().backend()).put("digest",
                env.manifest().digest().toString()).put("name", env.name());
        cfg.set("settings", SnapshotSettings.of(ws, sandbox).toJson());
        cfg.putObject("snapshot").put("all", snap.all()).put("bytes", snap.bytes()).put("created_at",
                snap.createdAt().toString()).put("files", snap.files()).put("name", snap.name());
        com.fasterxml.jackson.databind.node.ObjectNode from = cfg.putObject("workspace");
        from.put("id", ws.id());
        from.put("name", ws.name());
        byte[] cfgBytes = dev.davit.oci.internal.Json.bytes(cfg);
        Descriptor cfgDesc = new Descriptor(SNAPSHOT_CONFIG_TYPE, Digest.sha256(cfgBytes), cfgBytes.length);
        store.putBlob(cfgDesc, cfgBytes);

        com.fasterxml.jackson.databind.node.ObjectNode m = dev.davit.oci.internal.Json.object();
        Map<String, String> annotations = new TreeMap<>();
        annotations.put(ImageBuilder.CREATED, snap.createdAt().toString());
        annotations.put(SNAPSHOT_NAME, snap.name());
        annotations.put(WORKSPACE, ws.id());
        com.fasterxml.jackson.databind.node.ObjectNode a = m.putObject("annotations");
        annotations.forEach(a::put);
        m.put("artifactType", SNAPSHOT_ARTIFACT_TYPE);
        m.set("config", dev.davit.oci.internal.manifest.ManifestJson.toJson(cfgDesc));
        com.fasterxml.jackson.databind.node.ArrayNode ls = m.putArray("layers");
        ls.add(dev.davit.oci.internal.manifest.ManifestJson.toJson(titled(baseline.descriptor(), PART_BASELINE)));
        ls.add(dev.davit.oci.internal.manifest.ManifestJson.toJson(titled(work.descriptor(), PART_WORKSPACE)));
        if (whole != null) {
            ls.add(dev.davit.oci.internal.manifest.ManifestJson.toJson(titled(whole.descriptor(), PART_SANDBOX)));
        }
        m.put("mediaType", MediaTypes.OCI_MANIFEST);
        m.put("schemaVersion", 2);
        Descriptor subject = env.manifest();
        m.set("subject", dev.davit.oci.internal.manifest.ManifestJson.toJson(new Descriptor(subject.mediaType(),
                subject.digest(), subject.size())));
        byte[] bytes = dev.davit.oci.internal.Json.bytes(m);
        Manifest parsed = ManifestParser.parse(bytes, MediaTypes.OCI_MANIFEST);
        store.putBlob(parsed.descriptor(), bytes);
        Descriptor artifact = new Descriptor(MediaTypes.OCI_MANIFEST, parsed.digest(), bytes.length, List.of(),
                annotations, null, SNAPSHOT_ARTIFACT_TYPE);
        store.setEntry(name.toString(), new Descriptor(MediaTypes.OCI_MANIFEST, parsed.digest(), bytes.length),
                Map.of());
        return artifact;
    }

    private static Descriptor titled(Descriptor d, String title) {
        return d.withAnnotations(Map.of(dev.davit.oci.artifact.Artifacts.TITLE, title));
    }
}
