package dev.davit.sandbox;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;

/**
 * The host's own addresses (of the calling thread's network namespace), listed again when the last list is over 5 s
 * old; when listing fails, the last list stands and the next call asks again (never an empty list cached). Each counts as a special block of its own, a /32, everywhere an
 * egress policy is enforced (the gate, the host-side URL fetch, an operator's bound): reached only through an
 * address entry naming exactly it ({@link EgressPolicy#explicitlyAllows}, {@link EgressPolicy#beyond}).
 */
final class HostAddresses {
    private static final long TTL_NANOS = 5_000_000_000L;
    private volatile Snapshot last = new Snapshot(Set.of(), 0);

    private record Snapshot(Set<InetAddress> addresses, long at) {
    }

    /** {@return the addresses, at most 5 s old} */
    Set<InetAddress> get() {
        Snapshot h = last;
        long now = System.nanoTime();
        if (h.at() != 0 && now - h.at() < TTL_NANOS) {
            return h.addresses();
        }
        Set<InetAddress> s = new HashSet<>();
        try {
            for (NetworkInterface i : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                s.addAll(Collections.list(i.getInetAddresses()));
            }
        } catch (IOException e) {
            // keep what was known, and ask again at the next call: a failure is never cached as "none"
            return h.addresses();
        }
        last = new Snapshot(Set.copyOf(s), now);
        return last.addresses();
    }
}
