package dev.davit.oci.digest;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.security.MessageDigest;
import java.util.function.Supplier;

/**
 * SHA-256 by the platform's libcrypto (OpenSSL's {@code SHA256_Init/Update/Final}), called through the FFM API.
 * OpenSSL picks its SHA-NI or AVX code at load time, so hashing runs at full speed from the first byte; the JDK's
 * own SHA-256 reaches its intrinsic only once C2 has compiled it, and a short pull hashes interpreted or in C1.
 *
 * <p>Compiled at {@code --release 22} (FFM is final there) and loaded by {@link NativeHashes} only on Java 22 or
 * later, so Java 21 never sees this class. The hash state ({@code SHA256_CTX}, 112 bytes) lives in a Java
 * {@code long[]}: the calls are "critical" downcalls allowed to read and write the Java heap, which is why a
 * call hashes at most {@link #CHUNK} bytes (a critical call holds off the garbage collector). Nothing native is
 * allocated, so there is nothing to free.
 */
final class OpenSslSha256 extends MessageDigest implements Cloneable {
    private static final int CTX_LONGS = 14;   // sizeof(SHA256_CTX) = 112, 8-byte aligned in a long[]
    private static final int CHUNK = 1 << 20;
    private static final MethodHandle INIT;
    private static final MethodHandle UPDATE;
    private static final MethodHandle FINAL;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib = load();
        Linker.Option heap = Linker.Option.critical(true);
        INIT = linker.downcallHandle(find(lib, "SHA256_Init"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS), heap);
        UPDATE = linker.downcallHandle(find(lib, "SHA256_Update"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG), heap);
        FINAL = linker.downcallHandle(find(lib, "SHA256_Final"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS), heap);
    }

    private long[] ctx = new long[CTX_LONGS];

    private OpenSslSha256() {
        super("SHA-256");
        engineReset();
    }

    /**
     * A factory of OpenSSL-backed SHA-256 digests, after checking that the library is there and hashes a known
     * vector right; throws (any exception or error) when it cannot be used.
     */
    static Supplier<MessageDigest> factory() {
        OpenSslSha256 probe = new OpenSslSha256();
        byte[] abc = probe.digest("abc".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        if (!java.util.HexFormat.of().formatHex(abc)
                .equals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")) {
            throw new IllegalStateException("libcrypto's SHA256 gave a wrong digest of \"abc\"");
        }
        return OpenSslSha256::new;
    }

    private static SymbolLookup load() {
        IllegalArgumentException last = null;
        for (String name : new String[] {"libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so"}) {
            try {
                // the global arena: the library stays loaded for the JVM's lifetime, as the handles need it
                return SymbolLookup.libraryLookup(name, java.lang.foreign.Arena.global());
            } catch (IllegalArgumentException e) {
                last = e;
            }
        }
        throw new IllegalStateException("no libcrypto found", last);
    }

    private static MemorySegment find(SymbolLookup lib, String symbol) {
        return lib.find(symbol).orElseThrow(() -> new IllegalStateException("libcrypto lacks " + symbol));
    }

    @Override
    protected void engineUpdate(byte input) {
        engineUpdate(new byte[] {input}, 0, 1);
    }

    @Override
    protected void engineUpdate(byte[] input, int offset, int len) {
        java.util.Objects.checkFromIndexSize(offset, len, input.length);
        MemorySegment c = MemorySegment.ofArray(ctx);
        MemorySegment data = MemorySegment.ofArray(input);
        while (len > 0) {
            int n = Math.min(len, CHUNK);
            try {
                check((int) UPDATE.invokeExact(c, data.asSlice(offset, n), (long) n), "SHA256_Update");
            } catch (Throwable t) {
                throw rethrow(t);
            }
            offset += n;
            len -= n;
        }
    }

    @Override
    protected byte[] engineDigest() {
        byte[] out = new byte[32];
        try {
            check((int) FINAL.invokeExact(MemorySegment.ofArray(out), MemorySegment.ofArray(ctx)), "SHA256_Final");
        } catch (Throwable t) {
            throw rethrow(t);
        }
        engineReset();
        return out;
    }

    @Override
    protected int engineGetDigestLength() {
        return 32;
    }

    @Override
    protected void engineReset() {
        try {
            check((int) INIT.invokeExact(MemorySegment.ofArray(ctx)), "SHA256_Init");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public Object clone() throws CloneNotSupportedException {
        OpenSslSha256 copy = (OpenSslSha256) super.clone();
        copy.ctx = ctx.clone();
        return copy;
    }

    private static void check(int ok, String call) {
        if (ok != 1) {
            throw new IllegalStateException(call + " failed");
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
