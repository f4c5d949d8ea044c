/**
 * What confines a sandbox, in one place for every backend: the user namespace that maps sandbox root to an
 * unprivileged subordinate range ({@link dev.davit.sandbox.jail.IdRange}, {@link dev.davit.sandbox.jail.Jail}),
 * the capabilities it keeps ({@link dev.davit.sandbox.jail.Capabilities}), the paths of /proc it may not see or
 * write ({@link dev.davit.sandbox.jail.ProcMasks}) and its seccomp filter ({@link dev.davit.sandbox.jail.Seccomp}).
 */
package dev.davit.sandbox.jail;
