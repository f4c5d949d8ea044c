package dev.davit.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.davit.oci.testkit.BusyboxImage;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.spring.ai.DavitToolCallbackProvider;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The starter in a real application context: the bean made from {@code davit.*} properties, its tools calling real
 * sandboxes, its workspaces removed when the context closes, a bad property refused in the property's name, and the
 * health indicator's verdict davit's doctor's.
 */
class DavitAutoConfigurationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static BusyboxImage.Served busybox;

    @TempDir
    Path home;

    @BeforeAll
    static void image() throws Exception {
        busybox = BusyboxImage.serve(shared);
    }

    @AfterAll
    static void stop() {
        if (busybox != null) {
            busybox.close();
        }
    }

    private ApplicationContextRunner runner() {
        return new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(DavitAutoConfiguration.class))
                .withPropertyValues("davit.home=" + home, "davit.allow-registry="
                        + busybox.registry().hostPort(),
                        "davit.allow-unlimited=true", "davit.max-workspaces=3");
    }

    private static ToolCallback tool(DavitToolCallbackProvider davit, String name) {
        return Arrays.stream(davit.getToolCallbacks()).filter(t -> t.getToolDefinition().name().equals(name))
                .findFirst().orElseThrow();
    }

    @Test
    void theToolsComeFromThePropertiesAndGoWithTheContext() throws Exception {
        runner().run(context -> {
            DavitToolCallbackProvider davit = context.getBean(DavitToolCallbackProvider.class);
            String create = "{\"environment\": \"" + busybox.image() + "\"}";
            JsonNode made = JSON.readTree(tool(davit, "workspace_create").call(create));
            assertThat(made.path("id").asText()).as(made.toString()).startsWith("ws-");
            JsonNode ran = JSON.readTree(tool(davit, "workspace_exec").call("{\"workspace\": \"" + made.get("id")
                    .asText() + "\", \"command\": [\"echo\", \"from spring\"]}"));
            assertThat(ran.path("stdout").asText()).isEqualTo("from spring\n");
            // davit.max-workspaces=3 reached the server's policy
            for (int i = 0; i < 2; i++) {
                tool(davit, "workspace_create").call(create);
            }
            JsonNode fourth = JSON.readTree(tool(davit, "workspace_create").call(create));
            assertThat(fourth.at("/error/message").asText()).contains("3");
            assertThat(Workspaces.under(home).list()).hasSize(3);
        });
        assertThat(Workspaces.under(home).list()).isEmpty();
    }

    @Test
    void aBadPropertyIsNamedAsAProperty() {
        runner().withPropertyValues("davit.max-workspaces=0").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessage(
                    "davit.max-workspaces must be at least 1, got 0");
        });
        runner().withPropertyValues("davit.warm=5").run(context -> assertThat(context.getStartupFailure())
                .rootCause().hasMessage("davit.warm must be between 0 and davit.max-workspaces (3), got 5"));
        // the server's own checks too, which speak of flags to the CLI
        runner().withPropertyValues("davit.owner=two words").run(context -> assertThat(context.getStartupFailure())
                .rootCause().hasMessageStartingWith("davit.owner must be 1 to 64 letters"));
        runner().withPropertyValues("davit.publish-ports=1024-2000-3000").run(context -> assertThat(context
                .getStartupFailure()).rootCause().hasMessageContaining("davit.publish-ports needs LOW-HIGH"));
    }

    @Test
    void aBareTtlIsSecondsAsTheFlagsIs() {
        runner().withPropertyValues("davit.ttl=3600").run(context -> assertThat(context.getBean(
                DavitProperties.class).getTtl()).isEqualTo(java.time.Duration.ofHours(1)));
        runner().withPropertyValues("davit.ttl=30m").run(context -> assertThat(context.getBean(
                DavitProperties.class).getTtl()).isEqualTo(java.time.Duration.ofMinutes(30)));
    }

    @Test
    void theHealthIsTheDoctors() {
        runner().run(context -> {
            Health health = context.getBean(DavitHealthIndicator.class).health();
            assertThat(health.getStatus()).as(health.toString()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsKey("container").containsKey(dev.davit.sandbox.Doctor.LIMITS);
        });
    }

    @Test
    void everyOptionIsAPropertyAnIdeCompletes() throws Exception {
        JsonNode metadata;
        try (var in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            metadata = JSON.readTree(in);
        }
        java.util.Map<String, String> described = new java.util.TreeMap<>();
        metadata.get("properties").forEach(p -> described.put(p.get("name").asText(), p.path("description")
                .asText()));
        // each option of davit mcp serve the builder takes (but the process's own: environment, log, version)
        java.util.Set<String> options = new java.util.TreeSet<>();
        for (var m : dev.davit.mcp.DavitTools.Options.class.getDeclaredMethods()) {
            if (java.lang.reflect.Modifier.isPublic(m.getModifiers())
                    && !java.util.Set.of("environment", "log", "version").contains(m.getName())) {
                options.add(DavitAutoConfiguration.inProperties(m.getName() + "(" + m.getParameterTypes()[0]
                        .getSimpleName() + ")").replace("(int)", ""));
            }
        }
        assertThat(options).hasSizeGreaterThan(15);
        assertThat(described.keySet()).containsAll(options);
        described.forEach((name, text) -> assertThat(text).as(name).contains("--"));
    }

    @Test
    void theMessagesOfTheBuilderBecomeProperties() {
        assertThat(DavitAutoConfiguration.inProperties("ttl(Duration) must be positive; see maxDisk(long)"))
                .isEqualTo("davit.ttl must be positive; see davit.max-disk");
    }
}
