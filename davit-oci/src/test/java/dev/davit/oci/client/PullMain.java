package dev.davit.oci.client;

import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import java.nio.file.Path;

/**
 * A whole-process pull for the multi-process tests: {@code PullMain STORE REF}. Prints {@code started OFFSET}
 * lines when a blob download starts (OFFSET &gt; 0 when it resumes a partial file) and {@code pulled DIGEST}.
 */
public final class PullMain {
    private PullMain() {
    }

    public static void main(String[] args) {
        try (DavitClient davit = DavitClient.create(ClientOptions.anonymous(Path.of(args[0])))) {
            var r = davit.pull(args[1], PlatformSelector.host(), e -> {
                if (e instanceof ProgressEvent.BlobStarted s) {
                    System.out.println("started " + s.offset());
                    System.out.flush();
                }
            });
            System.out.println("pulled " + r.target().digest());
        } catch (RuntimeException e) {
            System.out.println("failed " + e.getMessage());
            System.exit(1);
        }
    }
}
