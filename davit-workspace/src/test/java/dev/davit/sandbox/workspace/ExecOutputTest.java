package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ExecOutput}: what a workspace keeps of its execs' output stays bounded, and is read only by exec id. */
class ExecOutputTest {
    @TempDir
    Path state;

    private Path file(int n, long size) throws IOException {
        Path f = ExecOutput.file(state, String.format("e-%012x", n), "stdout");
        Files.createDirectories(f.getParent());
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(size); // sparse: the budget counts what the files say they hold
        }
        Files.setLastModifiedTime(f, FileTime.fromMillis(1_000_000L * n));
        return f;
    }

    @Test
    void theNewestAreKeptWithinTheCountAndTheBudget() throws IOException {
        for (int i = 1; i <= 40; i++) {
            file(i, 1024);
        }
        ExecOutput.prune(state);
        try (var s = Files.list(state.resolve(ExecOutput.DIR))) {
            assertThat(s.count()).isEqualTo(ExecOutput.KEEP * 2L);
        }
        assertThat(ExecOutput.file(state, String.format("e-%012x", 40), "stdout")).exists();
        assertThat(ExecOutput.file(state, String.format("e-%012x", 1), "stdout")).doesNotExist();

        Path big1 = file(100, ExecOutput.CAP);
        Path big2 = file(101, ExecOutput.CAP);
        Path newest = file(110, ExecOutput.BUDGET); // alone past the budget: the newest always stays
        ExecOutput.prune(state);
        assertThat(newest).exists();
        assertThat(big1).doesNotExist();
        assertThat(big2).doesNotExist();
    }

    @Test
    void aQuietExecStillRunningKeepsItsOutputThroughOtherExecsPrunes() throws Exception {
        String quiet = String.format("e-%012x", 1);
        ExecOutput.begin(state, quiet);
        Path its = file(1, 1024); // the oldest file: written long ago, nothing since
        // a mark of a process that is gone protects nothing
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        String stale = String.format("e-%012x", 2);
        Path staleMark = state.resolve(ExecOutput.DIR).resolve(stale + ".running");
        Files.writeString(staleMark, gone.pid() + " 1\n");
        Path staleFile = file(2, 1024);
        for (int i = 3; i <= 40; i++) {
            file(i, 1024);
        }
        ExecOutput.prune(state);
        assertThat(its).exists();
        assertThat(staleFile).doesNotExist();
        assertThat(staleMark).doesNotExist();
        ExecOutput.end(state, quiet);
        ExecOutput.prune(state);
        assertThat(its).doesNotExist(); // once it ended, the oldest go first again
    }

    @Test
    void onlyAnExecIdNamesAFile() {
        for (String bad : new String[] {"../../etc/passwd", "e-0123", "e-0123456789ab/../x", "E-0123456789AB"}) {
            assertThatThrownBy(() -> ExecOutput.read(state, bad, "stdout", 0, 10))
                    .isInstanceOf(DavitException.class).hasMessageContaining("is not an exec id");
        }
        assertThatThrownBy(() -> ExecOutput.read(state, "e-0123456789ab", "../x", 0, 10))
                .isInstanceOf(DavitException.class).hasMessageContaining("stdout or stderr");
    }
}
