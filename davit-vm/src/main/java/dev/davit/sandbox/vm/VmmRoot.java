package dev.davit.sandbox.vm;

import dev.davit.oci.Action;
import dev.davit.oci.Message;
import dev.davit.sandbox.elf.Elf;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.jail.Jail.RootEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What a jailed VMM (QEMU, or qemu-img) finds in its own root (see {@link dev.davit.sandbox.jail.Jail#vmmLauncher}),
 * at the paths it has on the host: its program; the shared libraries its ELF interpreter resolves for it
 * ({@code INTERP --list PROGRAM}, as ldd does) and the interpreter, with the loader's cache
 * {@code /etc/ld.so.cache}; QEMU's data directory ({@code PREFIX/share/qemu}: firmware such as
 * {@code bios-microvm.bin}, {@code pvh.bin}) and module directories ({@code PREFIX/lib/ARCH/qemu}, where Debian
 * keeps the TCG accelerator {@code accel-tcg-x86_64.so}) with the libraries of its target's accelerator modules;
 * and the devices {@code /dev/null}, {@code zero}, {@code random}, {@code urandom} (and {@code /dev/kvm} with KVM).
 * Every symbolic link on the way to one of them (Debian's {@code /lib -> usr/lib},
 * {@code libz.so.1 -> libz.so.1.2.13}) is made again in the root, so each resolves there as on the host; the files
 * themselves are bound read-only, one by one (not all of /usr). No /proc, /sys, /etc/passwd, /home, /tmp, nor
 * davit's home: QEMU opens nothing else (found with {@code strace -f -e trace=openat,access,stat} over a boot:
 * /etc/localtime and /proc/filesystems, which it tries, are optional to it).
 */
final class VmmRoot {
    /** The files of each program, by its real path, size and modification time (one look-up per davit process). */
    private static final Map<String, List<RootEntry>> FILES = new ConcurrentHashMap<>();
    private static final List<String> DEVICES = List.of("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom");
    /** How many symbolic links a path may go through (the kernel's limit). */
    private static final int MAX_LINKS = 40;

    private VmmRoot() {
    }

    /** The root of a VMM that runs {@code program}: its files, the devices, and {@code extra}. */
    static List<RootEntry> of(Path program, boolean kvm, List<RootEntry> extra) {
        List<RootEntry> root = new ArrayList<>(files(program));
        for (String d : DEVICES) {
            root.add(new RootEntry(RootEntry.Kind.DEV, d, d));
        }
        if (kvm) {
            root.add(new RootEntry(RootEntry.Kind.DEV, "/dev/kvm", "/dev/kvm"));
        }
        root.addAll(extra);
        return root;
    }

