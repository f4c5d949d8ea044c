package dev.davit.mcp;

import dev.davit.sandbox.RunSpec;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.engine.Sandboxes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where the model's sandboxes run, as the operator chose it ({@code davit mcp serve --backend B[,B...]}): the backends
 * a sandbox may run on, in order. An environment runs on the first of them that takes its kind (a microVM environment
 * only on {@code vm}; a container root filesystem on {@code container} or {@code k8s}, the same image as a pod), and
 * a call's {@code backend} argument may name another of them, never one the operator left out: the model chooses
 * within the operator's choice, never beyond it. Without the option: {@code container,vm}, as before there was one.
 *
 * <p>What the k8s backend cannot give yet (a network but an egress allow-list, published ports) is refused here, before anything is made, in
 * the model's words; it says no more than {@code K8sLifecycle.refuseUnsupported} refuses (keep the two in step).
 */
final class Backends {
    /** The k8s backend's name (davit-k8s's {@code K8sDriver.NAME}; this module does not import it). */
    static final String K8S = "k8s";
    /** What a server without {@code --backend} allows. */
    static final Backends DEFAULT = new Backends(List.of(RunSpec.CONTAINER, RunSpec.VM));

    private final List<String> allowed;

    private Backends(List<String> allowed) {
        this.allowed = List.copyOf(allowed);
    }

    /**
     * The operator's {@code --backend} values, checked: each a backend of this davit; none given is
     * {@link #DEFAULT}.
     */
    static Backends of(List<String> given) {
        if (given == null || given.isEmpty()) {
            return DEFAULT;
        }
        List<String> list = new ArrayList<>();
        for (String b : given) {
            String name = b.strip();
            if (!Sandboxes.BACKENDS.contains(name)) {
                throw new DavitException(Kind.USAGE, "--backend: unknown backend '"
                        + dev.davit.oci.internal.Text.shorten(name, 40) + "'; available: "
                        + String.join(", ", Sandboxes.BACKENDS));
            }
            if (!list.contains(name)) {
                list.add(name);
            }
        }
        return new Backends(list);
    }

    /** The backends a call may ask for, the server's order. */
    List<String> allowed() {
        return allowed;
    }

    /** Whether every sandbox runs on the cluster: nothing of a model's runs on this host (no cgroup of it bounds them). */
    boolean onlyCluster() {
        return allowed.equals(List.of(K8S));
    }

    /**
     * The backend of a sandbox over {@code name}, an environment of kind {@code kind} ({@code container} for a root
     * filesystem, {@code vm} for a microVM environment: {@code RunTarget.backend()}): {@code asked} (null: none
     * asked), which must be allowed and suit the kind, else the first allowed that suits it.
     *
     * @throws io.modelcontextprotocol.spec.McpError invalid params, in the model's words, when none may run it
     */
    String choose(String kind, String name, String asked) {
        String env = dev.davit.oci.internal.Text.printable(name);
        if (asked != null) {
            if (!allowed.contains(asked)) {
                throw Tool.invalid("'backend': " + asked + " is not one this server runs sandboxes on ("
                        + String.join(", ", allowed) + "); leave 'backend' out or give one of those");
            }
            if (!suits(kind, asked)) {
                throw Tool.invalid(env + " is a " + (isVm(kind) ? "microVM environment; it runs only with"
                        + " 'backend': 'vm'" : "container root filesystem; 'backend': 'vm' needs a microVM"
                        + " environment"));
            }
            return asked;
        }
        for (String b : allowed) {
            if (suits(kind, b)) {
                return b;
            }
        }
        throw Tool.invalid(env + " is a " + (isVm(kind) ? "microVM environment" : "container root filesystem")
                + ", and this server runs sandboxes on " + String.join(", ", allowed) + " only, which cannot run it;"
                + " use " + (isVm(kind) ? "an environment or image that is a root filesystem" : "a microVM"
                + " environment"));
    }

