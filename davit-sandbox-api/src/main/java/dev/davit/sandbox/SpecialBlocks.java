package dev.davit.sandbox;

import dev.davit.sandbox.EgressPolicy.SpecialBlock;
import java.util.List;

/**
 * The special IPv4 blocks of {@link EgressPolicy} ({@link EgressPolicy#specialBlocks}): their table, parsed once into
 * networks and prefixes, and the lookup of the block an address lies in.
 */
final class SpecialBlocks {
    private SpecialBlocks() {
    }

    /**
     * The special blocks, the one list every enforcement point and doc uses (docs/reference/sandbox/NETWORK.md, "Special
     * addresses"): IANA's IPv4 special-purpose registry's blocks that are not globally reachable, with multicast and
     * the reserved block; not the documentation blocks (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) nor
     * benchmarking (198.18.0.0/15), which real hosts use for reachable services (package mirrors, a proxy's fake-IP
     * answers).
     */
    static final List<SpecialBlock> SPECIAL = List.of(
            new SpecialBlock("0.0.0.0/8", "this network"),
            new SpecialBlock("10.0.0.0/8", "private"),
            new SpecialBlock("100.64.0.0/10", "shared (carrier-grade NAT)"),
            new SpecialBlock("127.0.0.0/8", "loopback"),
            new SpecialBlock("169.254.0.0/16", "link-local (cloud metadata)"),
            new SpecialBlock("172.16.0.0/12", "private"),
            new SpecialBlock("192.0.0.0/24", "IETF protocol assignments"),
            new SpecialBlock("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
            new SpecialBlock("192.168.0.0/16", "private"),
            new SpecialBlock("224.0.0.0/4", "multicast"),
            new SpecialBlock("240.0.0.0/4", "reserved and limited broadcast"));

    /**
     * {@link #SPECIAL}'s blocks as {network, prefix}, in the same order, parsed once: the gate asks about every
     * address it answers or connects to.
     */
    static final int[][] SPECIAL_BITS = SPECIAL.stream()
            .map(b -> new int[] {EgressEntries.netOf(b.cidr()), EgressEntries.prefixOf(b.cidr())})
            .toArray(int[][]::new);

    /** The index in {@link #SPECIAL} of the block holding {@code x}, or -1. */
    static int specialIndex(int x) {
        for (int i = 0; i < SPECIAL_BITS.length; i++) {
            if ((x & EgressEntries.mask(SPECIAL_BITS[i][1])) == SPECIAL_BITS[i][0]) {
                return i;
            }
        }
        return -1;
    }
}
