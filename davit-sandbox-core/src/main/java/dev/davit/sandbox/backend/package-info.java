/**
 * The backends' interface and the machinery they share, beneath the API ({@code Sandboxes}), exported only to davit's
 * modules (the backends, workspaces, builds): a backend is a module of davit's (davit-container, davit-vm, davit-k8s)
 * whose {@link dev.davit.sandbox.backend.Driver} the core finds with {@code ServiceLoader}, giving its one-shot {@link
 * dev.davit.sandbox.backend.Backend}s and its {@link dev.davit.sandbox.backend.LongLived} sandboxes (with their {@link
 * dev.davit.sandbox.backend.GuestFiles} and {@link dev.davit.sandbox.backend.OfflineDisk}). {@link
 * dev.davit.sandbox.backend.Lifecycle} keeps long-lived sandboxes' state over them and {@link
 * dev.davit.sandbox.backend.OneShot} one-shot runs'; {@link dev.davit.sandbox.host.Host} (processes, tools), {@link
 * dev.davit.sandbox.backend.Cgroups} (limits), {@link dev.davit.sandbox.backend.Nat} (slirp4netns), {@link
 * dev.davit.sandbox.backend.FileLocks}, and output capture ({@link dev.davit.sandbox.backend.Tees}, {@link
 * dev.davit.sandbox.backend.CappedSink}, {@link dev.davit.sandbox.backend.Capper}) serve every backend. The workspace
 * code reaches a sandbox's guest files and offline disk through {@link dev.davit.sandbox.backend.Machinery}.
 */
package dev.davit.sandbox.backend;
