package dev.davit.sandbox.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.davit.sandbox.jail.Jail;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A compromised QEMU owns its {@code vmm/} directory and can put a link there in place of a socket davit connects to
 * (the agent's, the monitor's, the incoming state's): davit, root, must never write a byte to the socket of the
 * host's it leads to. Here a "daemon" of root's listens, and the links lead to it.
 */
class PeersTest {
    @Test
    void aLinkInVmmToAnotherSocketIsRefusedBeforeAByteIsSent(@TempDir Path tmp) throws Exception {
        assumeThat(Jail.active()).as("root: the VMM has a uid of its own").isTrue();
        Path vmm = Files.createDirectories(tmp.resolve("sbx-0123456789ab").resolve("vmm"));
        Path other = tmp.resolve("daemon.sock");
        try (ServerSocketChannel daemon = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            daemon.bind(UnixDomainSocketAddress.of(other));
            for (String name : java.util.List.of("agent.sock", "exec0.sock", "exec1.sock", "exec2.sock", "exec3.sock",
                    "qmp.sock", "incoming.sock")) {
                Files.createSymbolicLink(vmm.resolve(name), other);
            }
            Path state = vmm.getParent();
            // the guest's init (its port davit.agent) and davit-agent (its command ports)
            assertThatThrownBy(() -> GuestInit.await(state, () -> true, "the VM", new Accel.Choice("tcg", "absent")))
                    .hasMessageContaining("not of the microVM's QEMU");
            assertNothingWritten(daemon);
            boolean[] killed = {false};
            VmExec.Vm vm = new VmExec.Vm("sbx-0123456789ab", state, () -> true, () -> killed[0] = true, () -> true);
            assertThatThrownBy(() -> VmExec.withLink(vm, "the command", link -> null))
                    .hasMessageContaining("not of the microVM's QEMU").hasMessageContaining("was killed");
            assertThat(killed[0]).isTrue();
            assertNothingWritten(daemon);
            assertThatThrownBy(() -> Qmp.connect(vmm.resolve("qmp.sock"), System.nanoTime()
                    + TimeUnit.MILLISECONDS.toNanos(300))).isInstanceOf(IOException.class)
                    .hasMessageContaining("not of the microVM's QEMU");
            assertNothingWritten(daemon);
            try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                c.connect(UnixDomainSocketAddress.of(vmm.resolve("incoming.sock")));
                assertThatThrownBy(() -> Peers.check(c, vmm.resolve("incoming.sock")))
                        .isInstanceOf(IOException.class);
            }
        }
    }

    /** Every connection the daemon got carried nothing. */
    private static void assertNothingWritten(ServerSocketChannel daemon) throws IOException {
        daemon.configureBlocking(false);
        for (SocketChannel next = daemon.accept(); next != null; next = daemon.accept()) {
            try (SocketChannel c = next) {
                c.configureBlocking(true);
                assertThat(c.read(ByteBuffer.allocate(16))).as("bytes sent to the daemon").isEqualTo(-1);
            }
        }
        daemon.configureBlocking(true);
    }
}
