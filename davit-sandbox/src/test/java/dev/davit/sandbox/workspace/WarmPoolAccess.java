package dev.davit.sandbox.workspace;

import dev.davit.sandbox.CreateSpec;

/** {@link WarmPool#take} for tests outside this package (what {@link Workspaces#create} calls first). */
public final class WarmPoolAccess {
    private WarmPoolAccess() {
    }

    /**
     * A spare of {@code spec}'s kind, or null.
     *
     * @param pool the pool
     * @param spec the sandbox a create asks for
     * @return the spare's sandbox id (the caller's now), or null
     */
    public static String take(WarmPool pool, CreateSpec spec) {
        return pool.take(spec);
    }
}
