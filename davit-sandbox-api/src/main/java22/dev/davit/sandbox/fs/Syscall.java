package dev.davit.sandbox.fs;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * libc's {@code syscall(2)} through the FFM API (Java 22): the one downcall davit's own system calls go through
 * (each downcall handle costs a cold JVM milliseconds to make), with the machine's system call numbers.
 */
public final class Syscall {
    private static final StructLayout ERRNO = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_VALUE = ERRNO.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    /** long syscall(long nr, ...): every argument a long (the kernel reads whole registers). */
    private static final MethodHandle SYSCALL;
    /** Whether this is aarch64 (else x86_64): the two system call tables davit knows. */
    public static final boolean AARCH64;

    static {
        AARCH64 = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> false;
            case "aarch64" -> true;
            default -> throw new UnsupportedOperationException("no system call table for "
                    + System.getProperty("os.arch"));
        };
        Linker linker = Linker.nativeLinker();
        SYSCALL = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));
    }

    private Syscall() {
    }

    /** The number {@code x86} on x86_64, {@code arm} on aarch64. */
    public static long nr(long x86, long arm) {
        return AARCH64 ? arm : x86;
    }

    /**
     * One system call with five arguments (unused ones 0); throws naming {@code what} and errno on failure, after
     * retrying an interrupted one.
     */
    public static long call(Arena a, String what, long nr, long a1, long a2, long a3, long a4, long a5)
            throws ErrnoException {
        return call(a.allocate(ERRNO), what, nr, a1, a2, a3, a4, a5);
    }

    /** Room for one call's errno, from {@link #state}, reusable by one thread for any number of calls. */
    public static MemorySegment state(Arena a) {
        return a.allocate(ERRNO);
    }

    /**
     * {@link #call(Arena, String, long, long, long, long, long, long)} with errno captured in {@code st} (from
     * {@link #state}): a loop of calls (a relay's reads and writes) allocates nothing.
     */
    public static long call(MemorySegment st, String what, long nr, long a1, long a2, long a3, long a4, long a5)
            throws ErrnoException {
        for (;;) {
            long rc;
            try {
                rc = (long) SYSCALL.invokeExact(st, nr, a1, a2, a3, a4, a5);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            if (rc >= 0) {
                return rc;
            }
            int errno = (int) ERRNO_VALUE.get(st, 0L);
            if (errno != 4) { // EINTR
                throw new ErrnoException(what, errno);
            }
        }
    }

    /** A C string of {@code s} in {@code a} (its address), or 0 for null. */
    public static long str(Arena a, String s) {
        return s == null ? 0 : a.allocateFrom(s).address();
    }
}
