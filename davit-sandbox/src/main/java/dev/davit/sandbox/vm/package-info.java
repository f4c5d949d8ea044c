/**
 * The microVM backend (QEMU and its guest agent). Internal: its types are public only so that
 * {@code dev.davit.sandbox} can use them; library users call {@link dev.davit.sandbox.Sandboxes}.
 */
package dev.davit.sandbox.vm;
