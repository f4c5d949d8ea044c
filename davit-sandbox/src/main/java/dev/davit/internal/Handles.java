package dev.davit.internal;

import dev.davit.OpenWorkspace;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.Workspaces;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Handles for davit's doors: an {@link OpenWorkspace} of a workspace a door found among its own {@link Workspaces}
 * (an MCP server's, whose creates record its owner), which no {@code Davit} tracks. Not exported (the MCP server is
 * on the class path); the API's factory it reaches stays package-private, through a lookup into its package, which a
 * named module always has into its own packages (the API's package imports nothing of this one: ArchitectureTest).
 */
public final class Handles {
    private static final MethodHandle OF;

    static {
        try {
            OF = MethodHandles.privateLookupIn(OpenWorkspace.class, MethodHandles.lookup()).findStatic(
                    OpenWorkspace.class, "of", MethodType.methodType(OpenWorkspace.class, Workspaces.class,
                            Workspace.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Handles() {
    }

    /**
     * A handle of workspace {@code w}, acting through {@code workspaces}. Closing it leaves the workspace; its
     * {@code remove} removes it. It has no store: its {@code commit} and {@code pushSnapshot} are USAGE errors.
     *
     * @param workspaces the workspaces {@code w} is one of, not null
     * @param w          the workspace, as {@code workspaces.get} returned it; not null
     * @return a handle of it
     */
    public static OpenWorkspace of(Workspaces workspaces, Workspace w) {
        try {
            return (OpenWorkspace) OF.invokeExact(workspaces, w);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }
}
