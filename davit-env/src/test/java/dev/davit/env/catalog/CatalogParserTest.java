package dev.davit.env.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CatalogParserTest {
    static final String DIGEST = "sha256:" + "a".repeat(64);

    @TempDir
    Path dir;

    static ObjectNode env(String name, String kind) {
        ObjectNode e = Json.object();
        e.put("name", name);
        e.put("version", "2026.11.1");
        e.put("kind", kind);
        e.put("description", "test");
        e.put("distribution", "debian");
        e.put("distributionVersion", "12");
        e.putArray("packages").add("bash");
        e.put("platform", "linux/amd64");
        e.put("davit", ">=0.1.0 <1.0.0");
        ObjectNode s = e.putObject("source");
        s.put("reference", "repo://" + name.replace(':', '-'));
        s.put("digest", DIGEST);
        return e;
    }

    static ObjectNode catalog(ObjectNode... envs) {
        ObjectNode c = Json.object();
        c.put("schemaVersion", 1);
        c.put("version", "7");
        ArrayNode a = c.putArray("environments");
        for (ObjectNode e : envs) {
            a.add(e);
        }
        return c;
    }

    static Catalog parse(ObjectNode c) {
        return CatalogParser.parse(Json.bytes(c), "test.json");
    }

    @Test
    void environmentNamesAreWhatTheParserAcceptsAndNoImageReferenceWithAPathOrDigest() {
        for (String name : List.of("debian:12", "debian:12-vm", "busybox", "node:22.1_x")) {
            assertThat(CatalogParser.isEnvironmentName(name)).as(name).isTrue();
            assertThat(parse(catalog(env(name, "container"))).find(name)).as(name).isPresent();
        }
        for (String name : List.of("127.0.0.1:5000/bench/busybox:1", "library/debian:12", "Debian:12", "a:b:c",
                "debian@sha256:" + "0".repeat(64), "docker.io/library/alpine")) {
            assertThat(CatalogParser.isEnvironmentName(name)).as(name).isFalse();
            assertThatThrownBy(() -> parse(catalog(env(name, "container")))).as(name)
                    .isInstanceOf(DavitException.class).hasMessageContaining("invalid name");
        }
    }

    @Test
    void parsesJsonWithDefaultArtifacts() {
        Catalog c = parse(catalog(env("debian:12", "container"), env("debian:12-vm", "microvm")));
        assertThat(c.version()).isEqualTo("7");
        assertThat(c.names()).containsExactly("debian:12", "debian:12-vm");
        Environment d = c.find("debian:12").orElseThrow();
        assertThat(d.kind()).isEqualTo(Environment.Kind.CONTAINER);
        assertThat(d.artifacts()).containsExactly("rootfs");
        assertThat(d.packages()).containsExactly("bash");
        assertThat(d.davitVersions()).isEqualTo(">=0.1.0 <1.0.0");
        assertThat(d.source()).isEqualTo(new Environment.Source(null, "repo://debian-12", DIGEST, null));
        Environment vm = c.find("debian:12-vm").orElseThrow();
        assertThat(vm.kind()).isEqualTo(Environment.Kind.MICROVM);
        assertThat(vm.artifacts()).containsExactly("vmlinux", "rootfs.ext4");
    }

    @Test
    void keepsExplicitArtifacts() {
        ObjectNode vm = env("x:1", "microvm");
        vm.putArray("artifacts").add("vmlinux").add("rootfs.ext4").add("initrd");
        assertThat(parse(catalog(vm)).environments().get(0).artifacts())
                .containsExactly("vmlinux", "rootfs.ext4", "initrd");
    }

    @Test
    void parsesYaml() throws Exception {
        String yaml = """
                # a comment
                schemaVersion: 1
                version: "2026.11"
                environments:
                  - name: "debian:12"
                    version: 1.0.0
                    kind: container
                    platform: linux/arm64/v8
                    packages: [bash, git]
                    source:
                      reference: store://debian:12
                      archive: https://example.org/d.tar
                  - name: "debian:12-vm"
                    version: "1"
                    kind: microvm
                    platform: linux/amd64
                    source: {profile: /opt/vm}
                """;
        Path f = Files.writeString(dir.resolve("catalog.yaml"), yaml);
        Catalog c = CatalogParser.parse(f);
        assertThat(c.version()).isEqualTo("2026.11");
        assertThat(c.environments()).hasSize(2);
        Environment d = c.environments().get(0);
        assertThat(d.platform()).isEqualTo("linux/arm64/v8");
        assertThat(d.packages()).containsExactly("bash", "git");
        assertThat(d.source().archive()).isEqualTo("https://example.org/d.tar");
        assertThat(d.artifacts()).containsExactly("rootfs");
        assertThat(c.environments().get(1).source().profile()).isEqualTo("/opt/vm");
        assertThat(c.environments().get(1).artifacts()).containsExactly("vmlinux", "rootfs.ext4");
    }

    @Test
    void emptyEnvironmentListIsValid() {
        assertThat(parse(catalog()).environments()).isEmpty();
    }

    void fails(ObjectNode c, String... parts) {
        assertThatThrownBy(() -> parse(c)).isInstanceOf(DavitException.class)
                .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.VERIFICATION))
                .satisfies(e -> assertThat(e.getMessage()).startsWith("invalid catalog test.json: ").contains(parts)
                        .doesNotContain("\n"));
    }

    void failsEnv(Consumer<ObjectNode> edit, String... parts) {
        ObjectNode e = env("debian:12", "container");
        edit.accept(e);
        fails(catalog(e), parts);
    }

    @Test
    void unknownKind() {
        failsEnv(e -> e.put("kind", "vm"), "environment 'debian:12': unknown kind 'vm'; expected container or microvm");
    }

    @Test
    void duplicateNames() {
        fails(catalog(env("debian:12", "container"), env("debian:12", "microvm")),
                "environment 'debian:12' is defined twice; names must be unique");
    }

    @Test
    void missingFields() {
        failsEnv(e -> e.remove("name"), "environment #1: missing field 'name'");
        failsEnv(e -> e.remove("version"), "environment 'debian:12': missing field 'version'");
        failsEnv(e -> e.remove("kind"), "missing field 'kind'");
        failsEnv(e -> e.remove("platform"), "missing field 'platform'");
        failsEnv(e -> e.remove("source"), "missing field 'source'");
        failsEnv(e -> e.put("version", " "), "field 'version' is empty");
        failsEnv(e -> e.set("source", Json.object().put("digest", DIGEST)),
                "source needs at least one of reference, profile, archive or build");
        ObjectNode c = catalog();
        c.remove("version");
        fails(c, "missing field 'version'");
        c = catalog();
        c.remove("environments");
        fails(c, "missing field 'environments'");
        c = catalog();
        c.remove("schemaVersion");
        fails(c, "missing field 'schemaVersion'");
    }

    @Test
    void badDigest() {
        failsEnv(e -> ((ObjectNode) e.get("source")).put("digest", "sha256:abc"),
                "environment 'debian:12': source: bad digest 'sha256:abc'; a digest looks like sha256:");
        failsEnv(e -> ((ObjectNode) e.get("source")).put("digest", "md5:" + "a".repeat(32)), "bad digest");
    }

    @Test
    void badPlatform() {
        failsEnv(e -> e.put("platform", "amd64"), "invalid platform 'amd64'; use os/arch[/variant]");
        failsEnv(e -> e.put("platform", "linux/amd 64"), "invalid platform 'linux/amd 64'");
        failsEnv(e -> e.put("platform", "linux/arm64/v8/x"), "invalid platform");
    }

    @Test
    void otherValidationErrors() {
        failsEnv(e -> e.put("name", "Debian 12"), "environment #1: invalid name 'Debian 12'");
        failsEnv(e -> e.put("name", "../x"), "invalid name '../x'");
        failsEnv(e -> e.put("version", "1/2"), "invalid version '1/2'");
        failsEnv(e -> e.put("platfrom", "linux/amd64"), "unknown field 'platfrom'; expected one of: ");
        failsEnv(e -> e.put("davit", "newest"), "invalid davit version range 'newest'");
        failsEnv(e -> ((ObjectNode) e.get("source")).put("reference", "ftp://x/y"),
                "unsupported source reference scheme 'ftp://'", "repo://NAME, store://NAME");
        failsEnv(e -> ((ObjectNode) e.get("source")).put("archive", "/tmp/a.tar"),
                "archive '/tmp/a.tar' must be a file://, http:// or https:// URL");
        failsEnv(e -> e.putArray("artifacts").add("../vmlinux"), "invalid artifact name '../vmlinux'");
        failsEnv(e -> e.putArray("artifacts").add("rootfs").add("rootfs"), "artifact 'rootfs' is listed twice");
        failsEnv(e -> e.put("packages", "bash"), "field 'packages' must be a list of strings");
        failsEnv(e -> e.putObject("name"), "environment #1: field 'name' must be a string");
        ObjectNode c = catalog();
        c.put("schemaVersion", 2);
        fails(c, "unsupported schemaVersion 2; this davit reads schemaVersion 1");
        c = catalog();
        c.put("environments", "x");
        fails(c, "field 'environments' must be a list");
        c = catalog();
        c.put("extra", 1);
        fails(c, "unknown field 'extra'");
    }

    @Test
    void malformedDocuments() {
        assertThatThrownBy(() -> CatalogParser.parse("{\"schemaVersion\":".getBytes(StandardCharsets.UTF_8), "c.json"))
                .hasMessageStartingWith("invalid catalog c.json: it is not valid JSON (")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThatThrownBy(() -> CatalogParser.parse("a: [b\n".getBytes(StandardCharsets.UTF_8), "c.yaml"))
                .hasMessageStartingWith("invalid catalog c.yaml: it is not valid YAML (");
        assertThatThrownBy(() -> CatalogParser.parse("- 1\n".getBytes(StandardCharsets.UTF_8), "c.yaml"))
                .hasMessage("invalid catalog c.yaml: it must be an object with schemaVersion, version and environments");
        assertThatThrownBy(() -> CatalogParser.parse(dir.resolve("nope.json")))
                .hasMessage("catalog path " + dir.resolve("nope.json") + " does not exist");
    }

    @Test
    void builtInCatalogIsValid() {
        Catalog c = Catalogs.builtIn();
        assertThat(c.names()).contains("debian:12", "debian:12-base", "debian:12-build", "debian:12-vm");
        for (Environment e : c.environments()) {
            assertThat(e.source().reference()).startsWith("repo://");
            assertThat(SourceReferences.resolve(e.source().reference(), java.util.Map.of()).toString())
                    .startsWith(SourceReferences.DEFAULT_REPO_BASE + "/");
        }
        assertThat(c.find("debian:12-vm").orElseThrow().kind()).isEqualTo(Environment.Kind.MICROVM);
        assertThat(c.find("debian:12-build").orElseThrow().kind()).isEqualTo(Environment.Kind.CONTAINER);
        // every built-in environment can be built locally when the registry cannot serve it
        assertThat(c.environments()).allSatisfy(e -> assertThat(e.source().build()).isNotNull());
        assertThat(c.find("debian:12").orElseThrow().source().build()).isEqualTo("git");
        assertThat(c.find("debian:12-base").orElseThrow().source().build()).isEqualTo("base");
        assertThat(c.find("debian:12-build").orElseThrow().source().build()).isEqualTo("build");
        assertThat(c.find("debian:12-vm").orElseThrow().source().build()).isEqualTo("git");
    }

    @Test
    void buildProfileIsASource() {
        ObjectNode e = env("x:1", "container");
        e.set("source", Json.object().put("build", "git"));
        Environment parsed = parse(catalog(e)).find("x:1").orElseThrow();
        assertThat(parsed.source().build()).isEqualTo("git");
        assertThat(parsed.source().reference()).isNull();
        failsEnv(x -> ((ObjectNode) x.get("source")).put("build", "Git Profile"),
                "build profile 'Git Profile' is not a profile name");
        failsEnv(x -> ((ObjectNode) x.get("source")).put("build", 3), "build");
    }

    @Test
    void requireNamesTheChoices() {
        Catalog c = parse(catalog(env("debian:12", "container"), env("debian:12-vm", "microvm")));
        assertThat(Catalogs.require(c, "debian:12").name()).isEqualTo("debian:12");
        assertThatThrownBy(() -> Catalogs.require(c, "x")).isInstanceOf(DavitException.class)
                .hasMessage("unknown environment 'x'; expected one of: debian:12, debian:12-vm")
                .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.NOT_FOUND));
        assertThat(List.of(Catalogs.builtIn().names())).isNotEmpty();
    }

    /**
     * A local catalog may name a Containerfile as an environment's build (relative to the catalog, made absolute);
     * a catalog read as bytes from elsewhere (a registry, a URL) may not: it would build the host's files into an
     * environment.
     */
    @Test
    void onlyALocalCatalogNamesAContainerfile() throws Exception {
        String yaml = """
                schemaVersion: 1
                version: "t"
                environments:
                  - name: "proj:dev"
                    version: "1"
                    kind: container
                    platform: linux/amd64
                    source: {build: "containerfile:envs/../envs/Containerfile"}
                """;
        Path f = Files.writeString(dir.resolve("catalog.yaml"), yaml);
        Environment e = CatalogParser.parse(f).environments().get(0);
        assertThat(e.containerfile()).isEqualTo(dir.toAbsolutePath().normalize().resolve("envs/Containerfile"));
        assertThat(e.source().build()).isEqualTo("containerfile:" + e.containerfile());
        assertThatThrownBy(() -> CatalogParser.parse(yaml.getBytes(StandardCharsets.UTF_8), "oci://r/c:1"))
                .isInstanceOf(DavitException.class).hasMessageContaining("only a catalog file on this machine may"
                        + " name a Containerfile");
        assertThatThrownBy(() -> CatalogParser.parse(Files.writeString(dir.resolve("c2.yaml"), yaml.replace(
                "containerfile:envs/../envs/Containerfile", "containerfile:")))).hasMessageContaining("needs a path");
    }
}
