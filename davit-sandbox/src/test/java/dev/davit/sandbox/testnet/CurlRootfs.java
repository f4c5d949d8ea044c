package dev.davit.sandbox.testnet;

import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.BusyboxRootfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A root filesystem to reach the {@link TestInternet} from: busybox (its {@code nc}, {@code nslookup} and the usual
 * applets), the host's curl with its libraries, and the test CA as {@code /ca.pem}; and the directory of the test
 * Internet's {@code resolv.conf} and {@code hosts} that a gate resolves with ({@code SandboxOptions.withEgressDns},
 * the CLI's {@code DAVIT_EGRESS_DNS}). Shared by the library's egress tests and the CLI's.
 */
public final class CurlRootfs {
    private CurlRootfs() {
    }

    /**
     * A started test Internet with a curl root filesystem and the gate's DNS directory, for a test of sandboxes with
     * an egress policy; close it after the tests.
     *
     * @param net    the test Internet
     * @param rootfs the root filesystem ({@link #create})
     * @param dns    the gate's directory ({@link #dns})
     */
    public record Gated(TestInternet net, Path rootfs, Path dns) implements AutoCloseable {
        /**
         * Starts one under {@code dir}; skips the test where the gate cannot run (no root, no
         * iptables-restore or bwrap, no test Internet).
         *
         * @param dir a directory of the test class's
         * @return the started pieces
         * @throws IOException when they cannot be made
         */
        public static Gated start(Path dir) throws IOException {
            TestInternet.assumeAvailable();
            Tools.assumeAvailable("bwrap", "iptables-restore");
            org.junit.jupiter.api.Assumptions.assumeTrue(dev.davit.sandbox.container.Overlay.ROOT,
                    "the test Internet needs root");
            TestInternet net = TestInternet.start();
            return new Gated(net, create(dir.resolve("rootfs"), net), CurlRootfs.dns(dir.resolve("dns"), net));
        }

        @Override
        public void close() {
            net.close();
        }
    }

    /** Creates it in {@code dir}; skips the test when bwrap, busybox or curl is missing. */
    public static Path create(Path dir, TestInternet net) throws IOException {
        Tools.assumeAvailable("curl");
        Path rootfs = BusyboxRootfs.create(dir);
        for (String a : List.of("nslookup", "printf", "timeout", "wc", "grep", "mkdir", "tr")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(a), Path.of("busybox"));
        }
        addProgram(rootfs, Path.of("/usr/bin/curl"));
        Files.copy(net.caCertificate(), rootfs.resolve("ca.pem"));
        return rootfs;
    }

    /**
     * A directory with the test Internet's {@code resolv.conf} and {@code hosts}, and its test CA as the
     * {@code ca-certificates.crt} a gate trusts for the hosts it injects secrets for, made in {@code dir}.
     */
    public static Path dns(Path dir, TestInternet net) throws IOException {
        Path dns = Files.createDirectories(dir);
        Files.copy(net.resolvConf(), dns.resolve("resolv.conf"));
        Files.copy(net.hostsFile(), dns.resolve("hosts"));
        Files.copy(net.caCertificate(), dns.resolve("ca-certificates.crt"));
        return dns;
    }

    /** Copies a dynamically linked host program into {@code root}, with every library ldd names. */
    public static void addProgram(Path root, Path program) throws IOException {
        List<Path> files = new ArrayList<>(List.of(program));
        Matcher m = Pattern.compile("(/\\S+)").matcher(Tools.run("ldd", program.toString()));
        while (m.find()) {
            files.add(Path.of(m.group(1)));
        }
        for (Path f : files) {
            Path to = root.resolve(f.toString().substring(1));
            Files.createDirectories(to.getParent());
            Files.copy(f.toRealPath(), to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
