package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions.Owner;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** mmdebstrap's tar unpacked without chown, the download counter, and the checks before a build. */
class DebianRootfsTest {
    @TempDir
    Path tmp;

    /** One tar entry to write: type, mode, owner, content or link target. */
    private record E(String name, byte type, int mode, int uid, int gid, String body) {
    }

    private Path tar(E... entries) throws IOException {
        Path t = tmp.resolve("t-" + System.nanoTime() + ".tar");
        try (OutputStream f = Files.newOutputStream(t); TarArchiveOutputStream out = new TarArchiveOutputStream(f)) {
            for (E e : entries) {
                TarArchiveEntry te = new TarArchiveEntry(e.name(), e.type());
                te.setMode(e.mode());
                te.setUserId(e.uid());
                te.setGroupId(e.gid());
                byte[] body = e.body() == null ? new byte[0] : e.body().getBytes(StandardCharsets.UTF_8);
                if (e.type() == TarConstants.LF_SYMLINK || e.type() == TarConstants.LF_LINK) {
                    te.setLinkName(e.body());
                } else if (e.type() == TarConstants.LF_NORMAL) {
                    te.setSize(body.length);
                }
                if (e.type() == TarConstants.LF_CHR) {
                    te.setDevMajor(1);
                    te.setDevMinor(3);
                }
                out.putArchiveEntry(te);
                if (e.type() == TarConstants.LF_NORMAL) {
                    out.write(body);
                }
                out.closeArchiveEntry();
            }
        }
        return t;
    }

    private static int mode(Path p) throws IOException {
        return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 07777;
    }

    @Test
    void theTarIsUnpackedWithModesAndLinksAndTheOwnersAreKeptAside() throws IOException {
        Path t = tar(new E("./", TarConstants.LF_DIR, 0755, 0, 0, null),
                new E("./etc/", TarConstants.LF_DIR, 0755, 0, 0, null),
                new E("./etc/shadow", TarConstants.LF_NORMAL, 0640, 0, 42, "root:*:1::::::\n"),
                new E("./usr/", TarConstants.LF_DIR, 0755, 0, 0, null),
                new E("./usr/bin/", TarConstants.LF_DIR, 0755, 0, 0, null),
                new E("./usr/bin/passwd", TarConstants.LF_NORMAL, 04755, 0, 0, "elf"),
                new E("./usr/bin/chage", TarConstants.LF_NORMAL, 02755, 0, 42, "elf2"),
                new E("./usr/bin/chage-again", TarConstants.LF_LINK, 02755, 0, 42, "./usr/bin/chage"),
                new E("./bin", TarConstants.LF_SYMLINK, 0777, 0, 0, "usr/bin"),
                new E("./dev/", TarConstants.LF_DIR, 0755, 0, 0, null),
                new E("./dev/null", TarConstants.LF_CHR, 0666, 0, 0, null),
                new E("./proc/", TarConstants.LF_DIR, 0555, 0, 0, null),
                new E("./var/", TarConstants.LF_DIR, 0755, 0, 0, null),
                new E("./var/mail/", TarConstants.LF_DIR, 02775, 0, 8, null),
                new E("./ro/", TarConstants.LF_DIR, 0555, 0, 0, null),
                new E("./ro/inside", TarConstants.LF_NORMAL, 0444, 1000, 1000, "x"));
        Path root = tmp.resolve("rootfs");
        Map<String, Owner> owners = DebianRootfs.extract(t, root);

        assertThat(owners).containsOnly(Map.entry("etc/shadow", new Owner(0, 42)),
                Map.entry("usr/bin/chage", new Owner(0, 42)), Map.entry("usr/bin/chage-again", new Owner(0, 42)),
                Map.entry("var/mail", new Owner(0, 8)), Map.entry("ro/inside", new Owner(1000, 1000)));
        assertThat(root.resolve("etc/shadow")).hasContent("root:*:1::::::");
        assertThat(mode(root.resolve("etc/shadow"))).isEqualTo(0640);
        assertThat(mode(root.resolve("usr/bin/passwd"))).isEqualTo(04755); // setuid survives
        assertThat(mode(root.resolve("usr/bin/chage"))).isEqualTo(02755); // setgid too
        assertThat(mode(root.resolve("var/mail"))).isEqualTo(02775);
        assertThat(mode(root.resolve("proc"))).isEqualTo(0555);
        assertThat(mode(root.resolve("ro"))).isEqualTo(0555); // applied after its file was written
        assertThat(Files.getAttribute(root.resolve("usr/bin/chage-again"), "unix:ino"))
                .isEqualTo(Files.getAttribute(root.resolve("usr/bin/chage"), "unix:ino"));
        assertThat(Files.readSymbolicLink(root.resolve("bin"))).isEqualTo(Path.of("usr/bin"));
        assertThat(root.resolve("dev")).isEmptyDirectory(); // no device nodes
    }

