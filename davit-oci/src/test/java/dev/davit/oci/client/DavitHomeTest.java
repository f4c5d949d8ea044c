package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Where davit keeps its data: always an absolute path, whatever the environment gives. */
class DavitHomeTest {
    @Test
    void davitHomeThenXdgCacheHomeThenTheUsersCacheAllAbsolute() {
        Path cwd = Path.of("").toAbsolutePath();
        assertThat(DavitHome.resolve(Map.of("DAVIT_HOME", "rel/home"))).isEqualTo(cwd.resolve("rel/home"));
        assertThat(DavitHome.resolve(Map.of("DAVIT_HOME", "/abs/home", "XDG_CACHE_HOME", "/x")))
                .isEqualTo(Path.of("/abs/home"));
        assertThat(DavitHome.resolve(Map.of("DAVIT_HOME", " ", "XDG_CACHE_HOME", "cache")))
                .isEqualTo(cwd.resolve("cache/davit"));
        assertThat(DavitHome.resolve(Map.of()))
                .isEqualTo(Path.of(System.getProperty("user.home"), ".cache", "davit").toAbsolutePath());
        assertThat(DavitHome.storeOf(DavitHome.resolve(Map.of("DAVIT_HOME", "h")))).isAbsolute();
    }
}
