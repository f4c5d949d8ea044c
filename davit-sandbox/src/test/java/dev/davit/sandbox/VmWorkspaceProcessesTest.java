package dev.davit.sandbox;

import static dev.davit.sandbox.ServiceChecks.sh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Services and shells of a microVM workspace: one VM (real QEMU, TCG here, the small busybox environment) shared by
 * the tests, which run in order; the last stops the workspace.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmWorkspaceProcessesTest {
    Path home;
    Workspaces workspaces;
    Workspace w;

    @BeforeAll
    void create(@TempDir Path tmp) throws IOException {
        Path env = VmTestEnvironment.get();
        home = tmp.resolve("home");
        workspaces = Workspaces.under(home);
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(env).ttl(Duration.ofHours(1)).backend("vm")
                .vcpus(1).memoryMiB(256).build()).name("vmp").build());
    }

    @AfterAll
    void cleanUp() {
        if (workspaces != null) {
            for (Workspace x : workspaces.list()) {
                workspaces.rm(x.id());
            }
        }
    }

    /**
     * Root in the guest floods the serial console and a shell's console (QEMU's files, which no davit process
     * reads while it runs): the host keeps at most the cap of each (the newest bytes), and a shell opened afterwards
     * on the flooded console reads its own output.
     */
    /** What capped file {@code f} holds now: nothing while its capper turns it into {@code f.1} (a moment). */
    private static String latest(Path f) throws IOException {
        try {
            return Files.readString(f, StandardCharsets.ISO_8859_1);
        } catch (java.nio.file.NoSuchFileException e) {
            return "";
        }
    }

    @Test
    @Order(6)
    void aGuestFloodingItsConsolesFillsNoHostDisk() throws IOException {
        long cap = 256 << 10;
        System.setProperty("davit.logs.capBytes", Long.toString(cap));
        Workspace f;
        try {
            f = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(VmTestEnvironment.get())
                    .ttl(Duration.ofHours(1)).backend("vm").vcpus(1).memoryMiB(256).build()).name("flood").build());
        } finally {
            System.clearProperty("davit.logs.capBytes");
        }
        try {
            ExecResult r = workspaces.execs().run(f.id(),
                    ExecRequest.builder(sh("busybox head -c 4194304 /dev/zero >/dev/hvc0"
                    + " && busybox head -c 393216 /dev/zero >/dev/ttyS0 && echo flood-end >/dev/ttyS0"))
                    .timeout(Duration.ofSeconds(120)).build());
            assertEquals(0, r.exitCode(), r.stderrText());
            Path out = home.resolve("sandboxes").resolve(f.sandboxId()).resolve("out");
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!latest(out.resolve("console.log")).contains("flood-end") && System.nanoTime() < deadline) {
                sleep(50);
            }
            assertTrue(latest(out.resolve("console.log")).contains("flood-end"), "the newest bytes are kept");
            for (String name : List.of("console.log", "sh1.out")) {
                long kept = Files.size(out.resolve(name)) + Files.size(out.resolve(name + ".1"));
                assertTrue(kept <= cap, name + " keeps " + kept + " bytes");
                assertTrue(Files.exists(out.resolve(name + ".dropped")), name + " dropped nothing");
            }
            try (var all = Files.walk(home.resolve("sandboxes").resolve(f.sandboxId()))) {
                long total = all.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString()
                        .equals("disk.qcow2")).mapToLong(p -> p.toFile().length()).sum();
                assertTrue(total < 16 * cap, "the state directory holds " + total + " bytes besides the disk");
            }
            Shells shells = workspaces.shells(f.id());
            Shells.Shell s = shells.open(List.of("sh", "-c", "echo after-$((6*7)); sleep 600"), Map.of());
            String got = readUntil(shells, s.id(), "after-42");
            assertFalse(got.contains("\0"), "the shell reads its own output, not the flood before it");
            shells.close(s.id());
        } finally {
            workspaces.rm(f.id());
        }
    }

    /**
     * Secrets of a microVM workspace: in the guest's /run/secrets, a tmpfs of its own (0700; files 0600), mapped to
     * variables on request, redacted from what an exec prints, there again after a restart, and never on the VM's
     * disk (read offline once it stopped).
     */
    @Test
    @Order(7)
    void secretsInAMicroVm() throws IOException {
        String value = "vm-s3cr3t-" + java.util.UUID.randomUUID();
        Workspace s = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(VmTestEnvironment.get())
                .ttl(Duration.ofHours(1)).backend("vm").vcpus(1).memoryMiB(256).build()).name("secret-vm")
                .secrets(dev.davit.sandbox.workspace.Secrets.of(Map.of("API_TOKEN",
                value.getBytes(StandardCharsets.UTF_8))))
                .build());
        try {
            java.io.ByteArrayOutputStream tee = new java.io.ByteArrayOutputStream();
            ExecResult r = workspaces.execs().run(s.id(), ExecRequest.builder(sh("cat /run/secrets/API_TOKEN; echo;"
                    + " busybox stat -c '%a %n' /run/secrets /run/secrets/API_TOKEN;"
                    + " busybox grep ' /run/secrets tmpfs ' /proc/mounts | busybox wc -l; echo len=${#TOKEN}"))
                    .secretEnv("TOKEN", "API_TOKEN").timeout(Duration.ofSeconds(60)).tees(tee, null).build());
            assertEquals(0, r.exitCode(), r.stderrText());
            String out = r.stdoutText();
            assertFalse(out.contains(value), out);
            assertFalse(tee.toString(StandardCharsets.UTF_8).contains(value), "the tee is redacted too");
            assertTrue(out.contains("[REDACTED:API_TOKEN]"), out);
            assertTrue(out.contains("700 /run/secrets\n600 /run/secrets/API_TOKEN\n1\n"), out);
            assertTrue(out.contains("len=" + value.length()), out);

            workspaces.stop(s.id()); // the guest's disk flushed first
            // the VM's disk (its qcow2 overlay holds every block the guest wrote) has no value: the tmpfs was the
            // guest's memory; and on the host the value is only in the saved values (the staged tar is gone)
            byte[] needle = value.getBytes(StandardCharsets.UTF_8);
            try (var files = Files.walk(home)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    String name = f.getFileName().toString();
                    assertFalse(name.startsWith(".put-"), "a staged tar is left: " + f);
                    if (name.equals("values.json") || Files.size(f) > (1L << 30)) {
                        continue;
                    }
                    assertFalse(contains(Files.readAllBytes(f), needle), "the value is in " + f);
                }
            }
            workspaces.start(s.id());
            ExecResult again = workspaces.execs().run(s.id(),
                    ExecRequest.builder(sh("busybox wc -c < /run/secrets/API_TOKEN")).timeout(Duration.ofSeconds(60))
                    .build());
            assertEquals(value.length() + "\n", again.stdoutText().strip() + "\n");
        } finally {
            workspaces.rm(s.id());
        }
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The command lines of the guest's processes. */
    private String processes() {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("busybox", "ps", "-o", "args")
                .timeout(Duration.ofSeconds(30)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    @Test
    @Order(1)
    void servicesWithEachReadinessLogsAndStop() {
        Services later = Workspaces.under(home).services("vmp"); // a later davit
        ServiceChecks.eachReadiness(workspaces.services(w.id()), later, this::processes, Duration.ofSeconds(60));
        long t0 = System.nanoTime();
        later.list();
        System.out.println("vm service ls of 3 services: " + (System.nanoTime() - t0) / 1_000_000 + " ms");

        // one that ignores TERM is killed after the grace period
        later.start("stubborn", sh("trap '' TERM; echo up; while :; do sleep 1; done"), Map.of(), null, null);
        // below davit-agent's holder
        assertTrue(processes().contains("davit-agent hold /.davit/procs/"), processes());
        Services.Service killed = later.stop("stubborn");
        assertEquals("stopped", killed.state());
        assertEquals(137, killed.exitCode()); // 128 + KILL
    }

    @Test
    @Order(2)
    void failedReadinessIsReportedAndTheServiceStopped() {
        ServiceChecks.failedReadiness(workspaces.services(w.id()), this::processes, Duration.ofSeconds(60),
                Duration.ofSeconds(2));
    }

    private static String readUntil(Shells shells, String id, String marker) {
        return ShellReads.readUntil(shells, id, marker, Duration.ofSeconds(60));
    }

    /**
     * A QEMU that turned against its host owns vmm/ (its console files): links it puts there in place of a shell's
     * files are never followed by a shell's read or write (a root-only host file would be read or overwritten).
     */
    @Test
    @Order(4)
    void aShellNeverFollowsALinkTheVmmPutInItsPlace(@TempDir Path tmp) throws IOException {
        Shells shells = workspaces.shells(w.id());
        Shells.Shell s = shells.open(List.of("sleep", "3001"), Map.of());
        try {
            Path secret = Files.writeString(tmp.resolve("secret"), "host-secret\n");
            List<Path> links;
            try (var walk = Files.walk(home)) {
                links = walk.filter(Files::isSymbolicLink).filter(p -> p.getParent().getFileName().toString()
                        .equals(s.id())).toList();
            }
            assertFalse(links.isEmpty(), "the shell's links to its console files");
            List<Path> consoles = new ArrayList<>();
            for (Path link : links) {
                Path console = link.resolveSibling(Files.readSymbolicLink(link));
                Files.move(console, console.resolveSibling(console.getFileName() + ".kept")); // back afterwards
                Files.createSymbolicLink(console, secret);
                consoles.add(console);
            }
            try {
                attack(shells, s.id(), secret);
            } finally {
                for (Path console : consoles) {
                    Files.delete(console);
                    Files.move(console.resolveSibling(console.getFileName() + ".kept"), console);
                }
            }
        } finally {
            shells.close(s.id());
        }
    }

    /** Reads and writes shell {@code id} whose console files are links to {@code secret}. */
    private static void attack(Shells shells, String id, Path secret) throws IOException {
        byte[] got;
        try {
            got = shells.read(id, Duration.ZERO);
        } catch (DavitException e) {
            got = new byte[0];
        }
        assertFalse(new String(got, StandardCharsets.UTF_8).contains("host-secret"));
        assertThrows(DavitException.class, () -> shells.write(id, "overwritten\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals("host-secret\n", Files.readString(secret));
    }

    @Test
    @Order(3)
    void shellOnAVirtioConsole() {
        Shells shells = workspaces.shells(w.id());
        long t0 = System.nanoTime();
        Shells.Shell s = shells.open(null, Map.of());
        System.out.println("vm shell open: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertEquals("running", s.state());
        Shells later = Workspaces.under(home).shells("vmp"); // a later davit
        ShellReads.converse(shells, later, s.id(), this::processes, Duration.ofSeconds(60));
        // and ^C typed on the terminal does the same
        later.write(s.id(), "sleep 4322\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, s.id(), "sleep 4322");
        ShellReads.awaitProcess(this::processes, "sleep 4322", Duration.ofSeconds(60));
        later.write(s.id(), new byte[] {3});
        later.write(s.id(), "echo again-$((4+4))\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, s.id(), "again-8");
        assertFalse(processes().contains("sleep 4322"));

        // the consoles are few: the fifth shell is refused, one closed makes room
        List<String> more = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            more.add(shells.open(List.of("sleep", "200" + i), Map.of()).id());
        }
        DavitException full = assertThrows(DavitException.class, () -> shells.open(null, Map.of()));
        assertEquals(DavitException.Kind.USAGE, full.kind());
        assertTrue(full.getMessage().contains("all 4 terminals"), full.getMessage());
        for (String id : more) {
            shells.close(id);
        }
        long tc = System.nanoTime();
        later.close(s.id()); // an interactive shell ignores TERM; the hang-up ends it (without waiting for KILL)
        System.out.println("vm shell close: " + (System.nanoTime() - tc) / 1_000_000 + " ms");
        assertTrue(later.list().isEmpty());
        assertFalse(processes().contains("sleep 200"));

        // a program that ends: its exit code, and writing to it is refused; a reused console starts clean
        Shells.Shell done = shells.open(List.of("sh", "-c", "echo bye; exit 7"), Map.of());
        String bye = readUntil(shells, done.id(), "bye");
        assertFalse(bye.contains("after-6"), bye);
        long t1 = System.nanoTime();
        while (shells.get(done.id()).state().equals("running") && System.nanoTime() - t1 < 30_000_000_000L) {
            Thread.onSpinWait();
        }
        assertEquals("exited(7)", shells.get(done.id()).label());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> shells.write(done.id(), new byte[] {'x'})).kind());
        shells.close(done.id());
    }

    @Test
    @Order(4)
    void resetEndsServicesShellsAndWhatExecsLeft() {
        workspaces.services(w.id()).start("s", sh("exec sleep 1005"), Map.of(), null, null);
        workspaces.shells(w.id()).open(List.of("sleep", "1006"), Map.of());
        ExecResult bg = workspaces.execs().run(w.id(),
                ExecRequest.builder(sh("busybox setsid sleep 1007 </dev/null >/dev/null 2>&1 &"))
                .timeout(Duration.ofSeconds(30)).build());
        assertEquals(0, bg.exitCode());
        assertTrue(processes().contains("sleep 1007"));
        workspaces.reset(w.id(), null);
        assertEquals("stopped", workspaces.services(w.id()).get("s").state());
        assertTrue(workspaces.shells(w.id()).list().isEmpty());
        String ps = processes();
        assertFalse(ps.contains("sleep 1005") || ps.contains("sleep 1006") || ps.contains("sleep 1007"), ps);
    }

    /**
     * Pause saves the VM's memory and ends its QEMU; resume, by another davit, brings back the service whose counter
     * lives only in its shell's memory: it goes on counting from where it was, the same process.
     */
    @Test
    @Order(5)
    void aServiceKeepsItsMemoryAcrossPauseAndResume() throws Exception {
        workspaces.services(w.id()).start("counter", sh("i=0; while :; do i=$((i+1)); echo \"$$ $i\" > /tmp/c;"
                + " sleep 0.2; done"), Map.of(), null, null);
        // a shell whose output is not read before the pause: it is there after the resume (the shells' output
        // files are kept, and appended to)
        Shells.Shell sh = workspaces.shells(w.id()).open(null, Map.of());
        workspaces.shells(w.id()).write(sh.id(), "echo before-$((20+3))\n".getBytes(StandardCharsets.UTF_8));
        Thread.sleep(1500);
        String before = cat("/tmp/c");
        long qemu = workspaces.sandbox(w.id()).qemuPid();
        long t0 = System.nanoTime();
        Sandbox paused = workspaces.pause(w.id());
        System.out.println("vm workspace pause (save 256 MiB VM): " + (System.nanoTime() - t0) / 1_000_000 + " ms, "
                + java.nio.file.Files.size(home.resolve("sandboxes").resolve(w.sandboxId()).resolve("vmstate"))
                / 1024 + " KiB saved");
        assertEquals(SandboxStatus.STOPPED, paused.status());
        assertTrue(workspaces.paused(w.id()));
        assertFalse(ProcessHandle.of(qemu).map(ProcessHandle::isAlive).orElse(false), "QEMU is gone");
        assertEquals(SandboxStatus.STOPPED, workspaces.pause(w.id()).status()); // paused already: unchanged
        assertTrue(workspaces.paused(w.id()));

        Workspaces later = Workspaces.under(home); // another davit
        t0 = System.nanoTime();
        assertEquals(SandboxStatus.RUNNING, later.resume("vmp").status());
        System.out.println("vm workspace resume: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertFalse(later.paused("vmp"));
        String[] was = before.strip().split(" ");
        Thread.sleep(1000);
        String[] now = cat("/tmp/c").strip().split(" ");
        assertEquals(was[0], now[0], "the same shell");
        assertTrue(Long.parseLong(now[1]) > Long.parseLong(was[1]), before + " then " + String.join(" ", now));
        assertEquals("running", later.services("vmp").get("counter").state());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class, () -> later.resume("vmp")).kind());
        workspaces.services(w.id()).stop("counter");
        readUntil(later.shells("vmp"), sh.id(), "before-23");
        later.shells("vmp").write(sh.id(), "echo after-$((40+2))\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later.shells("vmp"), sh.id(), "after-42");
        later.shells("vmp").close(sh.id());
    }

    private String cat(String path) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("cat", path).timeout(Duration.ofSeconds(30))
                .build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    @Test
    @Order(6)
    void stopEndsThem() {
        workspaces.services(w.id()).start("t", sh("exec sleep 1008"), Map.of(), null, null);
        workspaces.shells(w.id()).open(null, Map.of());
        workspaces.stop(w.id());
        assertEquals("stopped", workspaces.services(w.id()).get("t").state());
        assertTrue(workspaces.shells(w.id()).list().isEmpty());
        // the process of a stopped VM is gone, and not taken for running after the next boot
        workspaces.start(w.id());
        assertEquals("stopped", workspaces.services(w.id()).get("t").state());
        assertFalse(processes().contains("sleep 1008"));
    }
}
