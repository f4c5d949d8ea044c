package dev.davit.sandbox;

import java.time.Instant;

/**
 * One thing a sandbox's egress gate refused (see docs/reference/sandbox/NETWORK.md, "Egress policy: enforcement").
 *
 * @param time    when
 * @param kind    {@code dns} (a name got no answer), {@code connect} (a connection was refused) or {@code request}
 *                (a request on the connection of a host whose secret the gate injects was refused)
 * @param name    the name asked for, or the TLS SNI or HTTP Host a connection carried; null when there was none
 * @param address the address a connection went to; null for a name
 * @param port    the port a connection went to; 0 for a name
 * @param rule    the policy entry that refused it; null when nothing in the policy allowed it
 * @param reason  why, in a few words (e.g. {@code not in the allow-list})
 */
public record EgressDenial(Instant time, String kind, String name, String address, int port, String rule,
                           String reason) {
    /** The most denials an exec's or a run's result carries (the newest; all are in the sandbox's log). */
    public static final int MAX_IN_RESULT = 100;

    /**
     * The newest {@link #MAX_IN_RESULT} of {@code all} (oldest first), so that a flood of refusals cannot flood a
     * result.
     *
     * @param all denials, oldest first
     * @return at most {@link #MAX_IN_RESULT} of them, the newest
     */
    public static java.util.List<EgressDenial> newest(java.util.List<EgressDenial> all) {
        return all.size() <= MAX_IN_RESULT ? all : java.util.List.copyOf(all.subList(all.size() - MAX_IN_RESULT,
                all.size()));
    }

    /**
     * What was refused, as a person reads it: {@code files.pythonhosted.org:443} or {@code 203.0.113.9:22}.
     *
     * @return the name (else the address) with the port, or the name alone for a DNS denial
     */
    public String target() {
        String who = name != null ? name : address;
        return port == 0 ? who : who + ":" + port;
    }
}
