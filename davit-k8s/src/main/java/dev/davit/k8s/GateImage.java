package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Platform;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.agent.AgentProgram;
import dev.davit.sandbox.backend.PodEgress;
import dev.davit.sandbox.vm.VmImages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The images of a pod's egress gate. The gate's sidecar ({@code davit/gate}) holds davit-agent alone ({@code gate pod}:
 * the same native gate as on one host), an index of it for linux/amd64 and linux/arm64 (as many of them as this jar
 * has a davit-agent for); a few MB. The init container that sets the pod's rules ({@code davit/gate-rules}) holds
 * the host's {@code iptables} programs, the extensions and shared libraries they need (as {@code ldd} names them) and
 * a static busybox for its script: made from what runs davit, for the node architecture davit's host has. Each is
 * built once per content into the home's store and pushed to the cluster's registry ({@link Images#built}).
 */
final class GateImage {
    /** The iptables programs (the legacy one first, as davit's one-host gate tries them), by host path. */
    static final List<String> XTABLES = List.of("xtables-legacy-multi", "xtables-nft-multi");
    private static final Pattern PATH = Pattern.compile("(/[^\\s()]+)");
    /** The extensions iptables loads (owner, REDIRECT, REJECT...), where Debian puts them for this machine. */
    private static final Path XTABLES_MODULES = Path.of("/usr/lib", (System.getProperty("os.arch").equals("aarch64")
            ? "aarch64" : "x86_64") + "-linux-gnu", "xtables");
    /** What the gate's image is made of besides the programs' bytes: a change to it makes a new image. */
    private static final String LAYOUT = "1 " + PodEgress.PROGRAM + " " + PodGates.DIR + " 0755";
    /** The architectures of the gate's image, Java's name and the OCI one, in the index's order. */
    private static final List<List<String>> ARCHITECTURES = List.of(List.of("amd64", "amd64"),
            List.of("aarch64", "arm64"));
    private static volatile String rulesTag;

    private GateImage() {
    }

    /**
     * {@code REGISTRY/davit/gate@DIGEST}: davit-agent alone, for every architecture this jar has it for; built and
     * pushed when needed.
     *
     * @throws DavitException HOST_UNSUPPORTED when this jar has no davit-agent for this machine
     */
    static String gate(K8sSettings settings, Path home, SandboxOptions options) {
        AgentProgram.required(options); // this machine's, or the refusal that says how to build it
        // the programs read and hashed once per process, as the agent's image is (Images.agent): every gated create
        // asks, and they are megabytes
        String key = settings.requireRegistry() + "\n" + home.toAbsolutePath();
        String known = GATES.get(key);
        if (known != null) {
            return known;
        }
        String made = gate(settings, home);
        GATES.put(key, made);
        return made;
    }

    /** {@link #gate(K8sSettings, Path, SandboxOptions)} by registry and home, this process's. */
    private static final java.util.concurrent.ConcurrentHashMap<String, String> GATES =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static String gate(K8sSettings settings, Path home) {
        Map<Platform, byte[]> programs = new LinkedHashMap<>();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(LAYOUT.getBytes(StandardCharsets.UTF_8));
        for (List<String> a : ARCHITECTURES) {
            byte[] program = AgentProgram.bytes(a.get(0));
            if (program != null) {
                programs.put(new Platform("linux", a.get(1), null), program);
                all.writeBytes(a.get(1).getBytes(StandardCharsets.UTF_8));
                all.writeBytes(program);
            }
        }
        Map<Platform, Images.Filler> fills = new LinkedHashMap<>();
        programs.forEach((p, program) -> fills.put(p, dir -> {
            Path to = dir.resolve(PodEgress.PROGRAM.substring(1));
            Files.write(to, program);
            Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createDirectories(dir.resolve(PodGates.DIR.substring(1))); // the emptyDir's mount point
        }));
        return Images.index(settings, home, "gate", Digest.sha256(all.toByteArray()).hex().substring(0, 16), fills);
    }

    /**
     * {@code REGISTRY/davit/gate-rules@DIGEST}: what sets a pod's egress rules, built and pushed when needed.
     *
     * @throws DavitException USAGE when davit's host has no iptables
     */
    static String rules(K8sSettings settings, Path home) {
        List<Path> xtables = new ArrayList<>();
        for (String x : XTABLES) {
            for (String d : List.of("/usr/sbin", "/sbin")) {
                if (Files.isExecutable(Path.of(d, x))) {
                    xtables.add(Path.of(d, x));
                    break;
                }
            }
        }
        if (xtables.isEmpty()) {
            throw new DavitException(Kind.USAGE, "an egress policy on the k8s backend needs iptables on davit's host"
                    + " (its pods' rules are set with it): install it (apt-get install -y iptables)");
        }
        byte[] busybox = new VmImages(VmImages.defaultCacheDir(home)).busybox();
        String t = rulesTag;
        if (t == null) {
            t = tag(busybox, xtables);
            rulesTag = t;
        }
        return Images.built(settings, home, "gate-rules", t, dir -> fill(home, dir, busybox, xtables));
    }

    /** What names the rules image's content: busybox, the iptables programs, the libraries and extensions copied. */
    private static String tag(byte[] busybox, List<Path> xtables) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(busybox);
            for (Path x : xtables) {
                md.update(Files.readAllBytes(x));
            }
            // the host's libraries and iptables' extensions the image copies: a security update rebuilds it
            List<Path> copied = new ArrayList<>(libraries(xtables));
            if (Files.isDirectory(XTABLES_MODULES)) {
                try (var so = Files.list(XTABLES_MODULES)) {
                    copied.addAll(so.sorted().toList());
                }
            }
            for (Path f : copied) {
                var a = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class);
                md.update((f + " " + a.size() + " " + a.lastModifiedTime().toMillis() + "\n")
                        .getBytes(StandardCharsets.UTF_8));
            }
            return Digest.sha256(md.digest()).hex().substring(0, 16);
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new DavitException(Kind.STORE, "cannot read iptables for the egress rules' image: " + e.getMessage());
        }
    }

    private static void fill(Path home, Path dir, byte[] busybox, List<Path> xtables) throws IOException {
        Files.write(dir.resolve("busybox"), busybox);
        Files.setPosixFilePermissions(dir.resolve("busybox"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Set<Path> programs = new LinkedHashSet<>();
        Files.createDirectories(dir.resolve("sbin"));
        for (Path x : xtables) {
            Path to = dir.resolve("sbin").resolve(x.getFileName());
            Files.copy(x, to, StandardCopyOption.COPY_ATTRIBUTES);
            programs.add(x);
        }
        Path modules = XTABLES_MODULES;
        if (Files.isDirectory(modules)) { // the extensions iptables loads (owner, REDIRECT, REJECT...)
            Path to = dir.resolve(modules.toString().substring(1));
            Files.createDirectories(to.getParent());
            copyTree(home, modules, to);
            try (var so = Files.list(modules)) {
                so.filter(p -> p.toString().endsWith(".so")).forEach(programs::add);
            }
        }
        Set<Path> libraries = new LinkedHashSet<>();
        for (Path p : programs) {
            libraries.addAll(ldd(p));
        }
        for (Path lib : libraries) {
            Path to = dir.resolve(lib.toString().substring(1));
            Files.createDirectories(to.getParent());
            Files.copy(lib.toRealPath(), to, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.createDirectories(dir.resolve("tmp"));
    }

    /** The host's libraries {@code program} needs, as {@code ldd} names them. */
    private static List<Path> ldd(Path program) throws IOException {
        List<Path> out = new ArrayList<>();
        Matcher m = PATH.matcher(run(List.of("ldd", program.toString())));
        while (m.find()) {
            Path lib = Path.of(m.group(1));
            if (!lib.equals(program) && Files.exists(lib)) {
                out.add(lib);
            }
        }
        return out;
    }

    /** The libraries the iptables programs need. */
    private static Set<Path> libraries(List<Path> xtables) throws IOException {
        Set<Path> out = new LinkedHashSet<>();
        for (Path x : xtables) {
            out.addAll(ldd(x));
        }
        return out;
    }

    /** Copies a tree as it is (links as links, modes), with the host's {@code cp -a}. */
    private static void copyTree(Path home, Path from, Path to) {
        dev.davit.sandbox.host.Host.copyTree(dev.davit.sandbox.SandboxOptions.under(home).searchPath(), from, to);
    }

    /** Runs a tool of davit's host; its output, or a STORE error with its words. */
    private static String run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readNBytes(1 << 20);
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(0) + " did not end within 120 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0 && !(cmd.get(0).equals("ldd") && text.contains("not a dynamic executable"))) {
            throw new IOException("'" + String.join(" ", cmd) + "' failed: " + dev.davit.oci.internal.Text.shorten(
                    text.strip(), 300));
        }
        return text;
    }
}
