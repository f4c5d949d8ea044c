package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The CIDRs no egress gate of the cluster may reach: the operator's ({@link K8sSettings#egressExcept}) and every
 * node's own IPv4 addresses, found (a node's address may sit in a range the defaults leave out, a documentation or
 * a public one: its kubelet, its other services and the host's network are then one connection away). Asked of the
 * cluster at most once a minute.
 */
final class NodeAddresses {
    static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(60);

    private NodeAddresses() {
    }

    /**
     * The except list of {@code c}'s gated pods, the nodes' addresses ({@code /32}) after the operator's CIDRs.
     *
     * @throws DavitException AUTH when the nodes cannot be listed and the operator named no CIDRs
     */
    static List<String> except(Cluster c) {
        Cluster.Cached<List<String>> cached = c.exceptList;
        long now = System.nanoTime();
        if (cached != null && now - cached.at() < REFRESH_NANOS) {
            return cached.value();
        }
        List<String> nodes;
        try {
            nodes = new ArrayList<>();
            for (Node n : c.client.nodes().list().getItems()) {
                if (n.getStatus() != null && n.getStatus().getAddresses() != null) {
                    for (NodeAddress a : n.getStatus().getAddresses()) {
                        nodes.add(a.getAddress());
                    }
                }
            }
        } catch (KubernetesClientException e) {
            if (e.getCode() == 403 && c.settings.exceptGiven()) {
                return c.settings.egressExcept(); // the operator named the cluster's ranges
            }
            if (e.getCode() == 403) {
                throw new DavitException(Kind.AUTH, "davit cannot list the cluster's nodes (HTTP 403) to keep egress"
                        + " gates off their addresses: give it list on nodes (the ClusterRole in"
                        + " docs/reference/KUBERNETES.md), or name the nodes' ranges in DAVIT_K8S_EGRESS_EXCEPT");
            }
            throw Cluster.failure("list the nodes", e);
        }
        List<String> except = with(c.settings.egressExcept(), nodes);
        c.exceptList = new Cluster.Cached<>(except, now);
        return except;
    }

    /** {@code cidrs} and each IPv4 address of {@code addresses} that none of them holds, as a {@code /32}. */
    static List<String> with(List<String> cidrs, List<String> addresses) {
        List<String> all = new ArrayList<>(cidrs);
        for (String a : addresses) {
            long ip = ipv4(a);
            if (ip < 0 || all.stream().anyMatch(cidr -> holds(cidr, ip))) {
                continue; // IPv6 (a gated pod's policy admits no IPv6 at all), a host name, or held already
            }
            all.add(a + "/32");
        }
        return List.copyOf(all);
    }

    private static boolean holds(String cidr, long ip) {
        int slash = cidr.indexOf('/');
        int bits = Integer.parseInt(cidr.substring(slash + 1));
        long mask = bits == 0 ? 0 : (0xffffffffL << (32 - bits)) & 0xffffffffL;
        return (ipv4(cidr.substring(0, slash)) & mask) == (ip & mask);
    }

    /** The address as a number, or -1 when it is no dotted IPv4 address. */
    static long ipv4(String a) {
        String[] parts = a.split("\\.", -1);
        if (parts.length != 4) {
            return -1;
        }
        long v = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                return -1;
            }
            int n = Integer.parseInt(p);
            if (n > 255) {
                return -1;
            }
            v = v << 8 | n;
        }
        return v;
    }
}
