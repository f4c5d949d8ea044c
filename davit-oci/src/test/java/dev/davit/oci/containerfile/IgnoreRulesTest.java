package dev.davit.oci.containerfile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A {@code .dockerignore} read as Docker reads it: the documentation's own examples, cleaning, comments, {@code **},
 * classes, escapes, exceptions and last-match-wins, parent directories, {@code mayIncludeUnder}, malformed and
 * oversized input, and patterns that would make a backtracking matcher hang.
 */
class IgnoreRulesTest {
    private static IgnoreRules rules(String text) {
        return IgnoreRules.parse(text);
    }

    @Test
    void theDocumentationsExampleFile() {
        IgnoreRules r = rules("""
                # comment
                */temp*
                */*/temp*
                temp?
                """);
        assertThat(r.patterns()).containsExactly("*/temp*", "*/*/temp*", "temp?");
        // */temp*: names starting with temp in any immediate subdirectory of the root
        assertThat(r.excluded("somedir/temporary.txt")).isTrue();
        assertThat(r.excluded("somedir/temp")).isTrue();
        assertThat(r.excluded("somedir/temp/inside.txt")).isTrue();
        // */*/temp*: two levels below the root
        assertThat(r.excluded("somedir/subdir/temporary.txt")).isTrue();
        // temp?: names at the root that are temp plus one character
        assertThat(r.excluded("tempa")).isTrue();
        assertThat(r.excluded("tempb")).isTrue();
        // and nothing else
        assertThat(r.excluded("temp")).isFalse();
        assertThat(r.excluded("tempab")).isFalse();
        assertThat(r.excluded("temporary.txt")).isFalse();
        assertThat(r.excluded("a/b/c/temporary.txt")).isFalse();
        assertThat(r.excluded("somedir/other.txt")).isFalse();
        assertThat(r.excluded("# comment")).isFalse();
    }

    @Test
    void doubleStarMatchesAnyNumberOfDirectoriesIncludingNone() {
        IgnoreRules r = rules("**/*.go");
        assertThat(r.excluded("main.go")).isTrue();
        assertThat(r.excluded("cmd/main.go")).isTrue();
        assertThat(r.excluded("a/b/c/d.go")).isTrue();
        assertThat(r.excluded("a/b/c/d.gox")).isFalse();
        assertThat(r.excluded("go")).isFalse();

        IgnoreRules mid = rules("a/**/b");
        assertThat(mid.excluded("a/b")).isTrue();
        assertThat(mid.excluded("a/x/b")).isTrue();
        assertThat(mid.excluded("a/x/y/b")).isTrue();
        assertThat(mid.excluded("a/x/y/b/file")).isTrue();
        assertThat(mid.excluded("a/xb")).isFalse();
        assertThat(mid.excluded("b")).isFalse();

        IgnoreRules lead = rules("**/node_modules");
        assertThat(lead.excluded("node_modules")).isTrue();
        assertThat(lead.excluded("web/app/node_modules/x/index.js")).isTrue();
        assertThat(lead.excluded("web/node_modules2")).isFalse();
    }

    @Test
    void trailingDoubleStarIsEverythingUnderButNotTheDirectoryItself() {
        IgnoreRules r = rules("a/**");
        assertThat(r.excluded("a")).isFalse();
        assertThat(r.excluded("a/b")).isTrue();
        assertThat(r.excluded("a/b/c")).isTrue();
        assertThat(r.excluded("ab")).isFalse();

        IgnoreRules all = rules("**");
        assertThat(all.excluded("x")).isTrue();
        assertThat(all.excluded("x/y/z")).isTrue();
        assertThat(all.excluded(".hidden")).isTrue();
    }

    @Test
    void anExceptionKeepsWhatAnEarlierPatternExcludes() {
        IgnoreRules r = rules("""
                *.md
                !README.md
                """);
        assertThat(r.patterns()).containsExactly("*.md", "!README.md");
        assertThat(r.excluded("CHANGES.md")).isTrue();
        assertThat(r.excluded("README.md")).isFalse();
        assertThat(r.excluded("docs/guide.md")).isFalse(); // *.md is at the root only
        assertThat(r.excluded("main.go")).isFalse();
    }

