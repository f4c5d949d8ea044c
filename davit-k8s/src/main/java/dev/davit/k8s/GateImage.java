package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import dev.davit.sandbox.backend.PodEgress;
import dev.davit.sandbox.vm.VmImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The image of the egress gate's sidecar ({@code davit/gate}), made from what runs davit: a Java runtime linked
 * from davit's own ({@code jlink}, Java 22 or later: the gate calls the kernel through the FFM API), the gate's class
 * path as davit has it, the host's {@code iptables} programs for the pod's rules, every shared library these need
 * (as {@code ldd} names them), and a static busybox (the gate's probe, its files). Built once per content into the
 * home's store and pushed to the cluster's registry ({@link Images#built}). The node must run what davit's host
 * runs (linux/amd64 here).
 */
final class GateImage {
    /** The gate's Java runtime in the image. */
    static final String JAVA = "/jre/bin/java";
    /** Where the gate's class path entries are, {@code /davit/cp/N}. */
    private static final String CP = "/davit/cp/";
    /** The iptables programs (the legacy one first, as davit's one-host gate tries them), by host path. */
    static final List<String> XTABLES = List.of("xtables-legacy-multi", "xtables-nft-multi");
    private static final List<String> MODULES = List.of("java.base", "java.logging", "java.net.http", "jdk.net",
            "jdk.unsupported", "java.xml");
    private static final Pattern PATH = Pattern.compile("(/[^\\s()]+)");
    /** The extensions iptables loads (owner, REDIRECT, REJECT...). */
    private static final Path XTABLES_MODULES = Path.of("/usr/lib/x86_64-linux-gnu/xtables");
    private static volatile String tag;

    private GateImage() {
    }

    /** The class path as the gate's container sees it. */
    static List<String> classPath() {
        List<String> cp = new ArrayList<>();
        for (int i = 0; i < PodEgress.classPath().size(); i++) {
            cp.add(CP + i);
        }
        return cp;
    }

    /** {@code REGISTRY/davit/gate@DIGEST}, built and pushed when needed. */
    static String get(K8sSettings settings, Path home) {
        if (Runtime.version().feature() < 22) {
            throw new DavitException(Kind.USAGE, "an egress policy on the k8s backend needs davit to run on Java 22"
                    + " or later (its gate calls the kernel through the FFM API); this is Java "
                    + Runtime.version().feature());
        }
        Path jlink = Path.of(System.getProperty("java.home"), "bin", "jlink");
        if (!Files.isExecutable(jlink)) {
            throw new DavitException(Kind.USAGE, "an egress policy on the k8s backend needs davit to run on a JDK"
                    + " (its gate's image is linked with jlink, which " + System.getProperty("java.home")
                    + " lacks)");
        }
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
        String t = tag;
        if (t == null) {
            t = tag(busybox, xtables);
            tag = t;
        }
        return Images.built(settings, home, "gate", t, dir -> fill(home, dir, jlink, busybox, xtables));
    }

    /**
     * What names the image's content: the runtime, the class path's bytes and this module's (which lays it out),
     * busybox, the iptables programs.
     */
    private static String tag(byte[] busybox, List<Path> xtables) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((Runtime.version() + "\n" + System.getProperty("java.home") + "\n" + MODULES + "\n")
                    .getBytes(StandardCharsets.UTF_8));
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
            List<String> entries = new ArrayList<>(PodEgress.classPath());
            // and this module's, which lays the image out
            entries.add(Path.of(GateImage.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                    .toString());
            for (String entry : entries) {
                Path root = Path.of(entry);
                if (Files.isDirectory(root)) {
                    try (var files = Files.walk(root)) {
                        for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                            md.update(root.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
                            md.update(Files.readAllBytes(f));
                        }
                    }
                } else {
                    md.update(Files.readAllBytes(root));
                }
                md.update((byte) 0);
            }
            return Digest.sha256(md.digest()).hex().substring(0, 16);
        } catch (IOException | java.security.NoSuchAlgorithmException | java.net.URISyntaxException e) {
            throw new DavitException(Kind.STORE, "cannot read the egress gate's classes: " + e.getMessage());
        }
    }

    private static void fill(Path home, Path dir, Path jlink, byte[] busybox, List<Path> xtables)
            throws IOException {
        Files.write(dir.resolve("busybox"), busybox);
        Files.setPosixFilePermissions(dir.resolve("busybox"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jre = dir.resolve("jre");
        run(List.of(jlink.toString(), "--add-modules", String.join(",", MODULES), "--strip-debug",
                "--no-header-files", "--no-man-pages", "--output", jre.toString()));
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
        try (var so = Files.walk(jre)) {
            so.filter(p -> p.toString().endsWith(".so") || p.endsWith(Path.of("bin", "java"))).forEach(programs::add);
        }
        Set<Path> libraries = new LinkedHashSet<>();
        for (Path p : programs) {
            for (Path lib : ldd(p)) {
                if (!lib.startsWith(jre)) {
                    libraries.add(lib);
                }
            }
        }
        for (Path lib : libraries) {
            Path to = dir.resolve(lib.toString().substring(1));
            Files.createDirectories(to.getParent());
            Files.copy(lib.toRealPath(), to, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        List<String> cp = PodEgress.classPath();
        for (int i = 0; i < cp.size(); i++) {
            Path from = Path.of(cp.get(i));
            Path to = dir.resolve(CP.substring(1) + i);
            Files.createDirectories(to.getParent());
            if (Files.isDirectory(from)) {
                copyTree(home, from, to);
            } else {
                slim(from, to);
            }
        }
        Files.createDirectories(dir.resolve("gate")); // the emptyDir's mount point
        Files.createDirectories(dir.resolve("tmp"));
    }

    /**
     * Copies of jar {@code jar} what the gate's classes can need: davit's classes and Jackson's (what {@code
     * Egress.classPath} names, its Java 22 versions included) and the manifest (which says the jar is multi-release).
     * From davit's own jar, which holds every library of the CLI, 47 MB become a few.
     */
    private static void slim(Path jar, Path to) throws IOException {
        try (var in = new java.util.zip.ZipInputStream(Files.newInputStream(jar));
             var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(to))) {
            for (java.util.zip.ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (!e.isDirectory() && gateEntry(e.getName())) {
                    out.putNextEntry(new java.util.zip.ZipEntry(e.getName()));
                    in.transferTo(out);
                    out.closeEntry();
                }
            }
        }
    }

    /** Whether a jar's entry {@code name} is one the gate can need ({@link #slim}). */
    static boolean gateEntry(String name) {
        String versions = "META-INF/versions/";
        int slash = name.startsWith(versions) ? name.indexOf('/', versions.length()) : -1;
        String n = slash > 0 ? name.substring(slash + 1) : name;
        return name.equals("META-INF/MANIFEST.MF") || n.startsWith("dev/davit/")
                || n.startsWith("com/fasterxml/jackson/");
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

    /** The libraries the iptables programs and this JVM's launcher need (the image's are linked from it). */
    private static Set<Path> libraries(List<Path> xtables) throws IOException {
        Set<Path> out = new LinkedHashSet<>();
        for (Path x : xtables) {
            out.addAll(ldd(x));
        }
        out.addAll(ldd(Path.of(System.getProperty("java.home"), "bin", "java")));
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
