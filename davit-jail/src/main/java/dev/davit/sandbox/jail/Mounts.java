package dev.davit.sandbox.jail;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The mount and key-ring system calls the jail makes in davit's own process, on the thread that then starts the
 * sandbox (see {@link Jail}). The implementation ({@code LinuxMounts}) calls the kernel through the FFM API, final
 * in Java 22: it is compiled at release 22 and only loaded there.
 */
interface Mounts {
    /** unshare(CLONE_NEWNS) for the calling thread, then every mount private (nothing propagates to the host). */
    void unshareMountNamespace() throws IOException;

    void tmpfs(Path target, String options) throws IOException;

    /** A bind mount of {@code source} on {@code target} (recursive), read-only when asked. */
    void bind(Path source, Path target, boolean readOnly) throws IOException;

    /**
     * A read-only bind mount of {@code source} on {@code target} whose owners are mapped through the user
     * namespace {@code userns} (an idmapped mount): an owner {@code n} on disk appears as the host id that
     * {@code n} maps to there.
     */
    void idmappedBind(Path source, Path target, Path userns) throws IOException;

    void overlay(Path lower, Path upper, Path work, Path target) throws IOException;

    /** A new, empty session key ring for the calling thread (and what it starts). */
    void joinSessionKeyring() throws IOException;

    /** The implementation, or an exception that says why there is none. */
    static Mounts load() throws Exception {
        if (Runtime.version().feature() < 22) {
            throw new UnsupportedOperationException("Java " + Runtime.version().feature() + " has no final FFM API");
        }
        // without --enable-native-access (davit.jar's manifest grants it) Java 22 to 25 warn once, and still call
        return (Mounts) Class.forName("dev.davit.sandbox.jail.LinuxMounts").getDeclaredConstructor().newInstance();
    }
}