    @Test
    void theLastMatchingLineDecides() {
        // the documentation's two orders of the same three lines
        IgnoreRules secretExcluded = rules("""
                *.md
                !README*.md
                README-secret.md
                """);
        assertThat(secretExcluded.excluded("README-secret.md")).isTrue();
        assertThat(secretExcluded.excluded("README.md")).isFalse();
        assertThat(secretExcluded.excluded("README-public.md")).isFalse();
        assertThat(secretExcluded.excluded("other.md")).isTrue();

        IgnoreRules allReadmesKept = rules("""
                *.md
                README-secret.md
                !README*.md
                """);
        assertThat(allReadmesKept.excluded("README-secret.md")).isFalse();
        assertThat(allReadmesKept.excluded("README.md")).isFalse();
        assertThat(allReadmesKept.excluded("other.md")).isTrue();

        // a later exclusion undoes an earlier exception
        IgnoreRules again = rules("""
                !keep.txt
                *.txt
                """);
        assertThat(again.excluded("keep.txt")).isTrue();
    }

    @Test
    void excludeEverythingButAFewPaths() {
        IgnoreRules r = rules("""
                *
                !src
                !pom.xml
                src/**/*.tmp
                """);
        assertThat(r.excluded("target")).isTrue();
        assertThat(r.excluded("target/classes/A.class")).isTrue();
        assertThat(r.excluded("pom.xml")).isFalse();
        assertThat(r.excluded("src")).isFalse();
        assertThat(r.excluded("src/main/java/A.java")).isFalse();
        assertThat(r.excluded("src/main/x.tmp")).isTrue();
        assertThat(r.excluded("src/x.tmp")).isTrue();
    }

    @Test
    void aPatternMatchingADirectoryExcludesEverythingUnderIt() {
        IgnoreRules r = rules("node_modules\nbuild/out");
        assertThat(r.excluded("node_modules")).isTrue();
        assertThat(r.excluded("node_modules/a/b/c.js")).isTrue();
        assertThat(r.excluded("node_modules2")).isFalse();
        assertThat(r.excluded("x/node_modules")).isFalse();
        assertThat(r.excluded("build/out/bin/app")).isTrue();
        assertThat(r.excluded("build/outside")).isFalse();
        assertThat(r.excluded("build")).isFalse();
    }

    @Test
    void anExceptionBelowAnExcludedDirectory() {
        IgnoreRules r = rules("build\n!build/keep.txt");
        assertThat(r.excluded("build")).isTrue();
        assertThat(r.excluded("build/other.txt")).isTrue();
        assertThat(r.excluded("build/keep.txt")).isFalse();
        assertThat(r.mayIncludeUnder("build")).isTrue();
        assertThat(r.mayIncludeUnder("src")).isFalse();
        assertThat(r.mayIncludeUnder("build/sub")).isFalse();
    }

    @Test
    void starAndQuestionMarkDoNotCrossSlashes() {
        IgnoreRules r = rules("*c\na?b");
        assertThat(r.excluded("abc")).isTrue();
        assertThat(r.excluded("a/c")).isFalse();
        assertThat(r.excluded("axb")).isTrue();
        assertThat(r.excluded("a/b")).isFalse();
    }

    @Test
    void patternsAreCleanedLikeFilepathClean() {
        IgnoreRules r = rules("""
                ./a
                b/
                /c
                d//e/./f/../g
                !/h/
                ! i
                x/../..
                /
                .
                """);
        assertThat(r.patterns()).containsExactly("a", "b", "c", "d/e/g", "!h", "!i", "..", "/", ".");
        assertThat(r.excluded("a")).isTrue();
        assertThat(r.excluded("b/x")).isTrue();
        assertThat(r.excluded("c")).isTrue();
        assertThat(r.excluded("d/e/g")).isTrue();
        assertThat(r.excluded("d/e/f")).isFalse();
        // "/", "." and ".." match no path in the context
        assertThat(rules("/\n.\n..").excluded("anything")).isFalse();
        // the path is cleaned too
        assertThat(r.excluded("./a/")).isTrue();
        assertThat(r.excluded("x/../a")).isTrue();
    }

