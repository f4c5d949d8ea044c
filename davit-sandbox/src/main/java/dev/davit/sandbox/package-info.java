/**
 * Sandboxes: commands run isolated from the host, from an image's root filesystem (or a microVM environment), by
 * default with no network and no host paths, optionally within cgroup limits. {@link dev.davit.sandbox.engine.Sandboxes} is the entry point:
 * one-shot runs ({@link dev.davit.sandbox.engine.Sandboxes#run} of a {@link RunSpec}, giving an {@link ExecResult}) and long-lived sandboxes
 * ({@link dev.davit.sandbox.engine.Sandboxes#create} of a {@link CreateSpec}, then start, exec, spawn, stop and rm by id; their state is a
 * {@link Sandbox} of a {@link SandboxStatus}), over the backends this davit has ({@link RunSpec#CONTAINER}:
 * bubblewrap, crun or runc; {@link RunSpec#VM}: a QEMU microVM). {@link RunTarget} makes an image runnable;
 * {@link Limits}, {@link Network} and {@link PortMapping} say what a sandbox may use, {@link SandboxOptions} where
 * state lives and tools are found, and {@link Doctor} what works on this host. Errors are
 * {@link dev.davit.oci.DavitException}s whose kind says why (USAGE, NOT_FOUND, STORE, ...); a command that fails is
 * none, but an exit code in its result. The backends' interface and the machinery they share (drivers, lifecycle,
 * host and cgroup helpers, NAT, output capture) are davit's own, in a package the module does not export.
 */
package dev.davit.sandbox;
