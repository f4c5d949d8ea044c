/**
 * The container backend: a sandbox in bubblewrap, or in an OCI runtime (crun, runc), on an overlay of its image.
 * It exports nothing: the core finds its {@code Driver} as a service.
 */
module dev.davit.sandbox.container {
    requires dev.davit.sandbox.core;
    requires dev.davit.sandbox.jail;
    requires com.fasterxml.jackson.databind;

    provides dev.davit.sandbox.backend.Driver with dev.davit.sandbox.container.ContainerDriver;
}
