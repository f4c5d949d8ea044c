package dev.davit.junit;

import dev.davit.Davit;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension that gives a test a {@link Davit} on a {@link DavitTestHome}: a temporary home of its own,
 * removed after the test, whose image cache (pulled and built images, unpacked root filesystems, installed
 * environments) is shared with every other test, so only the first test that needs an image pulls or builds it.
 * Nothing is written into the CLI's home.
 *
 * <pre>
 * &#64;ExtendWith(DavitExtension.class)
 * class BuildTest {
 *     &#64;Test
 *     void compiles(Davit davit) {
 *         assertEquals(0, davit.run("debian:12", "true").exitCode());
 *     }
 * }
 * </pre>
 *
 * <p>Registered as a field, it takes another cache or adjusts the {@code Davit}:
 *
 * <pre>
 * &#64;RegisterExtension
 * static DavitExtension davit = DavitExtension.withCache(dir).configure(b -&gt; b.notices(System.err::println));
 * </pre>
 *
 * <p>The {@code Davit} is made when a test asks for one (a parameter of type {@code Davit} of the test method, or of
 * a {@code @BeforeEach} or {@code @AfterEach} method: they share the test's), closed after the test (removing the
 * workspaces it opened), and its home removed then.
 */
public final class DavitExtension implements ParameterResolver, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(DavitExtension.class);
    private static final String KEY = "davit";

    private final Path cache;
    private final UnaryOperator<Davit.Builder> configure;

    /** The extension with {@link DavitTestHome#defaultCache()} and the {@code Davit}'s defaults. */
    public DavitExtension() {
        this(null, b -> b);
    }

    private DavitExtension(Path cache, UnaryOperator<Davit.Builder> configure) {
        this.cache = cache;
        this.configure = configure;
    }

    /**
     * The extension with {@code cache} as the shared image cache.
     *
     * @param cache the directory, created if missing; not null
     * @return a new extension
     */
    public static DavitExtension withCache(Path cache) {
        return new DavitExtension(Objects.requireNonNull(cache, "DavitExtension.withCache: cache is null; give a"
                + " directory, or use new DavitExtension() for DavitTestHome.defaultCache()"), b -> b);
    }

    /**
     * This extension, adjusting each test's {@code Davit} before it is built (its home is the test's).
     *
     * @param configure takes the builder and returns it changed, e.g. {@code b -> b.catalog(catalog)}; not null
     * @return a new extension with the same cache
     */
    public DavitExtension configure(UnaryOperator<Davit.Builder> configure) {
        return new DavitExtension(cache, Objects.requireNonNull(configure, "DavitExtension.configure: configure is"
                + " null; give b -> b for no change"));
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        // a test's (its method's, or its @BeforeEach or @AfterEach method's): one of @BeforeAll would outlive afterEach
        return parameter.getParameter().getType() == Davit.class && context.getTestMethod().isPresent();
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getStore(NS).getOrComputeIfAbsent(KEY, k -> open(), Opened.class).davit();
    }

    private Opened open() {
        DavitTestHome home = DavitTestHome.create(cache != null ? cache : DavitTestHome.defaultCache());
        try {
            return new Opened(home, configure.apply(home.davit()).home(home.home()).build());
        } catch (RuntimeException e) {
            home.close();
            throw e;
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Opened o = context.getStore(NS).remove(KEY, Opened.class);
        if (o != null) {
            try {
                o.davit().close();
            } finally {
                o.home().close();
            }
        }
    }

    private record Opened(DavitTestHome home, Davit davit) {
    }
}
