import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Times one-shot microVM runs of {@code true} through the Java API in one JVM: boot to agent-ready, the exec and the
 * clean-up. Usage: java -cp davit.jar VmRunBench.java DAVIT_HOME ENV_DIR ROUNDS [exec] (ENV_DIR: vmlinux, initrd,
 * rootfs.ext4). Prints "p50 p95" in milliseconds after one warm-up round. With {@code exec}: ROUNDS execs of
 * {@code true} in one long-lived VM sandbox instead (after five to warm up), each timed alone. With {@code read}:
 * ROUNDS reads of the guest's {@code /proc/1/net/tcp} (a service's readiness probe) through the sandbox's guest
 * files, the same way. With {@code spawn}: ROUNDS lives of a background command (a detached {@code sleep 60}
 * started, seen running, stopped), the same way.
 */
public class VmRunBench {
    public static void main(String[] a) throws Exception {
        Sandboxes s = new Sandboxes(SandboxOptions.under(Path.of(a[0])));
        Path env = Path.of(a[1]);
        int rounds = Integer.parseInt(a[2]);
        double[] ms = new double[rounds];
        if (a.length > 3 && (a[3].equals("exec") || a[3].equals("read") || a[3].equals("spawn"))) {
            boolean read = a[3].equals("read");
            boolean spawn = a[3].equals("spawn");
            String id = s.create(dev.davit.sandbox.CreateSpec.builder(env).ttl(java.time.Duration.ofHours(1))
                    .backend("vm").vcpus(1).memoryMiB(256).build()).id();
            try {
                s.start(id);
                for (int i = -5; i < rounds; i++) {
                    long t0 = System.nanoTime();
                    if (spawn) {
                        // a background command's life: started detached, seen running, stopped (TERM ends it)
                        Path d = java.nio.file.Files.createTempDirectory("vmrun-spawn");
                        dev.davit.sandbox.internal.Spawned p = dev.davit.sandbox.backend.Machinery.of(s).spawn(id,
                                java.util.List.of("sleep", "60"), java.util.Map.of(), null, d, false);
                        if (!dev.davit.sandbox.backend.Machinery.of(s).alive(p)) {
                            throw new IllegalStateException("the detached sleep is not running");
                        }
                        dev.davit.sandbox.backend.Machinery.of(s).terminate(p, java.time.Duration.ofSeconds(5));
                        if (i >= 0) {
                            ms[i] = (System.nanoTime() - t0) / 1e6;
                        }
                        continue;
                    }
                    if (read) {
                        int n = dev.davit.sandbox.backend.Machinery.of(s).guestFiles(id).read("/proc/1/net/tcp", 0)
                                .bytes().length;
                        if (i >= 0) {
                            ms[i] = (System.nanoTime() - t0) / 1e6;
                        }
                        if (n == 0) {
                            throw new IllegalStateException("an empty /proc/1/net/tcp");
                        }
                        continue;
                    }
                    ExecResult r = s.exec(id, java.util.List.of("true"), java.util.Map.of(), null,
                            java.time.Duration.ofSeconds(30));
                    long t1 = System.nanoTime();
                    if (r.exitCode() != 0) {
                        throw new IllegalStateException("exit " + r.exitCode() + ": " + r.stderrText());
                    }
                    if (i >= 0) {
                        ms[i] = (t1 - t0) / 1e6;
                    }
                }
            } finally {
                s.stop(id);
                s.rm(id);
            }
            Arrays.sort(ms);
            System.out.printf("%.1f %.1f%n", ms[(rounds - 1) / 2],
                    ms[Math.min(rounds - 1, (int) Math.ceil(rounds * 0.95) - 1)]);
            return;
        }
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
