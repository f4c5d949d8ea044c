package dev.davit.oci.testkit;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * The Java examples of a doc that are whole classes ({@code public class NAME}), compiled as they are written
 * against the test's class path: what a module whose examples the library's DocExamplesTest cannot compile (a
 * framework adapter's) checks its guide's examples with.
 */
public final class DocBlocks {
    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern CLASS = Pattern.compile("public (?:final )?class (\\w+)");

    private DocBlocks() {
    }

    /** The whole-class examples of {@code doc} that contain {@code marker}. */
    public static List<String> classes(Path doc, String marker) throws IOException {
        List<String> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(Files.readString(doc));
        while (m.find()) {
            if (m.group(1).contains(marker) && CLASS.matcher(m.group(1)).find()) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    /**
     * Compiles {@code source} into {@code out}; returns the compiler's messages, empty when it compiled without a
     * warning.
     */
    public static String compile(String source, Path out) throws IOException {
        Matcher c = CLASS.matcher(source);
        if (!c.find()) {
            return "no public class in:\n" + source;
        }
        Path dir = Files.createDirectories(out.resolve("src"));
        Path file = dir.resolve(c.group(1) + ".java");
        Files.writeString(file, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter messages = new StringWriter();
        boolean ok = javac.getTask(messages, null, null, List.of("-d", out.resolve("classes").toString(), "-cp",
                System.getProperty("java.class.path"), "-Xlint:all", "-Werror", "-proc:none"), null,
                javac.getStandardFileManager(null, null, null).getJavaFileObjects(file)).call();
        return ok ? "" : messages.toString();
    }
}