    /**
     * Refuses what a sandbox on {@code backend} cannot have of a call's {@code arguments}: on k8s, a network but an
     * egress allow-list ({@code network}; a one-shot {@code run}, none) and published ports, which its pods do not
     * have yet.
     */
    void refuseUnsupported(String backend, Map<String, Object> arguments, dev.davit.sandbox.Network network,
                           boolean run) {
        if (!K8S.equals(backend)) {
            return;
        }
        String other = allowed.contains(RunSpec.CONTAINER) ? ", or ask for 'backend': 'container'" : "";
        if (arguments.get("publish") instanceof List<?> l && !l.isEmpty()) {
            throw Tool.invalid("'publish' is not available for sandboxes on Kubernetes ('backend': 'k8s') yet:"
                    + " their ports cannot be reached from the server's host; leave 'publish' out" + other);
        }
        if (run && network.enabled()) {
            throw Tool.invalid("a run on Kubernetes ('backend': 'k8s') has no network yet: leave out 'network',"
                    + " 'allow_hosts', 'allow_cidrs' and 'allow_presets', or run it in a workspace made with"
                    + " 'allow_hosts' (davit's egress gate in its pod)" + other);
        }
        if (network.enabled() && network.mode() != dev.davit.sandbox.Network.Mode.POLICY) {
            throw Tool.invalid("sandboxes on Kubernetes ('backend': 'k8s') reach the network only through an egress"
                    + " allow-list (davit's gate in their pod): give 'allow_hosts' or 'allow_cidrs' instead of"
                    + " 'network'" + other);
        }
    }

    /**
     * Whether a call of {@code tool} with {@code arguments} asks a workspace for what one on k8s cannot do yet
     * ({@link #refuseOnWorkspace}): only then is its backend looked up (a status read, on k8s a request to the cluster).
     */
    static boolean limitedOnK8s(String tool, Map<String, Object> arguments) {
        return switch (tool) {
            case "workspace_disk_list", "workspace_disk_read", "workspace_disk_export" -> true;
            default -> false;
        };
    }

    /**
     * Refuses, in the model's words, what a workspace on {@code backend} cannot do yet: on k8s, the tools of a stopped
     * workspace's disk (a pod has no disk of its own: its files are read while it runs, and what a stopped one wrote
     * is kept as archives, not as a disk). {@code ref} is the workspace as the call named it. Drop an entry when the
     * k8s backend gains it.
     */
    void refuseOnWorkspace(String tool, Map<String, Object> arguments, String backend, String ref) {
        if (!K8S.equals(backend) || !limitedOnK8s(tool, arguments)) {
            return;
        }
        String on = "workspace " + dev.davit.oci.internal.Text.printable(ref) + " runs on Kubernetes ('backend':"
                + " 'k8s'), ";
        throw Tool.invalid(on + "whose files live in its pod, not on a disk of its own; start it (workspace_start)"
                + " and read them with workspace_file_list, workspace_file_read or workspace_export");
    }

    /** A description of the {@code backend} argument for this server's tool table. */
    String describe() {
        if (allowed.equals(DEFAULT.allowed)) {
            return "container (default) or vm (a microVM: stronger isolation, slower start).";
        }
        List<String> words = new ArrayList<>();
        for (String b : allowed) {
            words.add(switch (b) {
                case RunSpec.VM -> "vm (a microVM, for a microVM environment)";
                case K8S -> "k8s (a pod of the server's Kubernetes cluster)";
                default -> b;
            });
        }
        String image = firstFor(RunSpec.CONTAINER);
        return "One of this server's backends: " + String.join(", ", words) + "; default: " + (image == null ? ""
                : image + " for an image or root filesystem" + (allowed.contains(RunSpec.VM) ? ", " : ""))
                + (allowed.contains(RunSpec.VM) ? "vm for a microVM environment" : "") + ".";
    }

    /** The first allowed backend of an environment of {@code kind}, or null. */
    private String firstFor(String kind) {
        for (String b : allowed) {
            if (suits(kind, b)) {
                return b;
            }
        }
        return null;
    }

    private static boolean isVm(String kind) {
        return RunSpec.VM.equals(kind);
    }

    /** Whether backend {@code b} runs an environment of {@code kind}: a microVM's on vm, a root filesystem elsewhere. */
    private static boolean suits(String kind, String b) {
        return isVm(kind) == RunSpec.VM.equals(b);
    }
}
