import dev.davit.Davit;
import dev.davit.OpenWorkspace;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.workspace.WorkspaceImages;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * Times commit and snapshots that travel through the Java API in one warm JVM. Usage:
 * java -cp davit.jar TravelBench.java WORK ROOTFS SEED REGISTRY ROUNDS
 * Home WORK/a: an image of ROOTFS, a container workspace over it seeded with SEED (10,000 files) and a 50 MB change
 * of random bytes in /opt; its commit (stored), the first push of it and a later push (layers already there); a
 * snapshot of /workspace pushed (first, then later); and in a fresh home per round (WORK/b-N) a workspace created
 * from the snapshot, pulling its environment. Prints one "name p50 p95" line per measure, in milliseconds (a first
 * push's line holds the one time twice).
 */
public class TravelBench {
    public static void main(String[] a) throws Exception {
        Path work = Path.of(a[0]);
        Path rootfs = Path.of(a[1]);
        Path seed = Path.of(a[2]);
        String registry = a[3];
        int rounds = Integer.parseInt(a[4]);
        String image = "localhost/bench/travel:1";
        try (Davit home = Davit.builder().home(work.resolve("a")).anonymous().build();
             DavitClient client = DavitClient.create(ClientOptions.anonymous(work.resolve("a/store")))) {
            client.build(rootfs, image, BuildOptions.defaults(), ProgressListener.NONE);
            try (OpenWorkspace ws = home.newWorkspace(image).seed(seed).ttl(Duration.ofHours(2)).open()) {
                check(ws.exec("sh", "-c", "head -c 52428800 /dev/urandom > /opt/data.bin"));
                double[] commit = time(rounds, i -> ws.commit("localhost/bench/committed:" + i, null));
                print("commit", commit);
                ws.commit(registry + "/bench/committed:first", null);
                long t0 = System.nanoTime();
                client.push(registry + "/bench/committed:first", null);
                double first = (System.nanoTime() - t0) / 1e6;
                System.out.printf("push-first %.1f %.1f%n", first, first);
                print("commit-push-again", time(rounds, i -> ws.commit(registry + "/bench/committed:r" + i,
                        new WorkspaceImages.CommitOptions(null, true))));

                ws.snapshot("s1");
                t0 = System.nanoTime();
                ws.pushSnapshot("s1", registry + "/bench/proj:first", false);
                first = (System.nanoTime() - t0) / 1e6;
                System.out.printf("snapshot-push-first %.1f %.1f%n", first, first);
                print("snapshot-push-again", time(rounds, i -> ws.pushSnapshot("s1", registry + "/bench/proj:r" + i,
                        false)));
            }
        }
        double[] from = time(rounds, i -> {
            try (Davit b = Davit.builder().home(work.resolve("b-" + i)).anonymous().build(); OpenWorkspace ws = b.newWorkspaceFrom(registry
                    + "/bench/proj:first").open()) {
                return ws.id();
            }
        });
        print("create-from", from);
    }

    private static void check(ExecResult r) {
        if (r.exitCode() != 0) {
            throw new IllegalStateException("exit " + r.exitCode() + ": " + r.stderrText());
        }
    }

    private static double[] time(int rounds, java.util.function.IntFunction<Object> op) {
        double[] ms = new double[rounds];
        for (int i = -1; i < rounds; i++) {
            long t0 = System.nanoTime();
            op.apply(i + 1);
            long t1 = System.nanoTime();
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
