package dev.davit.oci.digest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * SHA-256 by libcrypto (FFM, Java 22+) must give exactly the JDK's digests, and the JDK's must be used whenever
 * libcrypto cannot be ({@code -Ddavit.hash=jdk}, native access not enabled, Java 21).
 */
class NativeHashesTest {

    @Test
    void libcryptoIsUsedOnJava22WithNativeAccess() {
        assumeTrue(Runtime.version().feature() >= 22, "FFM is final only from Java 22");
        // surefire runs davit-oci's tests with --enable-native-access=ALL-UNNAMED and the default davit.hash
        assertThat(NativeHashes.sha256Implementation()).isEqualTo("openssl");
        assertThat(Digest.Algorithm.SHA256.newMessageDigest().getClass().getSimpleName()).isEqualTo("OpenSslSha256");
        assertThat(Digest.Algorithm.SHA256.newMessageDigest(64 << 20).getClass().getSimpleName()).isEqualTo("OpenSslSha256");
    }

    @Test
    void smallContentIsHashedWithoutLibcryptoUnderAuto() {
        // the surefire run uses the default (auto): content known to be small needs no libcrypto set-up, and under
        // 64 KiB not even the JDK's provider framework
        assertThat(Digest.Algorithm.SHA256.newMessageDigest(NativeHashes.AUTO_MIN_BYTES - 1).getProvider().getName())
                .isEqualTo("SUN");
        assertThat(Digest.Algorithm.SHA256.newMessageDigest(NativeHashes.SMALL_MAX_BYTES).getProvider().getName())
                .isEqualTo("SUN");
        assertThat(Digest.Algorithm.SHA256.newMessageDigest(NativeHashes.SMALL_MAX_BYTES - 1))
                .isInstanceOf(SmallSha256.class);
        assertThat(Digest.Algorithm.SHA256.newMessageDigest(0)).isInstanceOf(SmallSha256.class);
        // unknown sizes are not small
        assertThat(Digest.Algorithm.SHA256.newMessageDigest(-1)).isNotInstanceOf(SmallSha256.class);
    }

