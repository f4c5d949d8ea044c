package dev.davit.env.install;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.oci.internal.Json;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PruneTest {
    @TempDir
    static Path shared;
    static EnvFixtures fx;

    @TempDir
    Path home;

    @BeforeAll
    static void up() {
        fx = new EnvFixtures(shared);
    }

    @AfterAll
    static void down() {
        if (fx != null) {
            fx.close();
        }
    }

    @Test
    void pruneDeletesEverythingButValidInstallsOfTheCatalog() throws Exception {
        try (DavitClient client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            Installer installer = new Installer(home, client);
            Environment kept = fx.vmEnv();
            Environment old = EnvFixtures.microvm(kept.name(), "2025.1.0", kept.source());
            Environment unknown = EnvFixtures.microvm("gone:1", "1", kept.source());
            Environment invalid = EnvFixtures.microvm("broken", "1", kept.source());
            Environment container = fx.containerEnv();
            Catalog everything = EnvFixtures.catalog(kept, old, unknown, invalid, container);
            for (Environment e : List.of(kept, old, unknown, invalid, container)) {
                installer.install(everything, e);
            }
            Files.delete(installer.installDir(invalid).resolve("vmlinux"));
            Path platform = home.resolve("environments/linux_amd64");
            Files.createDirectories(platform.resolve(".partial-debian_12-vm-2026.11.1-1234"));
            Files.createDirectories(platform.resolve("no-manifest-1"));
            Path malformed = Files.createDirectories(platform.resolve("malformed-1"));
            Files.writeString(malformed.resolve("environment.json"), "{not json");
            Path otherPlatform = Files.createDirectories(home.resolve("environments/linux_arm64/debian_12-1"));
            Files.writeString(otherPlatform.resolve("environment.json"), "[]");

            Catalog current = EnvFixtures.catalog(kept, invalid, container);
            PruneResult r = installer.prune(current);
            List<String> expected = List.of(
                    "linux_amd64/.partial-debian_12-vm-2026.11.1-1234",
                    "linux_amd64/broken-1",
                    "linux_amd64/debian_12-vm-2025.1.0",
                    "linux_amd64/gone_1-1",
                    "linux_amd64/malformed-1",
                    "linux_amd64/no-manifest-1",
                    "linux_arm64/debian_12-1");
            assertThat(r.deletedEnvironmentDirs()).isEqualTo(expected);
            JsonNode json = r.toJson();
            assertThat(Json.bytes(json)).asString().isEqualTo(
                    "{\"deleted_environment_dirs\":[" + String.join(",", expected.stream()
                            .map(s -> "\"" + s + "\"").toList()) + "],\"count\":7}");
            for (String d : expected) {
                assertThat(home.resolve("environments").resolve(d)).doesNotExist();
            }
            assertThat(installer.list(current)).allSatisfy(s -> assertThat(s.installed())
                    .as(s.environment().name()).isEqualTo(!s.environment().name().equals("broken")));
            assertThat(installer.status(kept).installed()).isTrue();
            assertThat(installer.status(container).installed()).isTrue();

            PruneResult again = installer.prune(current);
            assertThat(Json.bytes(again.toJson())).asString()
                    .isEqualTo("{\"deleted_environment_dirs\":[],\"count\":0}");
        }
    }
}
