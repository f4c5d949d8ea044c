package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.Sandbox;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * The settings of a workspace that travel with its snapshot ({@link WorkspaceImages#pushSnapshot}), none a secret:
 * its network (none, the whole network through NAT, or an egress policy), its limits, labels and environment
 * variables. A restore ({@link WorkspaceImages#createFrom}) starts from them: the caller's own values win, and the
 * restoring side's bounds (an MCP server's operator's) apply to what is carried as to what is asked.
 *
 * @param network the network it had, or null when the snapshot carries none (one pushed before davit carried them)
 * @param limits  its limits as recorded, or null when carried none
 * @param labels  its labels; empty for none
 * @param env     its environment variables; empty for none
 */
public record SnapshotSettings(Network network, Limits limits, Map<String, String> labels, Map<String, String> env) {
    /** A snapshot that carries no settings. */
    public static final SnapshotSettings NONE = new SnapshotSettings(null, null, Map.of(), Map.of());

    /** The most variables, or labels, a snapshot may carry (each is checked again as it is given). */
    private static final int MAX_ENTRIES = 1024;

    /** Copies the maps (null: empty), sorted. */
    public SnapshotSettings {
        labels = labels == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(labels));
        env = env == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(env));
    }

    /**
     * What workspace {@code w}, of sandbox {@code s}, carries.
     *
     * @param w the workspace
     * @param s its sandbox
     * @return its settings
     */
    static SnapshotSettings of(Workspace w, Sandbox s) {
        return new SnapshotSettings(s.spec().network(), s.spec().limits(), w.labels(), s.spec().env());
    }

    /** As a snapshot's config holds them ({@code settings}). */
    ObjectNode toJson() {
        ObjectNode o = Json.object();
        ObjectNode vars = o.putObject("env");
        env.forEach(vars::put);
        ObjectNode l = o.putObject("labels");
        labels.forEach(l::put);
        if (limits != null) {
            o.putObject("limits").put("cpus", limits.cpus()).put("disk_mib", limits.diskMiB())
                    .put("memory_mib", limits.memoryMiB()).put("pids", limits.pids());
        }
        if (network != null && network.mode() != Network.Mode.HOST) { // the host's network is never carried
            ObjectNode n = o.putObject("network");
            n.put("mode", switch (network.mode()) {
                case NONE, HOST -> "none";
                case NAT -> "nat";
                case POLICY -> "policy";
            });
            if (network.mode() == Network.Mode.POLICY) {
                try {
                    n.set("egress", Json.read(network.egress().toJson()));
                } catch (IOException e) {
                    throw new DavitException(Kind.INTERNAL, "cannot write an egress policy as JSON: " + e);
                }
            }
        }
        return o;
    }

    /**
     * The settings of a snapshot's config ({@code settings}), each checked as a caller's would be; missing: none.
     *
     * @param settings  the config's {@code settings}, or a missing node
     * @param reference the snapshot, for an error to name
     * @return the settings
     * @throws DavitException VERIFICATION for a value no caller could have given (the snapshot was not made by
     *                        davit, or changed)
     */
    static SnapshotSettings fromJson(JsonNode settings, String reference) {
        if (settings == null || settings.isMissingNode() || settings.isNull()) {
            return NONE;
        }
        try {
            if (!settings.isObject()) {
                throw new IllegalArgumentException("not an object");
            }
            Map<String, String> labels = WorkspaceLabels.check(strings(settings.path("labels")));
            Map<String, String> env = strings(settings.path("env"));
            // checked as a caller's variables are, by the spec that takes them
            dev.davit.sandbox.RunSpec.builder(java.nio.file.Path.of("/")).env(env).limits(Limits.NONE).build();
            Limits limits = null;
            JsonNode l = settings.path("limits");
            if (l.isObject()) {
                limits = new Limits(whole(l, "memory_mib"), l.path("cpus").asDouble(0), whole(l, "pids"),
                        whole(l, "disk_mib"));
            }
            Network network = null;
            JsonNode n = settings.path("network");
            if (n.isObject()) {
                network = switch (n.path("mode").asText("")) {
                    case "none" -> Network.NONE;
                    case "nat" -> Network.NAT;
                    case "policy" -> Network.policy(EgressPolicy.fromJson(n.path("egress").toString()));
                    default -> throw new IllegalArgumentException("network mode " + n.path("mode"));
                };
            }
            return new SnapshotSettings(network, limits, labels, env);
        } catch (DavitException | IllegalArgumentException e) {
            throw new DavitException(Kind.VERIFICATION, "the settings snapshot " + dev.davit.oci.internal.Text
                    .printable(reference) + " carries are not valid (" + dev.davit.oci.internal.Text.shorten(
                    e.getMessage(), 200) + "); push it again from its workspace");
        }
    }

    private static long whole(JsonNode o, String key) {
        JsonNode v = o.path(key);
        if (!v.isMissingNode() && !v.canConvertToLong()) {
            throw new IllegalArgumentException(key + " is not a whole number");
        }
        return v.asLong(0);
    }

    private static Map<String, String> strings(JsonNode o) {
        Map<String, String> m = new TreeMap<>();
        if (o.isMissingNode()) {
            return m;
        }
        if (!o.isObject() || o.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException("not an object of at most " + MAX_ENTRIES + " strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new IllegalArgumentException(e.getKey() + " is not a string");
            }
            m.put(e.getKey(), e.getValue().asText());
        }
        return m;
    }

    /**
     * The limits of a restored workspace of backend {@code backend} whose caller gave none: {@code fallback} (the
     * door's defaults) with each limit the snapshot carried in its place, less what this host cannot enforce for a
     * container (as a create's defaults are). A limit carried as none (0) does not lift the default: only the
     * caller's own choice does. A microVM, whose size bounds it, keeps {@code fallback}.
     *
     * @param backend  the new workspace's backend
     * @param fallback the door's default limits, not null
     * @return the limits
     */
    public Limits limitsFor(String backend, Limits fallback) {
        if (limits == null || dev.davit.sandbox.RunSpec.VM.equals(backend)) {
            return fallback;
        }
        Limits l = new Limits(limits.memoryMiB() != 0 ? limits.memoryMiB() : fallback.memoryMiB(),
                limits.cpus() != 0 ? limits.cpus() : fallback.cpus(), limits.pids() != 0 ? limits.pids()
                : fallback.pids(), limits.diskMiB() != 0 ? limits.diskMiB() : fallback.diskMiB());
        // a pod's processes are its node's to bound (the k8s backend refuses a limit of its own)
        return "k8s".equals(backend) ? new Limits(l.memoryMiB(), l.cpus(), 0, l.diskMiB()) : l.enforceableHere();
    }

    /**
     * The network of a restored workspace whose caller gave none: the carried one, or null when none was carried.
     * A carried egress policy that opens a special address range (loopback, private, link-local such as the cloud
     * metadata address, this host's own: what only an explicit address entry opens) is refused: that is the caller's
     * to give, never a snapshot's. MCP servers hold a carried network to their own bounds instead.
     *
     * @param reference the snapshot, for an error to name
     * @return the network, or null
     * @throws DavitException USAGE naming the entries, and how to give a network instead
     */
    public Network networkFor(String reference) {
        if (network == null || network.mode() != Network.Mode.POLICY) {
            return network;
        }
        java.util.List<String> cidrs = network.egress().rules().stream().filter(r -> r.allow()
                && r.kind() == EgressPolicy.Kind.CIDR).map(Object::toString).toList();
        if (cidrs.isEmpty()) {
            return network;
        }
        EgressPolicy addresses = EgressPolicy.parse(java.util.List.of(), cidrs, java.util.List.of(),
                java.util.List.of(), java.util.List.of());
        java.util.List<EgressPolicy.Rule> special = addresses.beyond(EgressPolicy.parse(java.util.List.of(),
                java.util.List.of("0.0.0.0/0"), java.util.List.of(), java.util.List.of(), java.util.List.of()),
                EgressPolicy.hostAddresses());
        if (!special.isEmpty()) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("snapshot " + dev.davit.oci.internal.Text
                    .printable(reference) + " carries an egress policy that opens special addresses (" + String.join(
                    ", ", special.stream().map(Object::toString).limit(8).toList()) + "), which only the caller"
                    + " gives; give the workspace's network yourself (", dev.davit.oci.Input.NETWORK, ")"));
        }
        return network;
    }

    /**
     * What was carried, for a notice: e.g. {@code network: policy of 3 entries, limits, 2 labels, 1 variable}.
     *
     * @return the words; {@code nothing} when nothing was carried
     */
    public String describe() {
        java.util.List<String> parts = new java.util.ArrayList<>();
        if (network != null) {
            parts.add("network: " + (network.mode() == Network.Mode.POLICY ? "policy of "
                    + network.egress().rules().size() + " entries" : network.label()));
        }
        if (limits != null) {
            parts.add("limits");
        }
        if (!labels.isEmpty()) {
            parts.add(labels.size() + (labels.size() == 1 ? " label" : " labels"));
        }
        if (!env.isEmpty()) {
            parts.add(env.size() + (env.size() == 1 ? " variable" : " variables"));
        }
        return parts.isEmpty() ? "nothing" : String.join(", ", parts);
    }

    /**
     * The variables of a restored workspace: these, with {@code given}'s on top.
     *
     * @param given the caller's, or null
     * @return the merge
     */
    public Map<String, String> envWith(Map<String, String> given) {
        return under(env, given);
    }

    /**
     * The labels of a restored workspace: these, with {@code given}'s on top.
     *
     * @param given the caller's, or null
     * @return the merge
     */
    public Map<String, String> labelsWith(Map<String, String> given) {
        return under(labels, given);
    }

    /** {@code carried} with {@code given} (null: none) on top. */
    private static Map<String, String> under(Map<String, String> carried, Map<String, String> given) {
        Map<String, String> m = new TreeMap<>(carried);
        if (given != null) {
            m.putAll(given);
        }
        return m;
    }
}
