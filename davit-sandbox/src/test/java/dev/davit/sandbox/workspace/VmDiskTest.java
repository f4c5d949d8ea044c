package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.VmTestEnvironment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code workspace disk ls|read|export} of a stopped microVM workspace (real QEMU, TCG): its disk is read offline by
 * debugfs, the VM never boots (no QEMU of its cgroup appears during the calls, its status stays stopped). The guest
 * is hostile: before it stops it leaves a link to /etc/passwd, a device node, a fifo, a setuid file, a name with a
 * newline and a 1 TiB sparse file; after it stops a name of its disk is rewritten to hold "../" (what only a crafted
 * image holds).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmDiskTest {
    Path tmp;
    Workspaces workspaces;
    Workspace w;
    Path qcow2;
    /** The disk as the guest left it, before the crafted name (a guest's kernel refuses to mount the crafted one). */
    byte[] pristine;

    @BeforeAll
    void create(@TempDir Path dir) throws IOException {
        tmp = dir;
        Path env = VmTestEnvironment.get();
        dev.davit.oci.testkit.Tools.assumeAvailable("debugfs");
        workspaces = Workspaces.under(tmp.resolve("home"));
        Path seed = tmp.resolve("seed");
        Files.createDirectories(seed.resolve("src"));
        Files.writeString(seed.resolve("README"), "hello\n");
        Files.writeString(seed.resolve("src/main.txt"), "one\ntwo\n");
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(env).ttl(Duration.ofHours(1)).backend("vm")
                .vcpus(1).memoryMiB(256).build()).name("disk1").seed(seed).build());
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c",
                "mkdir -p h/sub big && echo made > h/sub/b.txt && ln -s /etc/passwd h/x && ln -s "
                + "y".repeat(100) + " h/long && mknod h/dev c 1 3"
                + " && mkfifo h/ff && echo s > h/suid && chmod 4755 h/suid && echo q > h/..Qescape"
                + " && printf nl > \"h/$(printf 'new\\nline')\" && truncate -s 1099511627776 big/huge")
                .timeout(Duration.ofSeconds(60)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        workspaces.stop(w.id());
        // a name only a crafted disk holds: "..Qescape" becomes "../escape" wherever the disk keeps it
        qcow2 = tmp.resolve("home/sandboxes").resolve(w.sandboxId()).resolve("vmm/disk.qcow2");
        pristine = Files.readAllBytes(qcow2);
        byte[] disk = pristine.clone();
        byte[] from = "..Qescape".getBytes(StandardCharsets.US_ASCII);
        int replaced = 0;
        for (int i = 0; i + from.length <= disk.length; i++) {
            if (java.util.Arrays.equals(disk, i, i + from.length, from, 0, from.length)) {
                disk[i + 2] = '/';
                replaced++;
            }
        }
        assertThat(replaced).isPositive();
        Files.write(qcow2, disk);
    }

    @AfterAll
    void cleanUp() {
        if (workspaces != null) {
            for (Workspace x : workspaces.list()) {
                workspaces.rm(x.id());
            }
        }
    }

    /** Runs {@code call} while watching for a QEMU in the sandbox's cgroup; asserts none appeared, nor a start. */
    private <T> T offline(Supplier<T> call) {
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        AtomicBoolean done = new AtomicBoolean();
        Thread watch = new Thread(() -> {
            while (!done.get()) {
                ProcessHandle.allProcesses().filter(p -> p.info().command().orElse("").endsWith("qemu-system-x86_64"))
                        .forEach(p -> {
                            try {
                                if (Files.readString(Path.of("/proc", Long.toString(p.pid()), "cgroup"))
                                        .contains(w.sandboxId())) {
                                    seen.add(p.pid());
                                }
                            } catch (IOException | RuntimeException e) {
                                // gone
                            }
                        });
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        watch.start();
        try {
            return call.get();
        } finally {
            done.set(true);
            try {
                watch.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            assertThat(seen).as("QEMU of the workspace during an offline read").isEmpty();
            Sandbox s = workspaces.sandbox(w.id());
            assertThat(s.status()).isEqualTo(SandboxStatus.STOPPED);
            assertThat(s.qemuPid()).isZero();
        }
    }

    @Test
    @Order(1)
    void listsTheDiskOfTheStoppedVm() {
        long t0 = System.nanoTime();
        Map<String, WorkspaceFiles.FileInfo> all = offline(() -> workspaces.files().diskList(w.id(), "", true)).stream()
                .collect(Collectors.toMap(WorkspaceFiles.FileInfo::path, f -> f));
        System.out.println("vm disk list: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertThat(all.keySet()).contains("README", "src", "src/main.txt", "h/sub/b.txt", "h/x", "h/long", "h/dev",
                "h/ff", "h/suid", "h/new\nline", "big/huge");
        assertThat(all.keySet()).noneMatch(p -> p.contains("escape"));
        assertThat(all.get("src/main.txt").size()).isEqualTo(8);
        assertThat(all.get("h/x").type()).isEqualTo("symlink");
        assertThat(all.get("h/x").target()).isEqualTo("/etc/passwd");
        assertThat(all.get("h/long").target()).isEqualTo("y".repeat(100));
        assertThat(all.get("h/dev").type()).isEqualTo("other");
        assertThat(all.get("h/ff").type()).isEqualTo("other");
        assertThat(all.get("big/huge").size()).isEqualTo(1L << 40);
        assertThat(offline(() -> workspaces.files().diskList(w.id(), "src",
                false))).extracting(WorkspaceFiles.FileInfo::path)
                .containsExactly("src/main.txt");
        assertThatThrownBy(() -> workspaces.files().diskList(w.id(), "h/x", false)).isInstanceOf(DavitException.class)
                .hasMessageContaining("symbolic link");
    }

    @Test
    @Order(2)
    void readsFilesWithinTheCaps() {
        assertThat(new String(offline(() -> workspaces.files().diskRead(w.id(), "h/sub/b.txt", 0)).bytes(),
                StandardCharsets.UTF_8)).isEqualTo("made\n");
        WorkspaceFiles.FileContent head = offline(() -> workspaces.files().diskRead(w.id(), "big/huge", 16));
        assertThat(head.bytes()).isEqualTo(new byte[16]);
        assertThat(head.truncated()).isTrue();
        assertThat(head.size()).isEqualTo(1L << 40);
        assertThatThrownBy(() -> workspaces.files().diskRead(w.id(), "big/huge", 0)).isInstanceOf(DavitException.class)
                .hasMessageContaining("more than davit reads at once");
        assertThatThrownBy(() -> workspaces.files().diskRead(w.id(), "h/x", 0)).isInstanceOf(DavitException.class)
                .hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> workspaces.files().diskRead(w.id(), "h/x/y", 0)).isInstanceOf(DavitException.class)
                .hasMessageContaining("symbolic link");
        assertThatThrownBy(() -> workspaces.files().diskRead(w.id(), "nope", 0)).isInstanceOf(DavitException.class)
                .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.NOT_FOUND);
    }

    @Test
    @Order(3)
    void exportsWithoutLeavingTheDestinationNorFollowingLinks() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("exports"));
        Path dest = out.resolve("h");
        WorkspaceFiles.Copied c = offline(() -> workspaces.files().diskExport(w.id(), dest, "h"));
        assertThat(Files.readString(dest.resolve("sub/b.txt"))).isEqualTo("made\n");
        assertThat(Files.readSymbolicLink(dest.resolve("x")).toString()).isEqualTo("/etc/passwd");
        assertThat(Files.readString(dest.resolve("new\nline"))).isEqualTo("nl");
        assertThat(Files.exists(dest.resolve("dev"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Files.exists(dest.resolve("ff"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat((int) Files.getAttribute(dest.resolve("suid"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777)
                .isEqualTo(0755);
        assertThat(c.skipped()).contains("dev", "ff").anyMatch(s -> s.contains("escape"));
        try (var s = Files.walk(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("escape"));
        }
        assertThat(Files.readString(Path.of("/etc/passwd"))).doesNotContain("made");

        // the 1 TiB the disk claims is counted before anything is copied: refused, nothing left behind
        Path whole = out.resolve("whole");
        assertThatThrownBy(() -> offline(() -> workspaces.files().diskExport(w.id(), whole, "")))
                .isInstanceOf(DavitException.class).hasMessageContaining("passes the limit");
        assertThat(Files.exists(whole)).isFalse();
        try (var s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("h");
        }
        Path tar = out.resolve("src.tar");
        assertThat(offline(() -> workspaces.files().diskExport(w.id(), tar, "src")).bytes()).isEqualTo(8);
        Path vmm = tmp.resolve("home/sandboxes").resolve(w.sandboxId()).resolve("vmm");
        try (var s = Files.list(vmm)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".disk-"));
        }
    }

    /** A disk header claiming more than the environment's rootfs (a huge raw copy to write) is refused. */
    @Test
    @Order(3)
    void aDiskClaimingMoreThanItsRootfsIsRefused() throws IOException {
        byte[] now = Files.readAllBytes(qcow2);
        byte[] bad = now.clone();
        java.nio.ByteBuffer.wrap(bad).putLong(24, 1L << 50);
        Files.write(qcow2, bad);
        try {
            assertThatThrownBy(() -> offline(() -> workspaces.files().diskList(w.id(), "", false)))
                    .isInstanceOf(DavitException.class).hasMessageContaining("claims");
        } finally {
            Files.write(qcow2, now);
        }
    }

    @Test
    @Order(4)
    void aRunningVmIsRefused() throws IOException {
        Files.write(qcow2, pristine);
        workspaces.start(w.id());
        assertThatThrownBy(() -> workspaces.files().diskRead(w.id(), "README", 0)).isInstanceOf(DavitException.class)
                .hasMessageContaining("is running").hasMessageContaining("Workspaces.files().read");
    }
}
