package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.auth.Credentials;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.registry.RegistryOptions;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Path;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pulls from registries with htpasswd Basic auth and with token auth (a token server written in the kit). */
class AuthIntegrationTest {
    @TempDir
    Path dir;

    DavitClient client(Function<String, Credentials> creds) {
        return DavitClient.create(new ClientOptions(dir.resolve("store"), RegistryOptions.defaults(), creds));
    }

    @Test
    void basicAuth() {
        try (TestRegistry reg = TestRegistry.builder().basicAuth().start()) {
            PushedImage img = Fixtures.pushImage(reg, "auth/basic", "1");
            try (DavitClient anon = client(r -> Credentials.anonymous())) {
                assertThatThrownBy(() -> anon.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE))
                        .isInstanceOf(DavitException.class)
                        .matches(e -> ((DavitException) e).kind() == DavitException.Kind.AUTH)
                        .hasMessageContaining("DavitClient.login(\"" + reg.hostPort() + "\", credentials)");
            }
            try (DavitClient wrong = client(r -> Credentials.basic(reg.username(), "not-the-password"))) {
                assertThatThrownBy(() -> wrong.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE))
                        .isInstanceOf(DavitException.class)
                        .matches(e -> ((DavitException) e).kind() == DavitException.Kind.AUTH)
                        .hasMessageNotContaining("not-the-password");
            }
            try (DavitClient ok = client(r -> r.equals(reg.hostPort())
                    ? Credentials.basic(reg.username(), reg.password()) : Credentials.anonymous())) {
                PullResult r = ok.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
                assertThat(r.target().digest().toString()).isEqualTo(img.manifestDigest());
                assertThat(ok.fsck(false).clean()).isTrue();
            }
        }
    }

    @Test
    void tokenAuthFetchesOneTokenPerScopeAndCachesIt() {
        try (TestRegistry reg = TestRegistry.builder().tokenAuth().start()) {
            PushedImage img = Fixtures.pushImage(reg, "auth/token", "1");
            PushedImage other = Fixtures.pushImage(reg, "auth/token-other", "1");
            reg.tokenServer().reset();
            try (DavitClient davit = client(r -> Credentials.basic(reg.username(), reg.password()))) {
                PullResult r = davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
                assertThat(r.target().digest().toString()).isEqualTo(img.manifestDigest());
                int afterFirst = reg.tokenServer().tokenRequests();
                assertThat(afterFirst).isEqualTo(1);
                // same scope again: the cached token is reused
                davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
                davit.remoteDigest(img.reference());
                assertThat(reg.tokenServer().tokenRequests()).isEqualTo(1);
                // another repository: one more token, fetched pre-emptively
                davit.pull(other.reference(), PlatformSelector.host(), ProgressListener.NONE);
                assertThat(reg.tokenServer().tokenRequests()).isEqualTo(2);
                assertThat(reg.tokenServer().requests()).allMatch(TokenServer_granted());
            }
        }
    }

    static java.util.function.Predicate<dev.davit.oci.testkit.TokenServer.Request> TokenServer_granted() {
        return dev.davit.oci.testkit.TokenServer.Request::granted;
    }

    @Test
    void tokenAuthWithWrongPasswordIsAnAuthErrorWithoutTheSecret() {
        try (TestRegistry reg = TestRegistry.builder().tokenAuth().start()) {
            PushedImage img = Fixtures.pushImage(reg, "auth/token-wrong", "1");
            try (DavitClient davit = client(r -> Credentials.basic(reg.username(), "s3cret-wrong"))) {
                assertThatThrownBy(() -> davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE))
                        .isInstanceOf(DavitException.class)
                        .matches(e -> ((DavitException) e).kind() == DavitException.Kind.AUTH)
                        .hasMessageNotContaining("s3cret-wrong")
                        .hasMessageContaining("DavitClient.login(");
            }
        }
    }

    @Test
    void loginChecksCredentialsAndSavesThemThenLogoutRemovesThem() throws Exception {
        try (TestRegistry reg = TestRegistry.builder().tokenAuth().start()) {
            PushedImage img = Fixtures.pushImage(reg, "auth/login", "1");
            Path config = dir.resolve("config/davit.json");
            try (DavitClient davit = client(r -> Credentials.anonymous())) {
                assertThatThrownBy(() -> davit.login(reg.hostPort(), Credentials.basic(reg.username(), "nope-nope"), config))
                        .isInstanceOf(DavitException.class)
                        .matches(e -> ((DavitException) e).kind() == DavitException.Kind.AUTH)
                        .hasMessageNotContaining("nope-nope");
                assertThat(config).doesNotExist();
                davit.login("http://" + reg.hostPort() + "/", Credentials.basic(reg.username(), reg.password()), config);
                assertThat(config).exists();
                assertThat(java.nio.file.Files.getPosixFilePermissions(config))
                        .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            }
            // the saved credentials are found by a resolver reading that config
            var resolver = new dev.davit.oci.auth.CredentialResolver(java.util.Map.of("DAVIT_CONFIG", config.toString()),
                    dir.resolve("home"));
            try (DavitClient davit = client(resolver::resolve)) {
                assertThat(davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE).target().digest()
                        .toString()).isEqualTo(img.manifestDigest());
                assertThat(davit.logout(reg.hostPort(), config)).isTrue();
                assertThat(davit.logout(reg.hostPort(), config)).isFalse();
            }
        }
    }
}
