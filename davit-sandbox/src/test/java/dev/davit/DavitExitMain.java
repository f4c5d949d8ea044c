package dev.davit;

import dev.davit.oci.client.ClientOptions;
import java.nio.file.Path;

/**
 * For {@link DavitTest}: opens a workspace on davit home {@code args[0]} over image {@code args[1]}, prints its id
 * and, with {@code args[2]} "keep", keeps it; then the JVM exits without closing anything.
 */
public final class DavitExitMain {
    private DavitExitMain() {
    }

    public static void main(String[] args) {
        Davit davit = Davit.builder().home(Path.of(args[0])).clientOptions(ClientOptions.anonymous(Path.of(args[0])
                .resolve("store"))).build();
        OpenWorkspace ws = davit.workspace(args[1]);
        if (args.length > 2 && args[2].equals("keep")) {
            ws.keep();
        }
        System.out.println(ws.id());
        System.exit(0);
    }
}
