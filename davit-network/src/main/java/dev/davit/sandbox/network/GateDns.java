package dev.davit.sandbox.network;

import dev.davit.sandbox.EgressPolicy;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * The sandbox's DNS, answered by the gate: a name the policy allows resolves as the host's own programs resolve it
 * ({@link HostResolver}: the hosts file, then the host's name servers), without the addresses the sandbox may not
 * reach (anti-rebinding, {@link Gate#reachable}); every other name is NXDOMAIN, recorded in the denials. Only A
 * queries get addresses (the sandbox's network is IPv4); other types of an allowed name get an empty answer.
 */
final class GateDns {
    /** Queries answered at once; more are dropped (the client asks again). */
    private static final int IN_FLIGHT = 64;
    private static final int TYPE_A = 1;
    private static final int NXDOMAIN = 3;
    private static final int SERVFAIL = 2;
    private final Gate gate;
    private final Semaphore inFlight = new Semaphore(IN_FLIGHT);

    GateDns(Gate gate) {
        this.gate = gate;
    }

    /** Answers the queries that reach {@code ch} (the sandbox's 127.0.0.1:53), each on a thread of its own. */
    void serveUdp(DatagramChannel ch) {
        while (true) {
            try {
                if (!serveOne(ch)) {
                    return;
                }
            } catch (Throwable e) {
                // never the end of the sandbox's DNS: an error (out of memory, a thread that would not start) is
                // that query's, said in the gate's log, and the next one is served
                System.err.println("davit-gate: a DNS query failed: " + e);
                try {
                    Thread.sleep(10);
                } catch (InterruptedException ie) {
                    Thread.interrupted(); // nobody stops this thread but the gate's end
                }
            }
        }
    }

    /** Receives and answers one query; false when the socket is closed (the gate's end). */
    private boolean serveOne(DatagramChannel ch) {
        ByteBuffer in = ByteBuffer.allocate(1500);
        SocketAddress from;
        try {
            from = ch.receive(in);
        } catch (java.nio.channels.ClosedChannelException e) {
            System.err.println("davit-gate: the DNS socket was closed (" + e + "); no more DNS over UDP");
            return false;
        } catch (IOException e) {
            return true; // that datagram's problem
        }
        if (from == null || !inFlight.tryAcquire()) {
            return true;
        }
        byte[] q = java.util.Arrays.copyOf(in.array(), in.position());
        try {
            Thread.ofVirtual().start(() -> {
                try {
                    byte[] a = answer(q, q.length);
                    if (a != null) {
                        ch.send(ByteBuffer.wrap(a), from);
                    }
                } catch (IOException e) {
                    // the client is gone
                } catch (RuntimeException e) {
                    System.err.println("davit-gate: a DNS query failed: " + e);
                } finally {
                    inFlight.release();
                }
            });
        } catch (Throwable e) {
            inFlight.release(); // never started: its permit is not lost
            throw e;
        }
        return true;
    }

    /** The answer to the query in {@code q[0..len)}, or null for no answer at all. */
    byte[] answer(byte[] q, int len) {
        DnsMessage.Question qu = DnsMessage.parseQuery(q, len);
        if (qu == null) {
            return DnsMessage.formErr(q, len);
        }
        EgressPolicy policy = gate.policy.get(); // one policy for the whole answer, whatever a reload does meanwhile
        EgressPolicy.Verdict v = policy.name(qu.name(), 0);
        if (!v.allowed()) {
            gate.denials.record("dns", qu.name(), null, 0, v.rule() == null ? null : v.rule().toString(),
                    v.reason());
            return DnsMessage.error(qu, q, NXDOMAIN);
        }
        if (qu.type() != TYPE_A) {
            return DnsMessage.answerA(qu, q, List.of(), 60);
        }
        HostResolver.Result r = gate.resolver.resolve(qu.name());
        if (r.nxdomain()) {
            return DnsMessage.error(qu, q, NXDOMAIN);
        }
        if (r.error() != null) {
            return DnsMessage.error(qu, q, SERVFAIL);
        }
        List<Inet4Address> reachable = gate.reachable(r.addresses());
        if (reachable.size() < r.addresses().size()) {
            List<Inet4Address> refused = r.addresses().stream().filter(a -> !reachable.contains(a)).toList();
            gate.denials.record("dns", qu.name(), null, 0, null, "resolves to " + refused.stream()
                    .map(Inet4Address::getHostAddress).toList() + ", an address the sandbox may not reach (a special"
                    + " block or the host's own) unless an address entry allows it explicitly");
        }
        // an address a deny rule of every port holds is in no answer either: a connection there is refused anyway,
        // and the program would try it first (the same test the relay makes of a connection)
        List<Inet4Address> ok = new java.util.ArrayList<>(reachable.size());
        for (Inet4Address a : reachable) {
            EgressPolicy.Verdict byAddress = policy.address(a, 0);
            if (!byAddress.allowed() && byAddress.rule() != null) {
                gate.denials.record("dns", qu.name(), a, 0, byAddress.rule().toString(), "resolves to "
                        + a.getHostAddress() + ", " + byAddress.reason());
            } else {
                ok.add(a);
            }
        }
        if (ok.isEmpty()) {
            return DnsMessage.error(qu, q, NXDOMAIN);
        }
        gate.resolutions.record(qu.name(), ok);
        return DnsMessage.answerA(qu, q, ok, Math.max(1, Math.min(r.ttlSeconds(), 300)));
    }
}
