import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.testnet.TestInternet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An egress policy (the gate) against NAT (slirp4netns), measured in the same run on the same test Internet (network
 * namespaces of the bench's own, 198.18.N.0/24; nothing leaves the host): a sandbox's start (a one-shot run of
 * {@code true}, alternating), time to first byte of an HTTPS request to an allowed name (curl in the sandbox, a new
 * connection each, {@code --resolve} so both modes skip DNS alike), and the throughput of a 100 MB download over
 * HTTP. Usage: java -cp CLASSPATH bench/EgressBench.java WORKDIR ROUNDS (see bench/egress.sh). Prints one row per
 * measure and mode: p50 and p95.
 */
public class EgressBench {
    public static void main(String[] a) throws Exception {
        Path work = Path.of(a[0]);
        int rounds = Integer.parseInt(a[1]);
        try (TestInternet net = TestInternet.start()) {
            Path rootfs = rootfs(work.resolve("rootfs"), net);
            Path dns = Files.createDirectories(work.resolve("dns"));
            Files.copy(net.resolvConf(), dns.resolve("resolv.conf"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(net.hostsFile(), dns.resolve("hosts"), StandardCopyOption.REPLACE_EXISTING);
            Sandboxes sb = new Sandboxes(SandboxOptions.of(work.resolve("state")).withEgressDns(dns));
            Network policy = Network.policy(EgressPolicy.parse(List.of("allowed.test"), List.of(), List.of(),
                    List.of(), List.of()));
            List<Network> modes = List.of(Network.NAT, policy);
            // the gate's AOT cache (Java 25+) is made in the background after the first policy sandbox: wait for it
            run(sb, rootfs, policy, "true");
            Path cache = Path.of(System.getProperty("user.home"), ".cache", "davit", "gate-aot");
            for (int i = 0; i < 600 && Files.isDirectory(cache); i++) {
                try (var s = Files.list(cache)) {
                    if (s.noneMatch(f -> f.toString().endsWith(".training"))) {
                        break;
                    }
                }
                Thread.sleep(100);
            }
            double[][] start = new double[2][rounds];
            for (int i = -2; i < rounds; i++) {
                for (int m = 0; m < 2; m++) {
                    long t0 = System.nanoTime();
                    ExecResult r = run(sb, rootfs, modes.get(m), "true");
                    if (r.exitCode() != 0) {
                        throw new IllegalStateException(r.stderrText());
                    }
                    if (i >= 0) {
                        start[m][i] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
            String resolve = "--resolve allowed.test:443:" + net.allowedAddress() + " --resolve allowed.test:80:"
                    + net.allowedAddress();
            String ttfbScript = "i=0; while [ $i -lt " + (rounds + 3) + " ]; do curl -sS -o /dev/null --cacert /ca.pem "
                    + resolve + " -w '%{time_starttransfer}\\n' https://allowed.test/; i=$((i+1)); done";
            String tputScript = "i=0; while [ $i -lt 3 ]; do curl -sS -o /dev/null " + resolve
                    + " -w '%{speed_download}\\n' http://allowed.test/bytes/104857600; i=$((i+1)); done";
            for (int m = 0; m < 2; m++) {
                String label = m == 0 ? "nat" : "policy";
                ExecResult t = run(sb, rootfs, modes.get(m), ttfbScript);
                double[] ttfb = t.stdoutText().lines().skip(3).mapToDouble(s -> Double.parseDouble(s) * 1000)
                        .toArray();
                ExecResult p = run(sb, rootfs, modes.get(m), tputScript);
                double[] mbs = p.stdoutText().lines().mapToDouble(s -> Double.parseDouble(s) / 1e6).toArray();
                System.out.printf("start(run of true) %-6s p50 %7.1f ms  p95 %7.1f ms%n", label, pct(start[m], 50),
                        pct(start[m], 95));
                System.out.printf("https ttfb         %-6s p50 %7.2f ms  p95 %7.2f ms%n", label, pct(ttfb, 50),
                        pct(ttfb, 95));
                System.out.printf("100 MB http        %-6s p50 %7.0f MB/s (of %d)%n", label, pct(mbs, 50), mbs.length);
            }
        }
    }

    static ExecResult run(Sandboxes sb, Path rootfs, Network n, String script) {
        return sb.run(RunSpec.builder(rootfs).network(n).command("sh", "-c", script)
                .timeout(Duration.ofMinutes(5)).build());
    }

    static double pct(double[] v, int p) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)];
    }

    /** busybox with a few applets, the host's curl with its libraries, and the test CA at /ca.pem. */
    static Path rootfs(Path dir, TestInternet net) throws Exception {
        for (String d : List.of("bin", "proc", "dev", "sys", "tmp", "etc", "run")) {
            Files.createDirectories(dir.resolve(d));
        }
        Path busybox = Path.of(new String(new ProcessBuilder("sh", "-c", "command -v busybox").start()
                .getInputStream().readAllBytes()).strip());
        Files.copy(busybox, dir.resolve("bin/busybox"), StandardCopyOption.REPLACE_EXISTING);
        for (String s : List.of("sh", "true", "cat")) {
            Files.deleteIfExists(dir.resolve("bin").resolve(s));
            Files.createSymbolicLink(dir.resolve("bin").resolve(s), Path.of("busybox"));
        }
        List<Path> files = new ArrayList<>(List.of(Path.of("/usr/bin/curl")));
        Matcher m = Pattern.compile("(/\\S+)").matcher(new String(new ProcessBuilder("ldd", "/usr/bin/curl")
                .start().getInputStream().readAllBytes()));
        while (m.find()) {
            files.add(Path.of(m.group(1)));
        }
        for (Path f : files) {
            Path to = dir.resolve(f.toString().substring(1));
            Files.createDirectories(to.getParent());
            Files.copy(f.toRealPath(), to, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.copy(net.caCertificate(), dir.resolve("ca.pem"), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(dir.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        return dir;
    }
}
