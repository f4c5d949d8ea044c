package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Executables#installOnce}: an install is run by the host (as root, often), so what is already at its name
 * is taken only when it is davit's own: a regular file of this user with the install's mode. A link, a file that
 * others may write or one of another mode is replaced by the content.
 */
class ExecutablesTest {
    @TempDir
    Path dir;

    private static final byte[] PROGRAM = "#!/bin/sh\necho davit\n".getBytes();

    @Test
    void aFreshInstallIsTheContentWithItsMode() throws IOException {
        Path target = Executables.installOnce(dir.resolve("cache/helper-1"), PROGRAM, 0755);
        assertThat(Files.readAllBytes(target)).isEqualTo(PROGRAM);
        assertThat(Files.getAttribute(target, "unix:mode")).isEqualTo(0100755);
        assertThat(Files.list(target.getParent()).toList()).containsExactly(target); // no temp file left
    }

    @Test
    void whatIsNotDavitsOwnAtTheNameIsReplaced() throws IOException {
        Path elsewhere = Files.writeString(dir.resolve("elsewhere"), "#!/bin/sh\necho planted\n");
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, elsewhere);
        Path writable = Files.writeString(dir.resolve("writable"), "planted");
        Files.setAttribute(writable, "unix:mode", 0777);
        Path otherMode = Files.writeString(dir.resolve("other-mode"), "planted");
        Files.setAttribute(otherMode, "unix:mode", 0700);
        for (Path target : new Path[] {link, writable, otherMode}) {
            Executables.installOnce(target, PROGRAM, 0755);
            assertThat(Files.isSymbolicLink(target)).as(target.toString()).isFalse();
            assertThat(Files.readAllBytes(target)).as(target.toString()).isEqualTo(PROGRAM);
            assertThat(Files.getAttribute(target, "unix:mode", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0100755);
        }
        assertThat(Files.readString(elsewhere)).as("the link's target untouched").contains("planted");
    }

    @Test
    void davitsOwnInstallIsKept() throws IOException {
        Path target = Executables.installOnce(dir.resolve("helper-2"), PROGRAM, 0755);
        long inode = (Long) Files.getAttribute(target, "unix:ino");
        Executables.installOnce(target, "other".getBytes(), 0755);
        assertThat(Files.getAttribute(target, "unix:ino")).isEqualTo(inode);
        assertThat(Files.readAllBytes(target)).isEqualTo(PROGRAM);
    }

    /** The content is read only when the name is not davit's own install yet (the jar's helper: once per home). */
    @Test
    void theContentIsReadOnlyWhenItIsInstalled() throws IOException {
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        Executables.Content counted = () -> {
            reads.incrementAndGet();
            return PROGRAM;
        };
        Path target = Executables.installOnce(dir.resolve("helper-3"), counted, 0755);
        assertThat(reads).hasValue(1);
        Executables.installOnce(target, counted, 0755);
        assertThat(reads).hasValue(1);
        Files.setAttribute(target, "unix:mode", 0777); // not davit's own any more: installed again, read again
        Executables.installOnce(target, counted, 0755);
        assertThat(reads).hasValue(2);
        assertThat(Files.readAllBytes(target)).isEqualTo(PROGRAM);
    }
}
