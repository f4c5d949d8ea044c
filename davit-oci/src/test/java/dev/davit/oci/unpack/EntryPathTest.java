package dev.davit.oci.unpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class EntryPathTest {
    @ParameterizedTest
    @CsvSource({
        "a/b/c, a/b/c, false",
        "./a/b/, a/b, false",
        "/etc/passwd, etc/passwd, true",
        "//x//y, x/y, true",
        "a/./b, a/b, false",
        "...,...,false",
        "..a/b.., ..a/b.., false",
    })
    void normalises(String name, String rel, boolean absolute) throws Refused {
        EntryPath p = EntryPath.parse(name);
        assertThat(p.rel()).isEqualTo(rel);
        assertThat(p.absolute()).isEqualTo(absolute);
    }

    @ParameterizedTest
    @ValueSource(strings = {".", "./", "/", "//", "./."})
    void theRootIsEmpty(String name) throws Refused {
        assertThat(EntryPath.parse(name).isRoot()).isTrue();
        assertThat(EntryPath.parse(name).toString()).isEqualTo(".");
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../x", "a/..", "a/../b", "/../etc", "a/b/../../.."})
    void dotDotIsRefused(String name) {
        assertThatThrownBy(() -> EntryPath.parse(name)).isInstanceOf(Refused.class).hasMessageContaining("'..'");
    }

    @Test
    void emptyAndNulAreRefused() {
        assertThatThrownBy(() -> EntryPath.parse("")).isInstanceOf(Refused.class);
        assertThatThrownBy(() -> EntryPath.parse("a\0b")).isInstanceOf(Refused.class).hasMessageContaining("NUL");
    }

    @Test
    void parentsAndChildren() throws Refused {
        EntryPath p = EntryPath.parse("a/b/c");
        assertThat(p.name()).isEqualTo("c");
        assertThat(p.parent().components()).isEqualTo(List.of("a", "b"));
        assertThat(p.parent().parent().parent().isRoot()).isTrue();
        assertThat(p.parent().child("d").rel()).isEqualTo("a/b/d");
    }
}
