package dev.davit.oci.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real config files and real {@code docker-credential-*} scripts; no mocks. */
class CredentialResolverTest {
    private static final String SECRET = "hunter2-SECRET-5531";

    @TempDir
    Path tmp;
    private Path home;
    private Path bin;
    private Path callLog;
    private final Map<String, String> env = new HashMap<>();

    @BeforeEach
    void setUp() throws Exception {
        home = Files.createDirectories(tmp.resolve("home"));
        bin = Files.createDirectories(tmp.resolve("bin"));
        callLog = tmp.resolve("calls.log");
        env.put("PATH", bin + ":/usr/bin:/bin");
        env.put("HOME", home.toString());
        env.put("CALL_LOG", callLog.toString());
    }

    private CredentialResolver resolver() {
        return new CredentialResolver(env, home);
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private Path dockerConfig(String json) throws Exception {
        Path p = home.resolve(".docker").resolve("config.json");
        Files.createDirectories(p.getParent());
        Files.writeString(p, json);
        return p;
    }

    private Path davitConfig(String json) throws Exception {
        Path p = home.resolve(".config").resolve("davit").resolve("config.json");
        Files.createDirectories(p.getParent());
        Files.writeString(p, json);
        return p;
    }

    /** Writes an executable docker-credential-{name} whose body sees the server URL in $url. */
    private Path helper(String name, String body) throws Exception {
        Path p = bin.resolve("docker-credential-" + name);
        Files.writeString(p, "#!/bin/sh\n[ \"$1\" = get ] || { echo \"bad args: $*\" >&2; exit 2; }\n"
                + "url=$(cat)\nprintf '%s %s\\n' \"$(basename \"$0\")\" \"$url\" >> \"$CALL_LOG\"\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private List<String> calls() throws Exception {
        return Files.exists(callLog) ? Files.readAllLines(callLog) : List.of();
    }

    /** A helper that knows {@code host} only and answers with the given username and secret. */
    private void knowingHelper(String name, String host, String username, String secret) throws Exception {
        helper(name, "if [ \"$url\" = '" + host + "' ]; then printf '{\"ServerURL\":\"%s\",\"Username\":\"" + username
                + "\",\"Secret\":\"" + secret + "\"}' \"$url\"; else echo 'credentials not found in native keychain';"
                + " exit 1; fi");
    }

    private static void assertAuthError(Throwable e) {
        assertThat(e).isInstanceOf(DavitException.class);
        assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.AUTH);
        assertThat(e.getMessage()).doesNotContain(SECRET).doesNotContain("\n");
    }

    @Test
    void nothingConfiguredIsAnonymous() {
        Credentials c = resolver().resolve("ghcr.io");
        assertThat(c.isAnonymous()).isTrue();
    }

    @Test
    void dockerAuthsBase64() throws Exception {
        Path cfg = dockerConfig("{\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("alice:" + SECRET) + "\"}}}");
        Credentials c = resolver().resolve("ghcr.io");
        assertThat(c).isEqualTo(Credentials.basic("alice", SECRET));
        assertThat(c.source()).isEqualTo("auths in " + cfg);
        assertThat(c.toString()).doesNotContain(SECRET);
        assertThat(resolver().resolve("quay.io").isAnonymous()).isTrue();
    }

    @Test
    void dockerAuthsUsernamePasswordAndIdentityToken() throws Exception {
        dockerConfig("{\"auths\":{\"a.io\":{\"username\":\"bob\",\"password\":\"" + SECRET + "\"},"
                + "\"b.io\":{\"auth\":\"" + b64("bob:pw") + "\",\"identitytoken\":\"" + SECRET + "\"},"
                + "\"c.io\":{\"auth\":\"" + b64("carol:p:w") + "\",\"username\":\"ignored\"},"
                + "\"d.io\":{}, \"e.io\":{\"email\":\"x@y\"}}}");
        assertThat(resolver().resolve("a.io")).isEqualTo(Credentials.basic("bob", SECRET));
        assertThat(resolver().resolve("b.io")).isEqualTo(Credentials.identityToken("bob", SECRET));
        assertThat(resolver().resolve("c.io")).isEqualTo(Credentials.basic("carol", "p:w"));
        assertThat(resolver().resolve("d.io").isAnonymous()).isTrue();
        assertThat(resolver().resolve("e.io").isAnonymous()).isTrue();
    }

    @Test
    void dockerHubKeyedByIndexUrl() throws Exception {
        dockerConfig("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + b64("hub:" + SECRET) + "\"}}}");
        for (String host : List.of("docker.io", "index.docker.io", "registry-1.docker.io", "DOCKER.IO")) {
            assertThat(resolver().resolve(host)).as(host).isEqualTo(Credentials.basic("hub", SECRET));
        }
    }

    @Test
    void keysWrittenAsUrls() throws Exception {
        dockerConfig("{\"auths\":{"
                + "\"https://ghcr.io/\":{\"auth\":\"" + b64("g:1") + "\"},"
                + "\"http://localhost:5000\":{\"auth\":\"" + b64("l:2") + "\"},"
                + "\"quay.io/v2/\":{\"auth\":\"" + b64("q:3") + "\"},"
                + "\"https://Reg.Example:8443/v2/\":{\"auth\":\"" + b64("r:4") + "\"}}}");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("g");
        assertThat(resolver().resolve("localhost:5000").username()).isEqualTo("l");
        assertThat(resolver().resolve("localhost").isAnonymous()).isTrue();
        assertThat(resolver().resolve("quay.io").username()).isEqualTo("q");
        assertThat(resolver().resolve("reg.example:8443").username()).isEqualTo("r");
    }

    @Test
    void exactKeyWinsOverUrlKey() throws Exception {
        dockerConfig("{\"auths\":{\"https://ghcr.io/\":{\"auth\":\"" + b64("url:1") + "\"},"
                + "\"ghcr.io\":{\"auth\":\"" + b64("exact:2") + "\"}}}");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("exact");
    }

    @Test
    void dockerConfigEnvironmentVariable() throws Exception {
        dockerConfig("{\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("home:1") + "\"}}}");
        Path other = Files.createDirectories(tmp.resolve("otherdocker"));
        Files.writeString(other.resolve("config.json"),
                "{\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("env:2") + "\"}}}");
        env.put("DOCKER_CONFIG", other.toString());
        assertThat(resolver().dockerConfigPath()).isEqualTo(other.resolve("config.json"));
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("env");
    }

    @Test
    void credHelperForHost() throws Exception {
        knowingHelper("xyz", "ghcr.io", "alice", SECRET);
        Path cfg = dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"xyz\"},"
                + "\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("inline:pw") + "\"}}}");
        Credentials c = resolver().resolve("ghcr.io");
        assertThat(c).isEqualTo(Credentials.basic("alice", SECRET));
        assertThat(c.source()).contains("docker-credential-xyz").contains(cfg.toString());
        assertThat(c.toString()).doesNotContain(SECRET);
        assertThat(calls()).containsExactly("docker-credential-xyz ghcr.io");
    }

