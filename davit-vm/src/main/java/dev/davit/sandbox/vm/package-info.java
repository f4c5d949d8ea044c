/**
 * The microVM backend (QEMU, and davit-agent in the guest), found by the core through {@link dev.davit.sandbox.vm.VmDriver}
 * (a {@link dev.davit.sandbox.backend.Driver}); the core never imports this package. Library users call
 * {@code Sandboxes}; environment builds use {@link dev.davit.sandbox.vm.VmImages}.
 */
package dev.davit.sandbox.vm;