    @Test
    void entriesThatLeaveTheRootOrGoThroughALinkAreRefused() throws IOException {
        Path up = tar(new E("./../evil", TarConstants.LF_NORMAL, 0644, 0, 0, "x"));
        assertThatThrownBy(() -> DebianRootfs.extract(up, tmp.resolve("a"))).isInstanceOf(DavitException.class)
                .hasMessageContaining("../evil").hasMessageContaining("leaves the root filesystem");
        Path through = tar(new E("./bin", TarConstants.LF_SYMLINK, 0777, 0, 0, "/tmp"),
                new E("./bin/evil", TarConstants.LF_NORMAL, 0644, 0, 0, "x"));
        assertThatThrownBy(() -> DebianRootfs.extract(through, tmp.resolve("b"))).isInstanceOf(DavitException.class)
                .hasMessageContaining("./bin/evil").hasMessageContaining("not a directory of the tar");
        assertThat(Path.of("/tmp/evil")).doesNotExist();
        Path link = tar(new E("./x", TarConstants.LF_LINK, 0644, 0, 0, "/etc/passwd"));
        assertThatThrownBy(() -> DebianRootfs.extract(link, tmp.resolve("c"))).isInstanceOf(DavitException.class)
                .hasMessageContaining("leaves the root filesystem");
    }

    @Test
    void downloadsAreCountedFromAptsOutput() {
        DebianRootfs.Downloads d = new DebianRootfs.Downloads();
        List<String> seen = new ArrayList<>();
        for (String line : List.of("I: running apt-get update...",
                "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]",
                "Get:2 http://deb.debian.org/debian bookworm/main amd64 Packages [8790 kB]",
                "Fetched 8941 kB in 1s (6584 kB/s)",
                "I: downloading packages with apt...",
                "0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.",
                "Need to get 2.9 MB of archives.",
                "Get:1 http://deb.debian.org/debian bookworm/main amd64 gcc-12-base amd64 12.2.0-14 [37.6 kB]",
                "Get:2 http://deb.debian.org/debian bookworm/main amd64 libc6 amd64 2.36-9 [2759 kB]",
                "Get:3 http://deb.debian.org/debian bookworm/main amd64 bash amd64 5.2.15-2 [1491 kB]",
                "Fetched 2.9 MB in 0s (118 MB/s)",
                "I: installing remaining packages inside the chroot...",
                "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.",
                "0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.",
                "Get:1 http://deb.debian.org/debian bookworm/main amd64 git amd64 1:2.39.5-0 [7000 kB]",
                "Fetched 7000 kB in 0s (100 MB/s)")) {
            if (d.accept(line)) {
                seen.add(d.done() + "/" + d.total());
            }
        }
        assertThat(seen).containsExactly("0/3", "1/3", "2/3", "3/3", "3/4", "4/4");
    }

    @Test
    void aBuildWithoutRootSaysWhatIsMissing() throws IOException {
        Tools.assumeAvailable("mmdebstrap", "newuidmap", "newgidmap");
        Path etc = Files.createDirectories(tmp.resolve("etc"));
        Path sys = tmp.resolve("sys");
        Files.createDirectories(sys.resolve("user"));
        Files.createDirectories(sys.resolve("kernel"));
        Files.writeString(sys.resolve("user/max_user_namespaces"), "0\n");
        assertThatThrownBy(() -> DebianRootfs.probe(false, "alice", etc, sys)).isInstanceOf(DavitException.class)
                .hasMessageContaining("unprivileged user namespaces are disabled (user.max_user_namespaces=0)");
        Files.writeString(sys.resolve("user/max_user_namespaces"), "15000\n");
        Files.writeString(sys.resolve("kernel/unprivileged_userns_clone"), "0\n");
        assertThatThrownBy(() -> DebianRootfs.probe(false, "alice", etc, sys))
                .hasMessageContaining("kernel.unprivileged_userns_clone=0");
        Files.writeString(sys.resolve("kernel/unprivileged_userns_clone"), "1\n");
        Files.writeString(etc.resolve("subuid"), "bob:100000:65536\n");
        Files.writeString(etc.resolve("subgid"), "alice:100000:65536\n");
        assertThatThrownBy(() -> DebianRootfs.probe(false, "alice", etc, sys)).isInstanceOf(DavitException.class)
                .hasMessageContaining("user alice has no subordinate uid range in /etc/subuid")
                .hasMessageContaining("usermod --add-subuids");
        Files.writeString(etc.resolve("subuid"), "bob:100000:65536\nalice:200000:65536\n");
        assertThat(DebianRootfs.probe(false, "alice", etc, sys)).isEqualTo(DebianRootfs.Mode.UNSHARE);
        assertThat(DebianRootfs.probe(true, "root", etc, sys)).isEqualTo(DebianRootfs.Mode.ROOT);
        Files.writeString(etc.resolve("subgid"), "alice:100000:1000\n"); // too small for a Debian system
        assertThatThrownBy(() -> DebianRootfs.probe(false, "alice", etc, sys))
                .hasMessageContaining("no subordinate gid range in /etc/subgid");
    }
}
