package dev.davit.env.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.env.catalog.CatalogResolver.Origin;
import dev.davit.env.catalog.CatalogResolver.Resolved;
import dev.davit.oci.DavitException;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.internal.Json;
import dev.davit.oci.registry.RegistryOptions;
import dev.davit.oci.testkit.FaultProxy;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog precedence table against a real registry, with catalogs pushed as OCI artifacts. */
class CatalogResolverTest {
    static TestRegistry registry;

    @TempDir
    Path dir;
    Path home;
    DavitClient client;
    CatalogResolver resolver;

    @BeforeAll
    static void start() {
        registry = TestRegistry.start();
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    @BeforeEach
    void setUp() {
        home = dir.resolve("home");
        client = DavitClient.create(ClientOptions.anonymous(dir.resolve("store")).withRegistry(
                RegistryOptions.builder().maxRetries(0).connectTimeout(Duration.ofSeconds(2)).build()));
        resolver = new CatalogResolver(client);
    }

    @AfterEach
    void tearDown() {
        client.close();
    }

    CatalogOptions opts(String catalog) {
        return new CatalogOptions(catalog, false, false, Map.of(), home);
    }

    /** Pushes a catalog of one environment with catalog version {@code version}; returns the manifest digest. */
    String push(String ref, String version, String fileName) throws Exception {
        ObjectNode c = CatalogParserTest.catalog(CatalogParserTest.env("debian:12", "container"));
        c.put("version", version);
        Path src = dir.resolve("src-" + version);
        Files.createDirectories(src);
        Path f = Files.write(src.resolve(fileName), Json.bytes(c));
        try (DavitClient pusher = DavitClient.create(ClientOptions.anonymous(dir.resolve("push-store")))) {
            return pusher.artifacts().push(ref, CatalogResolver.ARTIFACT_TYPE,
                    List.of(new Artifacts.FileSpec(f, "application/json")), Map.of(), ProgressListener.NONE)
                    .top().digest().toString();
        }
    }

    CatalogCache cache() {
        return new CatalogCache(home.resolve("catalogs"));
    }

    @Test
    void builtInWithoutACatalog() {
        Resolved r = resolver.resolve(opts(null));
        assertThat(r.origin()).isEqualTo(Origin.BUILT_IN);
        assertThat(r.catalog().names()).contains("debian:12", "debian:12-base", "debian:12-build", "debian:12-vm");
    }

    @Test
    void fetchesAndCachesByReferenceAndDigest() throws Exception {
        String ref = registry.hostPort() + "/cat/fresh:1";
        String digest = push(ref, "v1", "catalog.json");
        Resolved r = resolver.resolve(opts("oci://" + ref));
        assertThat(r.origin()).isEqualTo(Origin.FETCHED);
        assertThat(r.catalog().version()).isEqualTo("v1");
        assertThat(r.digest()).isEqualTo(digest);
        assertThat(r.location()).isEqualTo("oci://" + ref);
        assertThat(cache().readIndex()).containsExactly(Map.entry(ref, digest));
        assertThat(cache().byReferencePath(ref)).isRegularFile();
        assertThat(cache().byDigestPath(digest)).isRegularFile();
        assertThat(home.resolve("catalogs/tmp")).isEmptyDirectory();
    }

    @Test
    void usesTheCacheWithoutRefreshAndUpdatesItWithRefresh() throws Exception {
        String ref = registry.hostPort() + "/cat/refresh:1";
        String d1 = push(ref, "v1", "catalog.json");
        assertThat(resolver.resolve(opts("oci://" + ref)).origin()).isEqualTo(Origin.FETCHED);
        String d2 = push(ref, "v2", "catalog.json");
        assertThat(d2).isNotEqualTo(d1);

        Resolved cached = resolver.resolve(opts("oci://" + ref));
        assertThat(cached.origin()).isEqualTo(Origin.CACHED_BY_REFERENCE);
        assertThat(cached.catalog().version()).isEqualTo("v1");
        assertThat(cached.digest()).isEqualTo(d1);

        Resolved refreshed = resolver.resolve(opts("oci://" + ref).withRefresh(true));
        assertThat(refreshed.origin()).isEqualTo(Origin.FETCHED);
        assertThat(refreshed.catalog().version()).isEqualTo("v2");
        assertThat(cache().readIndex()).containsEntry(ref, d2);
        assertThat(cache().byDigestPath(d1)).isRegularFile();
        assertThat(cache().byDigestPath(d2)).isRegularFile();
        assertThat(resolver.resolve(opts("oci://" + ref)).catalog().version()).isEqualTo("v2");
    }

    @Test
    void refreshFailureFallsBackByReferenceThenDigestThenFails() throws Exception {
        String ref;
        String digest;
        try (FaultProxy proxy = FaultProxy.start(registry)) {
            ref = proxy.hostPort() + "/cat/down:1";
            digest = push(ref, "v1", "catalog.json");
            assertThat(resolver.resolve(opts("oci://" + ref)).origin()).isEqualTo(Origin.FETCHED);
        }
        // the proxy is closed: the registry is unreachable at that address
        CatalogOptions refresh = opts("oci://" + ref).withRefresh(true);
        Resolved byRef = resolver.resolve(refresh);
        assertThat(byRef.origin()).isEqualTo(Origin.CACHED_BY_REFERENCE);
        assertThat(byRef.catalog().version()).isEqualTo("v1");
        assertThat(byRef.warnings()).singleElement().asString()
                .startsWith("could not refresh catalog oci://" + ref).endsWith("using the cached copy");

        Files.delete(cache().byReferencePath(ref));
        Resolved byDigest = resolver.resolve(refresh);
        assertThat(byDigest.origin()).isEqualTo(Origin.CACHED_BY_DIGEST);
        assertThat(byDigest.digest()).isEqualTo(digest);
        assertThat(byDigest.catalog().version()).isEqualTo("v1");

        Files.delete(cache().byDigestPath(digest));
        assertThatThrownBy(() -> resolver.resolve(refresh)).isInstanceOf(DavitException.class)
                .satisfies(e -> assertThat(e.getMessage())
                        .startsWith("cannot fetch catalog oci://" + ref + " and no cached copy is in "
                                + home.resolve("catalogs") + ": ")
                        .contains(ref)
                        .endsWith("; check the registry and network, or use a local catalog file with"
                                + " CatalogOptions.withCatalog(PATH)")
                        .doesNotContain("\n"))
                .satisfies(e -> assertThat(e.getCause()).isInstanceOf(DavitException.class));
    }

    @Test
    void offlineUsesTheCacheWithoutTheNetwork() throws Exception {
        try (FaultProxy proxy = FaultProxy.start(registry)) {
            String ref = proxy.hostPort() + "/cat/offline:1";
            push(ref, "v1", "catalog.json");
            resolver.resolve(opts("oci://" + ref));
            proxy.clearRequests();
            Resolved r = resolver.resolve(opts("oci://" + ref).withOffline(true).withRefresh(true));
            assertThat(r.origin()).isEqualTo(Origin.CACHED_BY_REFERENCE);
            assertThat(r.catalog().version()).isEqualTo("v1");
            assertThat(proxy.requests()).isEmpty();
        }
    }

    @Test
    void offlineWithoutCacheSaysWhatToDo() {
        String ref = registry.hostPort() + "/cat/never:1";
        assertThatThrownBy(() -> resolver.resolve(opts("oci://" + ref).withOffline(true)))
                .isInstanceOf(DavitException.class)
                .hasMessage("catalog oci://" + ref + " is not cached in " + home.resolve("catalogs")
                        + " and CatalogOptions.withOffline(true) forbids fetching it; re-run with"
                        + " CatalogOptions.withOffline(false) to fetch it, or use a local catalog file with"
                        + " CatalogOptions.withCatalog(PATH)");
    }

    @Test
    void explicitLocalFileWins() throws Exception {
        Path f = Files.write(dir.resolve("mine.json"),
                Json.bytes(CatalogParserTest.catalog(CatalogParserTest.env("mine:1", "container"))));
        Resolved r = resolver.resolve(opts(f.toString()).withRefresh(true).withOffline(true));
        assertThat(r.origin()).isEqualTo(Origin.FILE);
        assertThat(r.catalog().names()).containsExactly("mine:1");
        assertThat(resolver.resolve(opts(f.toUri().toString())).catalog().names()).containsExactly("mine:1");
        assertThat(home.resolve("catalogs")).doesNotExist();
    }

    @Test
    void missingLocalPathAndUnknownScheme() {
        Path missing = dir.resolve("nope.yaml");
        assertThatThrownBy(() -> resolver.resolve(opts(missing.toString())))
                .hasMessage("catalog path " + missing + " does not exist");
        assertThatThrownBy(() -> resolver.resolve(opts(missing.toUri().toString())))
                .hasMessage("catalog path " + missing + " does not exist");
        assertThatThrownBy(() -> resolver.resolve(opts("https://example.org/c.json")))
                .hasMessageContaining("use a local path, file:///path/catalog.json or oci://registry/repo:tag");
    }

    @Test
    void doesNotRewriteTheCacheWhenTheDigestIsUnchanged() throws Exception {
        String ref = registry.hostPort() + "/cat/same:1";
        String digest = push(ref, "v1", "catalog.json");
        resolver.resolve(opts("oci://" + ref));
        List<Path> files = List.of(cache().byReferencePath(ref), cache().byDigestPath(digest), cache().indexPath());
        FileTime old = FileTime.fromMillis(1_000_000_000_000L);
        Object[] keys = new Object[files.size()];
        for (int i = 0; i < files.size(); i++) {
            Files.setLastModifiedTime(files.get(i), old);
            keys[i] = Files.readAttributes(files.get(i), BasicFileAttributes.class).fileKey();
        }
        Resolved r = resolver.resolve(opts("oci://" + ref).withRefresh(true));
        assertThat(r.origin()).isEqualTo(Origin.FETCHED);
        for (int i = 0; i < files.size(); i++) {
            assertThat(Files.getLastModifiedTime(files.get(i))).as(files.get(i).toString()).isEqualTo(old);
            assertThat(Files.readAttributes(files.get(i), BasicFileAttributes.class).fileKey()).isEqualTo(keys[i]);
        }
    }

    @Test
    void picksTheCatalogLayerOfAMultiFileArtifactAndReadsYaml() throws Exception {
        String ref = registry.hostPort() + "/cat/multi:1";
        Path src = Files.createDirectories(dir.resolve("multi"));
        Path readme = Files.writeString(src.resolve("README"), "hello");
        Path yaml = Files.writeString(src.resolve("catalog.yaml"), """
                schemaVersion: 1
                version: y1
                environments:
                  - {name: "y:1", version: "1", kind: microvm, platform: linux/amd64, source: {reference: repo://y}}
                """);
        try (DavitClient pusher = DavitClient.create(ClientOptions.anonymous(dir.resolve("push-store")))) {
            pusher.artifacts().push(ref, CatalogResolver.ARTIFACT_TYPE, List.of(new Artifacts.FileSpec(readme,
                    "text/plain"), new Artifacts.FileSpec(yaml, "application/yaml")), Map.of(), ProgressListener.NONE);
        }
        Resolved r = resolver.resolve(opts("oci://" + ref));
        assertThat(r.catalog().version()).isEqualTo("y1");
        assertThat(r.catalog().environments().get(0).artifacts()).containsExactly("vmlinux", "rootfs.ext4");
    }

    @Test
    void anInvalidPublishedCatalogIsNotCached() throws Exception {
        String ref = registry.hostPort() + "/cat/bad:1";
        Path f = Files.writeString(Files.createDirectories(dir.resolve("bad")).resolve("catalog.json"),
                "{\"schemaVersion\":1,\"version\":\"1\",\"environments\":[{\"name\":\"x\"}]}");
        try (DavitClient pusher = DavitClient.create(ClientOptions.anonymous(dir.resolve("push-store")))) {
            pusher.artifacts().push(ref, CatalogResolver.ARTIFACT_TYPE, List.of(new Artifacts.FileSpec(f,
                    "application/json")), Map.of(), ProgressListener.NONE);
        }
        assertThatThrownBy(() -> resolver.resolve(opts("oci://" + ref)))
                .hasMessageStartingWith("cannot fetch catalog oci://" + ref)
                .hasMessageContaining("invalid catalog oci://" + ref + ": environment 'x': missing field 'version'");
        assertThat(cache().byReferencePath(ref)).doesNotExist();
    }
}
