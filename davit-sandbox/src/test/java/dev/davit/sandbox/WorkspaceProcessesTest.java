package dev.davit.sandbox;

import static dev.davit.sandbox.ServiceChecks.ready;
import static dev.davit.sandbox.ServiceChecks.sh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.oci.DavitException;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Workspace services and shells over real bwrap sandboxes, util-linux script and a busybox root filesystem. */
class WorkspaceProcessesTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("test", "stty", "ps", "rm", "printf");
    }

    Workspace w;

    @BeforeEach
    void createWorkspace() {
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").build());
    }

    /** The command lines of the processes in the workspace's sandbox (its keeper included). */
    private String processes() {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("ps", "-o", "args")
                .timeout(Duration.ofSeconds(20)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    /** Alive and not a zombie (an orphan's parent may be slow to reap it). */
    private static boolean running(long pid) {
        return ProcessHandle.of(pid).map(Host::running).orElse(false);
    }

    @Test
    void servicesWithEachReadinessLogsAndStop() {
        Services later = Workspaces.under(home).services("w"); // a later davit
        List<Services.Service> started = ServiceChecks.eachReadiness(workspaces.services(w.id()), later,
                this::processes, Duration.ofSeconds(20));
        assertTrue(Files.exists(Machinery.of(workspaces.sandboxes()).filesOnHost(w.sandboxId())
                .resolve("workspace/ready.txt")));
        assertFalse(running(started.get(0).pid())); // stopped, as a host process

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
        ServiceChecks.failedReadiness(services, this::processes, Duration.ofSeconds(20), Duration.ofSeconds(1));

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

    private static String readUntil(Shells shells, String id, String marker) {
        return ShellReads.readUntil(shells, id, marker, Duration.ofSeconds(30));
    }

    @Test
    void shellOnARealTerminal() {
        Shells shells = workspaces.shells(w.id());
        Shells.Shell s = shells.open(null, Map.of());
        assertEquals("running", s.state());
        Shells later = Workspaces.under(home).shells("w"); // a later davit
        ShellReads.converse(shells, later, s.id(), this::processes, Duration.ofSeconds(30));

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

    /**
     * A workspace runs at most {@link Services#MAX_RUNNING} services and has at most {@link Shells#MAX_OPEN} shells
     * open: each costs a holder on the host (and a log filter JVM with secrets), so the next is refused, in words
     * that say what to stop (issue 33 review, H1); an ended service does not count, a closed shell frees its place.
     */
    @Test
    void theNextServiceOrShellPastTheCapIsRefused() {
        Services services = workspaces.services(w.id());
        services.start("ended", List.of("true"), Map.of(), null, null);
        for (int i = 0; i < Services.MAX_RUNNING; i++) {
            services.start("s" + i, List.of("sleep", "100"), Map.of(), null, null);
        }
        DavitException e = assertThrows(DavitException.class, () -> services.start("one-more", List.of("sleep",
                "100"), Map.of(), null, null));
        assertEquals(DavitException.Kind.STATE, e.kind());
        // named as the workspace is named (errors name what the caller knows it by)
        assertEquals("workspace " + w.name() + " has 16 services running (the most); stop one first"
                + " with Workspaces.services(\"" + w.name() + "\").stop(name)", e.getMessage());
        services.stop("s0");
        services.start("one-more", List.of("sleep", "100"), Map.of(), null, null);

        Shells shells = workspaces.shells(w.id());
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < Shells.MAX_OPEN; i++) {
            ids.add(shells.open(List.of("sleep", i == 0 ? "0" : "100"), Map.of()).id());
        }
        e = assertThrows(DavitException.class, () -> shells.open(null, Map.of()));
        assertEquals(DavitException.Kind.STATE, e.kind());
        assertEquals("workspace " + w.name() + " has 16 shells open (the most); close one first with"
                + " Workspaces.shells(\"" + w.name() + "\").close(id)", e.getMessage());
        shells.close(ids.get(0)); // the ended one: open until closed
        shells.open(null, Map.of());
        services.stopAll();
        shells.closeAll();
    }

    /**
     * Starts at once from threads of one JVM (an MCP server's concurrent calls) wait for each other at the cap's
     * lock: none fails on the file lock the other thread holds, and the cap still holds for them together.
     */
    @Test
    void concurrentStartsInOneJvmShareTheCapsLock() throws Exception {
        Services services = workspaces.services(w.id());
        int n = Services.MAX_RUNNING + 4;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<?>> starts = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                String name = "c" + i;
                starts.add(pool.submit(() -> services.start(name, List.of("sleep", "100"), Map.of(), null, null)));
            }
            int started = 0;
            int refused = 0;
            for (java.util.concurrent.Future<?> f : starts) {
                try {
                    f.get();
                    started++;
                } catch (java.util.concurrent.ExecutionException x) {
                    DavitException e = assertInstanceOf(DavitException.class, x.getCause(), String.valueOf(x));
                    assertEquals(DavitException.Kind.STATE, e.kind(), e.getMessage());
                    refused++;
                }
            }
            assertEquals(Services.MAX_RUNNING, started);
            assertEquals(n - Services.MAX_RUNNING, refused);
        } finally {
            pool.shutdownNow();
            services.stopAll();
        }
    }
}
