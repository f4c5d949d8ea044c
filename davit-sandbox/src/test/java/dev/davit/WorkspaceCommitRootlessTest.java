package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.sandbox.workspace.WorkspaceImages;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code workspace commit} without root: the overlay is mounted in a user namespace with {@code userxattr}, so its
 * opaque mark is {@code user.overlay.opaque} and davit's user is the sandbox's root; the layer still holds the
 * whiteout, the opaque directory and owners 0:0, as the sandbox saw them.
 */
class WorkspaceCommitRootlessTest {
    /** Builds an image, makes a workspace, changes it and commits it; prints the layer's entries with owners. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path home = Path.of(args[0]);
            try (Davit d = Davit.builder().home(home).clientOptions(ClientOptions.anonymous(home.resolve("x")))
                    .build()) {
                d.client().build(Path.of(args[1]), "localhost/test/rootless:1", BuildOptions.defaults(),
                        ProgressListener.NONE);
                try (OpenWorkspace ws = d.newWorkspace("localhost/test/rootless:1").open()) {
                    var r = ws.exec("sh", "-c", "echo hi > x; rm /etc/gone.conf; rm -rf /opt/old; mkdir /opt/old;"
                            + " echo new > /opt/old/n");
                    if (r.exitCode() != 0) {
                        System.out.println("exec failed: " + r.stderrText());
                        return;
                    }
                    WorkspaceImages.Commit c = ws.commit("localhost/test/rootless-out:1", null);
                    try (InputStream in = d.client().store().openBlob(dev.davit.oci.digest.Digest.parse(c.layer().digest()));
                         TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(in))) {
                        TarArchiveEntry e;
                        while ((e = tar.getNextEntry()) != null) {
                            System.out.println(e.getName() + " " + e.getLongUserId() + ":" + e.getLongGroupId());
                        }
                    }
                }
            }
        }
    }

    @Test
    void aRootlessCommitHasTheWhiteoutTheOpaqueDirectoryAndTheSandboxsOwners() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-commit-rootless-")) {
            Path src = u.dir().resolve("src");
            Files.createDirectories(src.resolve("bin"));
            Files.copy(Tools.which("busybox").orElseThrow(), src.resolve("bin/busybox"));
            for (String a : List.of("sh", "sleep", "rm", "mkdir", "echo")) {
                Files.createSymbolicLink(src.resolve("bin").resolve(a), Path.of("busybox"));
            }
            Files.createDirectories(src.resolve("etc"));
            Files.writeString(src.resolve("etc/gone.conf"), "going\n");
            Files.createDirectories(src.resolve("opt/old"));
            Files.writeString(src.resolve("opt/old/a"), "a\n");
            Tools.run("chmod", "-R", "a+rX", src.toString());
            String out = u.java(List.of(), 3, Child.class.getName(), u.home().toString(), src.toString());
            assertThat(out.lines().toList()).as(out).contains("etc/.wh.gone.conf 0:0", "opt/old/ 0:0",
                    "opt/old/.wh..wh..opq 0:0", "opt/old/n 0:0", "workspace/x 0:0")
                    .doesNotContain("opt/old/a 0:0");
        }
    }
}
