package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.ImageBuilder;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.workspace.WorkspaceImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code workspace commit} over real sandboxes: the image's layers, unpacked by umoci, are the workspace's root as
 * the sandbox saw it (a file deleted from the image absent, a directory emptied and made again opaque, owners the
 * sandbox gave, hard links kept); no secret, no /tmp, no davit mount point; the same state gives the same digest;
 * pushed to a real registry, it runs in a new davit home that never saw the workspace.
 */
class WorkspaceCommitTest {
    private static final String IMAGE = "localhost/test/commit-base:1";
    private static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "true", "ls", "rm", "mkdir",
            "chown", "ln", "find", "sort", "md5sum", "stat", "xargs", "test");

    @TempDir
    Path tmp;

    Path home;

    @BeforeEach
    void image() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        home = tmp.resolve("home");
        Path src = tmp.resolve("src");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : APPLETS) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        Files.createDirectories(src.resolve("etc"));
        Files.writeString(src.resolve("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
        Files.writeString(src.resolve("etc/gone.conf"), "going\n");
        Files.writeString(src.resolve("etc/kept.conf"), "kept\n");
        Files.createDirectories(src.resolve("opt/old"));
        Files.writeString(src.resolve("opt/old/a"), "a\n");
        Files.writeString(src.resolve("opt/old/b"), "b\n");
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            c.build(src, IMAGE, BuildOptions.builder().env("GREETING", "hello").build(), ProgressListener.NONE);
        }
    }

    private Davit open(Path davitHome) {
        return Davit.builder().home(davitHome).clientOptions(ClientOptions.anonymous(tmp.resolve("ignored")))
                .build();
    }

    private static String sh(OpenWorkspace ws, String script) {
        ExecResult r = ws.exec("sh", "-c", script);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    /** What the commit must carry: each kind of change a sandbox makes to its image. */
    private static final String CHANGES = "echo hi > /workspace/x; rm /etc/gone.conf; rm -rf /opt/old;"
            + " mkdir /opt/old; echo new > /opt/old/n; mkdir -p /usr/local/bin; echo tool > /usr/local/bin/tool;"
            + " chown 1000:1000 /usr/local/bin/tool; chmod 4755 /usr/local/bin/tool 2>/dev/null || true;"
            + " ln /usr/local/bin/tool /usr/local/bin/tool2; ln -s ../bin/busybox /usr/local/bin/bb;"
            + " echo scratch > /tmp/scratch; cat /run/secrets/TOKEN > /dev/null";

    /** A listing of the trees under {@code dirs} of a root: path, type, mode, owner and content digest. */
    private static final String LIST = "cd \"$0\" && find etc opt usr workspace bin | sort | while read -r p; do"
            + " if [ -L \"$p\" ]; then echo \"$p link $(stat -c %u:%g \"$p\")\";"
            + " elif [ -d \"$p\" ]; then echo \"$p dir $(stat -c %a:%u:%g \"$p\")\";"
            + " else echo \"$p file $(stat -c %a:%u:%g:%h \"$p\") $(md5sum < \"$p\")\"; fi; done";

    @Test
    void aCommittedImageIsTheWorkspacesRootAsTheSandboxSawItAndRunsInAnotherHome() throws Exception {
        Tools.assumeAvailable(Tools.REGISTRY, Tools.UMOCI, Tools.SKOPEO);
        try (TestRegistry registry = TestRegistry.start(); Davit a = open(home)) {
            String ref = registry.hostPort() + "/team/committed:1";
            String listing;
            WorkspaceImages.Commit first;
            try (OpenWorkspace ws = a.newWorkspace(IMAGE).secret("TOKEN", "s3cret-value".getBytes(
                    StandardCharsets.UTF_8)).ttl(Duration.ofHours(1)).open()) {
                sh(ws, CHANGES);
                ExecResult l = ws.exec("sh", "-c", LIST, "/");
                assertThat(l.exitCode()).as(l.stderrText()).isZero();
                listing = l.stdoutText();
                assertThat(listing).contains("workspace/x file 644:0:0:1 ", "usr/local/bin/tool file 4755:1000:1000:2 ",
                        "opt/old/n file", "usr/local/bin/bb link").doesNotContain("opt/old/a", "etc/gone.conf");
                first = ws.commit(ref, new WorkspaceImages.CommitOptions(null, true));
                assertThat(first.pushed()).isNotNull();
                assertThat(first.changes().whiteouts()).isEqualTo(1); // /etc/gone.conf; /opt/old is opaque
                assertThat(first.base()).isEqualTo(IMAGE);

                // the same state, the same image; a change, another one
                WorkspaceImages.Commit again = ws.commit(registry.hostPort() + "/team/committed:again",
                        WorkspaceImages.CommitOptions.defaults());
                assertThat(again.digest()).isEqualTo(first.digest());
                sh(ws, "echo more >> /workspace/x");
                assertThat(ws.commit(registry.hostPort() + "/team/committed:more", WorkspaceImages.CommitOptions
                        .defaults()).digest()).isNotEqualTo(first.digest());
            }

            // where it came from, and its config
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
                var inspected = c.inspectLocal(ref);
                ImageManifest m = (ImageManifest) inspected.manifest();
                assertThat(m.annotations()).containsEntry(ImageBuilder.BASE_NAME, IMAGE)
                        .containsKey(ImageBuilder.BASE_DIGEST).containsKey(WorkspaceImages.WORKSPACE)
                        .containsKey(ImageBuilder.CREATED);
                assertThat(inspected.config().defaults().workingDir()).isEqualTo("/workspace");
                assertThat(inspected.config().defaults().env()).contains("GREETING=hello");
                assertThat(m.layers()).hasSize(2);
            }

            // umoci's unpack of what the registry holds is what the sandbox saw
            Path layout = tmp.resolve("layout");
            Tools.run("skopeo", "copy", "--src-tls-verify=false", "docker://" + ref, "oci:" + layout + ":c");
            Path bundle = tmp.resolve("bundle");
            List<String> umoci = new ArrayList<>(List.of("umoci", "unpack"));
            if (!Jail.AS_ROOT) {
                umoci.add("--rootless");
            }
            umoci.addAll(List.of("--image", layout + ":c", bundle.toString()));
            Tools.run(umoci.toArray(String[]::new));
            Path rootfs = bundle.resolve("rootfs");
            String unpacked = Tools.run("sh", "-c", LIST, rootfs.toString());
            if (Jail.AS_ROOT) {
                assertThat(unpacked).isEqualTo(listing);
            } else {
                assertThat(strip(unpacked)).isEqualTo(strip(listing)); // rootless umoci owns everything itself
            }
            assertThat(rootfs.resolve("etc/gone.conf")).doesNotExist();
            assertThat(rootfs.resolve("opt/old/a")).doesNotExist();
            assertThat(rootfs.resolve("opt/old/n")).hasContent("new");
            assertThat(rootfs.resolve("tmp/scratch")).doesNotExist();
            assertThat(rootfs.resolve("run/secrets")).doesNotExist();
            assertThat(rootfs.resolve("proc")).doesNotExist(); // davit's mount points are not the image's
            try (Stream<Path> all = Files.walk(rootfs)) {
                for (Path p : all.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).toList()) {
                    assertThat(new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1)).as(p.toString())
                            .doesNotContain("s3cret-value");
                }
            }

            // a home that never saw the workspace pulls it and runs it
            try (Davit b = open(tmp.resolve("home-b"))) {
                ExecResult r = b.run(ref, "sh", "-c", "pwd; cat /workspace/x /opt/old/n; ls /opt/old;"
                        + " stat -c %u /usr/local/bin/tool; test -e /etc/gone.conf || echo gone; cat /etc/kept.conf");
                assertThat(r.exitCode()).as(r.stderrText()).isZero();
                assertThat(r.stdoutText()).isEqualTo("/workspace\nhi\nnew\nn\n1000\ngone\nkept\n");
            }
        }
    }

    /** Owners and modes aside, for a rootless umoci (which owns every file itself). */
    private static String strip(String listing) {
        return listing.replaceAll(" (dir|file|link) [0-9:]+", " $1");
    }

    @Test
    void badReferencesAndMissingWorkspacesAreRefusedWithNothingMade() throws IOException {
        try (Davit a = open(home); OpenWorkspace ws = a.workspace(IMAGE)) {
            assertThatThrownBy(() -> ws.commit("localhost/x@sha256:" + "0".repeat(64), null))
                    .isInstanceOf(DavitException.class).hasMessageContaining("digest");
            assertThatThrownBy(() -> ws.commit("Not A Reference", null)).isInstanceOf(DavitException.class)
                    .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
            assertThatThrownBy(() -> dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(a.workspaces(), a.client(), null).commit("ws-000000000000",
                    "localhost/x:1", null)).isInstanceOf(DavitException.class)
                    .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.NOT_FOUND);
            assertThat(a.client().find("localhost/x:1")).isEmpty();
        }
    }
}