    @Test
    void commentsBlankLinesAndWhiteSpace() {
        IgnoreRules r = rules("\uFEFF# comment\n\n   \n\t*.log  \r\n#*.txt\r\n  #not-a-comment\n");
        assertThat(r.patterns()).containsExactly("*.log", "#not-a-comment");
        assertThat(r.excluded("app.log")).isTrue();
        assertThat(r.excluded("notes.txt")).isFalse();
        assertThat(r.excluded("#not-a-comment")).isTrue();
        assertThat(rules("").patterns()).isEmpty();
        assertThat(rules("# only a comment").excluded("x")).isFalse();
    }

    @Test
    void theContextRootIsNeverExcluded() {
        IgnoreRules r = rules("*\n**");
        assertThat(r.excluded("")).isFalse();
        assertThat(r.excluded(".")).isFalse();
        assertThat(r.excluded("a")).isTrue();
    }

    @Test
    void characterClasses() {
        IgnoreRules r = rules("[a-c]at\n[^a-c]og\n[!x-z]ip\n[\\]]x\n[a\\-]y\n[0-9][0-9]");
        assertThat(r.excluded("bat")).isTrue();
        assertThat(r.excluded("dat")).isFalse();
        assertThat(r.excluded("dog")).isTrue();
        assertThat(r.excluded("bog")).isFalse();
        assertThat(r.excluded("aip")).isTrue();
        assertThat(r.excluded("yip")).isFalse();
        assertThat(r.excluded("]x")).isTrue();
        assertThat(r.excluded("-y")).isTrue();
        assertThat(r.excluded("ay")).isTrue();
        assertThat(r.excluded("by")).isFalse();
        assertThat(r.excluded("42")).isTrue();
        assertThat(r.excluded("4x")).isFalse();
        // a class never matches the separator
        assertThat(rules("a[^x]b").excluded("a/b")).isFalse();
        // one character is one code point
        assertThat(rules("?.txt").excluded("é.txt")).isTrue();
        assertThat(rules("?.txt").excluded("\uD83D\uDE00.txt")).isTrue();
        assertThat(rules("[α-ω]").excluded("λ")).isTrue();
    }

    @Test
    void backslashEscapesTheNextCharacter() {
        IgnoreRules r = rules("\\*.txt\na\\?\n\\#x\n\\!bang\nq\\[1]");
        assertThat(r.excluded("*.txt")).isTrue();
        assertThat(r.excluded("a.txt")).isFalse();
        assertThat(r.excluded("a?")).isTrue();
        assertThat(r.excluded("ab")).isFalse();
        assertThat(r.excluded("#x")).isTrue();
        assertThat(r.excluded("!bang")).isTrue();
        assertThat(r.excluded("q[1]")).isTrue();
        assertThat(r.excluded("q1")).isFalse();
    }

