package dev.davit.sandbox.vm;

import java.io.IOException;
import java.nio.channels.NetworkChannel;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;

/**
 * Who is at the other end of a unix socket of a VM's {@code vmm/} directory. That directory belongs to the VMM's
 * uid: a compromised QEMU can put a link there in place of {@code agent.sock}, {@code qmp.sock} or
 * {@code incoming.sock}, and a connect follows it, so davit (root) could be led to a socket of the host's (a daemon's)
 * and write to it. Every such connection is checked first: its peer ({@code SO_PEERCRED}) must be the VMM's own
 * uid (as root the VM's own uid of {@code davit-vmm}'s range; without root davit's own user, which a rootless VMM
 * runs as and which could reach those sockets itself). A connection to anything else is closed before a byte is sent.
 */
final class Peers {
    private Peers() {
    }

    /**
     * Checks that the peer of {@code c}, connected through {@code socket} (a path in a state directory's
     * {@code vmm/}), is the VMM of that state directory's sandbox.
     *
     * @throws IOException when it is someone else (the message says whose)
     */
    static void check(NetworkChannel c, Path socket) throws IOException {
        long want = expectedUid(socket);
        UserPrincipal peer = c.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED).user();
        UserPrincipal wanted = FileSystems.getDefault().getUserPrincipalLookupService()
                .lookupPrincipalByName(Long.toString(want));
        if (!peer.equals(wanted)) {
            throw new IOException(socket + " leads to a socket of " + peer.getName() + ", not of the microVM's QEMU"
                    + " (uid " + want + "): something put a link there");
        }
    }

    /**
     * Sockets served by this very process (the tests' fake agents, which stand for a VMM): their peer is this
     * process's uid. Nothing in davit adds to it.
     */
    static final java.util.Set<Path> SERVED_HERE = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The uid the VMM of {@code socket}'s state directory ({@code STATE/vmm/NAME}) runs as. */
    static long expectedUid(Path socket) {
        if (!dev.davit.sandbox.jail.Jail.active() || SERVED_HERE.contains(socket.toAbsolutePath().normalize())) {
            return dev.davit.sandbox.host.Host.ownIds()[0];
        }
        String id = socket.toAbsolutePath().normalize().getParent().getParent().getFileName().toString();
        return dev.davit.sandbox.jail.Jail.vmmIds(id)[0];
    }
}
