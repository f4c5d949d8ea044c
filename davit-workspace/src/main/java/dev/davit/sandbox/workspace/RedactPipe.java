package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.internal.Spawned;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps a detached process's log redacted at rest: in a workspace with secrets, the output of a service or a shell
 * passes through this program on its way to {@link Spawned#OUTPUT} ({@link Spawned#OUTPUT_FILTER}), a JVM of its
 * own on the host beside the holder that outlives davit, which reads the values from the workspace's
 * {@code secrets/values.json} (never from its command line or environment) and writes what it reads through the
 * workspace's {@link Redactor#stream}: a value never reaches the disk, also when split over two writes. It ignores
 * the signals a stop sends (as the holder's capper does) and ends at its input's end, after the bytes held back.
 */
final class RedactPipe {
    private RedactPipe() {
    }

    /**
     * Makes the output of the process to be spawned in {@code spawnDir} pass through this program when {@code r}
     * has values (else removes a filter left there): writes {@link Spawned#OUTPUT_FILTER} (0700) starting this
     * class in the JVM and with the class or module path that runs davit now. {@code workspaceDir}: the workspace's
     * state, which holds the values.
     */
    static void install(Path spawnDir, Path workspaceDir, Redactor r) {
        Path f = spawnDir.resolve(Spawned.OUTPUT_FILTER);
        try {
            Files.deleteIfExists(spawnDir.resolve(Spawned.OUTPUT_FILTER_UP));
            if (r.isEmpty()) {
                Files.deleteIfExists(f);
                return;
            }
            Files.createDirectories(spawnDir);
            StringBuilder sh = new StringBuilder("exec");
            for (String a : command(workspaceDir, spawnDir.resolve(Spawned.OUTPUT_FILTER_UP))) {
                sh.append(' ').append(quote(a));
            }
            Fs.writeAtomically(f, (sh + "\n").getBytes(StandardCharsets.UTF_8), spawnDir);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + f + ": " + e.getMessage());
        }
    }

    /**
     * The command that runs {@link #main} over the values of {@code workspaceDir}, in a small JVM; it creates
     * {@code up} when it is ready to read. It starts with an empty environment but a fixed PATH and locale
     * ({@code env -i}): the holder's may be the sandbox's own (a rootless exec without davit-exec), and a
     * {@code JAVA_TOOL_OPTIONS} or {@code JDK_JAVA_OPTIONS} there would run the sandbox's choice of agent on the host.
     */
    static List<String> command(Path workspaceDir, Path up) {
        List<String> cmd = new ArrayList<>(List.of(ENV, "-i", "PATH=/usr/bin:/bin", "LANG=C.UTF-8", java()));
        cmd.addAll(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx32m", "-Xss512k",
                "-XX:-UsePerfData", "-XX:+DisableAttachMechanism", "-Xshare:auto"));
        Module m = RedactPipe.class.getModule();
        if (m.isNamed()) {
            String path = absolute(System.getProperty("jdk.module.path", ""));
            if (!path.isEmpty()) { // else the module is linked into the runtime itself (jlink)
                cmd.addAll(List.of("-p", path));
            }
            cmd.addAll(List.of("-m", m.getName() + "/" + RedactPipe.class.getName()));
        } else {
            cmd.addAll(List.of("-cp", absolute(System.getProperty("java.class.path", "")),
                    RedactPipe.class.getName()));
        }
        cmd.add(workspaceDir.toAbsolutePath().toString());
        cmd.add(up.toAbsolutePath().toString());
        return cmd;
    }

    /** {@code env}, which starts the filter with nothing of the holder's environment. */
    private static final String ENV = Files.isExecutable(Path.of("/usr/bin/env")) ? "/usr/bin/env" : "/bin/env";

    /**
     * The java launcher of the runtime that runs davit now ({@code java.home}); the process's own executable only
     * when that has none (an embedding launcher may not take java's options).
     */
    static String java() {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        if (Files.isExecutable(java)) {
            return java.toString();
        }
        return ProcessHandle.current().info().command().orElse(java.toString());
    }

    /** A class or module path with every entry absolute (the filter may start in another directory). */
    private static String absolute(String path) {
        List<String> out = new ArrayList<>();
        for (String e : path.split(java.io.File.pathSeparator)) {
            if (!e.isEmpty()) {
                out.add(Path.of(e).toAbsolutePath().toString());
            }
        }
        return String.join(java.io.File.pathSeparator, out);
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /**
     * Copies standard input to standard output, every value of the secrets in the workspace state directory
     * {@code args[0]} redacted; passes each read on at once but the bytes that may start a value. Creates the file
     * {@code args[1]} once it is ready to read.
     *
     * @param args the workspace's state directory and the file that says it is ready
     * @throws IOException when standard input or output fails
     */
    public static void main(String[] args) throws IOException {
        Redactor r = Secrets.load(Path.of(args[0])).redactor();
        Files.write(Path.of(args[1]), new byte[0]);
        InputStream in = System.in;
        OutputStream out = new java.io.FileOutputStream(java.io.FileDescriptor.out);
        try (Redactor.Stream s = r.stream(out)) {
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) >= 0) {
                s.write(buf, 0, n);
                s.flush();
            }
        }
    }
}
