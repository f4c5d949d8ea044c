package dev.davit.env.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SourceReferencesTest {
    static final Map<String, String> ENV = Map.of(
            SourceReferences.REPO_BASE_ENV, "registry.example:5000/envs/",
            SourceReferences.STORE_BASE_ENV, "store.example/team");

    static String map(String s, Map<String, String> env) {
        return SourceReferences.resolve(s, env).toString();
    }

    @Test
    void repoAndStoreUseTheirBases() {
        assertThat(map("repo://debian:12", ENV)).isEqualTo("registry.example:5000/envs/debian:12");
        assertThat(map("repo://tools/debian", ENV)).isEqualTo("registry.example:5000/envs/tools/debian:latest");
        assertThat(map("store://debian:12", ENV)).isEqualTo("store.example/team/debian:12");
        assertThat(map("store://debian@sha256:" + "b".repeat(64), ENV))
                .isEqualTo("store.example/team/debian@sha256:" + "b".repeat(64));
    }

    @Test
    void defaultsWhenUnset() {
        assertThat(map("repo://debian:12", Map.of())).isEqualTo(SourceReferences.DEFAULT_REPO_BASE + "/debian:12");
        assertThat(map("store://debian:12", Map.of(SourceReferences.STORE_BASE_ENV, " ")))
                .isEqualTo(SourceReferences.DEFAULT_STORE_BASE + "/debian:12");
    }

    @Test
    void fullReferencesAreKept() {
        assertThat(map("repo://ghcr.io/o/debian:12", ENV)).isEqualTo("ghcr.io/o/debian:12");
        assertThat(map("store://localhost:5000/x:1", ENV)).isEqualTo("localhost:5000/x:1");
        assertThat(map("repo://localhost/x:1", ENV)).isEqualTo("localhost/x:1");
        assertThat(map("oci://127.0.0.1:5000/a/b:2", ENV)).isEqualTo("127.0.0.1:5000/a/b:2");
    }

    @Test
    void plainReferencesAreNormalised() {
        assertThat(map("alpine", ENV)).isEqualTo("docker.io/library/alpine:latest");
        assertThat(map("ghcr.io/o/r:1", ENV)).isEqualTo("ghcr.io/o/r:1");
    }

    @Test
    void otherSchemesFailListingTheSupportedOnes() {
        for (String s : new String[] {"http://x/y", "docker://alpine", "file:///tmp/x"}) {
            assertThatThrownBy(() -> SourceReferences.resolve(s, ENV)).isInstanceOf(DavitException.class)
                    .hasMessageContaining("unsupported source reference scheme")
                    .hasMessageContaining("use repo://NAME, store://NAME, oci://REFERENCE or a plain reference")
                    .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE));
        }
        assertThatThrownBy(() -> SourceReferences.resolve("repo://", ENV)).hasMessageContaining("names nothing");
        assertThatThrownBy(() -> SourceReferences.resolve("", ENV)).hasMessageContaining("empty source reference");
        assertThatThrownBy(() -> SourceReferences.resolve("repo://Bad Name", ENV)).isInstanceOf(DavitException.class);
        assertThatThrownBy(() -> SourceReferences.resolve("repo://x", Map.of(SourceReferences.REPO_BASE_ENV,
                "https://r.example/x"))).hasMessageContaining("DAVIT_REPO_REGISTRY_BASE='https://r.example/x'"
                + " is not a registry namespace");
    }
}
