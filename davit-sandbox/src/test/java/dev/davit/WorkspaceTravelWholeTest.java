package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.testnet.CurlRootfs;
import dev.davit.sandbox.testnet.TestInternet;
import dev.davit.sandbox.workspace.WorkspaceImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A snapshot of the whole sandbox that travels (issue 53, item 1): home A's workspace installs a tool under /opt,
 * deletes a program of the image, writes /workspace, has an egress policy, a label, a variable and a disk limit; its
 * whole-sandbox snapshot is pushed to a real registry and exported to a bundle, and homes B and C (which never saw
 * the environment) restore it: the tool is there, the program is gone, /workspace is as it was, the policy lets the
 * allowed host through and denies the others, and the label, variable and limit are the new workspace's. A caller's
 * own values win over the carried ones.
 */
class WorkspaceTravelWholeTest {
    private static final String IMAGE = "localhost/test/travel-whole:1";
    private static final String CURL = "curl -sS --max-time 20 --cacert /ca.pem ";

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    private static CurlRootfs.Gated gated;
    private static Path rootfs;
    private static Path dns;

    @BeforeAll
    static void internet() throws IOException {
        Tools.assumeAvailable(Tools.REGISTRY);
        gated = CurlRootfs.Gated.start(shared);
        rootfs = gated.rootfs();
        dns = gated.dns();
    }

    @AfterAll
    static void down() {
        if (gated != null) {
            gated.close();
        }
    }

    private Davit open(String machine) {
        return Davit.builder().home(tmp.resolve(machine)).sandboxOptions(o -> o.withEgressDns(dns))
                .clientOptions(ClientOptions.anonymous(tmp.resolve("ignored"))).build();
    }

    private static String sh(OpenWorkspace ws, String script) {
        ExecResult r = ws.exec("sh", "-c", script);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    /** Home A's workspace, changed in and outside /workspace, with snapshot "all" of the whole sandbox. */
    private static OpenWorkspace changed(Davit a) {
        OpenWorkspace ws = a.newWorkspace(IMAGE).name("proj").label("team", "core").env("GREETING", "hi")
                .network(Network.policy(EgressPolicy.parse(List.of(TestInternet.ALLOWED), null, null, null, null)))
                .open();
        sh(ws, "mkdir -p /opt/tool && echo v1 > /opt/tool/VERSION && busybox rm /bin/tr && echo code > /workspace/main.txt");
        assertThat(sh(ws, CURL + "http://allowed.test/ok")).isNotEmpty();
        ws.snapshot("all", true);
        sh(ws, "echo later > /opt/tool/LATER");
        return ws;
    }

    /** What a restore of snapshot "all" of {@link #changed} shows. */
    private static void restored(Davit home, OpenWorkspace ws) {
        assertThat(sh(ws, "cat /opt/tool/VERSION /workspace/main.txt; echo $GREETING")).isEqualTo("v1\ncode\nhi\n");
        assertThat(sh(ws, "test -e /bin/tr && echo there || echo gone; test -e /opt/tool/LATER || echo no-later"))
                .isEqualTo("gone\nno-later\n");
        assertThat(ws.info().labels()).containsEntry("team", "core");
        Sandbox s = home.workspaces().sandbox(ws.id());
        assertThat(s.spec().network().mode()).isEqualTo(Network.Mode.POLICY);
        assertThat(sh(ws, CURL + "http://allowed.test/ok")).isNotEmpty();
        ExecResult denied = ws.exec("sh", "-c", CURL + "https://denied.test/x");
        assertThat(denied.exitCode()).isNotZero();
        assertThat(ws.snapshots()).extracting(dev.davit.sandbox.workspace.Workspaces.Snapshot::name)
                .containsExactly("all");
        assertThat(ws.files().diff().changes()).extracting(dev.davit.sandbox.workspace.WorkspaceDiff.Change::path)
                .containsExactly("main.txt");
    }

    @Test
    void aWholeSandboxSnapshotCarriesWhatWasInstalledAndTheSettingsThroughARegistry() throws Exception {
        try (TestRegistry registry = TestRegistry.start(); Davit a = open("a")) {
            a.client().build(rootfs, IMAGE, BuildOptions.defaults(), ProgressListener.NONE);
            String ref = registry.hostPort() + "/team/proj:all";
            Limits limits;
            try (OpenWorkspace ws = changed(a)) {
                limits = a.workspaces().sandbox(ws.id()).spec().limits();
                WorkspaceImages.SnapshotPush pushed = ws.pushSnapshot("all", ref, false);
                assertThat(pushed.snapshot().all()).isTrue();
                // the same whole snapshot, the same artifact
                assertThat(ws.pushSnapshot("all", registry.hostPort() + "/team/proj:again", true).digest())
                        .isEqualTo(pushed.digest());
            }
            ImageManifest m = (ImageManifest) a.client().inspectRemote(ref).manifest();
            assertThat(m.layers()).extracting(l -> l.annotation(dev.davit.oci.artifact.Artifacts.TITLE))
                    .containsExactly(WorkspaceImages.PART_BASELINE, WorkspaceImages.PART_WORKSPACE,
                            WorkspaceImages.PART_SANDBOX);
            try (Davit b = open("b")) {
                assertThat(b.client().images()).isEmpty(); // never saw the environment
                try (OpenWorkspace ws = b.newWorkspaceFrom(ref).open()) {
                    restored(b, ws);
                    assertThat(b.workspaces().sandbox(ws.id()).spec().limits()).isEqualTo(limits);
                }
                // the caller's own settings win: no network, another label value, another variable value
                try (OpenWorkspace ws = b.newWorkspaceFrom(ref).network(Network.NONE).label("team", "other")
                        .env("GREETING", "bye").open()) {
                    assertThat(b.workspaces().sandbox(ws.id()).spec().network().mode()).isEqualTo(Network.Mode.NONE);
                    assertThat(ws.info().labels()).containsEntry("team", "other");
                    assertThat(sh(ws, "echo $GREETING; cat /opt/tool/VERSION")).isEqualTo("bye\nv1\n");
                }
            }
            // the sandbox's layer altered in the registry is refused, and nothing is left
            Descriptor layer = m.layers().get(2);
            Path data = registry.blobDataPath(layer.digest().toString());
            byte[] bytes = Files.readAllBytes(data);
            bytes[bytes.length / 2] ^= 0x20;
            Files.write(data, bytes);
            try (Davit c = open("c")) {
                assertThatThrownBy(() -> c.newWorkspaceFrom(ref).open()).isInstanceOf(DavitException.class)
                        .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.VERIFICATION);
                assertThat(c.workspaces().list()).isEmpty();
                assertThat(c.client().store().entries()).extracting(dev.davit.oci.store.StoreEntry::name)
                        .noneMatch(n -> n.startsWith("localhost/davit/restored"));
            }
        }
    }

    @Test
    void aWholeSandboxSnapshotTravelsInABundle() throws Exception {
        Path bundle = tmp.resolve("proj.tar");
        try (Davit a = open("a")) {
            a.client().build(rootfs, IMAGE, BuildOptions.defaults(), ProgressListener.NONE);
            try (OpenWorkspace ws = changed(a)) {
                dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(a.workspaces(), a.client(), null).exportSnapshot(ws.id(), "all",
                        "localhost/snapshots/proj:all", bundle);
            }
        }
        try (Davit d = open("d")) {
            d.client().bundles().importBundle(bundle, ImportOptions.defaults(), ProgressListener.NONE);
            try (OpenWorkspace ws = d.newWorkspaceFrom("localhost/snapshots/proj:all").open()) {
                restored(d, ws);
            }
        }
    }
}
