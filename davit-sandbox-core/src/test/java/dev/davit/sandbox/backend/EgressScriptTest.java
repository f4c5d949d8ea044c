package dev.davit.sandbox.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.SandboxOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The egress wrapper's set-up of a sandbox's network namespace, run as root does it (the {@code setup} mode, in a
 * network namespace of the test's own): the rules are loaded by the legacy restore tool where it works, by the one
 * found when it fails or there is none, and the namespace is then said to be set up ({@link Egress#NETNS_UP}) with
 * lo up, eth0's address and every port unprivileged; as root the set-up (host root) opens nothing in the gate's
 * directory.
 */
class EgressScriptTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"", "/bin/false", "legacy"})
    void theNamespaceIsSetUpWhicheverRestoreToolLoadsTheRules(String legacy) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "a network namespace of its own needs root here");
        Tools.assumeAvailable("unshare", "iptables-save", "ip");
        String tool = legacy;
        if (legacy.equals("legacy")) {
            tool = Path.of("/usr/sbin/iptables-legacy-restore").toString();
            assumeTrue(Files.isExecutable(Path.of(tool)), "no iptables-legacy-restore");
        }
        Nat.Tools t = Nat.tools(SandboxOptions.of(tmp.resolve("state")), Network.policy(EgressPolicy.parse(List.of("a.test"),
                List.of(), List.of(), List.of(), List.of())));
        Path dir = tmp.resolve("sb");
        Files.createDirectories(dir.resolve(Egress.DIR));
        Files.createFile(dir.resolve(Egress.DIR).resolve(Egress.READY)); // the gate: ready at once
        // the wrapper's "both" (set up, say so, wait for the gate, run the command), then what the namespace has
        List<String> cmd = new ArrayList<>(List.of("unshare", "--net", "--", "sh", "-c",
                "\"$@\" && { echo '== nft'; iptables-save; echo '== legacy'; iptables-legacy-save 2>/dev/null;"
                        + " echo '== addr'; ip -4 addr; echo '== ports';"
                        + " cat /proc/sys/net/ipv4/ip_unprivileged_port_start; }", "sh"));
        cmd.addAll(Egress.script(t, dir, "both", tool));
        cmd.add("true");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out).contains("== ports");
        String nft = out.substring(out.indexOf("== nft"), out.indexOf("== legacy"));
        String old = out.substring(out.indexOf("== legacy"), out.indexOf("== addr"));
        String loaded = legacy.equals("legacy") ? old : nft;
        assertThat(loaded).as(out).contains("-A OUTPUT -p udp -m udp --dport 53 -j REDIRECT --to-ports 53")
                .contains("-A OUTPUT -p tcp -j REDIRECT --to-ports 1")
                .contains("-A OUTPUT -j REJECT --reject-with icmp-port-unreachable");
        assertThat(legacy.equals("legacy") ? nft : old).as(out).doesNotContain("REDIRECT");
        assertThat(out).contains("inet 127.0.0.1/8").contains("inet 10.0.2.100/24");
        assertThat(out.strip()).endsWith("0");
        assertThat(dir.resolve(Egress.DIR).resolve(Egress.NETNS_UP)).exists();
    }

    /** As root the set-up never makes a file in the gate's directory (davit puts netns-up there once it ended). */
    @org.junit.jupiter.api.Test
    void asRootTheSetUpLeavesTheGatesDirectoryAlone() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "a network namespace of its own needs root here");
        Tools.assumeAvailable("unshare", "ip");
        Nat.Tools t = Nat.tools(SandboxOptions.of(tmp.resolve("state")), Network.policy(
                EgressPolicy.parse(List.of("a.test"), List.of(), List.of(), List.of(), List.of())));
        Path dir = tmp.resolve("sb");
        Path gdir = Files.createDirectories(dir.resolve(Egress.DIR));
        // what a gate's user could have left there: a link to a file of root's
        Path target = tmp.resolve("roots-file");
        Files.writeString(target, "keep");
        Files.createSymbolicLink(gdir.resolve(Egress.NETNS_UP), target);
        List<String> cmd = new ArrayList<>(List.of("unshare", "--net", "--"));
        cmd.addAll(Egress.script(t, dir, "setup", ""));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(Files.readString(target)).isEqualTo("keep");
        assertThat(Files.isSymbolicLink(gdir.resolve(Egress.NETNS_UP))).isTrue();
    }
}
