package dev.davit.sandbox.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileLocks#holdingAny}: one user per resource, whichever frees first, never this thread twice. */
class FileLocksTest {
    @TempDir
    Path dir;

    private List<Path> files() {
        return List.of(dir.resolve("a.lock"), dir.resolve("b.lock"));
    }

    /** Holds lock {@code files} one of, on a thread of its own, until {@code release}; the index it got. */
    private CompletableFuture<Integer> holder(CountDownLatch held, CountDownLatch release) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return FileLocks.holdingAny(files(), n -> {
                    held.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return n;
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, r -> Thread.ofPlatform().daemon().start(r));
    }

    @Test
    void usersAtOnceGetResourcesOfTheirOwnAndAThirdTakesTheFirstThatFrees() throws Exception {
        CountDownLatch held = new CountDownLatch(2);
        CountDownLatch releaseFirst = new CountDownLatch(1);
        CountDownLatch releaseSecond = new CountDownLatch(1);
        CompletableFuture<Integer> first = holder(held, releaseFirst);
        CompletableFuture<Integer> second = holder(held, releaseSecond);
        assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
        AtomicReference<Integer> third = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                third.set(FileLocks.holdingAny(files(), n -> n));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        t.join(300);
        assertThat(t.isAlive()).as("both are taken: it waits").isTrue();
        releaseSecond.countDown();
        int secondGot = second.get(10, TimeUnit.SECONDS);
        t.join(10_000);
        assertThat(third.get()).as("the one that freed, whichever it was").isEqualTo(secondGot);
        releaseFirst.countDown();
        assertThat(first.get(10, TimeUnit.SECONDS)).isNotEqualTo(secondGot);
    }

    @Test
    void aThreadThatHoldsEveryOneIsRefusedNotHandedItsOwnAgain() throws IOException {
        String got = FileLocks.holdingAny(files(), a -> {
            try {
                return FileLocks.holdingAny(files(), b -> {
                    assertThat(b).isNotEqualTo(a);
                    assertThatThrownBy(() -> FileLocks.holdingAny(files(), c -> c)).isInstanceOf(IOException.class)
                            .hasMessageContaining("holds every one of 2 locks");
                    return a + "," + b;
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        assertThat(got).isIn("0,1", "1,0");
    }

    @Test
    void aWaitIsInterrupted() throws Exception {
        CountDownLatch held = new CountDownLatch(2);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Integer> one = holder(held, release);
        CompletableFuture<Integer> two = holder(held, release);
        assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                FileLocks.holdingAny(files(), n -> n);
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        t.join(200);
        t.interrupt();
        t.join(10_000);
        assertThat(thrown.get()).isInstanceOf(InterruptedIOException.class);
        release.countDown();
        assertThat(List.of(one.get(10, TimeUnit.SECONDS), two.get(10, TimeUnit.SECONDS))).containsExactlyInAnyOrder(0, 1);
    }
}