    @Test
    void credHelperIdentityToken() throws Exception {
        knowingHelper("tok", "https://index.docker.io/v1/", "<token>", SECRET);
        dockerConfig("{\"credHelpers\":{\"https://index.docker.io/v1/\":\"tok\"}}");
        Credentials c = resolver().resolve("docker.io");
        assertThat(c.type()).isEqualTo(Credentials.Type.IDENTITY_TOKEN);
        assertThat(c.secret()).isEqualTo(SECRET);
        assertThat(c.username()).isEmpty();
        assertThat(calls()).containsExactly("docker-credential-tok https://index.docker.io/v1/");
    }

    @Test
    void credHelperNotFoundFallsThroughToStoreThenAuths() throws Exception {
        knowingHelper("helper", "other.io", "h", "1");
        knowingHelper("store", "store.io", "s", "2");
        dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"helper\",\"store.io\":\"helper\"},\"credsStore\":\"store\","
                + "\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("inline:3") + "\"}}}");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("inline");
        assertThat(calls()).containsExactly("docker-credential-helper ghcr.io", "docker-credential-store ghcr.io");
        assertThat(resolver().resolve("store.io").username()).isEqualTo("s");
        assertThat(resolver().resolve("nothing.io").isAnonymous()).isTrue();
    }

    @Test
    void credsStoreIsUsedForEveryHost() throws Exception {
        knowingHelper("desktop", "quay.io", "q", SECRET);
        dockerConfig("{\"credsStore\":\"desktop\",\"auths\":{\"quay.io\":{}}}");
        assertThat(resolver().resolve("quay.io")).isEqualTo(Credentials.basic("q", SECRET));
        assertThat(resolver().resolve("ghcr.io").isAnonymous()).isTrue();
    }

    @Test
    void helpersAreFoundOnThePathOfTheEnvironment() throws Exception {
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        knowingHelper("moved", "ghcr.io", "m", "1");
        Files.move(bin.resolve("docker-credential-moved"), elsewhere.resolve("docker-credential-moved"));
        dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"moved\"}}");
        assertThatThrownBy(() -> resolver().resolve("ghcr.io")).satisfies(CredentialResolverTest::assertAuthError)
                .hasMessageContaining("docker-credential-moved").hasMessageContaining("PATH");
        env.put("PATH", elsewhere + ":/usr/bin:/bin");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("m");
        // helper directories can also be given directly
        assertThat(new CredentialResolver(env, home, List.of(elsewhere)).resolve("ghcr.io").username())
                .isEqualTo("m");
    }

    @Test
    void missingCredsStoreIsSkipped() throws Exception {
        dockerConfig("{\"credsStore\":\"desktop\",\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("inline:1") + "\"}}}");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("inline");
        assertThat(resolver().resolve("quay.io").isAnonymous()).isTrue();
    }

    @Test
    void unsafeHelperNamesAreNotRun() throws Exception {
        helper("evil", "echo '{\"Username\":\"u\",\"Secret\":\"s\"}'");
        dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"../bin/docker-credential-evil\"}}");
        assertThatThrownBy(() -> resolver().resolve("ghcr.io")).isInstanceOf(DavitException.class);
        assertThat(calls()).isEmpty();
    }

    @Test
    void failingHelperDoesNotLeakItsOutput() throws Exception {
        helper("broken", "echo 'stdout says " + SECRET + "'; echo 'stderr says " + SECRET + "' >&2; exit 3");
        dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"broken\"}}");
        assertThatThrownBy(() -> resolver().resolve("ghcr.io")).satisfies(CredentialResolverTest::assertAuthError)
                .hasMessageContaining("docker-credential-broken").hasMessageContaining("exit status 3")
                .hasMessageContaining("ghcr.io");
    }

    @Test
    void garbageOutputDoesNotLeak() throws Exception {
        helper("garbage", "echo '{\"Username\":\"u\",\"Secret\":\"" + SECRET + "\"'");
        helper("array", "echo '[\"" + SECRET + "\"]'");
        helper("nouser", "echo '{\"Secret\":\"" + SECRET + "\"}'");
        for (String name : List.of("garbage", "array", "nouser")) {
            dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"" + name + "\"}}");
            assertThatThrownBy(() -> resolver().resolve("ghcr.io"), name)
                    .satisfies(CredentialResolverTest::assertAuthError);
        }
    }

    @Test
    void emptySecretIsNoCredentials() throws Exception {
        helper("empty", "echo '{\"ServerURL\":\"ghcr.io\",\"Username\":\"\",\"Secret\":\"\"}'");
        dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"empty\"}}");
        assertThat(resolver().resolve("ghcr.io").isAnonymous()).isTrue();
    }

    @Test
    void slowHelperTimesOut() throws Exception {
        helper("slow", "sleep 60; echo '{\"Username\":\"u\",\"Secret\":\"s\"}'");
        dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"slow\"}}");
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> resolver().withHelperTimeout(Duration.ofMillis(500)).resolve("ghcr.io"))
                .satisfies(CredentialResolverTest::assertAuthError).hasMessageContaining("did not answer");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThatThrownBy(() -> resolver().withHelperTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void helperRunsWithTheGivenEnvironment() throws Exception {
        env.put("DAVIT_TEST_MARKER", "marker-42");
        helper("env", "printf '{\"Username\":\"%s\",\"Secret\":\"x\"}' \"$DAVIT_TEST_MARKER\"");
        dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"env\"}}");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("marker-42");
    }

    @Test
    void precedenceExplicitThenDavitThenDocker() throws Exception {
        dockerConfig("{\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("docker:1") + "\"},"
                + "\"quay.io\":{\"auth\":\"" + b64("docker:2") + "\"}}}");
        Path davit = davitConfig("{\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("davit:3") + "\"}}}");
        CredentialResolver r = resolver();
        assertThat(r.davitConfigPath()).isEqualTo(davit);
        assertThat(r.resolve("ghcr.io").username()).isEqualTo("davit");
        assertThat(r.resolve("quay.io").username()).isEqualTo("docker");
        CredentialResolver flags = r.withCredentials("GHCR.io", Credentials.basic("flag", SECRET));
        assertThat(flags.resolve("ghcr.io")).isEqualTo(Credentials.basic("flag", SECRET));
        assertThat(flags.resolve("quay.io").username()).isEqualTo("docker");
        assertThat(r.withCredentials("quay.io", Credentials.anonymous()).resolve("quay.io").isAnonymous()).isTrue();
        assertThat(flags.toString()).doesNotContain(SECRET).contains("ghcr.io");
    }

    @Test
    void davitConfigHelpersComeBeforeDockerConfig() throws Exception {
        knowingHelper("davithelper", "ghcr.io", "fromdavit", "1");
        knowingHelper("dockerhelper", "ghcr.io", "fromdocker", "2");
        dockerConfig("{\"credHelpers\":{\"ghcr.io\":\"dockerhelper\"}}");
        davitConfig("{\"credHelpers\":{\"ghcr.io\":\"davithelper\"}}");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("fromdavit");
        davitConfig("{\"credsStore\":\"davithelper\"}");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("fromdavit");
        // a davit helper without credentials passes on to the docker config
        davitConfig("{\"credsStore\":\"dockerhelper\",\"credHelpers\":{\"quay.io\":\"davithelper\"}}");
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("fromdocker");
    }

    @Test
    void davitConfigLocationFromEnvironment() throws Exception {
        Path xdg = Files.createDirectories(tmp.resolve("xdg"));
        env.put("XDG_CONFIG_HOME", xdg.toString());
        assertThat(resolver().davitConfigPath()).isEqualTo(xdg.resolve("davit").resolve("config.json"));
        Path explicit = tmp.resolve("explicit.json");
        Files.writeString(explicit, "{\"auths\":{\"ghcr.io\":{\"auth\":\"" + b64("x:1") + "\"}},"
                + "\"insecureRegistries\":[\"localhost:5000\"]}");
        env.put("DAVIT_CONFIG", explicit.toString());
        assertThat(resolver().davitConfigPath()).isEqualTo(explicit);
        assertThat(resolver().resolve("ghcr.io").username()).isEqualTo("x");
        assertThat(resolver().davitConfig().isInsecure("localhost:5000")).isTrue();
    }

    @Test
    void malformedConfigIsUsageErrorWithoutSecrets() throws Exception {
        dockerConfig("{\"auths\":{\"ghcr.io\":{\"auth\":\"" + SECRET + "\"}");
        assertThatThrownBy(() -> resolver().resolve("ghcr.io")).isInstanceOf(DavitException.class)
                .hasMessageNotContaining(SECRET).hasMessageContaining("config.json")
                .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE));
    }

    @Test
    void badInlineAuthIsReportedOnlyForItsHost() throws Exception {
        dockerConfig("{\"auths\":{\"bad.io\":{\"auth\":\"!!" + SECRET + "\"},\"nocolon.io\":{\"auth\":\""
                + b64(SECRET) + "\"},\"str.io\":\"" + SECRET + "\",\"good.io\":{\"auth\":\"" + b64("g:1") + "\"}}}");
        assertThat(resolver().resolve("good.io").username()).isEqualTo("g");
        for (String host : List.of("bad.io", "nocolon.io", "str.io")) {
            assertThatThrownBy(() -> resolver().resolve(host), host).isInstanceOf(DavitException.class)
                    .hasMessageNotContaining(SECRET).hasMessageNotContaining(b64(SECRET)).hasMessageContaining(host);
        }
    }

    @Test
    void invalidRegistryArgument() {
        assertThatThrownBy(() -> resolver().resolve("")).isInstanceOf(DavitException.class);
        assertThatThrownBy(() -> resolver().resolve("https://")).isInstanceOf(DavitException.class);
    }

    @Test
    void systemResolverUsesThisProcess() {
        CredentialResolver r = CredentialResolver.fromSystem();
        assertThat(r.dockerConfigPath()).isNotNull();
        assertThat(CredentialResolver.pathDirectories(Map.of("PATH", "/a::/b"))).containsExactly(Path.of("/a"),
                Path.of("/b"));
        assertThat(CredentialResolver.pathDirectories(Map.of())).isEmpty();
    }
}
