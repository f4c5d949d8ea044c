import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * Times workspace operations through the Java API in one warm JVM (the way an embedding program or the MCP server
 * calls them). Usage: java -cp davit.jar WorkspaceBench.java DAVIT_HOME WORKSPACE OP ROUNDS, OP one of
 * exec (exec of true), snapshot (snapshot create + rm), reset (reset to the baseline), diff (diff against the
 * baseline), read (a 4 KiB file read), write (a 4 KiB file written). Before each snapshot or reset, 10 files are
 * edited (untimed), as an agent's turn would. Prints "p50 p95"
 * in milliseconds after 5 warm-up rounds (1 for snapshot, reset and diff).
 */
public class WorkspaceBench {
    public static void main(String[] a) throws Exception {
        Workspaces ws = Workspaces.under(Path.of(a[0]));
        String id = a[1];
        String op = a[2];
        int rounds = Integer.parseInt(a[3]);
        int warm = op.equals("exec") || op.equals("read") || op.equals("write") ? 5 : 1;
        double[] ms = new double[rounds];
        if (op.equals("read")) {
            ws.files().write(id, "bench/r.txt", new java.io.ByteArrayInputStream(new byte[4096]));
        }
        for (int i = -warm; i < rounds; i++) {
            if (op.equals("snapshot") || op.equals("reset")) {
                // an agent's turn: 10 files edited since the last snapshot or reset (not timed)
                ws.execs().run(id, ExecRequest.builder("sh", "-c", "for d in 0 1 2 3 4 5 6 7 8 9; do echo " + i
                        + " >> d00$d/f00${d}00.txt; done").timeout(Duration.ofSeconds(30)).build());
            }
            long t0 = System.nanoTime();
            switch (op) {
                case "exec" -> {
                    ExecResult r = ws.execs().run(id, ExecRequest.builder("true").timeout(Duration.ofSeconds(30))
                            .build());
                    if (r.exitCode() != 0) {
                        throw new IllegalStateException("true exited " + r.exitCode());
                    }
                }
                case "snapshot" -> {
                    ws.snapshot(id, "bench");
                    long t1 = System.nanoTime();
                    ws.removeSnapshot(id, "bench");
                    if (i >= 0) {
                        ms[i] = (t1 - t0) / 1e6;
                    }
                    continue;
                }
                case "reset" -> ws.reset(id, null);
                case "diff" -> ws.files().diff(id);
                case "write" -> ws.files().write(id, "bench/f.txt", new java.io.ByteArrayInputStream(new byte[4096]));
                case "read" -> {
                    if (ws.files().read(id, "bench/r.txt", 0).bytes().length != 4096) {
                        throw new IllegalStateException("read fewer bytes");
                    }
                }
                default -> throw new IllegalArgumentException("unknown op " + op);
            }
            if (i >= 0) {
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Arrays.sort(ms);
        System.out.printf("%.1f %.1f%n", ms[(rounds - 1) / 2], ms[Math.min(rounds - 1, (int) Math.ceil(rounds * 0.95) - 1)]);
    }
}
