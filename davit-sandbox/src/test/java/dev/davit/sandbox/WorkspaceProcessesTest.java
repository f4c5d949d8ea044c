package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Workspace services and shells over real bwrap sandboxes, util-linux script and a busybox root filesystem. */
class WorkspaceProcessesTest {
    @TempDir
    Path tmp;

    Path home;
    Workspaces workspaces;
    Workspace w;

    @BeforeEach
    void setUp() throws IOException {
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        for (String applet : List.of("test", "stty", "ps", "rm", "printf")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        home = tmp.resolve("home");
        workspaces = Workspaces.under(home);
        w = workspaces.create(new CreateSpec(rootfs, Map.of(), null, null, null, Duration.ofHours(1)), "w", null);
    }

    @AfterEach
    void cleanUp() {
        for (Workspace x : workspaces.list()) {
            workspaces.rm(x.id());
        }
    }

    private static List<String> sh(String script) {
        return List.of("sh", "-c", script);
    }

    /** The command lines of the processes in the workspace's sandbox (its keeper included). */
    private String processes() {
        ExecResult r = workspaces.exec(w.id(), List.of("ps", "-o", "args"), Map.of(), null, Duration.ofSeconds(20),
                null, null, null);
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    /** Alive and not a zombie (an orphan's parent may be slow to reap it). */
    private static boolean running(long pid) {
        return ProcessHandle.of(pid).map(Lifecycle::running).orElse(false);
    }

    private static Services.Readiness ready(String kind, String value) {
        return new Services.Readiness(kind, value);
    }

    @Test
    void servicesWithEachReadinessLogsAndStop() {
        Services services = workspaces.services(w.id());
        Services.Service file = services.start("file", sh("sleep 1; echo one; echo two >&2; touch ready.txt;"
                + " exec sleep 1001"), Map.of(), ready("file", "ready.txt"), Duration.ofSeconds(20));
        assertEquals("running", file.state());
        assertTrue(file.ready());
        assertTrue(Files.exists(workspaces.sandboxes().filesOnHost(w.sandboxId()).resolve("workspace/ready.txt")));

        Services.Service port = services.start("port", sh("sleep 1; echo listening; exec nc -l -p 8080"),
                Map.of(), ready("port", "8080"), Duration.ofSeconds(20));
        assertTrue(port.ready());
        assertEquals("listening\n", new String(services.logs("port", 0), StandardCharsets.UTF_8));

        Services.Service cmd = services.start("cmd", sh("for i in 1 2 3 4 5; do echo line$i; done; sleep 1;"
                + " touch flag; exec sleep 1002"), Map.of("X", "y"), ready("cmd", "test -f flag"),
                Duration.ofSeconds(20));
        assertTrue(cmd.ready());
        assertEquals("line4\nline5\n", new String(services.logs("cmd", 2), StandardCharsets.UTF_8));

        // a later davit sees them, with their logs (stdout and stderr interleaved)
        Services later = Workspaces.under(home).services("w");
        assertEquals(List.of("cmd", "file", "port"), later.list().stream().map(Services.Service::name).toList());
        assertTrue(later.list().stream().allMatch(s -> s.label().equals("running") && s.pid() > 0));
        assertEquals("one\ntwo\n", new String(later.logs("file", 0), StandardCharsets.UTF_8));
        String ps = processes();
        assertTrue(ps.contains("sleep 1001") && ps.contains("sleep 1002") && ps.contains("nc -l -p 8080"), ps);

        // a running name is refused; stop ends the process tree; an ended one can be started again
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> later.start("file", sh("true"), Map.of(), null, null)).kind());
        Services.Service stopped = later.stop("file");
        assertEquals("stopped", stopped.state());
        assertEquals(143, stopped.exitCode()); // sh's 128 + TERM, written by the holder
        assertFalse(running(file.pid()));
        assertFalse(processes().contains("sleep 1001"));
        Services.Service again = later.start("file", sh("echo again; exec sleep 1003"), Map.of(), null, null);
        assertEquals("running", again.state());
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> later.logs("nope", 0)).kind());

        // the workspace's stop ends them all, recorded as stopped
        workspaces.stop(w.id());
        assertTrue(later.list().stream().allMatch(s -> s.state().equals("stopped")), later.list().toString());
        for (Services.Service s : later.list()) {
            assertFalse(running(s.pid()), s.name());
        }
    }

    @Test
    void failedReadinessIsReportedAndTheServiceStopped() {
        Services services = workspaces.services(w.id());
        DavitException e = assertThrows(DavitException.class, () -> services.start("bad", sh("echo boom >&2;"
                + " exit 3"), Map.of(), ready("file", "never"), Duration.ofSeconds(20)));
        assertTrue(e.getMessage().contains("exited with code 3 before it was ready")
                && e.getMessage().contains("boom"), e.getMessage());
        assertEquals("exited(3)", services.get("bad").label());

        DavitException slow = assertThrows(DavitException.class, () -> services.start("slow",
                sh("echo waiting; exec sleep 1004"), Map.of(), ready("port", "9"), Duration.ofSeconds(1)));
        assertTrue(slow.getMessage().contains("was not ready (port 9) within 1 s")
                && slow.getMessage().contains("waiting"), slow.getMessage());
        assertEquals("failed-readiness", services.get("slow").state());
        assertFalse(processes().contains("sleep 1004"));

        for (String[] bad : new String[][] {{"port", "0"}, {"port", "x"}, {"file", "../x"}, {"nope", "x"}}) {
            assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                    () -> ready(bad[0], bad[1])).kind());
        }
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> services.start("../x", sh("true"), Map.of(), null, null)).kind());
    }

    @Test
    void resetAndRmEndServicesAndShells() {
        Services.Service s = workspaces.services(w.id()).start("s", sh("exec sleep 1005"), Map.of(), null, null);
        Shells.Shell shell = workspaces.shells(w.id()).open(null, Map.of());
        workspaces.reset(w.id(), null);
        assertEquals("stopped", workspaces.services(w.id()).get("s").state());
        assertTrue(workspaces.shells(w.id()).list().isEmpty());
        assertFalse(running(s.pid()));
        assertFalse(running(shell.pid()));
        assertFalse(processes().contains("sleep 1005"));

        Services.Service s2 = workspaces.services(w.id()).start("s", sh("exec sleep 1006"), Map.of(), null, null);
        Shells.Shell sh2 = workspaces.shells(w.id()).open(List.of("sleep", "1007"), Map.of());
        workspaces.rm(w.id());
        assertFalse(running(s2.pid()));
        assertFalse(running(sh2.pid()));
    }

    /** Reads the shell's output until it holds {@code marker} (or 30 s pass). */
    private static String readUntil(Shells shells, String id, String marker) {
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!seen.toString().contains(marker) && System.nanoTime() < deadline) {
            seen.append(new String(shells.read(id, Duration.ofMillis(500)), StandardCharsets.UTF_8));
        }
        assertTrue(seen.toString().contains(marker), "no " + marker + " in: " + seen);
        return seen.toString();
    }

    @Test
    void shellOnARealTerminal() {
        Shells shells = workspaces.shells(w.id());
        Shells.Shell s = shells.open(null, Map.of());
        assertEquals("running", s.state());
        // $((...)) makes the answer differ from the echoed input
        shells.write(s.id(), Shells.unescape("test -t 0 && echo TTY-$((1+1)); stty >/dev/null && echo STTY-$((2+2));"
                + " pwd; echo T=$TERM\\n"));
        String out = readUntil(shells, s.id(), "T=xterm");
        assertTrue(out.contains("TTY-2") && out.contains("STTY-4") && out.contains("/workspace\r\n"), out);

        // an interactive program answered through write/read, by a later davit
        Shells later = Workspaces.under(home).shells("w");
        later.write(s.id(), "read x; echo got-$x-$((5+5))\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, s.id(), "read x");
        later.write(s.id(), "hello\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, s.id(), "got-hello-10");
        assertEquals(0, later.read(s.id(), Duration.ZERO).length); // all of it was read

        // INT to the foreground process group interrupts sleep 100, as Ctrl-C would
        later.write(s.id(), "sleep 100\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, s.id(), "sleep 100");
        long t0 = System.nanoTime();
        while (!processes().contains("sleep 100") && System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos()) {
            Thread.onSpinWait();
        }
        later.signal(s.id(), "INT");
        later.write(s.id(), "echo after-$((3+3))\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, s.id(), "after-6");
        assertFalse(processes().contains("sleep 100"));

        assertEquals(List.of(s.id()), later.list().stream().map(Shells.Shell::id).toList());
        later.close(s.id());
        assertTrue(later.list().isEmpty());
        assertFalse(running(s.pid()));
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> later.read(s.id(), Duration.ZERO)).kind());

        // a program that ends: its exit code, and writing to it is refused
        Shells.Shell done = shells.open(List.of("sh", "-c", "echo bye; exit 7"), Map.of());
        readUntil(shells, done.id(), "bye");
        long t1 = System.nanoTime();
        while (shells.get(done.id()).state().equals("running") && System.nanoTime() - t1 < 10_000_000_000L) {
            Thread.onSpinWait();
        }
        assertEquals("exited(7)", shells.get(done.id()).label());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> shells.write(done.id(), new byte[] {'x'})).kind());
    }

    @Test
    void unescape() {
        assertEquals("a\nb\r\t\u001b\u0003\\x\\q\\", new String(Shells.unescape("a\\nb\\r\\t\\e\\x03\\\\x\\q\\"),
                StandardCharsets.ISO_8859_1));
        assertEquals("\\xZ1", new String(Shells.unescape("\\xZ1"), StandardCharsets.ISO_8859_1));
    }
}
