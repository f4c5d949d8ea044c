package dev.davit.oci.digest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** davit's own SHA-256 for small content gives exactly the JDK's digests, however the input is fed to it. */
class SmallSha256Test {

    @Test
    void standardVectors() {
        assertThat(hex("")).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assertThat(hex("abc")).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
                .isEqualTo("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        assertThat(hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                + "mnopqrstnopqrstu")).isEqualTo("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
        SmallSha256 md = new SmallSha256();
        for (int i = 0; i < 1_000_000; i++) {
            md.update((byte) 'a');
        }
        assertThat(HexFormat.of().formatHex(md.digest()))
                .isEqualTo("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }

    @Test
    void everyLengthAroundTheBlockAndPaddingEdges() throws Exception {
        Random rnd = new Random(7);
        for (int len = 0; len <= 300; len++) {
            byte[] data = new byte[len];
            rnd.nextBytes(data);
            assertThat(new SmallSha256().digest(data)).as("%d bytes", len).isEqualTo(jdk(data, 0, len));
        }
    }

    @Test
    void randomInputsFedInRandomPieces() throws Exception {
        Random rnd = new Random(11);
        SmallSha256 ours = new SmallSha256();   // reused: every digest() starts the next from scratch
        for (int round = 0; round < 400; round++) {
            int len = round % 2 == 0 ? rnd.nextInt(600) : rnd.nextInt(70_000);
            byte[] data = new byte[len + 16];
            rnd.nextBytes(data);
            int off = rnd.nextInt(16);
            int pos = off;
            while (pos < off + len) {
                int n = Math.min(off + len - pos, rnd.nextInt(4) == 0 ? 1 : rnd.nextInt(200) + 1);
                if (n == 1 && rnd.nextBoolean()) {
                    ours.update(data[pos]);
                } else {
                    ours.update(data, pos, n);
                }
                pos += n;
            }
            assertThat(ours.digest()).as("round %d, %d bytes", round, len).isEqualTo(jdk(data, off, len));
        }
    }

    @Test
    void cloneAndResetKeepTheirOwnState() throws Exception {
        MessageDigest md = new SmallSha256();
        md.update(bytes("a".repeat(70)));
        MessageDigest copy = (MessageDigest) md.clone();
        md.update((byte) 'c');
        copy.update(bytes("cd"));
        assertThat(md.digest()).isEqualTo(jdk(bytes("a".repeat(70) + "c")));
        assertThat(copy.digest()).isEqualTo(jdk(bytes("a".repeat(70) + "cd")));
        md.update((byte) 'x');
        md.reset();
        assertThat(md.digest()).isEqualTo(jdk(bytes("")));
        assertThat(md.getDigestLength()).isEqualTo(32);
        assertThat(md.getAlgorithm()).isEqualTo("SHA-256");
    }

    private static String hex(String s) {
        return HexFormat.of().formatHex(new SmallSha256().digest(bytes(s)));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] jdk(byte[] b) throws Exception {
        return jdk(b, 0, b.length);
    }

    private static byte[] jdk(byte[] b, int off, int len) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256", "SUN");
        md.update(b, off, len);
        return md.digest();
    }
}
