package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.env.install.Installer;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import java.nio.file.Path;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * davit-env installs what it cannot fetch with a local builder it finds as a service: this module's builds
 * provide it (META-INF/services and module-info), so a catalog environment published nowhere is still built here.
 */
class LocalBuildersTest {
    @Test
    void theInstallerFindsTheBuildsOfThisModule(@TempDir Path home) {
        assertThat(ServiceLoader.load(Installer.LocalBuilders.class).stream().map(ServiceLoader.Provider::type))
                .containsExactly(LocalEnvBuilder.Provider.class);
        try (DavitClient client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            Installer installer = Installer.local(client, home, null, null);
            assertThat(installer.options().builder()).isInstanceOf(LocalEnvBuilder.class);
            assertThat(installer.options().offline()).isFalse();
        }
    }
}
