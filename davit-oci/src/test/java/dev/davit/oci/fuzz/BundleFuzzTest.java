package dev.davit.oci.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.davit.oci.DavitException;
import dev.davit.oci.ErrorAssert;
import dev.davit.oci.bundle.BundleImporter;
import dev.davit.oci.bundle.BundleInspector;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Fuzzes the bundle reader with arbitrary files (plain tar, gzip, zstd): import and inspect either succeed or fail
 * with a one-line {@link DavitException} that is not an internal error; a failed import leaves {@code index.json}
 * unchanged and no partial file; whatever imports is fsck-clean. Seeds: {@code BundleFuzzTestInputs/fuzzBundle/}
 * (a valid bundle in each compression, and hostile ones). See {@link ParsersFuzzTest} for running it for real.
 */
class BundleFuzzTest {
    private static Path root;
    private static int n;

    private static synchronized Path next() {
        try {
            if (root == null) {
                root = Files.createTempDirectory("davit-bundle-fuzz-");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(root)));
            }
            return root.resolve("in-" + n++);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path p) {
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (IOException ignored) {
            // temp dir
        }
    }

    @DictionaryEntries({"oci-layout", "index.json", "blobs/sha256/", "./", "../", "ustar\u000000",
        "{\"imageLayoutVersion\":\"1.0.0\"}", "org.opencontainers.image.ref.name", "sha256:"})
    @FuzzTest(maxDuration = "60s")
    void fuzzBundle(byte[] input) throws IOException {
        Path dir = next();
        Files.createDirectories(dir);
        try {
            Path file = Files.write(dir.resolve("bundle"), input);
            OciStore store = OciStore.open(dir.resolve("store"));
            byte[] before = Files.readAllBytes(store.root().resolve("index.json"));
            ImportOptions limits = ImportOptions.defaults().withMaxTotalBytes(16 << 20).withMaxEntries(1000)
                    .withRepository("fuzz.example/repo");
            try {
                new BundleImporter(store).importBundle(file, limits, ProgressListener.NONE);
                assertThat(store.fsck(false).problems()).isEmpty();
            } catch (DavitException e) {
                check(e);
                assertThat(Files.readAllBytes(store.root().resolve("index.json"))).isEqualTo(before);
                try (Stream<Path> s = Files.list(store.root().resolve(".davit/ingest"))) {
                    assertThat(s.map(Path::toString)).noneMatch(x -> x.endsWith(".partial"));
                }
            }
            try {
                new BundleInspector(16 << 20, 1000).inspect(file);
            } catch (DavitException e) {
                check(e);
            }
        } finally {
            delete(dir);
        }
    }

    private static void check(DavitException e) {
        assertThat(e.kind()).as(e.getMessage()).isNotEqualTo(DavitException.Kind.INTERNAL);
        ErrorAssert.assertOneLine(e.getMessage());
    }
}
