package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.OciStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code davit unpack} in-process against a store filled without a registry. */
class UnpackCommandTest {
    static final String NAME = "registry.example/team/app:1.0";

    @TempDir
    Path home;

    OciStore store;
    Cli cli;
    Path dir;

    @BeforeEach
    void setUp() throws IOException {
        store = OciStore.open(home.resolve("store"));
        cli = new Cli(home);
        dir = home.resolve("rootfs");
        put(NAME, null, tar(t -> {
            dir(t, "etc/");
            file(t, "etc/hostname", "app\n");
            file(t, "etc/removed", "x");
            symlink(t, "hostname", "etc/hostname");
        }), tar(t -> {
            file(t, "etc/.wh.removed", "");
            file(t, "bin/tool", "#!/bin/sh\n");
            TarArchiveEntry dev = new TarArchiveEntry("dev/null", TarConstants.LF_CHR);
            dev.setDevMajor(1);
            dev.setDevMinor(3);
            add(t, dev, new byte[0]);
        }));
    }

    private static List<String> keys(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void unpacksWithJson() throws IOException {
        Cli.Result r = cli.run("--json", "unpack", "--rootless", NAME, dir.toString());
        assertThat(r.rc()).as(r.toString()).isZero();
        JsonNode doc = r.json();
        assertThat(keys(doc)).containsExactly("reference", "name", "digest", "platform", "dir", "layers", "files",
                "directories", "symlinks", "hardlinks", "special_files", "whiteouts", "bytes", "skipped",
                "skipped_total", "notes", "elapsed_ms");
        assertThat(doc.get("name").asText()).isEqualTo(NAME);
        assertThat(doc.get("platform").asText()).isEqualTo("linux/amd64");
        assertThat(doc.get("dir").asText()).isEqualTo(dir.toString());
        assertThat(doc.get("layers")).hasSize(2);
        assertThat(keys(doc.get("layers").get(0))).containsExactly("digest", "media_type", "size", "diff_id");
        assertThat(doc.get("files").asLong()).isEqualTo(3);
        assertThat(doc.get("directories").asLong()).isEqualTo(1);
        assertThat(doc.get("symlinks").asLong()).isEqualTo(1);
        assertThat(doc.get("whiteouts").asLong()).isEqualTo(1);
        assertThat(doc.get("bytes").asLong()).isEqualTo(15);
        assertThat(doc.get("skipped_total").asLong()).isEqualTo(1);
        assertThat(doc.get("skipped").get(0).get("path").asText()).isEqualTo("dev/null");
        assertThat(doc.get("skipped").get(0).get("reason").asText()).contains("needs root");
        assertThat(r.stderr()).isEmpty();
        assertThat(dir.resolve("etc/hostname")).hasContent("app");
        assertThat(dir.resolve("etc/removed")).doesNotExist();
        assertThat(Files.readSymbolicLink(dir.resolve("hostname"))).isEqualTo(Path.of("etc/hostname"));
    }

    @Test
    void unpacksForHumans() {
        Cli.Result r = cli.run("unpack", "--rootless", NAME, dir.toString());
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stdout()).startsWith("unpacked " + NAME + " into " + dir)
                .contains("platform: linux/amd64", "layers:   2 (1 whiteouts applied)", "3 files (15 B)",
                        "1 directory", "1 symlink", "0 hard links",
                        "skipped:  dev/null: character device 1:3: creating device nodes needs root");
    }

    @Test
    void errors() throws IOException {
        Cli.Result missing = cli.run("--json", "unpack", "registry.example/other:1", dir.toString());
        assertThat(missing.rc()).isEqualTo(3);
        assertThat(missing.json().get("error").get("message").asText()).contains("not in the store; pull it first");

        Cli.Result entries = cli.run("unpack", "--max-entries", "2", NAME, dir.toString());
        assertThat(entries.rc()).isEqualTo(6);
        assertThat(entries.stderr()).contains("more than 2 tar entries").contains("--max-entries");
        assertThat(dir).doesNotExist();

        Cli.Result size = cli.run("unpack", "--max-size", "1k", NAME, dir.toString());
        assertThat(size.rc()).as(size.toString()).isEqualTo(6);
        assertThat(size.stderr()).contains("--max-size");

        assertThat(cli.run("unpack", "--max-size", "lots", NAME, dir.toString()).stderr())
                .contains("invalid size 'lots' for --max-size");
        assertThat(cli.run("unpack", "--max-size", "1x", NAME, dir.toString()).rc()).isEqualTo(2);
        assertThat(cli.run("unpack", "--platform", "linux/", NAME, dir.toString()).rc()).isEqualTo(2);
        assertThat(cli.run("unpack", NAME).rc()).isEqualTo(2);

        Files.createDirectories(dir);
        Files.writeString(dir.resolve("mine"), "x");
        Cli.Result notEmpty = cli.run("unpack", NAME, dir.toString());
        assertThat(notEmpty.rc()).isEqualTo(2);
        assertThat(notEmpty.stderr()).contains("is not empty");
    }

