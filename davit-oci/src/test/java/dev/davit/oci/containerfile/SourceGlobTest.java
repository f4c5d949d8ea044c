package dev.davit.oci.containerfile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * COPY and ADD source wildcards: Go's {@code filepath.Match} on one segment, and the expansion of a relative pattern
 * over a directory listing, segment by segment.
 */
class SourceGlobTest {
    /** A small build context: each directory's names, unsorted on purpose. */
    private static final Map<String, List<String>> TREE = Map.of(
            "", List.of("src", "docs", "README.md", "config.a", "config.bb", ".hidden", "build.gradle"),
            "src", List.of("Util.java", "Main.java", "notes.txt", "sub"),
            "src/sub", List.of("Deep.java"),
            "docs", List.of("guide.md", "config.yz", "config.x"));

    private final List<String> listed = new ArrayList<>();

    private List<String> expand(String pattern) {
        listed.clear();
        return SourceGlob.expand(pattern, dir -> {
            listed.add(dir);
            return TREE.getOrDefault(dir, List.of());
        });
    }

    @Test
    void hasMetaSeesUnescapedWildcardsOnly() {
        assertThat(SourceGlob.hasMeta("*.java")).isTrue();
        assertThat(SourceGlob.hasMeta("a?c")).isTrue();
        assertThat(SourceGlob.hasMeta("file[12]")).isTrue();
        assertThat(SourceGlob.hasMeta("src/main/App.java")).isFalse();
        assertThat(SourceGlob.hasMeta("a]b{c}")).isFalse();
        assertThat(SourceGlob.hasMeta("a\\*b\\?\\[")).isFalse();
        assertThat(SourceGlob.hasMeta("a\\\\*")).isTrue(); // an escaped backslash, then a star
        assertThat(SourceGlob.hasMeta("")).isFalse();
        assertThat(SourceGlob.hasMeta("trailing\\")).isFalse();
    }

