import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Times one-shot microVM runs of {@code true} through the Java API in one JVM: boot to agent-ready, the exec and the
 * clean-up. Usage: java -cp davit.jar VmRunBench.java DAVIT_HOME ENV_DIR ROUNDS (ENV_DIR: vmlinux, initrd,
 * rootfs.ext4). Prints "p50 p95" in milliseconds after one warm-up round.
 */
public class VmRunBench {
    public static void main(String[] a) throws Exception {
        Sandboxes s = new Sandboxes(SandboxOptions.under(Path.of(a[0])));
        Path env = Path.of(a[1]);
        int rounds = Integer.parseInt(a[2]);
        double[] ms = new double[rounds];
        for (int i = -1; i < rounds; i++) {
            long t0 = System.nanoTime();
            ExecResult r = s.run(RunSpec.builder(env).backend("vm").command("true").build());
            long t1 = System.nanoTime();
            if (r.exitCode() != 0) {
                throw new IllegalStateException("exit " + r.exitCode() + ": " + r.stderrText());
            }
            if (i >= 0) {
                ms[i] = (t1 - t0) / 1e6;
            }
        }
        Arrays.sort(ms);
        System.out.printf("%.0f %.0f%n", ms[(rounds - 1) / 2], ms[Math.min(rounds - 1, (int) Math.ceil(rounds * 0.95) - 1)]);
    }
}
