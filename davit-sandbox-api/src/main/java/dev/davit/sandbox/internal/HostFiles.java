package dev.davit.sandbox.internal;

import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.fs.Broker;
import dev.davit.sandbox.fs.Dir;

/**
 * A container sandbox's files, opened for the host side as a tree davit does not trust ({@link Dir}, by
 * {@code backend.Machinery.openFiles}): a backend whose files may need a helper says so by implementing
 * {@link Brokered}. Not API (the module exports this package only to davit's sandbox modules), as {@link Dir} is not.
 */
public final class HostFiles {
    private HostFiles() {
    }

    /** What a backend's long-lived sandboxes implement when their files may need a helper to be changed. */
    public interface Brokered {
        /**
         * The helper that acts on sandbox {@code s}'s files for davit where davit's user may not (a rootless
         * sandbox whose image User is one of the user's subordinate ids), or null: davit acts itself.
         *
         * @param s the sandbox
         * @return the helper, or null
         */
        Broker filesBroker(Sandbox s);
    }
}