    @Test
    void knownVectors() {
        assertThat(hex(sha256(""))).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assertThat(hex(sha256("abc"))).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
                .isEqualTo("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        MessageDigest md = Digest.Algorithm.SHA256.newMessageDigest();
        byte[] as = new byte[1000];
        java.util.Arrays.fill(as, (byte) 'a');
        for (int i = 0; i < 1000; i++) {
            md.update(as);
        }
        assertThat(hex(md.digest())).isEqualTo("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }

    @Test
    void sameDigestsAsTheJdkOnRandomInputsAndSplits() throws Exception {
        Random rnd = new Random(13);
        for (int round = 0; round < 60; round++) {
            // lengths around block (64), buffer and the 1 MiB chunk of a critical call
            int len = switch (round % 4) {
                case 0 -> rnd.nextInt(200);
                case 1 -> rnd.nextInt(1 << 17);
                case 2 -> (1 << 20) - 64 + rnd.nextInt(128);
                default -> rnd.nextInt(3 << 20);
            };
            byte[] data = new byte[len + 16];
            rnd.nextBytes(data);
            int off = rnd.nextInt(16);
            MessageDigest jdk = MessageDigest.getInstance("SHA-256", "SUN");
            jdk.update(data, off, len);
            byte[] expected = jdk.digest();

            MessageDigest ours = Digest.Algorithm.SHA256.newMessageDigest();
            int pos = off;
            int end = off + len;
            while (pos < end) {
                int n = Math.min(end - pos, rnd.nextInt(3) == 0 ? 1 : rnd.nextInt(70_000) + 1);
                if (n == 1) {
                    ours.update(data[pos]);
                } else {
                    ours.update(data, pos, n);
                }
                pos += n;
            }
            assertThat(ours.digest()).as("round %d, %d bytes", round, len).isEqualTo(expected);
            // a digest resets: the same object hashes the next input from scratch
            ours.update(data, off, len);
            assertThat(ours.digest()).isEqualTo(expected);
        }
    }

    @Test
    void cloneAndResetKeepTheirOwnState() throws Exception {
        MessageDigest md = Digest.Algorithm.SHA256.newMessageDigest();
        md.update("ab".getBytes(StandardCharsets.US_ASCII));
        MessageDigest copy = (MessageDigest) md.clone();
        md.update((byte) 'c');
        copy.update("cd".getBytes(StandardCharsets.US_ASCII));
        assertThat(hex(md.digest())).isEqualTo(hex(jdk("abc")));
        assertThat(hex(copy.digest())).isEqualTo(hex(jdk("abcd")));
        md.update((byte) 'x');
        md.reset();
        assertThat(hex(md.digest())).isEqualTo(hex(jdk("")));
        assertThat(md.getDigestLength()).isEqualTo(32);
    }

    @Test
    void jdkWhenAskedForOrWithoutNativeAccess() throws Exception {
        String vector = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assertThat(child("--enable-native-access=ALL-UNNAMED", "-Ddavit.hash=jdk")).containsExactly("jdk " + vector);
        // a program that does not enable native access gets the JDK's, quietly (no restricted-method warning)
        assertThat(child("-Ddavit.hash=auto")).containsExactly("jdk " + vector);
        // ... and so does the default (auto) without native access
        assertThat(child()).containsExactly("jdk " + vector);
        // the default is libcrypto's wherever it can be used: Java 22+ with native access
        String withAccess = Runtime.version().feature() >= 22 ? "openssl " : "jdk ";
        assertThat(child("--enable-native-access=ALL-UNNAMED")).containsExactly(withAccess + vector);
        assertThat(child("--enable-native-access=ALL-UNNAMED", "-Ddavit.hash=auto")).containsExactly(withAccess + vector);
        // asking for libcrypto where it cannot be used is an error naming the cause, not a silent fallback
        assertThat(child("-Ddavit.hash=openssl")).singleElement().asString()
                .startsWith("USAGE -Ddavit.hash=openssl, but libcrypto's SHA-256 cannot be used")
                .contains("--enable-native-access=ALL-UNNAMED");
        assertThat(child("-Ddavit.hash=fast")).containsExactly("USAGE -Ddavit.hash=fast is not known; use jdk, auto or openssl");
    }

    /** Runs {@link Probe} in a new JVM with {@code options}; returns its stdout and stderr lines. */
    private static List<String> child(String... options) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        List<String> probeArgs = new ArrayList<>();
        for (String o : options) {
            (o.startsWith("-") ? cmd : probeArgs).add(o);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        cmd.addAll(probeArgs);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out.lines().toList();
    }

    @Test
    void smallContentUsesTheJdkWhenAskedFor() throws Exception {
        assertThat(child("-Ddavit.hash=jdk", "small")).containsExactly("SUN");
        assertThat(child("small")).containsExactly("SmallSha256");
    }

    /**
     * Prints who hashes and the SHA-256 of "abc", or the error's kind and message; with {@code small}, the class or
     * provider of a hasher for 100 bytes.
     */
    public static final class Probe {
        public static void main(String[] args) {
            try {
                if (args.length > 0) {
                    MessageDigest md = Digest.Algorithm.SHA256.newMessageDigest(100);
                    System.out.println(md.getProvider() != null ? md.getProvider().getName() : md.getClass().getSimpleName());
                    return;
                }
                String h = hex(Digest.Algorithm.SHA256.newMessageDigest().digest("abc".getBytes(StandardCharsets.US_ASCII)));
                System.out.println(NativeHashes.sha256Implementation() + " " + h);
            } catch (dev.davit.oci.DavitException e) {
                System.out.println(e.kind() + " " + e.getMessage());
            }
        }
    }

    private static byte[] sha256(String s) {
        return Digest.Algorithm.SHA256.newMessageDigest().digest(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] jdk(String s) throws Exception {
        return MessageDigest.getInstance("SHA-256", "SUN").digest(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
