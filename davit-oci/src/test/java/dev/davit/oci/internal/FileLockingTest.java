package dev.davit.oci.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel's false deadlock between two processes of several threads each, as two pulls of one store meet it: this
 * JVM holds lock X (one thread, about to release it) and asks for Y; another process holds Y and waits for X.
 */
class FileLockingTest {
    @TempDir
    Path dir;

    /** The other process: locks Y, says so, then waits for X; exits once it has both. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            try (FileChannel y = open(Path.of(args[1])); FileLock ly = y.lock()) {
                System.out.println("holding");
                System.out.flush();
                try (FileChannel x = open(Path.of(args[0])); FileLock lx = x.lock()) {
                    System.out.println("both");
                }
            }
        }
    }

    static FileChannel open(Path p) throws IOException {
        return FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    @Test
    void aLockTheKernelCallsADeadlockIsWaitedForUntilItIsFree() throws Exception {
        Path x = dir.resolve("x.lock");
        Path y = dir.resolve("y.lock");
        FileChannel cx = open(x);
        FileLock lx = cx.lock();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process other = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(),
                x.toString(), y.toString()).redirectErrorStream(true).start();
        try (FileChannel cy = open(y)) {
            BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream(),
                    StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("holding");
            waitUntilBlocked(other.pid());

            // what FileChannel.lock alone does: the kernel sees each process wait for the other
            assertThatThrownBy(() -> cy.lock()).isInstanceOf(IOException.class);

            CompletableFuture<FileLock> waited = CompletableFuture.supplyAsync(() -> {
                try {
                    return FileLocking.await(cy);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Thread.sleep(200);
            assertThat(waited).as("Y is still the other process's").isNotDone();
            lx.release(); // the other thread of "this process" is done with X
            cx.close();
            FileLock ly = waited.get(30, TimeUnit.SECONDS);
            assertThat(ly.isValid()).isTrue();
            assertThat(other.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(other.exitValue()).isZero();
            assertThat(out.readLine()).isEqualTo("both");
        } finally {
            other.destroyForcibly();
            cx.close();
        }
    }

    @Test
    void aFreeLockIsTakenAtOnceSharedOrNot() throws Exception {
        try (FileChannel ch = open(dir.resolve("z.lock")); FileLock l = FileLocking.await(ch, true)) {
            assertThat(l.isShared()).isTrue();
        }
        try (FileChannel ch = open(dir.resolve("z.lock")); FileLock l = FileLocking.await(ch)) {
            assertThat(l.isShared()).isFalse();
        }
    }

    /** Until /proc/locks lists a lock request of {@code pid} that waits ("->"). */
    static void waitUntilBlocked(long pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 5 && f[1].equals("->") && f[5].equals(Long.toString(pid))) {
                    return;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the other process never waited for X");
    }
}
