import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.sandbox.target.RunTargets;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * N sandboxes on the k8s backend through the library, as the MCP server makes a workspace's sandbox (create, then
 * start: until its pod runs), on the cluster's simulated nodes (the caller's DAVIT_K8S_NODE_SELECTOR and
 * DAVIT_K8S_TOLERATIONS), AT_ONCE at a time; then all listed with their status, then all removed. Per phase: the
 * wall time and the API server's requests (apiserver_request_total, before and after, by verb and resource; the
 * whole cluster's: kwok's status writes and the scheduler's bindings are theirs, named by subresource).
 * SCALE_LIMITS=none: sandboxes without limits (an earlier davit's requested its limits, which real nodes hold few of).
 * SCALE_FAULT=restart: the API server restarted (scripts/cluster.sh restart-apiserver) once half the creates ended,
 * with the others in flight; every create ends made or refused, and the removal takes every listed sandbox (a refused
 * one's record too): the pods of this home left on the cluster afterwards are counted (none is the goal).
 * Usage: java -cp davit.jar ScaleBench.java DAVIT_HOME IMAGE N AT_ONCE ADMIN_KUBECONFIG, with DAVIT_CLUSTER_KUBE the
 * cluster's binary (its kubectl reads the API server's metrics).
 */
public class ScaleBench {
    private static final Pattern LINE = Pattern.compile("apiserver_request_total\\{(.*)} ([0-9.e+]+)");

    public static void main(String[] a) throws Exception {
        Path home = Path.of(a[0]);
        int n = Integer.parseInt(a[2]);
        int atOnce = Integer.parseInt(a[3]);
        RunTarget t;
        try (DavitClient c = DavitClient.create(ClientOptions.defaults().withStore(home.resolve("store")))) {
            t = RunTargets.ofImage(c, home, a[1], null, null);
        }
        List<String> admin = List.of(System.getenv("DAVIT_CLUSTER_KUBE"), "kubectl", "--kubeconfig", a[4], "get",
                "--raw", "/metrics");
        CreateSpec spec = CreateSpec.builder(t.rootfs()).image(t.image()).backend("k8s").ttl(Duration.ofHours(1))
                .limits("none".equals(System.getenv("SCALE_LIMITS")) ? Limits.NONE : Limits.defaultFor("k8s")).build();
        Sandboxes sb = new Sandboxes(SandboxOptions.under(home));
        // the environment pushed and the policies made once, untimed (the first create of any home does it)
        Sandbox first = sb.create(spec);
        sb.start(first.id());
        sb.rm(first.id());

        Map<String, Double> before = metrics(admin);
        long t0 = System.nanoTime();
        ConcurrentLinkedQueue<String> made = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> failed = new ConcurrentLinkedQueue<>();
        Semaphore room = new Semaphore(atOnce);
        Thread fault = "restart".equals(System.getenv("SCALE_FAULT")) ? Thread.ofVirtual().start(() -> {
            while (made.size() + failed.size() < n / 2) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
            long r0 = System.nanoTime();
            try {
                Process p = new ProcessBuilder("bash", System.getenv("SCALE_ROOT") + "/scripts/cluster.sh",
                        "restart-apiserver").redirectErrorStream(true).start();
                p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                System.out.printf("  the API server restarted at %d of %d (exit %d, %.1f s)%n", n / 2, n,
                        p.waitFor(), (System.nanoTime() - r0) / 1e9);
            } catch (java.io.IOException | InterruptedException e) {
                System.out.println("  the API server's restart failed: " + e);
            }
        }) : null;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                room.acquireUninterruptibly();
                pool.submit(() -> {
                    try {
                        Sandbox s = sb.create(spec);
                        sb.start(s.id());
                        made.add(s.id());
                    } catch (RuntimeException e) {
                        failed.add(e.getMessage());
                    } finally {
                        room.release();
                    }
                });
            }
        }
        long t1 = System.nanoTime();
        if (fault != null) {
            fault.join();
        }
        report("create and start " + n + " (" + atOnce + " at once)", t1 - t0, n, before, metrics(admin));
        if (!failed.isEmpty()) {
            System.out.println("  failed: " + failed.size() + ", first: " + failed.peek());
            failed.clear();
        }
        Runtime rt = Runtime.getRuntime();
        System.gc();
        System.out.printf("  heap in use after: %d MiB; this process's RSS: %d MiB%n",
                (rt.totalMemory() - rt.freeMemory()) >> 20, rss() >> 10);

        before = metrics(admin);
        long t2 = System.nanoTime();
        List<Sandbox> all = sb.list();
        long running = all.stream().filter(s -> s.status() == SandboxStatus.RUNNING).count();
        long t3 = System.nanoTime();
        report("list " + all.size() + " (" + running + " running)", t3 - t2, n, before, metrics(admin));
        Path idFile = home.resolve("k8s-home-id"); // none made by a build before the home's own id
        String homeId = Files.exists(idFile) ? Files.readString(idFile).strip() : null;

        before = metrics(admin);
        long t4 = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Sandbox s : all) { // made or refused: a refused one's record is there to remove too
                room.acquireUninterruptibly();
                pool.submit(() -> {
                    try {
                        sb.rm(s.id());
                    } catch (RuntimeException e) {
                        failed.add(e.getMessage());
                    } finally {
                        room.release();
                    }
                });
            }
        }
        long t5 = System.nanoTime();
        report("remove " + all.size(), t5 - t4, n, before, metrics(admin));
        if (!failed.isEmpty()) {
            System.out.println("  removals failed: " + failed.size() + ", first: " + failed.peek());
        }
        if (homeId == null) {
            System.out.printf("  RSS at the end: %d MiB%n", rss() >> 10);
            System.exit(0);
        }
        List<String> left = new ArrayList<>(admin.subList(0, 4));
        left.addAll(List.of("get", "pods", "-n", System.getenv("DAVIT_K8S_NAMESPACE"), "-l", "davit.dev/home=" + homeId,
                "-o", "name"));
        Process p = new ProcessBuilder(left).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long leftovers = new String(p.getInputStream().readAllBytes()).lines().count();
        p.waitFor();
        System.out.printf("  pods of this home left on the cluster: %d%n", leftovers);
        System.out.printf("  RSS at the end: %d MiB%n", rss() >> 10);
        System.exit(0);
    }

    private static long rss() throws java.io.IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    private static void report(String phase, long nanos, int n, Map<String, Double> before, Map<String, Double> after) {
        System.out.printf("%s: %.1f s%n", phase, nanos / 1e9);
        Map<String, Double> delta = new TreeMap<>();
        after.forEach((k, v) -> {
            double d = v - before.getOrDefault(k, 0.0);
            if (d > 0) {
                delta.merge(k, d, Double::sum);
            }
        });
        delta.forEach((k, v) -> System.out.printf("  %-44s %7.0f  (%.2f per sandbox)%n", k, v, v / n));
    }

    /** apiserver_request_total summed by verb, resource and subresource (asked with the cluster's kubectl). */
    private static Map<String, Double> metrics(List<String> kubectl) throws java.io.IOException, InterruptedException {
        Process p = new ProcessBuilder(kubectl).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("kubectl get --raw /metrics failed");
        }
        Map<String, Double> m = new TreeMap<>();
        for (String line : text.split("\n")) {
            Matcher x = LINE.matcher(line);
            if (!x.matches()) {
                continue;
            }
            String labels = x.group(1);
            String resource = label(labels, "resource");
            if (resource.isEmpty() || resource.equals("leases") || resource.equals("events")
                    && !label(labels, "verb").equals("LIST")) {
                continue; // kwok's and the kubelets' heartbeats, the components' events
            }
            String sub = label(labels, "subresource");
            String key = label(labels, "verb") + " " + resource + (sub.isEmpty() ? "" : "/" + sub);
            m.merge(key, Double.parseDouble(x.group(2)), Double::sum);
        }
        return m;
    }

    private static String label(String labels, String name) {
        Matcher m = Pattern.compile("(^|,)" + name + "=\"([^\"]*)\"").matcher(labels);
        return m.find() ? m.group(2) : "";
    }
}
