package dev.davit.oci.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChallengeTest {

    private static Map<String, String> map(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void parsesDistributionBearerChallenge() {
        List<Challenge> cs = Challenge.parse("Bearer realm=\"https://auth.docker.io/token\","
                + "service=\"registry.docker.io\",scope=\"repository:library/alpine:pull\"");
        assertThat(cs).hasSize(1);
        Challenge c = cs.get(0);
        assertThat(c.scheme()).isEqualTo("bearer");
        assertThat(c.is("Bearer")).isTrue();
        assertThat(c.realm()).contains("https://auth.docker.io/token");
        assertThat(c.service()).contains("registry.docker.io");
        assertThat(c.scope()).contains("repository:library/alpine:pull");
        assertThat(c.token68()).isEmpty();
    }

    @Test
    void parsesSeveralChallengesInOneValue() {
        List<Challenge> cs = Challenge.parse(
                "Basic realm=\"x\", Bearer realm=\"https://auth/token\",service=\"reg\",scope=\"repository:a/b:pull\"");
        assertThat(cs).extracting(Challenge::scheme).containsExactly("basic", "bearer");
        assertThat(cs.get(0).params()).isEqualTo(map("realm", "x"));
        assertThat(cs.get(1).params()).isEqualTo(
                map("realm", "https://auth/token", "service", "reg", "scope", "repository:a/b:pull"));
    }

    @Test
    void parsesSeveralHeaderValuesInOrder() {
        List<Challenge> cs = Challenge.parse(List.of("Basic realm=\"r1\"", "Bearer realm=\"r2\", Negotiate"));
        assertThat(cs).extracting(Challenge::scheme).containsExactly("basic", "bearer", "negotiate");
        assertThat(cs.get(2).params()).isEmpty();
    }

    @Test
    void schemeAndParamNamesAreCaseInsensitive() {
        Challenge c = Challenge.parse("BEARER Realm=\"r\", SERVICE=s").get(0);
        assertThat(c.scheme()).isEqualTo("bearer");
        assertThat(c.params()).containsOnlyKeys("realm", "service");
        assertThat(c.param("Service")).contains("s");
        assertThat(c.param("REALM")).contains("r");
    }

    @Test
    void acceptsUnquotedValues() {
        Challenge ok = Challenge.parse("Bearer service=registry.example,error=insufficient_scope").get(0);
        assertThat(ok.params()).isEqualTo(map("service", "registry.example", "error", "insufficient_scope"));
        // lenient: URLs are not tokens, but some servers send them unquoted
        List<Challenge> cs = Challenge.parse("Bearer realm=https://auth/token?a=b,service=reg, Basic realm=b");
        assertThat(cs).containsExactly(
                new Challenge("bearer", map("realm", "https://auth/token?a=b", "service", "reg"), ""),
                new Challenge("basic", map("realm", "b"), ""));
    }

    @Test
    void unquotedValueEndsAtWhitespace() {
        List<Challenge> cs = Challenge.parse("Bearer realm=a b, Basic realm=\"b\"");
        assertThat(cs).containsExactly(new Challenge("basic", map("realm", "b"), ""));
    }

    @Test
    void unescapesQuotedPairs() {
        Challenge c = Challenge.parse("Basic realm=\"say \\\"hi\\\" \\\\ back\\slash\"").get(0);
        assertThat(c.realm()).contains("say \"hi\" \\ backslash");
    }

    @Test
    void commasAndEqualsInsideQuotesAreData() {
        List<Challenge> cs = Challenge.parse(
                "Bearer realm=\"https://a/t?x=1,y=2\",scope=\"repository:a:pull,push repository:b:pull\","
                        + " Basic realm=\"z\"");
        assertThat(cs).hasSize(2);
        assertThat(cs.get(0).realm()).contains("https://a/t?x=1,y=2");
        assertThat(cs.get(0).scope()).contains("repository:a:pull,push repository:b:pull");
        assertThat(cs.get(1).realm()).contains("z");
    }

    @Test
    void toleratesWhitespaceEmptyElementsAndBws() {
        List<Challenge> cs =
                Challenge.parse(" ,, Basic\trealm = \"x\" ,  , charset=\"UTF-8\" ,, Bearer realm=\"y\",,");
        assertThat(cs).hasSize(2);
        assertThat(cs.get(0).params()).isEqualTo(map("realm", "x", "charset", "UTF-8"));
        assertThat(cs.get(1).params()).isEqualTo(map("realm", "y"));
    }

    @Test
    void emptyValues() {
        assertThat(Challenge.parse("Bearer realm=\"\",service=\"\"").get(0).params())
                .isEqualTo(map("realm", "", "service", ""));
        // lenient: an empty unquoted value after the first parameter
        assertThat(Challenge.parse("Bearer realm=\"r\",service=,scope=\"s\"").get(0).params())
                .isEqualTo(map("realm", "r", "service", "", "scope", "s"));
    }

    @Test
    void schemeWithoutParams() {
        assertThat(Challenge.parse("Negotiate")).containsExactly(new Challenge("negotiate", Map.of(), ""));
        assertThat(Challenge.parse("Basic , Bearer")).extracting(Challenge::scheme).containsExactly("basic", "bearer");
    }

    @Test
    void token68() {
        List<Challenge> cs = Challenge.parse("Negotiate a87421000492aa874209af8bc028==, Basic realm=\"x\"");
        assertThat(cs).hasSize(2);
        assertThat(cs.get(0).token68()).isEqualTo("a87421000492aa874209af8bc028==");
        assertThat(cs.get(0).params()).isEmpty();
        assertThat(cs.get(1).realm()).contains("x");
        assertThat(Challenge.parse("NTLM abc/+~._-").get(0).token68()).isEqualTo("abc/+~._-");
        assertThat(Challenge.parse("Bearer realm==").get(0).token68()).isEqualTo("realm==");
        assertThat(Challenge.parse("Bearer realm=").get(0).token68()).isEqualTo("realm=");
    }

    @Test
    void duplicateParameterDropsTheChallenge() {
        List<Challenge> cs = Challenge.parse("Bearer realm=\"a\", Realm=\"b\", service=\"s\", Basic realm=\"c\"");
        assertThat(cs).containsExactly(new Challenge("basic", map("realm", "c"), ""));
    }

    @Test
    void unterminatedQuoteDropsTheRest() {
        assertThat(Challenge.parse("Basic realm=\"x\", Bearer realm=\"https://a, Basic realm=\"y\""))
                .extracting(Challenge::scheme).containsExactly("basic");
        assertThat(Challenge.parse("Bearer realm=\"abc\\")).isEmpty();
    }

    @Test
    void controlCharactersInQuotedStringAreMalformed() {
        assertThat(Challenge.parse("Bearer realm=\"a\u0001b\", Basic realm=\"ok\"")).extracting(Challenge::scheme)
                .containsExactly("basic");
        assertThat(Challenge.parse("Basic realm=\"tab\there\"").get(0).realm()).contains("tab\there");
    }

    @Test
    void junkAfterValueDropsTheChallengeButKeepsFollowingOnes() {
        List<Challenge> cs = Challenge.parse("Bearer realm=\"a\"junk, service=\"s\", Basic realm=\"b\"");
        assertThat(cs).containsExactly(new Challenge("basic", map("realm", "b"), ""));
    }

    @Test
    void secondHeaderValueIsIndependentOfABrokenFirst() {
        List<Challenge> cs = Challenge.parse(List.of("Bearer realm=\"unterminated", "Basic realm=\"b\""));
        assertThat(cs).containsExactly(new Challenge("basic", map("realm", "b"), ""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", ",", ",,, ,", "=", "\"", "\"Bearer\"", "=realm", "realm=\"x\"", "(", "Bearer =x",
            "Bearer realm=\"x\" \"y\"", "Bearer realm=\"x\"y", "\u0000", "Bearer\u0000realm=x", "B\u00e4sic realm=x",
            "Bearer realm=\"x\"; service=y", "Bearer realm=x\"y\""})
    void garbageGivesNoChallengesAndNoException(String header) {
        assertThat(Challenge.parse(header)).isEmpty();
    }

    @Test
    void nullsAreEmpty() {
        assertThat(Challenge.parse((List<String>) null)).isEmpty();
        assertThat(Challenge.parse((String) null)).isEmpty();
        assertThat(Challenge.parse(Arrays.asList(null, "Basic realm=\"x\""))).hasSize(1);
        assertThat(Challenge.preferred(null)).isEmpty();
    }

    @Test
    void preferredTakesBearerOverBasic() {
        List<Challenge> cs = Challenge.parse("Basic realm=\"b\", Negotiate, Bearer realm=\"t\", Bearer realm=\"u\"");
        assertThat(Challenge.preferred(cs)).get().extracting(Challenge::realm).isEqualTo(java.util.Optional.of("t"));
        assertThat(Challenge.preferred(Challenge.parse("Negotiate, Basic realm=\"b\"")).get().scheme())
                .isEqualTo("basic");
        assertThat(Challenge.preferred(Challenge.parse("Negotiate abc"))).isEmpty();
        assertThat(Challenge.preferred(List.of())).isEmpty();
    }

    @Test
    void missingParamsAreEmptyOptionals() {
        Challenge c = Challenge.parse("Bearer").get(0);
        assertThat(c.realm()).isEmpty();
        assertThat(c.service()).isEmpty();
        assertThat(c.scope()).isEmpty();
    }

    @Test
    void toStringIsHeaderLikeAndPrintable() {
        Challenge c = Challenge.parse("Bearer realm=\"a\\\"b\",service=s").get(0);
        assertThat(c).hasToString("bearer realm=\"a\\\"b\",service=\"s\"");
        assertThat(Challenge.parse(c.toString())).containsExactly(c);
        assertThat(new Challenge("x", map("k", "a\nb"), "").toString()).doesNotContain("\n");
    }

    @Test
    void paramsAreUnmodifiable() {
        Challenge c = Challenge.parse("Bearer realm=\"r\"").get(0);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> c.params().put("x", "y"))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void largeInputIsParsedInLinearTime() {
        String many = "Bearer " + "a=b,".repeat(50_000) + "realm=\"r\"";
        long t0 = System.nanoTime();
        List<Challenge> cs = Challenge.parse(many);
        assertThat(System.nanoTime() - t0).isLessThan(5_000_000_000L);
        // 'a' repeated: duplicate parameter, dropped
        assertThat(cs).isEmpty();
        String broken = ("x=\"" + ",".repeat(1000) + "\" ").repeat(200);
        assertThat(Challenge.parse(broken)).isEmpty();
    }
}
