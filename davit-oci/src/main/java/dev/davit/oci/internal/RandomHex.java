package dev.davit.oci.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Random names (sandbox, run and workspace ids, staging paths) from the kernel's random source, read directly from
 * {@code /dev/urandom}: a {@link java.security.SecureRandom} reads the same source, but its first use in a JVM
 * builds the security provider framework (~4 ms of every one-shot {@code run}, docs/reference/benchmarks/CLI-ISSUE13.md, issue 13
 * part 9). Where that device cannot be read, a {@code SecureRandom} is used.
 */
public final class RandomHex {
    private static final Path URANDOM = Path.of("/dev/urandom");

    private RandomHex() {
    }

    /** {@code bytes} random bytes as lower-case hex ({@code 2 * bytes} digits). */
    public static String of(int bytes) {
        return HexFormat.of().formatHex(bytes(bytes));
    }

    /** {@code n} random bytes. */
    public static byte[] bytes(int n) {
        try (InputStream in = Files.newInputStream(URANDOM)) {
            byte[] b = in.readNBytes(n);
            if (b.length == n) {
                return b;
            }
        } catch (IOException | UnsupportedOperationException e) {
            // no /dev/urandom (not Linux, or a restricted sandbox): below
        }
        byte[] b = new byte[n];
        Fallback.RANDOM.nextBytes(b);
        return b;
    }

    private static final class Fallback {
        static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();
    }
}