    @ParameterizedTest(name = "{0} ~ {1} -> {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
        // the cases of Go's own match tests (Unix)
        "abc | abc | true",
        "* | abc | true",
        "*c | abc | true",
        "a* | a | true",
        "a* | abc | true",
        "a* | ab/c | false",
        "a*/b | abc/b | true",
        "a*/b | a/c/b | false",
        "a*b*c*d*e*/f | axbxcxdxe/f | true",
        "a*b*c*d*e*/f | axbxcxdxexxx/f | true",
        "a*b*c*d*e*/f | axbxcxdxe/xxx/f | false",
        "a*b*c*d*e*/f | axbxcxdxexxx/fff | false",
        "a*b?c*x | abxbbxdbxebxczzx | true",
        "a*b?c*x | abxbbxdbxebxczzy | false",
        "ab[c] | abc | true",
        "ab[b-d] | abc | true",
        "ab[e-g] | abc | false",
        "ab[^c] | abc | false",
        "ab[^b-d] | abc | false",
        "ab[^e-g] | abc | true",
        "a\\*b | a*b | true",
        "a\\*b | ab | false",
        "a?b | a☺b | true",
        "a[^a]b | a☺b | true",
        "a???b | a☺b | false",
        "a[^a][^a][^a]b | a☺b | false",
        "[a-ζ]* | α | true",
        "*[a-ζ] | A | false",
        "a?b | a/b | false",
        "a*b | a/b | false",
        "[\\]a] | ] | true",
        "[\\-] | - | true",
        "[x\\-] | x | true",
        "[x\\-] | - | true",
        "[x\\-] | z | false",
        "[\\-x] | x | true",
        "[\\-x] | - | true",
        "[\\-x] | a | false",
        "* | '' | true",
        "*x | xxx | true",
        // and more
        "* | .hidden | true",
        "** | abc | true",
        "** | a/b | false",
        "[!a] | ! | true",
        "[!a] | b | false",
        "[^a] | / | true",
        "? | '' | false",
        "'' | '' | true",
        "'' | a | false",
        "*.java | Main.java | true",
        "*.java | Main.jav | false",
        "config.? | config.a | true",
        "config.? | config.bb | false",
        "[*] | * | true",
        "[*] | a | false",
        "x[a-c]*[0-9] | xb123 | true",
    })
    void matchesLikeGosFilepathMatch(String pattern, String name, boolean expected) {
        assertThat(SourceGlob.matches(pattern, name)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "[ | a",
        "[^ | a",
        "[^bc | a",
        "a[ | a",
        "a[ | x",
        "[] | a",
        "[]a] | ]",
        "[-] | -",
        "[x-] | x",
        "[-x] | x",
        "[a-b-c] | a",
        "\\ | a",
        "a\\ | a",
        "a\\ | b",
        "[\\ | a",
    })
    void aMalformedPatternIsRefusedWhateverTheName(String pattern, String name) {
        assertThatThrownBy(() -> SourceGlob.matches(pattern, name))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(pattern)
                .hasMessageNotContaining("\n");
    }

    @Test
    void aPathologicalPatternDoesNotBacktrack() {
        String as = "a".repeat(200_000);
        assertThat(SourceGlob.matches("*a*a*a*a*a*a*a*a*b", as)).isFalse();
        assertThat(SourceGlob.matches("*a*a*a*a*a*a*a*a*b", as + "b")).isTrue();
        assertThat(SourceGlob.matches("?*?*?*?*?*?*?*?*?*?*?*c", as)).isFalse();
    }

    @Test
    void expandsOneSegmentAtATimeListingOnlyWhatItNeeds() {
        assertThat(expand("src/*.java")).containsExactly("src/Main.java", "src/Util.java");
        assertThat(listed).containsExactly("src");

        assertThat(expand("config.?")).containsExactly("config.a");
        assertThat(listed).containsExactly("");

        assertThat(expand("*/config.?")).containsExactly("docs/config.x");
        assertThat(listed).first().isEqualTo("");
        assertThat(listed).contains("docs", "src", "README.md").hasSize(8);

        assertThat(expand("*/sub/*.java")).containsExactly("src/sub/Deep.java");
        assertThat(listed).contains("", "src/sub", "docs/sub").doesNotContain("src");

        assertThat(expand("src/*/*.java")).containsExactly("src/sub/Deep.java");
    }

    @Test
    void aStarMatchesEveryNameIncludingHiddenOnesSorted() {
        assertThat(expand("*")).containsExactly(".hidden", "README.md", "build.gradle", "config.a", "config.bb",
                "docs", "src");
        assertThat(expand("config.*")).containsExactly("config.a", "config.bb");
        assertThat(expand("[a-c]*")).containsExactly("build.gradle", "config.a", "config.bb");
        assertThat(expand("[^a-c]*")).containsExactly(".hidden", "README.md", "docs", "src");
    }

    @Test
    void literalSegmentsAreAppendedWithoutListing() {
        assertThat(expand("src/Main.java")).containsExactly("src/Main.java");
        assertThat(listed).isEmpty();
        assertThat(expand("no/such/file")).containsExactly("no/such/file");
        assertThat(listed).isEmpty();
        // after a wildcard, a literal is appended to every match; the caller checks which exist
        assertThat(expand("*/notes.txt")).containsExactly(".hidden/notes.txt", "README.md/notes.txt",
                "build.gradle/notes.txt", "config.a/notes.txt", "config.bb/notes.txt", "docs/notes.txt",
                "src/notes.txt");
        assertThat(listed).containsExactly("");
        // escapes are removed from a literal segment
        assertThat(expand("a\\*b/c\\?")).containsExactly("a*b/c?");
        assertThat(listed).isEmpty();
    }

    @Test
    void theSegmentsAreCleaned() {
        assertThat(expand("./src//*.java")).containsExactly("src/Main.java", "src/Util.java");
        assertThat(expand("/src/./*.java/")).containsExactly("src/Main.java", "src/Util.java");
        assertThat(expand(".")).containsExactly("");
        assertThat(expand("")).containsExactly("");
    }

    @Test
    void noMatchIsAnEmptyList() {
        assertThat(expand("nope/*.java")).isEmpty();
        assertThat(listed).containsExactly("nope");
        assertThat(expand("*.none/x/*")).isEmpty();
        assertThat(expand("README.md/*")).isEmpty();
        assertThat(SourceGlob.expand("*", dir -> null)).isEmpty();
    }

    @Test
    void resultsAreSortedAsAWholeAndDotEntriesNeverMatch() {
        Map<String, List<String>> tree = Map.of(
                "", List.of("a", "a-b", ".", "..", ".git", "b"),
                "a", List.of("x", "."),
                "a-b", List.of("x"));
        Function<String, List<String>> ls = dir -> tree.getOrDefault(dir, List.of());
        assertThat(SourceGlob.expand("*/x", ls)).containsExactly(".git/x", "a-b/x", "a/x", "b/x");
        assertThat(SourceGlob.expand("*/[x]", ls)).containsExactly("a-b/x", "a/x");
        assertThat(SourceGlob.expand(".*", ls)).containsExactly(".git");
        assertThat(SourceGlob.expand("?", ls)).containsExactly("a", "b");
        // duplicates in a listing give one result
        assertThat(SourceGlob.expand("*", dir -> List.of("b", "a", "b"))).containsExactly("a", "b");
    }

    @Test
    void dotDotIsRefused() {
        for (String p : List.of("..", "../*", "src/../x", "*/../x", "a/..", "\\.\\./x")) {
            assertThatThrownBy(() -> expand(p))
                    .as(p)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("..");
        }
        assertThat(listed).isEmpty();
        // a name that starts with two dots is no parent
        assertThat(expand("..x/*")).isEmpty();
        assertThat(expand("..*")).isEmpty();
    }

    @Test
    void aMalformedSegmentIsRefusedBeforeAnythingIsListed() {
        assertThatThrownBy(() -> expand("src/*/[a"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[a");
        assertThat(listed).isEmpty();
        assertThatThrownBy(() -> expand("src/a\\")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("src/a\\");
    }

    @Test
    void atMostOneHundredThousandResults() {
        List<String> many = IntStream.range(0, 100_000).mapToObj(i -> "f" + i).collect(Collectors.toList());
        assertThat(SourceGlob.expand("f*", dir -> many)).hasSize(100_000);
        List<String> tooMany = new ArrayList<>(many);
        tooMany.add("g");
        tooMany.add("f-extra");
        assertThatThrownBy(() -> SourceGlob.expand("f*", dir -> tooMany))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"f*\"")
                .hasMessageContaining("100000");
        // a level of candidates is bounded too: 400 directories of 400 names
        List<String> four = IntStream.range(0, 400).mapToObj(i -> "d" + i).collect(Collectors.toList());
        assertThatThrownBy(() -> SourceGlob.expand("*/*", dir -> four))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("*/*");
        assertThatThrownBy(() -> SourceGlob.expand("*/x", dir -> dir.isEmpty() ? tooMany : List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
