package dev.davit.oci.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DavitConfigTest {
    private static final String SECRET = "pw-SECRET-8472";

    @TempDir
    Path tmp;

    private Path file() {
        return tmp.resolve("cfg").resolve("davit").resolve("config.json");
    }

    private JsonNode read(Path p) throws Exception {
        return Json.read(Files.readAllBytes(p));
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void defaultPath() {
        Path home = Path.of("/home/u");
        assertThat(DavitConfig.defaultPath(Map.of(), home)).isEqualTo(Path.of("/home/u/.config/davit/config.json"));
        assertThat(DavitConfig.defaultPath(Map.of("XDG_CONFIG_HOME", "/x"), home))
                .isEqualTo(Path.of("/x/davit/config.json"));
        assertThat(DavitConfig.defaultPath(Map.of("XDG_CONFIG_HOME", "relative"), home))
                .isEqualTo(Path.of("/home/u/.config/davit/config.json"));
        assertThat(DavitConfig.defaultPath(Map.of("XDG_CONFIG_HOME", ""), home))
                .isEqualTo(Path.of("/home/u/.config/davit/config.json"));
        assertThat(DavitConfig.defaultPath(Map.of("DAVIT_CONFIG", "/etc/d.json", "XDG_CONFIG_HOME", "/x"), home))
                .isEqualTo(Path.of("/etc/d.json"));
    }

    @Test
    void missingOrEmptyFileIsEmptyConfig() throws Exception {
        DavitConfig c = DavitConfig.load(file());
        assertThat(c.insecureRegistries()).isEmpty();
        assertThat(c.path()).isEqualTo(file());
        Files.createDirectories(file().getParent());
        Files.writeString(file(), "  \n");
        assertThat(DavitConfig.load(file()).insecureRegistries()).isEmpty();
    }

    @Test
    void insecureRegistries() throws Exception {
        Files.createDirectories(file().getParent());
        Files.writeString(file(), "{\"insecureRegistries\":[\"LocalHost:5000\",\"http://reg.lan/\"],\"other\":1}");
        DavitConfig c = DavitConfig.load(file());
        assertThat(c.insecureRegistries()).containsExactly("localhost:5000", "reg.lan");
        assertThat(c.isInsecure("localhost:5000")).isTrue();
        assertThat(c.isInsecure("LOCALHOST:5000")).isTrue();
        assertThat(c.isInsecure("reg.lan")).isTrue();
        assertThat(c.isInsecure("localhost")).isFalse();
        assertThat(c.toString()).contains("localhost:5000");
    }

    @Test
    void malformedFilesAreUsageErrorsWithoutContent() throws Exception {
        Files.createDirectories(file().getParent());
        String[] bad = {"{\"auths\":{\"a\":{\"auth\":\"" + SECRET + "\"}", "[\"" + SECRET + "\"]",
                "{\"insecureRegistries\":\"" + SECRET + "\"}", "{\"insecureRegistries\":[1]}",
                "{\"auths\":[]}", "{\"credHelpers\":{\"a\":1}}", "{\"credsStore\":{}}", SECRET,
                "{\"auths\":{},\"auths\":{}}"};
        for (String content : bad) {
            Files.writeString(file(), content);
            assertThatThrownBy(() -> DavitConfig.load(file()), content).isInstanceOf(DavitException.class)
                    .hasMessageContaining(file().toString()).hasMessageNotContaining(SECRET)
                    .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE))
                    .satisfies(e -> assertThat(e.getCause()).isNull());
        }
    }

    @Test
    void storeCreatesPrivateFileAndDirectory() throws Exception {
        DavitConfig.storeCredentials(file(), "ghcr.io", Credentials.basic("alice", SECRET));
        assertThat(read(file()).at("/auths/ghcr.io/auth").textValue()).isEqualTo(b64("alice:" + SECRET));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file()))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file().getParent())))
                .isEqualTo("rwx------");
        try (var files = Files.list(file().getParent())) {
            assertThat(files).containsExactly(file());
        }
    }

    @Test
    void storePreservesOtherKeysAndReplacesSameHostKeys() throws Exception {
        Files.createDirectories(file().getParent());
        Files.writeString(file(), "{\"insecureRegistries\":[\"localhost:5000\"],\"future\":{\"x\":[1,2]},"
                + "\"credHelpers\":{\"gcr.io\":\"gcloud\"},"
                + "\"auths\":{\"https://GHCR.io/\":{\"auth\":\"" + b64("old:old") + "\"},"
                + "\"quay.io\":{\"auth\":\"" + b64("q:q") + "\"}}}");
        Files.setPosixFilePermissions(file(), PosixFilePermissions.fromString("rw-r--r--"));
        DavitConfig.storeCredentials(file(), "ghcr.io", Credentials.basic("alice", SECRET));
        JsonNode root = read(file());
        assertThat(root.at("/insecureRegistries/0").textValue()).isEqualTo("localhost:5000");
        assertThat(root.at("/future/x/1").intValue()).isEqualTo(2);
        assertThat(root.at("/credHelpers/gcr.io").textValue()).isEqualTo("gcloud");
        assertThat(root.get("auths").properties()).extracting(Map.Entry::getKey)
                .containsExactlyInAnyOrder("ghcr.io", "quay.io");
        assertThat(root.at("/auths/quay.io/auth").textValue()).isEqualTo(b64("q:q"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file()))).isEqualTo("rw-------");
    }

    @Test
    void storeIdentityTokenAndDockerHub() throws Exception {
        DavitConfig.storeCredentials(file(), "registry-1.docker.io", Credentials.identityToken("bob", SECRET));
        JsonNode e = read(file()).at("/auths/docker.io");
        assertThat(e.get("identitytoken").textValue()).isEqualTo(SECRET);
        assertThat(e.get("username").textValue()).isEqualTo("bob");
    }

    @Test
    void storedCredentialsAreResolved() {
        Path home = tmp.resolve("home");
        CredentialResolver r =
                new CredentialResolver(Map.of("DAVIT_CONFIG", file().toString()), home, java.util.List.of());
        DavitConfig.storeCredentials(r.davitConfigPath(), "LOCALHOST:5000", Credentials.basic("alice", SECRET));
        Credentials c = r.resolve("localhost:5000");
        assertThat(c).isEqualTo(Credentials.basic("alice", SECRET));
        assertThat(c.source()).contains(file().toString());
        assertThat(DavitConfig.removeCredentials(r.davitConfigPath(), "localhost:5000")).isTrue();
        assertThat(r.resolve("localhost:5000").isAnonymous()).isTrue();
    }

    @Test
    void storeRefusesAnonymousAndBadHosts() {
        assertThatThrownBy(() -> DavitConfig.storeCredentials(file(), "ghcr.io", Credentials.anonymous()))
                .isInstanceOf(DavitException.class);
        assertThatThrownBy(() -> DavitConfig.storeCredentials(file(), "", Credentials.basic("a", SECRET)))
                .isInstanceOf(DavitException.class).hasMessageNotContaining(SECRET);
        assertThatThrownBy(() -> DavitConfig.storeCredentials(file(), "a b", Credentials.basic("a", SECRET)))
                .isInstanceOf(DavitException.class);
        assertThat(Files.exists(file())).isFalse();
    }

    @Test
    void storeDoesNotOverwriteAMalformedFile() throws Exception {
        Files.createDirectories(file().getParent());
        Files.writeString(file(), "{broken " + SECRET);
        assertThatThrownBy(() -> DavitConfig.storeCredentials(file(), "ghcr.io", Credentials.basic("a", "b")))
                .isInstanceOf(DavitException.class).hasMessageNotContaining(SECRET);
        assertThat(Files.readString(file())).isEqualTo("{broken " + SECRET);
    }

    @Test
    void storeFollowsSymlink() throws Exception {
        Path real = tmp.resolve("dotfiles").resolve("davit.json");
        Files.createDirectories(real.getParent());
        Files.writeString(real, "{\"insecureRegistries\":[\"x:1\"]}");
        Files.createDirectories(file().getParent());
        Files.createSymbolicLink(file(), real);
        DavitConfig.storeCredentials(file(), "ghcr.io", Credentials.basic("a", SECRET));
        assertThat(Files.isSymbolicLink(file())).isTrue();
        assertThat(read(real).at("/auths/ghcr.io/auth").textValue()).isEqualTo(b64("a:" + SECRET));
        assertThat(read(real).at("/insecureRegistries/0").textValue()).isEqualTo("x:1");
    }

    @Test
    void storeFailureIsStoreError() throws Exception {
        Path blocker = tmp.resolve("notadir");
        Files.writeString(blocker, "");
        assertThatThrownBy(() -> DavitConfig.storeCredentials(blocker.resolve("config.json"), "ghcr.io",
                Credentials.basic("a", SECRET)))
                .isInstanceOf(DavitException.class).hasMessageNotContaining(SECRET)
                .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.STORE));
    }

    @Test
    void removeReportsWhetherAnEntryExisted() throws Exception {
        assertThat(DavitConfig.removeCredentials(file(), "ghcr.io")).isFalse();
        assertThat(Files.exists(file())).isFalse();
        Files.createDirectories(file().getParent());
        String content = "{\"auths\":{\"https://ghcr.io\":{\"auth\":\"" + b64("a:b") + "\"},\"ghcr.io/v2/\":{},"
                + "\"quay.io\":{}},\"insecureRegistries\":[]}";
        Files.writeString(file(), content);
        assertThat(DavitConfig.removeCredentials(file(), "docker.io")).isFalse();
        assertThat(Files.readString(file())).isEqualTo(content);
        assertThat(DavitConfig.removeCredentials(file(), "GHCR.IO")).isTrue();
        JsonNode root = read(file());
        assertThat(root.get("auths").properties()).extracting(Map.Entry::getKey).containsExactly("quay.io");
        assertThat(root.get("insecureRegistries").isArray()).isTrue();
        assertThat(DavitConfig.removeCredentials(file(), "ghcr.io")).isFalse();
    }
}
