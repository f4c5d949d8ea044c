package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.fs.Dir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The .gitignore rules a diff collapses by ({@link Ignores}), matched without regular expressions: git's wildcards and
 * classes, {@code **} across directories, and patterns a hostile sandbox writes (a backtracking bomb, a class Java's
 * regex would refuse) that match or not at once, never hang or fail the diff.
 */
class IgnoresTest {
    @TempDir
    Path tmp;

    @Test
    void segmentsMatchAsGitReadsThem() {
        assertThat(Ignores.segment("*.tmp", "a.tmp")).isTrue();
        assertThat(Ignores.segment("*.tmp", "a.tmpx")).isFalse();
        assertThat(Ignores.segment("b?ild", "build")).isTrue();
        assertThat(Ignores.segment("[a-c]x", "bx")).isTrue();
        assertThat(Ignores.segment("[!a]x", "ax")).isFalse();
        assertThat(Ignores.segment("[z-a]x", "zx")).isFalse(); // a class java.util.regex refuses: no error
        assertThat(Ignores.segment("\\*", "*")).isTrue();
        String bomb = "*a".repeat(60) + "*b";
        assertThat(Ignores.segment(bomb, "a".repeat(250))).isFalse();
        assertThat(Ignores.segment(bomb, "a".repeat(249) + "b")).isTrue();
    }

    @Test
    void anchoredAndDoubleStarRulesAndHostileOnes() throws Exception {
        Files.writeString(tmp.resolve(".gitignore"), "/out/\nlogs\ndocs/**/gen\n" + "**/".repeat(60) + "z\n[z-a]\n");
        for (String d : new String[] {"out", "src/out", "a/logs", "docs/x/y/gen", "docs/gen", "q/" + "w/".repeat(200)
                + "k"}) {
            Files.createDirectories(tmp.resolve(d));
        }
        Map<String, Tree.Entry> entries = Tree.walk(tmp);
        try (Dir top = Dir.open(tmp, "test")) {
            Ignores ig = Ignores.of(top, entries);
            assertThat(ig.top("out", entries, entries)).isEqualTo("out");
            assertThat(ig.top("src/out", entries, entries)).isNull(); // anchored to the .gitignore's directory
            assertThat(ig.top("a/logs", entries, entries)).isEqualTo("a/logs");
            assertThat(ig.top("docs/x/y/gen", entries, entries)).isEqualTo("docs/x/y/gen");
            assertThat(ig.top("docs/gen", entries, entries)).isEqualTo("docs/gen");
            String deep = "q/" + "w/".repeat(200) + "k";
            assertThat(ig.top(deep, entries, entries)).isNull(); // 60 '**' against 202 directories: at once
            assertThat(ig.top("src", entries, entries)).isNull();
        }
    }
}