    /** {@code program}'s own files (see the class comment), cached. */
    static List<RootEntry> files(Path program) {
        Path real;
        String key;
        try {
            real = program.toRealPath();
            key = real + " " + Files.size(real) + " " + Files.getLastModifiedTime(real).toMillis();
        } catch (IOException e) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of(program + " cannot be read (" + e.getMessage() + "); reinstall"
                    + " QEMU (see ", Action.DOCTOR.fix(), ")"));
        }
        List<RootEntry> cached = FILES.get(key);
        if (cached != null) {
            return cached;
        }
        Map<String, RootEntry> out = new LinkedHashMap<>();
        mirror(program, out);
        Path prefix = real.getParent() == null || real.getParent().getParent() == null ? Path.of("/")
                : real.getParent().getParent();
        List<Path> objects = new ArrayList<>(List.of(real));
        Path data = prefix.resolve("share/qemu");
        if (Files.isDirectory(data)) {
            mirror(data, out);
            // firmware linked from elsewhere (seabios, ipxe): each target too
            try (Stream<Path> s = Files.list(data)) {
                for (Path f : s.filter(Files::isSymbolicLink).toList()) {
                    if (Files.exists(f) && !f.toRealPath().startsWith(data.toRealPath())) {
                        mirror(f.toRealPath(), out);
                    }
                }
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot list QEMU's data directory " + data + ": "
                        + e.getMessage());
            }
        }
        for (Path modules : List.of(prefix.resolve("lib").resolve(multiarch()).resolve("qemu"),
                prefix.resolve("lib64/qemu"), prefix.resolve("lib/qemu"))) {
            if (Files.isDirectory(modules)) {
                mirror(modules, out);
                // the accelerator modules of this program's target (qemu-system-x86_64: accel-tcg-x86_64.so)
                String target = program.getFileName().toString().startsWith("qemu-system-")
                        ? program.getFileName().toString().substring("qemu-system-".length()) : null;
                try (Stream<Path> s = Files.list(modules)) {
                    s.filter(m -> target != null && m.getFileName().toString().startsWith("accel-")
                            && m.getFileName().toString().endsWith("-" + target + ".so")).forEach(objects::add);
                } catch (IOException e) {
                    throw new DavitException(Kind.STORE, "cannot list QEMU's modules in " + modules + ": "
                            + e.getMessage());
                }
            }
        }
        String interpreter = interpreter(real);
        if (interpreter != null) {
            mirror(Path.of(interpreter), out);
            Path cache = Path.of("/etc/ld.so.cache");
            if (Files.isRegularFile(cache)) {
                mirror(cache, out);
            }
            for (Path o : objects) {
                for (Path lib : libraries(Path.of(interpreter), o)) {
                    mirror(lib, out);
                }
            }
        }
        List<RootEntry> entries = withoutNested(out);
        FILES.put(key, entries);
        return entries;
    }

    private static String interpreter(Path real) {
        try {
            String i = Elf.interpreter(real);
            if (i != null && !i.startsWith("/")) {
                throw new IOException("its interpreter " + i + " is not an absolute path");
            }
            return i;
        } catch (IOException | IllegalArgumentException e) {
            throw new DavitException(Kind.INTERNAL, Message.of("cannot read the program headers of " + real + " ("
                    + e.getMessage() + "); reinstall QEMU (see ", Action.DOCTOR.fix(), ")"));
        }
    }

    /**
     * The shared libraries {@code interpreter} loads for {@code object} (a program or a shared object), as it lists
     * them ({@code --list}, what ldd runs), with an empty environment.
     */
    static List<Path> libraries(Path interpreter, Path object) {
        String what = interpreter + " --list " + object;
        ProcessBuilder pb = new ProcessBuilder(interpreter.toString(), "--list", object.toString());
        pb.environment().clear();
        pb.redirectErrorStream(true);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        String text;
        try {
            Process p = pb.start();
            text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("exit " + (p.isAlive() ? "timeout" : p.exitValue()) + ": "
                        + text.strip().lines().findFirst().orElse(""));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot list the shared libraries of " + object + " (" + what
                    + ": " + e.getMessage() + "); davit gives the VMM a root with only its own files and needs"
                    + " them (see docs/reference/SANDBOX.md, The VMM)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted");
        }
        List<Path> libs = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty()) {
                continue;
            }
            if (l.contains("=> not found")) {
                throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of(object + " needs a shared library that is not installed ("
                        + l + "); reinstall QEMU (see ", Action.DOCTOR.fix(), ")"));
            }
            int arrow = l.indexOf("=> ");
            String path = arrow >= 0 ? l.substring(arrow + 3) : l;
            int paren = path.lastIndexOf(" (0x");
            if (paren >= 0) {
                path = path.substring(0, paren);
            }
            if (path.startsWith("/")) { // not linux-vdso.so.1, which the kernel maps
                libs.add(Path.of(path.strip()));
            }
        }
        return libs;
    }

    /**
     * Adds what makes {@code path} resolve in the root as on the host: a link entry for every symbolic link on
     * the way (followed, as the kernel does), and the file or directory it leads to, bound read-only at its real
     * path.
     */
    static void mirror(Path path, Map<String, RootEntry> out) {
        Deque<String> rest = new ArrayDeque<>();
        for (Path c : path.toAbsolutePath()) {
            rest.add(c.toString());
        }
        Path cur = Path.of("/");
        int links = 0;
        try {
            while (!rest.isEmpty()) {
                String c = rest.pollFirst();
                if (c.equals(".")) {
                    continue;
                }
                if (c.equals("..")) {
                    cur = cur.getParent() == null ? cur : cur.getParent();
                    continue;
                }
                Path next = cur.resolve(c);
                if (!Files.isSymbolicLink(next)) {
                    cur = next;
                    continue;
                }
                if (++links > MAX_LINKS) {
                    throw new IOException("too many levels of symbolic links");
                }
                Path target = Files.readSymbolicLink(next);
                out.putIfAbsent(next.toString(), new RootEntry(RootEntry.Kind.LINK, next.toString(),
                        target.toString()));
                List<String> t = new ArrayList<>();
                target.forEach(p -> t.add(p.toString()));
                for (int i = t.size() - 1; i >= 0; i--) {
                    rest.addFirst(t.get(i));
                }
                if (target.isAbsolute()) {
                    cur = Path.of("/");
                }
            }
            if (!Files.exists(cur, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("it does not exist");
            }
        } catch (IOException e) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("cannot give the VMM " + path + " (" + e.getMessage()
                    + "); reinstall QEMU (see ", Action.DOCTOR.fix(), ")"));
        }
        out.putIfAbsent(cur.toString(), RootEntry.readOnly(cur));
    }

    /**
     * The entries without those inside a directory that is bound already (they are in its bind): a bind there
     * could not make its mount point on the read-only directory.
     */
    private static List<RootEntry> withoutNested(Map<String, RootEntry> all) {
        List<Path> dirs = all.values().stream().filter(e -> e.kind() == RootEntry.Kind.RO
                && Files.isDirectory(Path.of(e.at()), LinkOption.NOFOLLOW_LINKS)).map(e -> Path.of(e.at())).toList();
        List<RootEntry> out = new ArrayList<>();
        for (RootEntry e : all.values()) {
            Path at = Path.of(e.at());
            if (dirs.stream().noneMatch(d -> !d.equals(at) && at.startsWith(d))) {
                out.add(e);
            }
        }
        return List.copyOf(out);
    }

    /** Debian's multiarch directory name of this machine ({@code x86_64-linux-gnu}). */
    private static String multiarch() {
        String arch = System.getProperty("os.arch");
        return (arch.equals("amd64") ? "x86_64" : arch) + "-linux-gnu";
    }
}
