/**
 * What davit reads from ELF files without tools (kernels, kernel modules, whether a program is static); used by the
 * vm backend, environment builds and {@code doctor}.
 */
package dev.davit.sandbox.elf;
