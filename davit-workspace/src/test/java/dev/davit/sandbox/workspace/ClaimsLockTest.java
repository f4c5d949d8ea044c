package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A create's claim stays locked while this JVM lists, reaps and commits around it: Java's file locks are the
 * process's, and closing any other descriptor of the file drops them, so the claim file is never opened again here.
 * Another process (python's lockf) checks the lock.
 */
class ClaimsLockTest {
    @TempDir
    Path state;

    private static boolean lockedElsewhere(Path claim) throws Exception {
        Process p = new ProcessBuilder("python3", "-c", "import fcntl, sys\nf = open(sys.argv[1], 'r+')\n"
                + "try:\n    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    sys.exit(0)\nexcept OSError:\n"
                + "    sys.exit(1)\n", claim.toString()).redirectErrorStream(true).start();
        return p.waitFor() == 1;
    }

    @Test
    void listingAndReapingLeaveALiveClaimLocked() throws Exception {
        Tools.assumeAvailable("python3");
        Claims claims = new Claims(state);
        Claims.Claim a = claims.holding(() -> claims.claim("ws-00000000000a", "first"));
        Path file = claims.tmpDir("ws-00000000000a").resolve("claim");
        Claims.recordSandbox(claims.tmpDir("ws-00000000000a"), "sbx-00000000000a", null);
        assertThat(lockedElsewhere(file)).isTrue();
        assertThat(claims.holding(claims::pending)).extracting(Claims.Pending::name).containsExactly("first");
        assertThat(lockedElsewhere(file)).as("after a listing").isTrue();
        List<Claims.Pending> reaped = claims.reapStale(w -> true, id -> {
            throw new AssertionError("a live create's sandbox was taken for a dead one's: " + id);
        });
        assertThat(reaped).isEmpty();
        assertThat(lockedElsewhere(file)).as("after a reap").isTrue();
        Path dest = state.resolve("ws-00000000000a");
        claims.holding(() -> {
            try {
                a.commit(dest);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return null;
        });
        assertThat(dest).isDirectory();
        assertThat(dest.resolve("claim")).doesNotExist();
        assertThat(dest.resolve(Claims.SANDBOX)).doesNotExist();
        assertThat(Files.exists(claims.tmpDir("ws-00000000000a"))).isFalse();
    }
}