    @Test
    void malformedPatternsNameTheLineAndThePattern() {
        assertThatThrownBy(() -> rules("ok\n[abc"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 2")
                .hasMessageContaining("[abc")
                .hasMessageNotContaining("\n");
        assertThatThrownBy(() -> rules("# c\n\n!")).hasMessageContaining("line 3").hasMessageContaining("\"!\"");
        assertThatThrownBy(() -> rules("!   ")).hasMessageContaining("line 1");
        assertThatThrownBy(() -> rules("a\\")).hasMessageContaining("line 1").hasMessageContaining("trailing");
        assertThatThrownBy(() -> rules("[]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> rules("[^]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> rules("[a-]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> rules("[-a]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> rules("[a-b-c]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> rules("x/[\\")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> rules("ok\n  bad[\n")).hasMessageContaining("line 2").hasMessageContaining("bad[");
    }

    @Test
    void inputIsBounded() {
        String tenThousand = IntStream.range(0, IgnoreRules.MAX_PATTERNS).mapToObj(i -> "p" + i)
                .collect(Collectors.joining("\n"));
        IgnoreRules r = rules("# header\n" + tenThousand);
        assertThat(r.patterns()).hasSize(10_000);
        assertThat(r.excluded("p9999")).isTrue();
        assertThatThrownBy(() -> rules(tenThousand + "\none-more"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 10001")
                .hasMessageContaining("10000");

        assertThat(rules("a".repeat(4096)).excluded("a".repeat(4096))).isTrue();
        assertThat(rules("a".repeat(4096) + "\r\n").patterns()).hasSize(1);
        assertThatThrownBy(() -> rules("x\n" + "a".repeat(4097)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 2")
                .hasMessageContaining("4096");
        assertThatThrownBy(() -> rules("#" + "c".repeat(5000))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pathologicalPatternsDoNotBacktrack() {
        // each would take exponential time in a backtracking matcher
        String as = "a".repeat(200_000);
        IgnoreRules stars = rules("*a*a*a*a*a*a*a*a*b\n!*a*a*a*a*a*a*a*a*a*a*a*a*c");
        assertThat(stars.excluded(as)).isFalse();
        assertThat(stars.excluded(as + "b")).isTrue();
        assertThat(stars.mayIncludeUnder(as)).isFalse();

        String deep = "a/".repeat(20_000) + "a";
        IgnoreRules dirs = rules("**/a*a*a*a*a*/**/a*a*a*a*b\n**/**/**/**/**/**/**/x");
        assertThat(dirs.excluded(deep)).isFalse();
        assertThat(dirs.excluded(deep + "/x")).isTrue();

        IgnoreRules classes = rules("[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[0-9]");
        assertThat(classes.excluded(as)).isFalse();
    }

    @Test
    void mayIncludeUnderIsTrueWhenAnExceptionCouldMatchBelow() {
        IgnoreRules r = rules("*\n!src/**/*.java\n!*/keep\n!docs/api");
        assertThat(r.mayIncludeUnder("")).isTrue();
        assertThat(r.mayIncludeUnder("src")).isTrue();
        assertThat(r.mayIncludeUnder("src/a/b")).isTrue();
        assertThat(r.mayIncludeUnder("lib")).isTrue(); // lib/keep
        assertThat(r.mayIncludeUnder("lib/x")).isFalse();
        assertThat(r.mayIncludeUnder("docs")).isTrue(); // docs/api (and docs/keep)
        assertThat(r.mayIncludeUnder("docs/api")).isTrue(); // it is itself included again
        assertThat(r.mayIncludeUnder("docs/api/deep")).isTrue(); // a parent is included again
        assertThat(r.mayIncludeUnder("docs/other")).isFalse();
        assertThat(r.mayIncludeUnder("./src/")).isTrue();

        IgnoreRules none = rules("*\nbuild");
        assertThat(none.mayIncludeUnder("")).isFalse();
        assertThat(none.mayIncludeUnder("build")).isFalse();

        IgnoreRules everywhere = rules("target\n!**/*.keep");
        assertThat(everywhere.mayIncludeUnder("target")).isTrue();
        assertThat(everywhere.mayIncludeUnder("a/b/c")).isTrue();
        assertThat(everywhere.excluded("target/x.keep")).isFalse();
        assertThat(everywhere.excluded("target/x.class")).isTrue();

        IgnoreRules rootOnly = rules("*\n!*.txt");
        assertThat(rootOnly.mayIncludeUnder("")).isTrue();
        assertThat(rootOnly.mayIncludeUnder("dir")).isFalse();
        assertThat(rootOnly.mayIncludeUnder("dir.txt")).isTrue(); // the directory itself is included again
    }

    @Test
    void patternsAreUnmodifiable() {
        IgnoreRules r = rules("a\n!b");
        assertThat(r.patterns()).containsExactly("a", "!b");
        assertThatThrownBy(() -> r.patterns().add("c")).isInstanceOf(UnsupportedOperationException.class);
        assertThat(r).hasToString("a\n!b");
    }
}
