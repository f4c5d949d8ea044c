package dev.davit.oci.digest;

import dev.davit.oci.DavitException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.security.MessageDigest;
import java.util.function.Supplier;

/**
 * Chooses who computes SHA-256: the platform's libcrypto through the FFM API ({@code OpenSslSha256}) where it can
 * be used, else the JDK's {@link MessageDigest}. Both give the same digests; libcrypto hashes at full speed from
 * the first byte, while the JDK's reaches its SHA-NI intrinsic only once C2 has compiled it, so a fresh JVM (every
 * {@code davit pull}) hashes its first hundred megabytes interpreted or in C1. Measured with the AOT cache in use,
 * libcrypto took ~0.1 s of CPU off a cold pull of 120 MiB (docs/reference/benchmarks/CLI-ISSUE13.md, "Cold pull ... part 4"); content
 * known to be small (under {@link #AUTO_MIN_BYTES}) is still hashed by the JDK, which needs no set-up.
 *
 * <p>The system property {@code davit.hash} picks: {@code auto} (the default) uses libcrypto when it can (Java 22
 * or later, native access enabled, libcrypto present and right on a known vector) and the JDK quietly otherwise;
 * {@code jdk} always uses the JDK; {@code openssl} requires libcrypto and fails at the first hash, naming why, when
 * it cannot be used. On Java 21, and in programs that do not enable native access
 * ({@code --enable-native-access=ALL-UNNAMED}, or {@code Enable-Native-Access} in an executable jar's manifest),
 * the FFM class is not even loaded.
 */
final class NativeHashes {
    /** The system property that picks the SHA-256 implementation: {@code auto} (default), {@code jdk} or {@code openssl}. */
    static final String PROPERTY = "davit.hash";

    private NativeHashes() {
    }

    /**
     * Under {@code auto}, content known to be smaller than this is hashed by the JDK: setting up libcrypto's
     * downcalls costs a fresh JVM more than hashing a manifest or a config, and commands that hash only those
     * (a warm pull, {@code run}) were measured slower with it (docs/reference/benchmarks/CLI-ISSUE13.md, "Cold pull ... part 4").
     */
    static final long AUTO_MIN_BYTES = 4 << 20;

    /**
     * Content known to be smaller than this (manifests, configs) is hashed by {@link SmallSha256} under {@code auto}
     * and {@code openssl}: the JDK's SHA-256 comes through the security provider framework, whose first use costs a fresh
     * JVM ~4-6 ms, and content this small is hashed interpreted or in C1 by either.
     */
    static final long SMALL_MAX_BYTES = 64 << 10;

    /**
     * A new SHA-256 digest for about {@code expectedBytes} of content (negative: not known): {@link SmallSha256} for
     * small content, else the chosen implementation, or null for the JDK's.
     */
    static MessageDigest sha256(long expectedBytes) {
        String mode = System.getProperty(PROPERTY, "auto");
        if (expectedBytes >= 0 && expectedBytes < SMALL_MAX_BYTES && (mode.equals("auto") || mode.equals("openssl"))) {
            return new SmallSha256();
        }
        if (expectedBytes >= 0 && expectedBytes < AUTO_MIN_BYTES && mode.equals("auto")) {
            return null;
        }
        Choice c = Holder.SHA256;
        if (c.error() != null) {
            throw new DavitException(DavitException.Kind.USAGE, c.error());
        }
        return c.factory() != null ? c.factory().get() : null;
    }

    /** {@code openssl} or {@code jdk}: who computes SHA-256 in this JVM. */
    static String sha256Implementation() {
        return Holder.SHA256.factory() != null ? "openssl" : "jdk";
    }

    /** The factory chosen (null: the JDK's), or why the requested one cannot be used. */
    private record Choice(Supplier<MessageDigest> factory, String error) {
    }

    private static final class Holder {
        static final Choice SHA256 = choose();
    }

    private static Choice choose() {
        String mode = System.getProperty(PROPERTY, "auto");
        switch (mode) {
            case "jdk":
                return new Choice(null, null);
            case "auto":
                try {
                    return new Choice(openssl(), null);
                } catch (Throwable t) {
                    return new Choice(null, null);
                }
            case "openssl":
                try {
                    return new Choice(openssl(), null);
                } catch (Throwable t) {
                    Throwable cause = t instanceof InvocationTargetException ite && ite.getCause() != null
                            ? ite.getCause() : t;
                    return new Choice(null, "-D" + PROPERTY + "=openssl, but libcrypto's SHA-256 cannot be used ("
                            + cause.getMessage() + "); it needs Java 22 or later, native access enabled"
                            + " (--enable-native-access=ALL-UNNAMED) and libcrypto; use -D" + PROPERTY + "=jdk");
                }
            default:
                return new Choice(null, "-D" + PROPERTY + "=" + mode + " is not known; use jdk, auto or openssl");
        }
    }

    @SuppressWarnings("unchecked")
    private static Supplier<MessageDigest> openssl() throws ReflectiveOperationException {
        if (Runtime.version().feature() < 22) {
            throw new UnsupportedOperationException("Java " + Runtime.version().feature() + " has no final FFM API");
        }
        // Module.isNativeAccessEnabled() is Java 22 API: called reflectively, this class is built for Java 21
        Method enabled = Module.class.getMethod("isNativeAccessEnabled");
        if (!(Boolean) enabled.invoke(NativeHashes.class.getModule())) {
            throw new UnsupportedOperationException("native access is not enabled for " + NativeHashes.class.getModule());
        }
        Class<?> impl = Class.forName("dev.davit.oci.digest.OpenSslSha256");
        Method factory = impl.getDeclaredMethod("factory");
        return (Supplier<MessageDigest>) factory.invoke(null);
    }
}
