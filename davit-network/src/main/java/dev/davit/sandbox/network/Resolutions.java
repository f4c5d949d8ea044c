package dev.davit.sandbox.network;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The answers the gate gave this sandbox: which names resolved to which addresses. A connection to an address is
 * matched against them (the name a TLS SNI or HTTP Host gives must be one that resolved to it; a connection that
 * gives no name is judged by the names that did). Bounded: the {@value #MAX_NAMES} names asked most recently are
 * kept, each with its latest answer (a program may keep an address longer than its TTL, so they do not expire).
 */
final class Resolutions {
    static final int MAX_NAMES = 4096;
    private final Map<String, Set<InetAddress>> byName = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Set<InetAddress>> e) {
            return size() > MAX_NAMES;
        }
    };

    synchronized void record(String name, List<? extends InetAddress> addresses) {
        if (!addresses.isEmpty()) {
            byName.put(name, Set.copyOf(addresses));
        }
    }

    synchronized boolean resolvedTo(String name, InetAddress a) {
        Set<InetAddress> s = byName.get(name);
        return s != null && s.contains(a);
    }

    /** The names that resolved to {@code a}, most recent last. */
    synchronized List<String> namesOf(InetAddress a) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Set<InetAddress>> e : byName.entrySet()) {
            if (e.getValue().contains(a)) {
                out.add(e.getKey());
            }
        }
        return out;
    }
}
