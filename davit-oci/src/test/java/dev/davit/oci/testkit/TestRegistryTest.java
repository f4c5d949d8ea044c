package dev.davit.oci.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The kit's registries: they start, serve {@code /v2/}, enforce their auth, and clean up. */
class TestRegistryTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static HttpResponse<String> get(String url, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String basic(String user, String pass) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + pass).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void anonymousRegistryServesV2AndIsGoneAfterClose() throws Exception {
        Path storage;
        String base;
        try (TestRegistry registry = TestRegistry.start()) {
            assertThat(registry.hostPort()).matches("127\\.0\\.0\\.1:\\d+");
            assertThat(registry.baseUrl()).isEqualTo("http://" + registry.hostPort());
            assertThat(registry.auth()).isEqualTo(TestRegistry.Auth.NONE);
            assertThat(registry.credentials()).isNull();
            assertThat(registry.authorization("x", "pull")).isEmpty();
            HttpResponse<String> r = get(registry.baseUrl() + "/v2/");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Docker-Distribution-Api-Version")).hasValue("registry/2.0");
            storage = registry.storageDir();
            base = registry.baseUrl();
            assertThat(storage).isDirectory();
            assertThat(registry.isRunning()).isTrue();
        }
        assertThat(storage).doesNotExist();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> get(base + "/v2/"))
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void basicAuthRegistryRejectsAnonymousAndAcceptsTheCredentials() throws Exception {
        try (TestRegistry registry = TestRegistry.builder().basicAuth("alice", "s3cret").start()) {
            assertThat(registry.auth()).isEqualTo(TestRegistry.Auth.BASIC);
            assertThat(registry.credentials()).isEqualTo("alice:s3cret");
            HttpResponse<String> anon = get(registry.baseUrl() + "/v2/");
            assertThat(anon.statusCode()).isEqualTo(401);
            assertThat(anon.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
                    v -> assertThat(v).startsWith("Basic realm="));
            assertThat(get(registry.baseUrl() + "/v2/", "Authorization", basic("alice", "wrong")).statusCode())
                    .isEqualTo(401);
            assertThat(get(registry.baseUrl() + "/v2/", "Authorization", basic("alice", "s3cret")).statusCode())
                    .isEqualTo(200);
            assertThat(get(registry.baseUrl() + "/v2/", "Authorization",
                    registry.authorization("any", "pull").orElseThrow()).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void tokenRegistryChallengesWithBearerAndAcceptsATokenFromTheRealm() throws Exception {
        try (TestRegistry registry = TestRegistry.builder().tokenAuth().start()) {
            PushedImage image = Fixtures.pushImage(registry, "team/app", "v1");
            TokenServer ts = registry.tokenServer();
            ts.reset();

            String manifestUrl = registry.baseUrl() + "/v2/team/app/manifests/v1";
            HttpResponse<String> challenge = get(manifestUrl, "Accept", RawPush.ACCEPT_MANIFESTS);
            assertThat(challenge.statusCode()).isEqualTo(401);
            String wwwAuth = challenge.headers().firstValue("WWW-Authenticate").orElseThrow();
            assertThat(wwwAuth).startsWith("Bearer ").contains("realm=\"" + ts.realm() + "\"")
                    .contains("service=\"" + ts.service() + "\"")
                    .contains("scope=\"repository:team/app:pull\"");

            String tokenUrl = ts.realm() + "?service=" + ts.service() + "&scope="
                    + URLEncoder.encode("repository:team/app:pull", StandardCharsets.UTF_8);
            HttpResponse<String> tokenResponse = get(tokenUrl, "Authorization",
                    basic(registry.username(), registry.password()));
            assertThat(tokenResponse.statusCode()).isEqualTo(200);
            JsonNode json = Json.read(tokenResponse.body().getBytes(StandardCharsets.UTF_8));
            String token = json.path("token").asText();
            assertThat(token).isNotEmpty().isEqualTo(json.path("access_token").asText());
            assertThat(json.path("expires_in").asInt()).isEqualTo(300);
            assertThat(json.path("issued_at").asText()).isNotEmpty();

            HttpResponse<String> manifest = get(manifestUrl, "Accept", RawPush.ACCEPT_MANIFESTS,
                    "Authorization", "Bearer " + token);
            assertThat(manifest.statusCode()).isEqualTo(200);
            assertThat(manifest.headers().firstValue("Docker-Content-Digest")).hasValue(image.manifestDigest());

            // a pull token does not allow a push
            HttpResponse<String> push = HTTP.send(HttpRequest.newBuilder(
                    URI.create(registry.baseUrl() + "/v2/team/app/blobs/uploads/"))
                    .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(push.statusCode()).isEqualTo(401);
            assertThat(push.headers().firstValue("WWW-Authenticate").orElseThrow())
                    .containsPattern("scope=\"repository:team/app:(pull,push|push,pull)\""); // the registry orders actions at random

            // wrong and missing credentials get no token
            assertThat(get(tokenUrl, "Authorization", basic(registry.username(), "nope")).statusCode())
                    .isEqualTo(401);
            assertThat(get(tokenUrl).statusCode()).isEqualTo(401);

            assertThat(ts.tokenRequests()).isEqualTo(3);
            assertThat(ts.requests()).extracting(TokenServer.Request::granted).containsExactly(true, false, false);
            assertThat(ts.requests().getFirst().scopes()).containsExactly("repository:team/app:pull");
            assertThat(ts.requests().getFirst().credentialsPresent()).isTrue();

            // an expired token is refused by the registry (60 s leeway)
            String expired = ts.mint(registry.username(), Duration.ofMinutes(-5),
                    List.of("repository:team/app:pull"));
            assertThat(get(manifestUrl, "Accept", RawPush.ACCEPT_MANIFESTS, "Authorization", "Bearer " + expired)
                    .statusCode()).isEqualTo(401);
        }
    }

    @Test
    void tokenRegistryOptions() throws Exception {
        try (TestRegistry registry = TestRegistry.builder().tokenAuth().anonymousPull(true)
                .tokenResponse(TokenServer.ResponseStyle.ACCESS_TOKEN).tokenLifetime(Duration.ofSeconds(90))
                .start()) {
            TokenServer ts = registry.tokenServer();
            HttpResponse<String> r = get(ts.realm() + "?service=" + ts.service()
                    + "&scope=repository:pub:pull,push");
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode json = Json.read(r.body().getBytes(StandardCharsets.UTF_8));
            assertThat(json.has("token")).isFalse();
            assertThat(json.path("expires_in").asInt()).isEqualTo(90);
            String payload = json.path("access_token").asText().split("\\.")[1];
            JsonNode claims = Json.read(Base64.getUrlDecoder().decode(payload));
            // anonymous: only pull is granted
            assertThat(claims.path("access").get(0).path("actions").toString()).isEqualTo("[\"pull\"]");
            assertThat(ts.requests().getFirst().credentialsPresent()).isFalse();
        }
    }

    @Test
    void aTakenPortIsRetriedWithAnother() throws Exception {
        TestRegistry.PortSource original = TestRegistry.ports;
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
            TestRegistry.ports = () -> calls.getAndIncrement() == 0 ? taken.getLocalPort() : original.next();
            try (TestRegistry registry = TestRegistry.start()) {
                assertThat(calls.get()).isEqualTo(2);
                assertThat(registry.port()).isNotEqualTo(taken.getLocalPort());
                assertThat(get(registry.baseUrl() + "/v2/").statusCode()).isEqualTo(200);
            }
        } finally {
            TestRegistry.ports = original;
        }
    }

    @Test
    void registryLogIsCaptured() throws Exception {
        try (TestRegistry registry = TestRegistry.start()) {
            get(registry.baseUrl() + "/v2/nothing/manifests/latest");
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!registry.log().contains("manifest unknown") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(registry.log()).contains("manifest unknown");
            assertThat(Files.isRegularFile(registry.logFile())).isTrue();
            Matcher m = Pattern.compile("level=(\\w+)").matcher(registry.log());
            while (m.find()) {
                assertThat(m.group(1)).isIn("warning", "error", "fatal", "panic");
            }
        }
    }
}
