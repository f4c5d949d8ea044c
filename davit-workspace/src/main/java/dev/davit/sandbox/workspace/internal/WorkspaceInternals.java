package dev.davit.sandbox.workspace.internal;

import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.sandbox.workspace.WarmPool;
import dev.davit.sandbox.workspace.WorkspaceImages;
import dev.davit.sandbox.workspace.Workspaces;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Objects;

/**
 * What only davit's doors (the facade, the CLI, the MCP server) do with the workspace API: a {@link WorkspaceImages}
 * over davit's own OCI client, which the API does not name; {@code Workspaces} that record an owner (a door's, e.g. an
 * MCP server's) or take spares from a {@link WarmPool}. Exported only to the facade's module (the CLI and the MCP
 * server are on the class path). The API's members these reach stay package-private: they are reached here through a
 * lookup into their package, which a named module always has into its own packages, so the API's package imports
 * nothing of this one (no cycle; ArchitectureTest).
 */
public final class WorkspaceInternals {
    private static final MethodHandles.Lookup API;
    private static final MethodHandle NEW_IMAGES;
    private static final MethodHandle OWNED_BY;
    private static final MethodHandle WITH_SPARES;
    private static final MethodHandle WARM_POOL;

    static {
        try {
            API = MethodHandles.privateLookupIn(Workspaces.class, MethodHandles.lookup());
            NEW_IMAGES = API.findConstructor(WorkspaceImages.class, MethodType.methodType(void.class,
                    Workspaces.class, DavitClient.class, ProgressListener.class));
            OWNED_BY = API.findVirtual(Workspaces.class, "ownedBy", MethodType.methodType(Workspaces.class,
                    String.class));
            WITH_SPARES = API.findVirtual(Workspaces.class, "withSpares", MethodType.methodType(Workspaces.class,
                    WarmPool.class));
            WARM_POOL = API.findStatic(WarmPool.class, "open", MethodType.methodType(WarmPool.class, Workspaces.class,
                    int.class, WarmPool.Room.class, java.util.function.Consumer.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private WorkspaceInternals() {
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
        } catch (Throwable e) {
            throw unchecked(e);
        }
    }

    /**
     * {@code workspaces}, whose {@code create} (and {@code fork}) records {@code owner} as the new workspace's
     * {@code Workspace.owner()} (e.g. an MCP server's name), so that the door that made it can tell its own from the
     * operator's. Nothing else changes: every workspace is still listed, read and changed, whoever owns it; a door
     * that must see only some uses {@code Workspaces.get(String, Predicate)}.
     *
     * @param workspaces the workspaces
     * @param owner      1 to 128 letters, digits, '.', '_', '-', ':', '@' or '/'; null: none (the operator's own)
     * @return a new {@code Workspaces} of the same state; {@code workspaces} is unchanged
     * @throws dev.davit.oci.DavitException USAGE for an owner of other characters or length
     */
    public static Workspaces ownedBy(Workspaces workspaces, String owner) {
        try {
            return (Workspaces) OWNED_BY.invokeExact(Objects.requireNonNull(workspaces, "workspaces"), owner);
        } catch (Throwable e) {
            throw unchecked(e);
        }
    }

    /**
     * {@code workspaces}, whose {@code create} takes its sandbox from {@code pool} when it has a spare of the kind,
     * instead of creating and starting one.
     *
     * @param workspaces the workspaces
     * @param pool       the pool to take spares from ({@link WarmPool#open} of these workspaces), or null: none
     * @return a new {@code Workspaces} of the same state; {@code workspaces} is unchanged
     */
    public static Workspaces withSpares(Workspaces workspaces, WarmPool pool) {
        try {
            return (Workspaces) WITH_SPARES.invokeExact(Objects.requireNonNull(workspaces, "workspaces"), pool);
        } catch (Throwable e) {
            throw unchecked(e);
        }
    }

    /**
     * A pool of up to {@code perKind} started spares per kind for {@code workspaces} (the MCP server's
     * {@code --warm}), already filling in the background; see {@code WarmPool}'s {@code open}.
     *
     * @param workspaces the workspaces the spares are for
     * @param perKind    how many spares to keep per kind of sandbox, 1 or more
     * @param room       the most sandboxes the pool may hold now
     * @param log        where to tell of spares that could not be made or removed; null: nowhere
     * @return the pool; close it to remove its spares
     * @throws dev.davit.oci.DavitException USAGE when {@code perKind} is less than 1
     */
    public static WarmPool warmPool(Workspaces workspaces, int perKind, WarmPool.Room room,
                                    java.util.function.Consumer<dev.davit.oci.Message> log) {
        try {
            return (WarmPool) WARM_POOL.invokeExact(Objects.requireNonNull(workspaces, "workspaces"), perKind, room,
                    log);
        } catch (Throwable e) {
            throw unchecked(e);
        }
    }

    /** What a call through a lookup threw, to rethrow: as it was, a checked one (none is declared) wrapped. */
    private static RuntimeException unchecked(Throwable e) {
        if (e instanceof Error err) {
            throw err;
        }
        return e instanceof RuntimeException r ? r : new IllegalStateException(e);
    }
}
