import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.sandbox.target.RunTargets;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.WarmPool;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.internal.WorkspaceInternals;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Workspaces on one backend through the Java API, in one warm JVM (as an embedding program or the MCP server makes
 * them). Usage: java -cp davit.jar K8sBench.java DAVIT_HOME IMAGE BACKEND ROUNDS AT_ONCE. Prints, in ms:
 * create (cold: a sandbox made and started per create, then removed) p50 and p90; create from a warm pool of one
 * spare (the pool refilled, untimed, before each) p50 and p90; exec of {@code true} p50 and p90; a read of a
 * small workspace file p50 and p90; a shell's round trip (a line typed, its answer read) p50 and p90; and AT_ONCE
 * workspaces created at once: the wall time until all were made, and how many of them then ran a command.
 */
public class K8sBench {
    /**
     * Whether a SandboxWarmPool of the bench's namespace has a ready pod (asked with the cluster's kubectl; false
     * without a cluster or without agent-sandbox's extensions).
     */
    private static boolean clusterPoolReady() throws Exception {
        String kube = System.getenv("DAVIT_CLUSTER_KUBE");
        if (kube == null || System.getenv("DAVIT_K8S_NAMESPACE") == null) {
            return false;
        }
        Process p = new ProcessBuilder(kube, "kubectl", "get", "sandboxwarmpools.extensions.agents.x-k8s.io", "-n",
                System.getenv("DAVIT_K8S_NAMESPACE"), "-o", "jsonpath={.items[*].status.readyReplicas}")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        p.waitFor();
        return Arrays.stream(out.split("\\s+")).anyMatch(x -> x.matches("[1-9][0-9]*"));
    }

    public static void main(String[] a) throws Exception {
        Path home = Path.of(a[0]);
        String backend = a[2];
        int rounds = Integer.parseInt(a[3]);
        int atOnce = Integer.parseInt(a[4]);
        RunTarget t;
        try (DavitClient c = DavitClient.create(ClientOptions.defaults().withStore(home.resolve("store")))) {
            t = RunTargets.ofImage(c, home, a[1], null, null);
        }
        CreateSpec spec = CreateSpec.builder(t.rootfs()).image(t.image()).backend(backend).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build();
        Workspaces ws = Workspaces.under(home);

        double[] cold = new double[rounds];
        for (int i = -1; i < rounds; i++) {
            long t0 = System.nanoTime();
            Workspace w = ws.create(WorkspaceSpec.builder(spec).build());
            long t1 = System.nanoTime();
            ws.rm(w.id());
            if (i >= 0) {
                cold[i] = (t1 - t0) / 1e6;
            }
        }
        print(backend + " create, cold", cold);

        double[] warm = new double[rounds];
        double[] warmOutput = new double[rounds];
        try (WarmPool pool = WorkspaceInternals.warmPool(ws, 1, () -> 2, null)) {
            Workspaces spared = WorkspaceInternals.withSpares(ws, pool);
            spared.rm(spared.create(WorkspaceSpec.builder(spec).build()).id()); // the pool learns the kind
            for (int i = 0; i < rounds; i++) {
                long deadline = System.nanoTime() + 300_000_000_000L;
                // a spare of davit's, or one of the cluster's SandboxWarmPool (agent-sandbox's extensions)
                while (pool.ready().isEmpty() && !clusterPoolReady() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                long t0 = System.nanoTime();
                Workspace w = spared.create(WorkspaceSpec.builder(spec).build());
                warm[i] = (System.nanoTime() - t0) / 1e6;
                ws.execs().run(w.id(), ExecRequest.builder("true").timeout(Duration.ofSeconds(60)).build());
                warmOutput[i] = (System.nanoTime() - t0) / 1e6;
                spared.rm(w.id());
            }
        }
        print(backend + " create, warm pool", warm);
        print(backend + " create, warm pool, to a first command's end", warmOutput);

        Workspace w = ws.create(WorkspaceSpec.builder(spec).build());
        double[] exec = new double[rounds];
        for (int i = -5; i < rounds; i++) {
            long t0 = System.nanoTime();
            ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("true").timeout(Duration.ofSeconds(60)).build());
            if (r.exitCode() != 0) {
                throw new IllegalStateException("true exited " + r.exitCode() + ": " + r.stderrText());
            }
            if (i >= 0) {
                exec[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        print(backend + " exec of true", exec);
        ws.files().write(w.id(), "bench.txt", new java.io.ByteArrayInputStream("a line\n".getBytes()));
        double[] read = new double[rounds];
        for (int i = -5; i < rounds; i++) {
            long t0 = System.nanoTime();
            if (ws.files().read(w.id(), "bench.txt", 0).bytes().length != 7) {
                throw new IllegalStateException("bench.txt does not read back");
            }
            if (i >= 0) {
                read[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        print(backend + " workspace file read", read);
        // a shell's round trip: a line typed, read until its answer shows (a pod's through its agent's PROC
        // INPUT and OUTPUT; a container's through the host's FIFO and files); the first rounds warm it up
        dev.davit.sandbox.workspace.Shells shells = ws.shells(w.id());
        String sh = shells.open(null, null).id();
        double[] shell = new double[rounds];
        for (int i = -5; i < rounds; i++) {
            long t0 = System.nanoTime();
            shells.write(sh, ("echo r$((" + i + "+1000))\n").getBytes());
            String want = "r" + (i + 1000) + "\n";
            String got = "";
            while (!got.contains(want) && System.nanoTime() - t0 < 30_000_000_000L) {
                got += shells.read(sh, new dev.davit.sandbox.workspace.Shells.ReadOptions(Duration.ofSeconds(5),
                        Duration.ofMillis(1), java.util.regex.Pattern.compile(want), 65536, false)).text();
            }
            if (!got.contains(want)) {
                throw new IllegalStateException("the shell did not answer: " + got);
            }
            if (i >= 0) {
                shell[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        shells.close(sh);
        ws.rm(w.id());
        print(backend + " shell: a line typed and its answer read", shell);

        List<Workspace> made = new ArrayList<>();
        long t0 = System.nanoTime();
        int failed = 0;
        String firstError = null;
        try (ExecutorService p = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Workspace>> fs = new ArrayList<>();
            for (int i = 0; i < atOnce; i++) {
                fs.add(p.submit(() -> ws.create(WorkspaceSpec.builder(spec).build())));
            }
            for (Future<Workspace> f : fs) {
                try {
                    made.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    failed++;
                    firstError = firstError != null ? firstError : String.valueOf(e.getCause().getMessage());
                }
            }
        }
        long all = (System.nanoTime() - t0) / 1_000_000;
        int ran = 0;
        for (Workspace x : made) {
            if (ws.execs().run(x.id(), ExecRequest.builder("true").timeout(Duration.ofSeconds(60)).build())
                    .exitCode() == 0) {
                ran++;
            }
        }
        try (ExecutorService p = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Workspace x : made) {
                p.submit(() -> ws.rm(x.id()));
            }
        }
        System.out.println(backend + " " + atOnce + " created at once: " + all + " ms; " + ran + " of them ran a"
                + " command" + (failed > 0 ? "; " + failed + " failed: " + firstError : ""));
    }

    private static void print(String what, double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        System.out.printf("%s: p50 %.0f ms, p90 %.0f ms%n", what, s[(s.length - 1) / 2],
                s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.9) - 1)]);
    }
}
