package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ServiceSpec;
import dev.davit.sandbox.workspace.Services;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** Workspace services in tests, on either backend: the same behaviour is expected of both. */
final class ServiceChecks {
    private ServiceChecks() {
    }

    static List<String> sh(String script) {
        return List.of("sh", "-c", script);
    }

    static Services.Readiness ready(String kind, String value) {
        return new Services.Readiness(kind, value);
    }

    /**
     * Starts services {@code file}, {@code port} and {@code cmd} with each kind of readiness through
     * {@code services}, then checks through {@code later} (another davit's) that they run with their logs, that a
     * running name is refused, and that {@code file} stops (TERM: 143) and starts again. {@code processes} lists the
     * sandbox's command lines. Returns the three as started.
     */
    static List<Services.Service> eachReadiness(Services services, Services later, Supplier<String> processes,
                                                Duration limit) {
        Services.Service file = services.start("file", sh("sleep 1; echo one; echo two >&2; touch ready.txt;"
                + " exec sleep 1001"), Map.of(), ready("file", "ready.txt"), limit);
        assertEquals("running", file.state());
        assertTrue(file.ready());
        assertTrue(file.pid() > 1);

        Services.Service port = services.start("port", sh("sleep 1; echo listening; exec busybox nc -l -p 8080"),
                Map.of(), ready("port", "8080"), limit);
        assertTrue(port.ready());
        assertEquals("listening\n", new String(services.logs("port", 0), StandardCharsets.UTF_8));

        Services.Service cmd = services.start(ServiceSpec.builder("cmd", sh("for i in 1 2 3 4 5; do echo"
                + " line$i-$X; done; sleep 1; touch flag; exec sleep 1002")).env("X", "y")
                .readiness(ready("cmd", "test -f flag")).readyTimeout(limit).build());
        assertTrue(cmd.ready());
        assertEquals("line4-y\nline5-y\n", new String(services.logs("cmd", 2), StandardCharsets.UTF_8));

        // a later davit sees them running, with their logs (stdout and stderr interleaved)
        assertEquals(List.of("cmd", "file", "port"), later.list().stream().map(Services.Service::name).toList());
        assertTrue(later.list().stream().allMatch(s -> s.label().equals("running") && s.pid() > 0),
                later.list().toString());
        assertEquals("one\ntwo\n", new String(later.logs("file", 0), StandardCharsets.UTF_8));
        String ps = processes.get();
        assertTrue(ps.contains("sleep 1001") && ps.contains("sleep 1002") && ps.contains("nc -l -p 8080"), ps);

        // a running name is refused; stop sends TERM; an ended one can be started again, with a fresh log
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> later.start("file", sh("true"), Map.of(), null, null)).kind());
        Services.Service stopped = later.stop("file");
        assertEquals("stopped", stopped.state());
        assertEquals(143, stopped.exitCode()); // sh's 128 + TERM, written by the holder
        assertFalse(processes.get().contains("sleep 1001"));
        Services.Service again = later.start("file", sh("echo again; exec sleep 1003"), Map.of(), null, null);
        assertEquals("running", again.state());
        // started means running, not that it has printed yet: wait for its first line
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (later.logs("file", 0).length == 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals("again\n", new String(later.logs("file", 0), StandardCharsets.UTF_8));
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> later.logs("nope", 0)).kind());
        return List.of(file, port, cmd);
    }

    /**
     * A service that exits before it is ready is reported with its exit code and log; one not ready within
     * {@code slow} is stopped and recorded as {@code failed-readiness}.
     */
    static void failedReadiness(Services services, Supplier<String> processes, Duration limit, Duration slow) {
        DavitException e = assertThrows(DavitException.class, () -> services.start("bad", sh("echo boom >&2;"
                + " exit 3"), Map.of(), ready("file", "never"), limit));
        assertTrue(e.getMessage().contains("exited with code 3 before it was ready")
                && e.getMessage().contains("boom"), e.getMessage());
        assertEquals("exited(3)", services.get("bad").label());

        DavitException late = assertThrows(DavitException.class, () -> services.start("slow",
                sh("echo waiting; exec sleep 1004"), Map.of(), ready("port", "9"), slow));
        assertTrue(late.getMessage().contains("was not ready (port 9) within " + slow.toSeconds() + " s")
                && late.getMessage().contains("waiting"), late.getMessage());
        assertEquals("failed-readiness", services.get("slow").state());
        assertFalse(processes.get().contains("sleep 1004"));
    }
}
