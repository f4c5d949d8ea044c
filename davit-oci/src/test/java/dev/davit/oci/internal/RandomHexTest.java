package dev.davit.oci.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RandomHexTest {

    @Test
    void hexDigitsOfTheAskedLengthAndNoRepeats() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            String id = RandomHex.of(6);
            assertThat(id).matches("[0-9a-f]{12}");
            assertThat(seen.add(id)).as("repeated id %s", id).isTrue();
        }
        assertThat(RandomHex.of(0)).isEmpty();
        assertThat(RandomHex.bytes(32)).hasSize(32).isNotEqualTo(new byte[32]);
    }

    @Test
    void everyByteValueTurnsUp() {
        // 64 KiB of random bytes hold each of the 256 values (a stuck or truncated source would not)
        boolean[] seen = new boolean[256];
        for (byte b : RandomHex.bytes(1 << 16)) {
            seen[b & 0xff] = true;
        }
        for (int v = 0; v < 256; v++) {
            assertThat(seen[v]).as("byte value %d", v).isTrue();
        }
    }
}
