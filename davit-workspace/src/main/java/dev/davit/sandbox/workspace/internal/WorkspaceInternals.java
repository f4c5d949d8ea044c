package dev.davit.sandbox.workspace.internal;

import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.sandbox.workspace.WorkspaceImages;
import dev.davit.sandbox.workspace.Workspaces;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Objects;

/**
 * What davit's doors (the facade, the CLI, the MCP server) make of the workspace API with davit's own OCI client,
 * which the API does not name: a {@link WorkspaceImages} over a client's store. Exported only to the facade's module
 * (the CLI and the MCP server are on the class path). {@code WorkspaceImages}' constructor stays package-private: it
 * is reached here through a lookup into its package, which a named module always has into its own packages, so the
 * API's package imports nothing of this one (no cycle; ArchitectureTest).
 */
public final class WorkspaceInternals {
    private static final MethodHandle NEW_IMAGES = constructor();

    private WorkspaceInternals() {
    }

    private static MethodHandle constructor() {
        try {
            return MethodHandles.privateLookupIn(WorkspaceImages.class, MethodHandles.lookup()).findConstructor(
                    WorkspaceImages.class, MethodType.methodType(void.class, Workspaces.class, DavitClient.class,
                            ProgressListener.class));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("WorkspaceImages has no constructor (Workspaces, DavitClient,"
                    + " ProgressListener)", e);
        }
    }

    /**
     * The images of {@code workspaces} in {@code client}'s store ({@code davit workspace commit}, {@code snapshot
     * push}, {@code create --from}).
     *
     * @param workspaces the workspaces (of one davit home)
     * @param client     the registry client over the same home's store, which holds the environments' images
     * @param progress   hears the pulls and pushes, or null
     * @return the images
     */
    public static WorkspaceImages images(Workspaces workspaces, DavitClient client, ProgressListener progress) {
        Objects.requireNonNull(workspaces, "workspaces");
        Objects.requireNonNull(client, "client");
        try {
            return (WorkspaceImages) NEW_IMAGES.invokeExact(workspaces, client, progress);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }
}
