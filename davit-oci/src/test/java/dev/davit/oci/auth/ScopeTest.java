package dev.davit.oci.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ScopeTest {

    @Test
    void factories() {
        assertThat(Scope.pull("library/alpine")).hasToString("repository:library/alpine:pull");
        assertThat(Scope.pullPush("team/app")).hasToString("repository:team/app:pull,push");
        assertThat(Scope.repository("a", "push", "pull", "push")).hasToString("repository:a:pull,push");
    }

    @Test
    void parse() {
        Scope s = Scope.parse("repository:team/app:push,pull");
        assertThat(s.type()).isEqualTo("repository");
        assertThat(s.name()).isEqualTo("team/app");
        assertThat(s.actions()).containsExactly("pull", "push");
        assertThat(Scope.parse("registry:catalog:*").actions()).containsExactly("*");
        assertThat(Scope.parse("repository:localhost:5000/a:pull").name()).isEqualTo("localhost:5000/a");
        assertThat(Scope.parse("repository(plugin):a/b:pull").type()).isEqualTo("repository(plugin)");
    }

    @Test
    void parseAll() {
        assertThat(Scope.parseAll(" repository:a:pull  repository:b:pull,push ")).containsExactly(
                Scope.pull("a"), Scope.pullPush("b"));
        assertThat(Scope.parseAll("")).isEmpty();
        assertThat(Scope.parseAll(null)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "repository", "repository:a", "repository:a:", "repository::pull", ":a:pull",
            "Repository:a:pull", "repository:a:Pull", "repository:a:pull,", "repository:a b:pull", "repo\u0000:a:pull",
            "repository:a:pull,,push"})
    void malformed(String text) {
        assertThatThrownBy(() -> Scope.parse(text)).isInstanceOf(DavitException.class)
                .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.AUTH));
    }

    @Test
    void mergeUnionsActionsPerResourceAndSorts() {
        List<Scope> merged = Scope.merge(List.of(Scope.pull("b"), Scope.repository("a", "push"), Scope.pull("a"),
                Scope.parse("registry:catalog:*")));
        assertThat(merged).extracting(Scope::toString).containsExactly("registry:catalog:*",
                "repository:a:pull,push", "repository:b:pull");
        assertThat(Scope.format(List.of(Scope.pull("b"), Scope.pullPush("a"), Scope.pull("a"))))
                .isEqualTo("repository:a:pull,push repository:b:pull");
        assertThat(Scope.format(List.of())).isEmpty();
    }

    @Test
    void covers() {
        assertThat(Scope.pullPush("a").covers(Scope.pull("a"))).isTrue();
        assertThat(Scope.pull("a").covers(Scope.pullPush("a"))).isFalse();
        assertThat(Scope.pull("a").covers(Scope.pull("b"))).isFalse();
        assertThat(Scope.repository("a", "*").covers(Scope.pullPush("a"))).isTrue();
    }

    @Test
    void withActionsAndImmutability() {
        Scope s = Scope.pull("a").withActions(Set.of("push"));
        assertThat(s).isEqualTo(Scope.pullPush("a"));
        assertThatThrownBy(() -> s.actions().add("delete")).isInstanceOf(UnsupportedOperationException.class);
    }
}
