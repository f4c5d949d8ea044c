package dev.davit.oci.manifest;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PlatformTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            linux/amd64         | linux/amd64
            amd64               | linux/amd64
            x86_64              | linux/amd64
            linux/x86_64        | linux/amd64
            linux/x86-64        | linux/amd64
            linux/amd64/v1      | linux/amd64
            linux/amd64/v2      | linux/amd64/v2
            linux/amd64/v3      | linux/amd64/v3
            linux/x86_64/v4     | linux/amd64/v4
            Linux/AMD64/V3      | linux/amd64/v3
            linux/arm64         | linux/arm64/v8
            linux/aarch64       | linux/arm64/v8
            aarch64             | linux/arm64/v8
            linux/arm64/8       | linux/arm64/v8
            linux/arm64/v8      | linux/arm64/v8
            linux/arm64/v9      | linux/arm64/v9
            linux/arm           | linux/arm/v7
            arm                 | linux/arm/v7
            linux/arm/v6        | linux/arm/v6
            linux/arm/7         | linux/arm/v7
            linux/arm/5         | linux/arm/v5
            linux/armhf         | linux/arm/v7
            linux/armel         | linux/arm/v6
            linux/386           | linux/386
            linux/i386          | linux/386
            i686                | linux/386
            linux/x86           | linux/386
            linux/ppc64le       | linux/ppc64le
            linux/s390x         | linux/s390x
            linux/riscv64       | linux/riscv64
            windows/amd64       | windows/amd64
            macos/arm64         | darwin/arm64/v8
            darwin/aarch64      | darwin/arm64/v8
            freebsd/amd64       | freebsd/amd64
            linux/mips64le      | linux/mips64le
            """)
    void parsesAndNormalises(String input, String expected) {
        Platform p = Platform.parse(input);
        assertThat(p).hasToString(expected);
        assertThat(Platform.parse(expected)).isEqualTo(p);
        assertThat(Platform.normalize(p)).isEqualTo(p);
        assertThat(p.osVersion()).isNull();
        assertThat(p.osFeatures()).isEmpty();
    }

    @Test
    void splitsIntoParts() {
        Platform p = Platform.parse("linux/arm/v7");
        assertThat(p.os()).isEqualTo("linux");
        assertThat(p.architecture()).isEqualTo("arm");
        assertThat(p.variant()).isEqualTo("v7");
        assertThat(Platform.parse("linux/amd64").variant()).isNull();
    }

    @Test
    void surroundingWhitespaceIsIgnored() {
        assertThat(Platform.parse("  linux/amd64\t")).hasToString("linux/amd64");
    }

    @Test
    void rejectsNullAndBlank() {
        assertDavitError(() -> Platform.parse(null), Kind.USAGE, "invalid platform ''", "use os/arch[/variant]");
        assertDavitError(() -> Platform.parse(""), Kind.USAGE, "invalid platform ''");
        assertDavitError(() -> Platform.parse(" \t "), Kind.USAGE, "invalid platform ' ? '");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/", "linux/", "/amd64", "linux//v7", "linux/amd64/", "linux/amd64/v3/x", "a/b/c/d",
        "linux/amd 64", "linux/amd64;rm", "linux/\u00e4md64", "linux/amd64/v8\u2028", "linux:amd64", "linux\\amd64",
        "linux/amd64@sha256", "linux/am\u0000d64", "linux/*"})
    void rejectsMalformed(String input) {
        var e = assertDavitError(() -> Platform.parse(input), Kind.USAGE, "invalid platform '",
                "e.g. linux/amd64 or linux/arm64/v8");
        assertThat(e.getMessage()).doesNotContain("\u0000");
    }

    @Test
    void messageShortensLongInput() {
        var e = assertDavitError(() -> Platform.parse("linux/" + "a".repeat(500) + "/b/c"), Kind.USAGE, "...'");
        assertThat(e.getMessage()).hasSizeLessThan(200);
    }

    @Test
    void normalizeKeepsOsVersionAndFeatures() {
        Platform raw = new Platform("Windows", "AMD64", null, "10.0.17763.6189", List.of("win32k"));
        Platform n = Platform.normalize(raw);
        assertThat(n).isEqualTo(new Platform("windows", "amd64", null, "10.0.17763.6189", List.of("win32k")));
        assertThat(n).hasToString("windows/amd64");
    }

    @Test
    void constructorTreatsEmptyAsAbsent() {
        Platform p = new Platform("linux", "amd64", "", "", null);
        assertThat(p.variant()).isNull();
        assertThat(p.osVersion()).isNull();
        assertThat(p.osFeatures()).isEmpty();
    }

    @Test
    void hostIsANormalisedLinuxPlatform() {
        Platform h = Platform.host();
        assertThat(h.os()).isEqualTo("linux");
        assertThat(Platform.normalize(h)).isEqualTo(h);
        assertThat(h.accepts(h)).isTrue();
    }

    @ParameterizedTest(name = "{0} accepts {1}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            linux/amd64     | linux/amd64      | true
            linux/amd64     | linux/x86_64     | true
            linux/amd64     | linux/amd64/v1   | true
            linux/amd64     | linux/amd64/v2   | false
            linux/amd64     | linux/amd64/v3   | false
            linux/amd64     | linux/amd64/v4   | false
            linux/amd64/v2  | linux/amd64      | true
            linux/amd64/v2  | linux/amd64/v2   | true
            linux/amd64/v2  | linux/amd64/v3   | false
            linux/amd64/v3  | linux/amd64      | true
            linux/amd64/v3  | linux/amd64/v2   | true
            linux/amd64/v3  | linux/amd64/v3   | true
            linux/amd64/v3  | linux/amd64/v4   | false
            linux/amd64/v4  | linux/amd64/v1   | true
            linux/amd64/v4  | linux/amd64/v4   | true
            linux/amd64     | linux/amd64/v5   | false
            linux/amd64/v4  | linux/amd64/v5   | false
            linux/amd64     | linux/amd64/foo  | false
            linux/amd64/v4  | linux/amd64/foo  | false
            linux/amd64/foo | linux/amd64/foo  | true
            linux/amd64/foo | linux/amd64      | true
            linux/amd64/foo | linux/amd64/v2   | false
            linux/amd64     | linux/arm64      | false
            linux/amd64     | windows/amd64    | false
            linux/arm64     | linux/arm64      | true
            linux/arm64     | linux/aarch64    | true
            linux/arm64     | linux/arm64/v8   | true
            linux/arm64/v8  | linux/arm64/8    | true
            linux/arm       | linux/arm/v7     | true
            linux/arm/v7    | linux/armhf      | true
            linux/arm/v7    | linux/arm/7      | true
            linux/arm/v6    | linux/armel      | true
            linux/arm/v6    | linux/arm/v7     | false
            linux/ppc64le   | linux/ppc64le    | true
            linux/ppc64le   | linux/s390x      | false
            darwin/arm64    | macos/aarch64    | true
            """)
    void accepts(String want, String candidate, boolean expected) {
        assertThat(Platform.parse(want).accepts(Platform.parse(candidate))).isEqualTo(expected);
    }

    @Test
    void acceptsRawPlatformsAsFoundInIndexes() {
        Platform want = Platform.parse("linux/arm64");
        assertThat(want.accepts(new Platform("linux", "aarch64", null))).isTrue();
        assertThat(want.accepts(new Platform("Linux", "ARM64", "V8"))).isTrue();
        assertThat(want.accepts(new Platform("linux", "arm64", "v8", "", List.of()))).isTrue();
        assertThat(want.accepts(new Platform("unknown", "unknown", null))).isFalse();
        // the wanted platform need not be normalised either
        assertThat(new Platform("linux", "x86_64", null).accepts(new Platform("linux", "amd64", "v1"))).isTrue();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            linux/amd64      | 1
            linux/x86_64     | 1
            linux/amd64/v1   | 1
            linux/amd64/v2   | 2
            linux/amd64/v3   | 3
            linux/amd64/v4   | 4
            linux/arm64      | 1
            linux/arm/v7     | 1
            """)
    void scoresAmd64Levels(String candidate, int score) {
        assertThat(Platform.parse("linux/amd64/v4").score(Platform.parse(candidate))).isEqualTo(score);
    }

    @Test
    void picksTheMostSpecificAcceptedAmd64Level() {
        List<Platform> offered = List.of(Platform.parse("linux/amd64"), Platform.parse("linux/amd64/v2"),
                Platform.parse("linux/amd64/v3"), Platform.parse("linux/amd64/v4"), Platform.parse("linux/arm64"));
        assertThat(best(Platform.parse("linux/amd64/v3"), offered)).hasToString("linux/amd64/v3");
        assertThat(best(Platform.parse("linux/amd64/v2"), offered)).hasToString("linux/amd64/v2");
        assertThat(best(Platform.parse("linux/amd64"), offered)).hasToString("linux/amd64");
        assertThat(best(Platform.parse("linux/arm64"), offered)).hasToString("linux/arm64/v8");
    }

    private static Platform best(Platform want, List<Platform> offered) {
        return offered.stream().filter(want::accepts).max(Comparator.comparingInt(want::score)).orElseThrow();
    }
}
