package dev.davit.examples.spring;

import java.nio.file.Files;
import java.nio.file.Path;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A Spring Boot application whose agent makes a project's failing test pass in a davit workspace: davit's tools come
 * from davit-spring-boot-starter (a bean made from {@code davit.*} properties), the model from Spring AI's OpenAI
 * starter ({@code OPENAI_API_KEY}). Arguments: {@code [PROJECT [IMAGE]]}.
 */
@SpringBootApplication
public class FixTheTestApplication {
    public static void main(String[] args) {
        if (System.getenv().getOrDefault("OPENAI_API_KEY", "").isBlank()) {
            System.err.println("error: set OPENAI_API_KEY (and OPENAI_BASE_URL, OPENAI_MODEL for another endpoint or"
                    + " model) to run the agent with a model; its test runs it with a scripted one");
            System.exit(2);
        }
        Path project = Path.of(args.length > 0 ? args[0] : "../project").toAbsolutePath();
        if (!Files.isRegularFile(project.resolve("test.sh"))) {
            System.err.println("error: " + project + " has no test.sh; give a project directory as the first"
                    + " argument");
            System.exit(2);
        }
        String image = args.length > 1 ? args[1] : "docker.io/library/busybox:1.36";
        // the operator's part: what the model may pull and which host directory it may copy in
        try (ConfigurableApplicationContext context = SpringApplication.run(FixTheTestApplication.class,
                "--davit.allow-registry=" + dev.davit.Images.registry(image), "--davit.allow-path=" + project)) {
            System.out.println(context.getBean(Fixer.class).fix(project, image));
        }
    }
}
