package dev.davit.junit;

import dev.davit.Davit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A temporary davit home for one test, whose image cache is shared with every other test's: the store (pulled and
 * built images), the unpacked root filesystems, the installed environments and the microVM kernels are links into
 * {@link #cache}, so an image pulled or an environment built by one test is there for the next one (and the next
 * run of the suite), while the sandboxes, workspaces and everything else a test makes stay in its own home, removed
 * by {@link #close}. Nothing is written into the CLI's home ({@code $DAVIT_HOME}, {@code ~/.cache/davit}).
 *
 * <p>{@link DavitExtension} makes one per test; without JUnit:
 *
 * <pre>{@code
 * try (DavitTestHome home = DavitTestHome.create(DavitTestHome.defaultCache());
 *      Davit davit = home.davit().build()) {
 *     davit.run("debian:12", "true");
 * }
 * }</pre>
 */
public final class DavitTestHome implements AutoCloseable {
    /** The system property naming the shared cache directory (see {@link #defaultCache}). */
    public static final String CACHE_PROPERTY = "davit.test.cache";
    /** The environment variable naming the shared cache directory, when the property is not set. */
    public static final String CACHE_ENV = "DAVIT_TEST_CACHE";
    /** What of a home is shared: the store, unpacked root filesystems, installs, microVM files and kernels. */
    static final List<String> SHARED = List.of("store", "rootfs", "vm", "environments", "cache/vm");

    private final Path home;
    private final Path cache;

    private DavitTestHome(Path home, Path cache) {
        this.home = home;
        this.cache = cache;
    }

    /**
     * The shared cache when none is given: {@code -Ddavit.test.cache=DIR}, else {@code $DAVIT_TEST_CACHE}, else
     * {@code $XDG_CACHE_HOME/davit-test/home-cache} ({@code ~/.cache/davit-test/home-cache}).
     *
     * @return an absolute path; it need not exist
     */
    public static Path defaultCache() {
        return defaultCache(System.getProperties().getProperty(CACHE_PROPERTY), System.getenv());
    }

    static Path defaultCache(String property, Map<String, String> env) {
        if (property != null && !property.isBlank()) {
            return Path.of(property).toAbsolutePath();
        }
        String dir = env.get(CACHE_ENV);
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir).toAbsolutePath();
        }
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("davit-test").resolve("home-cache").toAbsolutePath();
    }

    /**
     * A new temporary home (under {@code java.io.tmpdir}) sharing {@code cache}'s images.
     *
     * @param cache the shared cache directory, created if missing; not null
     * @return the home; close it to remove it
     * @throws UncheckedIOException when the home or the cache cannot be made
     */
    public static DavitTestHome create(Path cache) {
        Objects.requireNonNull(cache, "DavitTestHome.create: cache is null; give DavitTestHome.defaultCache()");
        Path c = cache.toAbsolutePath();
        try {
            Path home = Files.createTempDirectory("davit-test-home-");
            for (String shared : SHARED) {
                Path in = Files.createDirectories(c.resolve(shared));
                Path link = home.resolve(shared);
                Files.createDirectories(link.getParent());
                Files.createSymbolicLink(link, in);
            }
            return new DavitTestHome(home, c);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a davit test home sharing " + c + ": " + e.getMessage(), e);
        }
    }

    /** {@return the home's directory} */
    public Path home() {
        return home;
    }

    /** {@return the shared cache directory} */
    public Path cache() {
        return cache;
    }

    /**
     * A builder of a {@link Davit} on this home, to adjust further ({@code .catalog(...)}, {@code .notices(...)})
     * and build.
     *
     * @return {@code Davit.builder().home(home())}
     */
    public Davit.Builder davit() {
        return Davit.builder().home(home);
    }

    /**
     * Removes the home: its sandboxes' and workspaces' state and whatever else was made there, never the shared
     * cache (its links are removed, not followed). Close the home's {@link Davit}s first. Idempotent.
     *
     * @throws UncheckedIOException when something cannot be removed
     */
    @Override
    public void close() {
        if (!Files.exists(home, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(home, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    dir.toFile().setWritable(true, true); // a read-only directory of a test's making
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file); // a link into the cache is a file here: the link goes, not its target
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    if (e != null) {
                        throw e;
                    }
                    Files.delete(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the davit test home " + home + ": " + e.getMessage(), e);
        }
    }
}
