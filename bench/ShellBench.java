import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

/**
 * Times workspace shells through the Java API in one warm JVM (as the MCP server calls them), with only the API
 * that older builds have too (so BASE_JAR can run it). Usage: java -cp davit.jar ShellBench.java DAVIT_HOME
 * WORKSPACE OP ROUNDS, OP one of close (an interactive sh running `sleep` in the foreground is closed; opening it
 * and reaching its prompt are not timed) and turn (`echo hi-N` typed, then reads of up to 5 s each until the text
 * after the echo and the next prompt came: the time and the number of reads). Prints "p50 p95" in milliseconds
 * (turn: and the mean number of reads) after 2 warm-up rounds.
 */
public class ShellBench {
    public static void main(String[] a) throws Exception {
        Shells shells = Workspaces.under(Path.of(a[0])).shells(a[1]);
        String op = a[2];
        int rounds = Integer.parseInt(a[3]);
        double[] ms = new double[rounds];
        long reads = 0;
        String turnShell = op.equals("turn") ? atPrompt(shells) : null;
        for (int i = -2; i < rounds; i++) {
            long t0;
            if (op.equals("close")) {
                String id = atPrompt(shells);
                shells.write(id, "sleep 600\n".getBytes(StandardCharsets.UTF_8));
                until(shells, id, "sleep 600");
                Thread.sleep(200); // sleep runs
                t0 = System.nanoTime();
                shells.close(id);
            } else if (op.equals("turn")) {
                t0 = System.nanoTime();
                shells.write(turnShell, ("echo hi-" + (i + 10) + "\n").getBytes(StandardCharsets.UTF_8));
                int n = until(shells, turnShell, "hi-" + (i + 10) + "\r\n/workspace # ");
                if (i >= 0) {
                    reads += n;
                }
            } else {
                throw new IllegalArgumentException("unknown op " + op);
            }
            if (i >= 0) {
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        if (turnShell != null) {
            shells.close(turnShell);
        }
        Arrays.sort(ms);
        System.out.printf("%.1f %.1f%s%n", ms[(rounds - 1) / 2],
                ms[Math.min(rounds - 1, (int) Math.ceil(rounds * 0.95) - 1)],
                op.equals("turn") ? String.format(" %.1f", (double) reads / rounds) : "");
    }

    /** An interactive sh, read up to its first prompt. */
    private static String atPrompt(Shells shells) {
        String id = shells.open(null, Map.of()).id();
        until(shells, id, "/workspace # ");
        return id;
    }

    /** Reads (raw, up to 5 s each) until {@code marker} was seen; returns how many reads it took. */
    private static int until(Shells shells, String id, String marker) {
        StringBuilder seen = new StringBuilder();
        int n = 0;
        while (!seen.toString().contains(marker)) {
            if (++n > 100) {
                throw new IllegalStateException("no " + marker + " in " + seen);
            }
            seen.append(new String(shells.read(id, Duration.ofSeconds(5)), StandardCharsets.UTF_8));
        }
        return n;
    }
}
