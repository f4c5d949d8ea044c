package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.agent.AgentWire;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The guest's init, {@code davit-agent init} (PID 1 of every microVM, from the initrd davit boots it with), on its own
 * virtio-serial port {@code davit.agent} ({@link Machine#SOCKET}): it answers a SYNC with a HELLO (the guest booted,
 * and lives) and flushes the file systems (a FILE request's SYNC), and nothing else. PID 1 cannot be killed from
 * inside the guest, so its answer says whether the guest lives when the command agent on the other ports is silent.
 * Every wait is bounded; the port's peer is checked to be the VM's QEMU before a byte is sent.
 */
final class GuestInit {
    /**
     * A VM's state directory holds this file when its guest runs davit-agent's init (a davit with davit-agent started
     * it, {@link VmInitrd#booted}); a VM an older davit started runs a shell agent as PID 1, which this davit does
     * not speak.
     */
    static final String MARK = "guest-init";

    private GuestInit() {
    }

    /** Whether the VM of state directory {@code dir} runs davit-agent's init (and davit-agent on its command ports). */
    static boolean runs(Path dir) {
        return java.nio.file.Files.exists(dir.resolve(MARK));
    }

    /** Marks state directory {@code dir} as a VM with davit-agent's init, before it starts. */
    static void mark(Path dir) {
        try {
            java.nio.file.Files.write(dir.resolve(MARK), new byte[0]);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + dir.resolve(MARK) + ": " + e.getMessage());
        }
    }

    /**
     * Waits for the init of a just started (or resumed) VM to answer, within {@link Machine#BOOT_TIMEOUT}; a
     * one-line error naming the cause when QEMU exits, the time is up or the guest breaks the format.
     */
    static void await(Path state, BooleanSupplier alive, String what, Accel.Choice accel) {
        long deadline = System.nanoTime() + Machine.BOOT_TIMEOUT.toNanos();
        String last = "no answer";
        while (true) {
            if (!alive.getAsBoolean()) {
                throw new DavitException(Kind.INTERNAL, what + " did not boot: QEMU exited; "
                        + Machine.diagnosis(state));
            }
            if (System.nanoTime() > deadline) {
                throw new DavitException(Kind.INTERNAL, what + " did not boot within "
                        + Machine.BOOT_TIMEOUT.toSeconds() + " s (accel " + accel.accel() + ", " + last + "); "
                        + Machine.diagnosis(state));
            }
            try (AgentLink link = link(state)) {
                return;
            } catch (AgentLink.Broken e) {
                if (!alive.getAsBoolean()) {
                    continue; // QEMU went (its port closed with it): said as such at the top
                }
                if (!e.silent()) {
                    throw new DavitException(Kind.INTERNAL, what + ": its init broke the protocol (" + e.getMessage()
                            + "), which no agent of davit does: its guest may be compromised");
                }
                last = e.getMessage(); // still booting: the port is read once the init runs
            } catch (IOException e) {
                last = e.getMessage(); // QEMU has not made its socket yet
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new DavitException(Kind.CANCELLED, "interrupted while " + what + " booted");
                }
            }
        }
    }

    /** Whether the init answers a SYNC within {@link AgentLink#HELLO_WAIT}: the guest is not hung. */
    static boolean answers(Path state) {
        try (AgentLink link = link(state)) {
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Asks the init to flush the guest's file systems; best effort, within {@code timeout}. */
    static void sync(Path state, Duration timeout) {
        try (AgentLink link = link(state)) {
            link.file(AgentWire.OP_SYNC, 0, List.of()).await((e, b, n) -> {
            }, null, timeout);
        } catch (IOException | RuntimeException e) {
            // the VM is stopped anyway; the journal recovers the file system at its next start
        }
    }

    /** A link to the init's port, its peer checked to be QEMU, synced. */
    private static AgentLink link(Path state) throws IOException {
        Path socket = state.resolve(Machine.SOCKET);
        SocketChannel ch = AgentLink.open(socket);
        try {
            Peers.check(ch, socket);
        } catch (IOException e) {
            ch.close();
            throw new DavitException(Kind.INTERNAL, e.getMessage());
        }
        return AgentLink.synced(ch);
    }
}
