/**
 * The container backend (bubblewrap, crun, runc over a per-sandbox overlay), found by the core through
 * {@link dev.davit.sandbox.container.ContainerDriver} (a {@link dev.davit.sandbox.backend.Driver}); the core never
 * imports this package. Library users call {@code Sandboxes}.
 */
package dev.davit.sandbox.container;
