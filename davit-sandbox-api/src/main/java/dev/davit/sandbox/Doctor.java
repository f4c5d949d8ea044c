package dev.davit.sandbox;

import dev.davit.sandbox.host.Host;
import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Which sandbox backends work on this host, and why not: bubblewrap present and able to run {@code true} in new
 * namespaces (the {@code container} backend); crun and runc present and able to run {@code true} in an OCI
 * container (the container backend's other runtimes); QEMU with its microvm machine, and whether KVM really runs
 * guests or QEMU emulates (the {@code vm} backend).
 */
public final class Doctor {
    /** How long one probe of a doctor's entry may take. */
    public static final long PROBE_SECONDS = 15;

    private Doctor() {
    }

    /**
     * One backend's state.
     *
     * @param name      {@code container} (bubblewrap), {@code container/crun}, {@code container/runc} or {@code vm}
     * @param available whether davit can run sandboxes with it now
     * @param why       one line: what works, or why not and the fix, as data for each door to word
     * @param facts     what was found (paths, versions, probe results)
     */
    public record Backend(String name, boolean available, Message why, Map<String, String> facts) {
        /** Copies {@code facts}, keeping their order. */
        public Backend {
            facts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(facts));
        }

        /**
         * One backend's state, {@code detail} plain text.
         *
         * @param name      as in the record
         * @param available as in the record
         * @param detail    one line: what works, or why not and the fix
         * @param facts     as in the record
         */
        public Backend(String name, boolean available, String detail, Map<String, String> facts) {
            this(name, available, Message.of(detail), facts);
        }

        /**
         * {@link #why} in the library's words.
         *
         * @return one line: what works, or why not and the fix
         */
        public String detail() {
            return why.toString();
        }
    }

    /**
     * What {@code Sandboxes.doctor} found.
     *
     * @param backends every entry: the backends and runtimes (container, container/crun, container/runc, vm), then
     *                 {@link #LIMITS}, {@link #NETWORK} and the other entries ({@link #JAIL})
     */
    public record Report(List<Backend> backends) {
        /** Copies {@code backends}. */
        public Report {
            backends = List.copyOf(backends);
        }

        /**
         * Whether a backend works ({@link #LIMITS}, not a backend, does not count).
         *
         * @return true when at least one backend or runtime is available
         */
        public boolean anyAvailable() {
            return backends.stream().anyMatch(b -> b.available() && !b.name().equals(LIMITS));
        }
    }

    /** The entry that says whether container limits ({@link Limits}) can be enforced here. */
    public static final String LIMITS = "container/limits";
    /** The entry that says whether {@code --network} (NAT, {@link Network#NAT}) works here. */
    public static final String NETWORK = "container/network";

    /** The entry that says how container sandboxes are confined here ({@code jail.Jail}). */
    public static final String JAIL = "container/jail";

    /**
     * What {@link #probe} found.
     *
     * @param ok     whether the command exited 0 in time
     * @param output its output (stdout and stderr, up to 4 KiB, as one line), or why it failed
     */
    public record Probe(boolean ok, String output) {
    }

    /**
     * Runs {@code cmd} (no environment, no input, {@link #PROBE_SECONDS} at most) for a doctor's entry.
     *
     * @param cmd the command and its arguments
     * @return whether it succeeded, and what it said; a failure to start is a failed probe, not an exception
     */
    public static Probe probe(List<String> cmd) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().clear();
            Process p = pb.start();
            byte[] out;
            try (var in = p.getInputStream()) {
                out = in.readNBytes(4096);
            }
            if (!p.waitFor(PROBE_SECONDS, TimeUnit.SECONDS)) {
                Host.killTree(p);
                return new Probe(false, "timed out after " + PROBE_SECONDS + " s");
            }
            String text = new String(out, StandardCharsets.UTF_8).strip().replace('\n', ' ');
            return p.exitValue() == 0 ? new Probe(true, text)
                    : new Probe(false, text.isEmpty() ? "exit " + p.exitValue() : text);
        } catch (IOException e) {
            return new Probe(false, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Probe(false, "interrupted");
        }
    }

    /**
     * Two argument lists joined.
     *
     * @param a the first arguments
     * @param b the arguments after them
     * @return a new list: {@code a} then {@code b}
     */
    public static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
