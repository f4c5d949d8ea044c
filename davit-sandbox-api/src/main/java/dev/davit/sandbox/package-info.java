/**
 * The sandbox API's values: what a sandbox runs and how ({@link RunSpec} for a one-shot run, {@link CreateSpec} for a
 * long-lived sandbox, {@link ExecSpec} for a command in one), what it gives back ({@link ExecResult}, a {@link Sandbox}
 * of a {@link SandboxStatus}), over the backends this davit has ({@link
 * RunSpec#CONTAINER}: bubblewrap, crun or runc; {@link RunSpec#VM}: a QEMU microVM). {@code
 * dev.davit.sandbox.engine.Sandboxes} (module dev.davit.sandbox.core) runs them. {@link RunTarget} makes an image
 * runnable; {@link Limits}, {@link Network} and {@link PortMapping} say what a sandbox may use, {@link SandboxOptions}
 * where state lives and tools are found, and {@link Doctor} holds the report of what works on this host. Errors are
 * {@link dev.davit.oci.DavitException}s whose kind says why (USAGE, NOT_FOUND, STORE, ...); a command that fails is
 * none, but an exit code in its result. The backends' interface and the machinery they share (drivers, lifecycle, host
 * and cgroup helpers, NAT, output capture) are davit's own, in a package of the core (davit-sandbox-core) that it
 * exports only to davit's modules.
 */
package dev.davit.sandbox;
