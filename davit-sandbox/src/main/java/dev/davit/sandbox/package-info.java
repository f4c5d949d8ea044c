/**
 * Sandboxes: commands run isolated from the host, from an image's root filesystem (or a microVM environment), by
 * default with no network and no host paths, optionally within cgroup limits. {@link Sandboxes} is the entry point:
 * one-shot runs ({@link Sandboxes#run} of a {@link RunSpec}, giving an {@link ExecResult}) and long-lived sandboxes
 * ({@link Sandboxes#create} of a {@link CreateSpec}, then start, exec, spawn, stop and rm by id; their state is a
 * {@link Sandbox} of a {@link SandboxStatus}), over the backends this davit has ({@code container}: bubblewrap, crun
 * or runc; {@code vm}: a QEMU microVM; see {@link Backend}). {@link RunTarget} makes an image runnable;
 * {@link Limits}, {@link Network} and {@link PortMapping} say what a sandbox may use, {@link SandboxOptions} where
 * state lives and tools are found, and {@link Doctor} what works on this host. Errors are
 * {@link dev.davit.oci.DavitException}s whose kind says why (USAGE, NOT_FOUND, STORE, ...); a command that fails is
 * none, but an exit code in its result. The other public types (drivers, host and cgroup helpers, output capture)
 * serve davit's backends and the layers above, such as {@link dev.davit.sandbox.workspace}.
 */
package dev.davit.sandbox;
