import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Times fork, pause and resume through the Java API in one warm JVM. Usage:
 * java -cp davit.jar ForkBench.java DAVIT_HOME ROOTFS SEED ROUNDS [VM_ENV]
 * A container workspace over ROOTFS (default limits: its own 10 GiB sparse disk, as root) seeded with SEED; then
 * fork of 1 and of 8 (removed untimed), pause and resume; with VM_ENV (a microVM environment directory) a 256 MiB
 * microVM workspace's pause and resume against its stop and start. Prints one "name p50 p95" line per measure, in
 * milliseconds, after one warm-up round each.
 */
public class ForkBench {
    public static void main(String[] a) throws Exception {
        Workspaces ws = Workspaces.under(Path.of(a[0]));
        Path rootfs = Path.of(a[1]);
        Path seed = Path.of(a[2]);
        int rounds = Integer.parseInt(a[3]);
        Workspace w = ws.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(2)).build())
                .seed(seed).build());
        try {
            ws.execs().run(w.id(), ExecRequest.builder("sh", "-c", "echo installed > /etc/bench.conf")
                    .timeout(Duration.ofSeconds(30)).build());
            print("fork-1", time(rounds, () -> ws.fork(w.id(), 1, List.of(), null), forks -> forks.forEach(
                    f -> ws.rm(f.id()))));
            print("fork-8", time(Math.max(3, rounds / 3), () -> ws.fork(w.id(), 8, List.of(), null),
                    forks -> forks.forEach(f -> ws.rm(f.id()))));
            double[] pause = new double[rounds];
            double[] resume = new double[rounds];
            for (int i = -1; i < rounds; i++) {
                long t0 = System.nanoTime();
                ws.pause(w.id());
                long t1 = System.nanoTime();
                ws.resume(w.id());
                long t2 = System.nanoTime();
                if (i >= 0) {
                    pause[i] = (t1 - t0) / 1e6;
                    resume[i] = (t2 - t1) / 1e6;
                }
            }
            print("container-pause", pause);
            print("container-resume", resume);
        } finally {
            ws.rm(w.id());
        }
        if (a.length > 4) {
            Workspace v = ws.create(WorkspaceSpec.builder(CreateSpec.builder(Path.of(a[4])).ttl(Duration.ofHours(2))
                    .backend("vm").vcpus(1).memoryMiB(256).build()).build());
            try {
                // a service running, as an agent's dev server would be
                ws.services(v.id()).start("svc", List.of("sh", "-c", "while :; do sleep 1; done"), Map.of(), null,
                        null);
                int vmRounds = Math.max(3, rounds / 3);
                double[] pause = new double[vmRounds];
                double[] resume = new double[vmRounds];
                double[] stop = new double[vmRounds];
                double[] start = new double[vmRounds];
                for (int i = -1; i < vmRounds; i++) {
                    long t0 = System.nanoTime();
                    ws.pause(v.id());
                    long t1 = System.nanoTime();
                    ws.resume(v.id());
                    long t2 = System.nanoTime();
                    check(ws.execs().run(v.id(), ExecRequest.builder("true").timeout(Duration.ofSeconds(60)).build()));
                    if (i >= 0) {
                        pause[i] = (t1 - t0) / 1e6;
                        resume[i] = (t2 - t1) / 1e6;
                    }
                }
                for (int i = -1; i < vmRounds; i++) {
                    long t0 = System.nanoTime();
                    ws.stop(v.id());
                    long t1 = System.nanoTime();
                    ws.start(v.id());
                    long t2 = System.nanoTime();
                    check(ws.execs().run(v.id(), ExecRequest.builder("true").timeout(Duration.ofSeconds(60)).build()));
                    if (i >= 0) {
                        stop[i] = (t1 - t0) / 1e6;
                        start[i] = (t2 - t1) / 1e6;
                    }
                }
                print("vm-pause", pause);
                print("vm-resume", resume);
                print("vm-stop", stop);
                print("vm-start", start);
                long saved = 0;
                ws.pause(v.id());
                Path state = Path.of(a[0]).resolve("sandboxes").resolve(v.sandboxId()).resolve("vmstate");
                saved = Files.size(state);
                System.out.println("vm-saved-bytes " + saved + " " + saved);
            } finally {
                ws.rm(v.id());
            }
        }
    }

    private static void check(ExecResult r) {
        if (r.exitCode() != 0) {
            throw new IllegalStateException("true exited " + r.exitCode());
        }
    }

    private static <T> double[] time(int rounds, java.util.function.Supplier<T> op,
                                     java.util.function.Consumer<T> after) {
        double[] ms = new double[rounds];
        for (int i = -1; i < rounds; i++) {
            long t0 = System.nanoTime();
            T made = op.get();
            long t1 = System.nanoTime();
            after.accept(made);
            if (i >= 0) {
                ms[i] = (t1 - t0) / 1e6;
            }
        }
        return ms;
    }

    private static void print(String name, double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        System.out.printf("%s %.1f %.1f%n", name, s[(s.length - 1) / 2],
                s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.95) - 1)]);
    }
}
