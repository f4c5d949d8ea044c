package dev.davit.oci.unpack;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.davit.oci.DavitException;
import dev.davit.oci.ErrorAssert;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Fuzzes the unpacker with arbitrary layer bytes (one uncompressed layer whose diff_id matches). Whatever the
 * input: the unpack succeeds or fails with a one-line VERIFICATION or STORE {@link DavitException}; nothing is
 * written outside the target; a failure leaves neither the target nor a temp directory.
 *
 * <p>Without {@code JAZZER_FUZZ} it runs the seeds in
 * {@code src/test/resources/dev/davit/oci/unpack/UnpackFuzzTestInputs/fuzzUnpack/} (tars with escapes, links and
 * whiteouts). To fuzz: {@code JAZZER_FUZZ=1 mvn -pl davit-oci test -Dtest='UnpackFuzzTest'}.
 */
class UnpackFuzzTest {
    private static Path base;
    private static OciStore store;

    private static synchronized OciStore store() throws IOException {
        if (store == null) {
            Path b = Files.createTempDirectory("davit-unpack-fuzz-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    RootFs.deleteTree(b);
                } catch (IOException ignored) {
                    // best effort
                }
            }, "davit-unpack-fuzz-cleanup"));
            base = b;
            store = OciStore.open(base.resolve("store"));
        }
        return store;
    }

    @DictionaryEntries({"ustar\u000000", "ustar  \u0000", "../", "/etc/", ".wh.", ".wh..wh..opq", "./", "a/",
        "path=", "linkpath=", "SCHILY.xattr.user.", "GNU.sparse."})
    @FuzzTest(maxDuration = "60s")
    void fuzzUnpack(byte[] layer) throws IOException {
        OciStore s = store();
        Path run = Files.createTempDirectory(base, "run-");
        Path outside = Files.createDirectories(run.resolve("outside"));
        Path out = Files.createDirectories(run.resolve("out"));
        Path target = out.resolve("rootfs");
        Descriptor image = StoreImages.image(s).layer(layer, StoreImages.Codec.TAR).manifest();
        try {
            new Unpacker(s, UnpackOptions.builder().maxBytes(64L << 20).maxEntries(10_000)
                    .privileges(UnpackOptions.Privileges.ROOTLESS).build())
                    .unpack(image, PlatformSelector.host(), target);
            assertThat(target).isDirectory();
        } catch (DavitException e) {
            assertThat(e.kind()).as(e.getMessage()).isIn(DavitException.Kind.VERIFICATION, DavitException.Kind.STORE);
            ErrorAssert.assertOneLine(e.getMessage());
            assertThat(target).doesNotExist();
            assertThat(list(out)).isEmpty();
        } finally {
            assertThat(list(outside)).isEmpty();
            assertThat(list(run)).containsExactlyInAnyOrder("outside", "out");
            RootFs.deleteTree(run);
        }
    }

    private static java.util.List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
