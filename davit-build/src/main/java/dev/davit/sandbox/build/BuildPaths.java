package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.containerfile.IgnoreRules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Relative paths below a root (the build context, a stage's root filesystem, a copy's staging directory): their
 * normal form, links on the way walked within the root, what the ignore file leaves out, real directories made.
 */
final class BuildPaths {
    private BuildPaths() {
    }

    static String normal(String rel) {
        String n = Path.of("/").resolve(rel).normalize().toString().substring(1);
        return n;
    }

    /** {@code p} (below {@code root}) as a clean relative path with {@code /}. */
    static String relative(Path root, Path p) {
        return normal(root.relativize(p).toString());
    }

    /** {@code rel} below {@code root} with no link on the way and no {@code ..}; null otherwise. */
    static Path reach(Path root, String rel) {
        Path p = root;
        for (String part : rel.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..") || !p.equals(root) && Files.isSymbolicLink(p)) {
                return null;
            }
            p = p.resolve(part);
        }
        return p;
    }

    /**
     * The components of {@code rel} (a path below a root) with every link on its way resolved: {@code linkAt}
     * gives the text of the link at a path (components joined with {@code /}), or null when it is none; an
     * absolute target starts again from the root, {@code ..} stops there; more than 40 links is
     * {@code tooMany}'s error.
     */
    static List<String> walkLinks(String rel, java.util.function.Function<String, String> linkAt,
                                          java.util.function.Supplier<DavitException> tooMany) {
        java.util.Deque<String> todo = new java.util.ArrayDeque<>(List.of(rel.split("/")));
        List<String> done = new ArrayList<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String part = todo.pop();
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (!done.isEmpty()) {
                    done.remove(done.size() - 1);
                }
                continue;
            }
            String target = linkAt.apply(done.isEmpty() ? part : String.join("/", done) + "/" + part);
            if (target == null) {
                done.add(part);
                continue;
            }
            if (++links > 40) {
                throw tooMany.get();
            }
            if (target.startsWith("/")) {
                done.clear();
            }
            List<String> parts = List.of(target.split("/"));
            for (int k = parts.size() - 1; k >= 0; k--) {
                todo.push(parts.get(k));
            }
        }
        return done;
    }

    /**
     * Whether {@code rel} below {@code root} is left out by {@code rules}: excluded, and not a directory an
     * exception brings something back into.
     */
    static boolean leftOut(Path root, String rel, IgnoreRules rules) {
        String n = normal(rel);
        if (!rules.excluded(n)) {
            return false;
        }
        Path p = reach(root, rel);
        return p == null || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) || !rules.mayIncludeUnder(n);
    }

    /**
     * Makes {@code dir} (at or below {@code root}, the COPY's own staging directory) a real directory with real
     * directories above it: a link or a file an earlier source left on the way is replaced (as a later source
     * replaces an earlier one), never followed, so nothing is written through it to the host.
     */
    static void realDir(Path root, Path dir) throws IOException {
        if (dir.equals(root)) {
            return;
        }
        Path p = root;
        for (Path part : root.relativize(dir)) {
            p = p.resolve(part.toString());
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (java.nio.file.NoSuchFileException e) {
                a = null;
            }
            if (a != null && !a.isDirectory()) {
                Files.delete(p); // a link or a file: deleted itself, never what it names
                a = null;
            }
            if (a == null) {
                Files.createDirectory(p);
            }
        }
    }
}
