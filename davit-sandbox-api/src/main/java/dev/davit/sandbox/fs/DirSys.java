package dev.davit.sandbox.fs;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Which system calls every {@link Dir} makes ({@link Sys}), chosen at the first {@link Dir#open}: the FFM API's
 * (Java 22+), else davit-exec's through a broker ({@link BrokerSys}, the Java 21 way), else none (and why not);
 * and their swap for a broker in tests ({@link Dir#throughHelper}). Guarded by the lock of {@code Dir.class}, which
 * {@link Dir}'s synchronized static methods hold.
 */
final class DirSys {
    /** The calls, once made: null until the first {@link Dir#open} (nothing of the FFM API is loaded before). */
    private static volatile Sys SYS;
    private static volatile String missing = "not looked at yet";
    private static volatile java.util.function.Supplier<Path> helper;

    private DirSys() {
    }

    /** {@link Dir#fallBackTo}: {@code helper} makes the calls where this JVM cannot. */
    static void fallBackTo(java.util.function.Supplier<Path> helper) {
        if (DirSys.helper == null) {
            DirSys.helper = helper;
        }
    }

    /** The calls: the FFM API's (Java 22+), else davit-exec's, else null ({@link #missing} says why). */
    static Sys sys() {
        Sys s = SYS;
        if (s != null) {
            return s;
        }
        synchronized (Dir.class) {
            if (SYS != null) {
                return SYS;
            }
            String why;
            try {
                if (Boolean.getBoolean("davit.fs.broker")) { // the Java 21 way, on any Java (tests)
                    throw new UnsupportedOperationException("davit.fs.broker is set");
                }
                SYS = Sys.load();
                return SYS;
            } catch (Exception | LinkageError e) {
                why = e.getMessage();
            }
            java.util.function.Supplier<Path> h = helper;
            Path exec = h == null ? null : h.get();
            if (exec == null) {
                why += "; and this build of davit has no davit-exec (built without gcc)";
            } else {
                try {
                    SYS = new BrokerSys(exec);
                    return SYS;
                } catch (IOException e) {
                    why += "; and davit-exec files did not start: " + e.getMessage();
                }
            }
            missing = why;
            return null;
        }
    }

    /** The calls as they are now (null before {@link #sys} chose them). */
    static Sys current() {
        return SYS;
    }

    /** Why there are no calls (see {@link #sys}). */
    static String missing() {
        return missing;
    }

    /** Makes the calls through {@code broker} until the returned handle is closed, which also stops it. */
    static AutoCloseable through(BrokerSys broker) {
        Sys before = SYS;
        SYS = broker;
        return () -> {
            synchronized (Dir.class) {
                SYS = before;
            }
            broker.stop();
        };
    }
}
