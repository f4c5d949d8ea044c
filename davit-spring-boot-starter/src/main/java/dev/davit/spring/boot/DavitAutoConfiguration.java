package dev.davit.spring.boot;

import dev.davit.spring.ai.DavitToolCallbackProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * davit's tools in a Spring Boot application: a {@link DavitToolCallbackProvider} bean made from the
 * {@code davit.*} properties ({@link DavitProperties}), closed with the context (its workspaces removed), and with
 * Actuator a health indicator {@code davit} ({@link DavitHealthIndicator}: davit's doctor).
 */
@AutoConfiguration
@EnableConfigurationProperties(DavitProperties.class)
public class DavitAutoConfiguration {
    /** The tools, unless the application made its own. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public DavitToolCallbackProvider davitToolCallbackProvider(DavitProperties properties) {
        try {
            return properties.configure(DavitToolCallbackProvider.builder()).build();
        } catch (dev.davit.oci.DavitException e) {
            // the builder names its methods (maxWorkspaces(int)), the properties' own parse the flags
            // (--publish-ports); the application set properties
            throw new IllegalArgumentException(inProperties(e.getMessage()));
        }
    }

    /**
     * {@code message} with each builder method it names ({@code maxWorkspaces(int)}) and each {@code davit mcp serve}
     * flag ({@code --publish-ports}) as its property: {@code davit.max-workspaces}, {@code davit.publish-ports}.
     */
    static String inProperties(String message) {
        String methods = java.util.regex.Pattern.compile("\\b([a-z][A-Za-z]*)\\((?:int, int|int|long|double|boolean"
                + "|String|Duration|Path|true|false)\\)")
                .matcher(message).replaceAll(m -> "davit." + m.group(1).replaceAll("([A-Z])", "-$1")
                        .toLowerCase(java.util.Locale.ROOT));
        return java.util.regex.Pattern.compile("(?<![\\w-])--([a-z]+(?:-[a-z]+)*)").matcher(methods)
                .replaceAll("davit.$1");
    }

    /** The health indicator, where Spring Boot's health support is on the class path. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
    @org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator("davit")
    static class Health {
        @Bean
        @ConditionalOnMissingBean(name = "davitHealthIndicator")
        DavitHealthIndicator davitHealthIndicator(DavitProperties properties) {
            return new DavitHealthIndicator(properties.getHome());
        }
    }
}
