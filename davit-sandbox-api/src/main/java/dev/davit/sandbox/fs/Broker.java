package dev.davit.sandbox.fs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * davit's helper in its {@code files} mode, started where it may change what this JVM's user may not — a rootless
 * user's namespace that maps the user's subordinate ids, as its root — and acting for this JVM there: every
 * {@link Dir} opened through it makes its changes and reads its bytes through the helper, with the same
 * descriptor-relative resolution as ever (see {@link BrokerSys}). Owners are host ids both ways ({@link IdMap}).
 *
 * <p>Each {@link #open} starts a helper of its own holding the directory it opens: this JVM's user opens it (it
 * may reach {@code /proc/PID/root} of a sandbox whose User is a subordinate id, as owner of the sandbox's
 * namespaces; a helper in a namespace of its own may not, that namespace not being their parent) as the helper's
 * descriptor 3, and nothing is started inside the tree (no program or library is ever looked for there). The helper ends when the last {@link Dir} (or file) reached through it
 * is closed.
 */
public final class Broker {
    private final List<String> command;
    private final IdMap ids;

    private Broker(List<String> command, IdMap ids) {
        this.command = List.copyOf(command);
        this.ids = ids;
    }

    /** Helpers run by {@code command}, which must end by running {@code davit-exec files} in the namespace {@code ids} names. */
    public static Broker of(List<String> command, IdMap ids) {
        return new Broker(command, ids);
    }

    /** Host directory {@code dir} (a path davit trusts), as the top of a tree it does not; see {@link Dir#open}. */
    public Dir open(Path dir, String name) throws IOException {
        BrokerSys sys = new BrokerSys(command, ids, dir);
        try {
            return Dir.open(sys, BrokerSys.TREE, name);
        } catch (IOException | RuntimeException e) {
            sys.stop();
            throw e;
        }
    }
}
