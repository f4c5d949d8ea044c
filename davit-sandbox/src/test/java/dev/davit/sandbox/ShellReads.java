package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.sandbox.workspace.Shells;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;

/** Workspace shells in tests, on either backend. */
final class ShellReads {
    private ShellReads() {
    }

    /** Reads the shell's output until it holds {@code marker}; fails when {@code limit} passes first. */
    static String readUntil(Shells shells, String id, String marker, Duration limit) {
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + limit.toNanos();
        while (!seen.toString().contains(marker) && System.nanoTime() < deadline) {
            seen.append(new String(shells.read(id, Duration.ofMillis(500)), StandardCharsets.UTF_8));
        }
        assertTrue(seen.toString().contains(marker), "no " + marker + " in: " + seen);
        return seen.toString();
    }

    /**
     * What a shell on a real terminal does, through {@code shells} then {@code later} (another davit's): the
     * terminal is a TTY, {@code stty} works, the cwd is /workspace and TERM xterm; an interactive {@code read} is
     * answered; {@code signal INT} interrupts {@code sleep 4321} in the foreground. {@code processes} lists the
     * sandbox's command lines.
     */
    static void converse(Shells shells, Shells later, String id, Supplier<String> processes, Duration limit) {
        // $((...)) makes the answer differ from the echoed input
        shells.write(id, Shells.unescape("test -t 0 && echo TTY-$((1+1)); busybox stty >/dev/null &&"
                + " echo STTY-$((2+2)); pwd; echo T=$TERM\\n"));
        String out = readUntil(shells, id, "T=xterm", limit);
        assertTrue(out.contains("TTY-2") && out.contains("STTY-4") && out.contains("/workspace\r\n"), out);

        later.write(id, "read x; echo got-$x-$((5+5))\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, id, "read x", limit);
        later.write(id, "hello\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, id, "got-hello-10", limit);
        // all of it was read: what comes next (the shell's prompt, which may come in a later write) repeats none of it
        String rest = new String(later.read(id, Duration.ofMillis(300)), StandardCharsets.UTF_8);
        assertFalse(rest.contains("got-hello") || rest.contains("read x"), rest);

        // INT to the foreground process group interrupts sleep 4321, as Ctrl-C would
        later.write(id, "sleep 4321\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, id, "sleep 4321", limit);
        awaitProcess(processes, "sleep 4321", limit);
        // the shell may not have made sleep the terminal's foreground group yet (a loaded machine): INT then goes
        // to the interactive shell, which ignores it; send it again until sleep is gone
        long t0 = System.nanoTime();
        do {
            later.signal(id, "INT");
            long t1 = System.nanoTime();
            while (processes.get().contains("sleep 4321") && System.nanoTime() - t1 < 2_000_000_000L) {
                Thread.onSpinWait();
            }
        } while (processes.get().contains("sleep 4321") && System.nanoTime() - t0 < limit.toNanos());
        later.write(id, "echo after-$((3+3))\n".getBytes(StandardCharsets.UTF_8));
        readUntil(later, id, "after-6", limit);
        assertFalse(processes.get().contains("sleep 4321"));
    }

    /** Waits until {@code processes} lists {@code args}; fails when {@code limit} passes first. */
    static void awaitProcess(Supplier<String> processes, String args, Duration limit) {
        long t0 = System.nanoTime();
        while (!processes.get().contains(args)) {
            assertTrue(System.nanoTime() - t0 < limit.toNanos(), "no " + args);
        }
    }
}
