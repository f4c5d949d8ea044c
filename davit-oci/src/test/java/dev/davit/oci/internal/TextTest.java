package dev.davit.oci.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TextTest {

    @Test
    void keepsOrdinaryText() {
        assertThat(Text.printable("alpine:3.20 caf\u00e9 \u4e2d \ud83d\udc33")).isEqualTo("alpine:3.20 caf\u00e9 \u4e2d \ud83d\udc33");
        assertThat(Text.printable(null)).isEmpty();
    }

    @Test
    void replacesControlCharacters() {
        assertThat(Text.printable("a\nb\rc\td\u0000e\u001bf\u007fg\u0085h\u009fi")).isEqualTo("a?b?c?d?e?f?g?h?i");
    }

    @Test
    void replacesLineSeparatorsAndInvisibleFormatting() {
        // U+2028/2029 break lines; bidi overrides, zero-width characters and BOMs hide or reorder text
        assertThat(Text.printable("a\u2028b\u2029c\u202ed\u2066e\u200bf\ufeffg\u00adh")).isEqualTo("a?b?c?d?e?f?g?h");
        assertThat(Text.printable("tag\udb40\udc01")).isEqualTo("tag?"); // U+E0001 LANGUAGE TAG, a format character
    }

    @Test
    void replacesUnpairedSurrogates() {
        assertThat(Text.printable("a\ud800b")).isEqualTo("a?b");
        assertThat(Text.printable("a\udc00")).isEqualTo("a?");
        assertThat(Text.printable("\udc00\ud800")).isEqualTo("??");
    }

    @Test
    void escapedKeepsEveryCharacterReadable() {
        assertThat(Text.escaped("plain caf\u00e9 \ud83d\udc33", false)).isEqualTo("plain caf\u00e9 \ud83d\udc33");
        assertThat(Text.escaped("a\nb\rc\td\u001b[31me\u007ff\\g", false))
                .isEqualTo("a\\nb\\rc\\td\\033[31me\\177f\\\\g");
        // C1 controls, bidi overrides and line separators as the octal of their UTF-8 bytes
        assertThat(Text.escaped("\u009b2J\u202e\u2028", false)).isEqualTo("\\302\\2332J\\342\\200\\256\\342\\200\\250");
        // text of several lines: line ends, tabs and backslashes stay
        assertThat(Text.escaped("+a\tb\\\n+\u001b]0;t\u0007\r\n", true)).isEqualTo("+a\tb\\\n+\\033]0;t\\007\\r\n");
        assertThat(Text.escaped(null, true)).isEmpty();
    }

    @Test
    void shortenCutsAndMarks() {
        assertThat(Text.shorten("abcdef", 6)).isEqualTo("abcdef");
        assertThat(Text.shorten("abcdefg", 6)).isEqualTo("abcdef...");
        assertThat(Text.shorten("a\nb", 6)).isEqualTo("a?b");
        assertThat(Text.shorten(null, 6)).isEmpty();
    }

    @Test
    void shortenNeverSplitsASurrogatePair() {
        String whale = "\ud83d\udc33";
        assertThat(Text.shorten("abcde" + whale + "x", 6)).isEqualTo("abcde...");
        assertThat(Text.shorten("abcd" + whale + "x", 6)).isEqualTo("abcd" + whale + "...");
    }
}