    @Test
    void aWrongDiffIdExits6AndLeavesNothing() throws IOException {
        put("registry.example/bad:1", Digest.sha256("nope".getBytes(StandardCharsets.UTF_8)).toString(),
                tar(t -> file(t, "a", "a")));
        Cli.Result r = cli.run("--json", "unpack", "registry.example/bad:1", dir.toString());
        assertThat(r.rc()).isEqualTo(6);
        assertThat(r.json().get("error").get("kind").asText()).isEqualTo("verification");
        assertThat(r.json().get("error").get("message").asText()).contains("diff_id");
        assertThat(dir).doesNotExist();
        try (var s = Files.list(home)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("store");
        }
    }

    @Test
    void sizesParse() {
        assertThat(Units.parseBytes("1048576", "--x")).isEqualTo(1 << 20);
        assertThat(Units.parseBytes("500MB", "--x")).isEqualTo(500_000_000L);
        assertThat(Units.parseBytes("4GiB", "--x")).isEqualTo(4L << 30);
        assertThat(Units.parseBytes("10g", "--x")).isEqualTo(10L << 30);
        assertThat(Units.parseBytes("2 kB", "--x")).isEqualTo(2000);
    }

    // ------------------------------------------------------------------ a small image writer

    interface TarContent {
        void write(TarArchiveOutputStream t) throws IOException;
    }

    static byte[] tar(TarContent content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(out)) {
            content.write(t);
        }
        return out.toByteArray();
    }

    static void dir(TarArchiveOutputStream t, String name) throws IOException {
        add(t, new TarArchiveEntry(name, TarConstants.LF_DIR), new byte[0]);
    }

    static void file(TarArchiveOutputStream t, String name, String content) throws IOException {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(b.length);
        add(t, e, b);
    }

    static void symlink(TarArchiveOutputStream t, String name, String target) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
        e.setLinkName(target);
        add(t, e, new byte[0]);
    }

    static void add(TarArchiveOutputStream t, TarArchiveEntry e, byte[] data) throws IOException {
        t.putArchiveEntry(e);
        t.write(data);
        t.closeArchiveEntry();
    }

    /** Stores an amd64 image of gzip layers; {@code badDiffId} replaces the last diff_id when not null. */
    void put(String name, String badDiffId, byte[]... tars) throws IOException {
        ObjectNode m = Json.object();
        m.put("schemaVersion", 2);
        m.put("mediaType", MediaTypes.OCI_MANIFEST);
        var layers = m.putArray("layers");
        ObjectNode config = Json.object().put("architecture", "amd64").put("os", "linux");
        var ids = config.putObject("rootfs").put("type", "layers").putArray("diff_ids");
        for (int i = 0; i < tars.length; i++) {
            ByteArrayOutputStream gz = new ByteArrayOutputStream();
            try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
                z.write(tars[i]);
            }
            byte[] blob = gz.toByteArray();
            Descriptor d = new Descriptor(MediaTypes.OCI_LAYER_GZIP, Digest.sha256(blob), blob.length);
            store.putBlob(d, blob);
            layers.add(ManifestJson.toJson(d));
            ids.add(badDiffId != null && i == tars.length - 1 ? badDiffId : Digest.sha256(tars[i]).toString());
        }
        byte[] configBytes = Json.bytes(config);
        Descriptor c = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(configBytes), configBytes.length);
        store.putBlob(c, configBytes);
        m.set("config", ManifestJson.toJson(c));
        byte[] manifest = Json.bytes(m);
        Descriptor md = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(manifest), manifest.length);
        store.putBlob(md, manifest);
        store.setEntry(name, md, Map.of());
    }
}
