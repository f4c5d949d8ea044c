package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** davit's subordinate range: found, or added after every listed range, once. */
class IdRangeTest {
    @TempDir
    Path tmp;

    @Test
    void aNewRangeFollowsEveryListedOneAndIsAddedOnce() throws Exception {
        Path f = tmp.resolve("subuid");
        Files.writeString(f, "alice:100000:65536\nbob:165536:65536\nbroken:x:1\n");
        long start = IdRange.reserve(f);
        assertThat(start).isEqualTo(262144); // the end of bob's, 231072, rounded up to a multiple of 65536
        assertThat(start % IdRange.COUNT).isZero();
        assertThat(Files.readString(f)).endsWith("davit:" + start + ":65536\n");
        assertThat(IdRange.reserve(f)).isEqualTo(start);
        assertThat(Files.readString(f).lines().filter(l -> l.startsWith("davit:")).count()).isEqualTo(1);
    }

    @Test
    void anEmptyFileGetsARangeAboveTheFloorAndAnExistingOneIsKept() throws Exception {
        Path f = tmp.resolve("subgid");
        Files.writeString(f, "");
        assertThat(IdRange.reserve(f)).isEqualTo(131072);
        Files.writeString(f, "davit:500000:65536");
        assertThat(IdRange.reserve(f)).isEqualTo(500000);
        Files.writeString(f, "davit:500000:10\n"); // too small: another one is added after it
        assertThat(IdRange.reserve(f)).isEqualTo(524288);
    }

    @Test
    void idsOutsideTheRangeAreNotMapped() {
        IdRange r = new IdRange(200000, 300000, 65536);
        assertThat(r.hostUid(0)).isEqualTo(200000);
        assertThat(r.hostGid(5)).isEqualTo(300005);
        assertThat(r.hostUid(65536)).isEqualTo(-1);
        assertThat(r.hostUid(-1)).isEqualTo(-1);
    }
}
