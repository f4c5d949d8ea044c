package dev.davit.sandbox;

import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.testnet.TestInternet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class EgressDebugTest {
    @Test
    void debug() throws Exception {
        try (TestInternet net = TestInternet.start()) {
            Path tmp = Files.createTempDirectory("egdbg");
            Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
            Files.createSymbolicLink(rootfs.resolve("bin/nslookup"), Path.of("busybox"));
            Path dns = Files.createDirectories(tmp.resolve("dns"));
            Files.copy(net.resolvConf(), dns.resolve("resolv.conf"));
            Files.copy(net.hostsFile(), dns.resolve("hosts"));
            Sandboxes sb = new Sandboxes(new SandboxOptions(tmp.resolve("state"), null, null).withEgressDns(dns));
            Sandbox s = sb.create(CreateSpec.builder(rootfs).network(Network.policy(EgressPolicy.parse(
                    List.of("allowed.test"), List.of(), List.of(), List.of(), List.of()))).ttl(Duration.ofMinutes(5)).build());
            sb.start(s.id());
            ExecResult r = sb.exec(s.id(), List.of("sh", "-c", "cat /etc/resolv.conf; nslookup allowed.test; nslookup allowed.test 10.0.2.3; nslookup denied.test"), java.util.Map.of(), "/", Duration.ofSeconds(30));
            System.out.println("OUT " + r.stdoutText() + "\nERR " + r.stderrText());
            Path d = tmp.resolve("state").resolve(s.id());
            System.out.println("LOG " + Tools.run("sh", "-c", "cat " + d + "/gate.log; ls -la " + d + "/gate; cat " + d + "/gate/policy " + d + "/gate/denials.jsonl; ps -ef | grep dev.davit.sandbox.network.Gate | grep -v grep"));
            sb.rm(s.id());
        }
    }
}
