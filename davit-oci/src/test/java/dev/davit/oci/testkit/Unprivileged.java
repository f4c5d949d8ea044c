package dev.davit.oci.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs test code as an unprivileged user when the tests run as root (as CI does): the system user {@value #USER}
 * with 65536 subordinate uids and gids (made when missing; idempotent), a copy of the test classpath it can read
 * (/root is not readable by others), and a JVM started as that user with {@code setpriv}.
 */
public final class Unprivileged {
    /** The unprivileged user the tests make and run as. */
    public static final String USER = "davit-rootless";

    private Unprivileged() {
    }

    /** The uid and gid of {@value #USER}, made (a system user, no home, no login) with 65536 subordinate ids. */
    public static int[] ensureUser() throws IOException {
        if (!exists()) {
            Tools.run("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", USER);
        }
        for (String f : List.of("subuid", "subgid")) {
            Path file = Path.of("/etc", f);
            List<String> lines = Files.exists(file) ? Files.readAllLines(file) : List.of();
            if (lines.stream().anyMatch(l -> l.startsWith(USER + ":"))) {
                continue;
            }
            long start = 100000;
            for (String line : lines) { // after every range there is
                String[] x = line.split(":");
                if (x.length == 3 && x[1].matches("\\d+") && x[2].matches("\\d+")) {
                    start = Math.max(start, Long.parseLong(x[1]) + Long.parseLong(x[2]));
                }
            }
            Tools.run("usermod", f.equals("subuid") ? "--add-subuids" : "--add-subgids",
                    start + "-" + (start + 65535), USER);
        }
        return new int[] {Integer.parseInt(Tools.run("id", "-u", USER).strip()),
                Integer.parseInt(Tools.run("id", "-g", USER).strip())};
    }

    /** Copies the test classpath into {@code cp} where every user can read it; returns the new classpath. */
    public static String readableClasspath(Path cp) throws IOException {
        Files.createDirectories(cp);
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(":")) {
            Path from = Path.of(entry);
            if (!Files.exists(from)) {
                continue;
            }
            Path to = cp.resolve(i++ + "-" + from.getFileName());
            if (Files.isDirectory(from)) {
                Tools.run("cp", "-r", from.toString(), to.toString());
            } else {
                Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
            }
            entries.add(to.toString());
        }
        Tools.run("chmod", "-R", "a+rX", cp.toString());
        return String.join(":", entries);
    }

    /**
     * The command line that runs {@code mainClass} with {@code args} in a JVM as the user {@code ids}, with
     * {@code HOME} set to {@code home} and {@code env} ({@code K=V}) added.
     */
    public static List<String> javaAs(int[] ids, Path home, String classpath, List<String> env, String mainClass,
                                      String... args) {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=" + ids[0], "--regid=" + ids[1],
                "--clear-groups", "env", "HOME=" + home));
        cmd.addAll(env);
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", classpath, mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * One test's work as {@value #USER}: a directory others can enter ({@code dir}), the test classpath copied where
     * the user can read it, and a home owned by the user ({@code dir/home}). Closing deletes it all.
     */
    public record Session(int[] ids, Path dir, String classpath, Path home) implements AutoCloseable {
        /** Makes the user (see {@link #ensureUser}) and a new session directory named after {@code prefix}. */
        public static Session open(String prefix) throws IOException {
            int[] ids = ensureUser();
            Path dir = Files.createTempDirectory(prefix);
            Files.setAttribute(dir, "unix:mode", 0755);
            String cp = readableClasspath(dir.resolve("cp"));
            Path home = Files.createDirectories(dir.resolve("home"));
            Tools.run("chown", "-R", ids[0] + ":" + ids[1], home.toString());
            return new Session(ids, dir, cp, home);
        }

        /** {@code mainClass} with {@code args} as the user; returns what it printed (stdout and stderr). */
        public String java(List<String> env, int minutes, String mainClass, String... args) throws IOException,
                InterruptedException {
            Path log = Files.createTempFile(dir, "java-", ".log");
            Process p = new ProcessBuilder(javaAs(ids, home, classpath, env, mainClass, args))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError(mainClass + " as " + USER + " did not end within " + minutes + " minutes: "
                        + Files.readString(log));
            }
            return Files.readString(log);
        }

        @Override
        public void close() {
            Tools.run("rm", "-rf", dir.toString());
        }
    }

    private static boolean exists() {
        try {
            Process p = new ProcessBuilder("id", "-u", USER).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("id -u " + USER + ": " + e, e);
        }
    }
}
