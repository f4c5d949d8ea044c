package dev.davit.oci;

/**
 * What an error is about: a thing of davit's, by kind and id (a workspace {@code ws-1}, a registry
 * {@code registry.example}).
 *
 * @param type what kind of thing
 * @param id   its id or name, as the caller gave it or davit made it
 */
public record Subject(Type type, String id) {
    /** The things an error can be about. */
    public enum Type {
        /** A workspace, by id. */
        WORKSPACE,
        /** A shell of a workspace, by shell id. */
        SHELL,
        /** A snapshot of a workspace, by name. */
        SNAPSHOT,
        /** A service of a workspace, by name. */
        SERVICE,
        /** A sandbox, by id. */
        SANDBOX,
        /** A registry, by host (and port). */
        REGISTRY,
        /** An image or repository, by reference. */
        IMAGE,
        /** An environment of the catalog, by name. */
        ENVIRONMENT,
        /** A secret of a workspace, by name. */
        SECRET
    }

    /**
     * The subject.
     *
     * @param type what kind of thing; not null
     * @param id   its id or name; not null
     */
    public Subject {
        if (type == null || id == null) {
            throw new IllegalArgumentException("Subject needs a type and an id");
        }
    }
}
