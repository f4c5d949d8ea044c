package dev.davit.sandbox.jail;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.SandboxOptions;
import java.io.IOException;
import java.nio.file.Path;

/**
 * davit's static programs in the jar: davit-exec (src/main/c, when it was built with gcc) and davit-agent
 * (src/main/rust, when it was built with cargo). Each is found in the jar once (its name from the jar's index: CRC-32
 * and size), its bytes checked against that name, and installed once per home and build beside the sandboxes' state
 * ({@link Jail#execHelper}, {@link Jail#agentProgram}). The command lines of davit-exec's modes are {@link Jail}'s.
 */
final class ExecHelper {
    /** davit-exec's resource name, without its architecture. */
    static final String EXEC = "davit-exec";
    /** davit-agent's resource name, without its architecture. */
    static final String AGENT = "davit-agent";
    /** Each program's ({name, bytes}), FALSE when the jar has none; absent until read. */
    private static final java.util.concurrent.ConcurrentHashMap<String, Object> PROGRAMS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private ExecHelper() {
    }

    /** {@link Jail#execHelper}: the installed helper's path, installed first when needed; null without one. */
    static Path installed(SandboxOptions options) {
        if (Boolean.getBoolean("davit.jail.noExecHelper")) { // the bubblewrap way (tests, or a suspected helper)
            return null;
        }
        return installed(options, EXEC);
    }

    /** The installed program {@code program} (EXEC or AGENT), installed first when needed; null without one. */
    static Path installed(SandboxOptions options, String program) {
        Object h = PROGRAMS.computeIfAbsent(program, ExecHelper::readHelper);
        if (!(h instanceof Object[] named)) {
            return null;
        }
        Path state = options.stateDir().toAbsolutePath();
        Path dir = (state.getParent() == null ? state : state.getParent()).resolve("cache").resolve("jail");
        Path f = dir.resolve((String) named[0]);
        try {
            // complete, executable and closed everywhere before it has its name: another thread or davit that
            // finds the name runs it at once (see Executables)
            return dev.davit.sandbox.jail.Executables.installOnce(f, named[1] != null ? () -> (byte[]) named[1]
                    : () -> helperBytes((String) named[0]), 0755);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write davit's program " + f + ": " + e.getMessage());
        }
    }

    /**
     * {name, bytes} of the jar's helper for this machine, or FALSE; bytes is a supplier when the name came from the
     * jar's index (its entry's CRC-32 and size, the same name as its bytes give) and nothing was inflated yet.
     */
    private static Object readHelper(String program) {
        String name = program + "-" + System.getProperty("os.arch");
        java.net.URL url = Jail.class.getResource(name);
        if (url == null) {
            return Boolean.FALSE;
        }
        try {
            if (url.openConnection() instanceof java.net.JarURLConnection jar) {
                jar.setUseCaches(true); // the class loader's own open jar, not another read of its index
                java.util.zip.ZipEntry e = jar.getJarEntry();
                if (e != null && e.getCrc() >= 0 && e.getSize() >= 0) {
                    // the bytes are read only when the file is not there yet (once per home and build)
                    return new Object[] {name + "-" + Long.toHexString(e.getCrc()) + "-" + e.getSize(), null};
                }
            }
            byte[] bytes;
            try (java.io.InputStream in = url.openStream()) {
                bytes = in.readAllBytes();
            }
            return new Object[] {installName(name, bytes), bytes};
        } catch (IOException e) {
            return Boolean.FALSE;
        }
    }

    /** The installed helper's name: the resource's, its bytes' CRC-32 and their length. */
    private static String installName(String resource, byte[] bytes) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(bytes);
        return resource + "-" + Long.toHexString(crc.getValue()) + "-" + bytes.length;
    }

    /** The helper's bytes (from the jar), checked against the CRC-32 and size in its name. */
    private static byte[] helperBytes(String name) throws IOException {
        String resource = name.substring(0, name.lastIndexOf('-', name.lastIndexOf('-') - 1));
        byte[] bytes = resourceBytes(resource);
        if (bytes == null) {
            throw new IOException("the jar has no " + resource);
        }
        if (!name.equals(installName(resource, bytes))) {
            throw new IOException("the jar's " + resource + " is not the one its index names");
        }
        return bytes;
    }

    /** The bytes of the jar's {@code resource} (a program's name and architecture), or null when it has none. */
    static byte[] resourceBytes(String resource) throws IOException {
        try (java.io.InputStream in = Jail.class.getResourceAsStream(resource)) {
            return in == null ? null : in.readAllBytes();
        }
    }
}
