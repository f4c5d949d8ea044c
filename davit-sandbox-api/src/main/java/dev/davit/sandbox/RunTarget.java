package dev.davit.sandbox;

import java.nio.file.Path;

/**
 * Something a sandbox runs: a root filesystem directory ({@code backend} container: {@link RunSpec#rootfs},
 * {@link CreateSpec#rootfs}) with its image's run defaults, or a microVM environment directory (vmlinux, initrd,
 * rootfs.ext4; {@code backend} vm).
 *
 * @param name   what was asked for (an image reference, as parsed; a catalog environment's name)
 * @param digest the manifest's digest (of an image for this host), or the environment's source digest
 * @param rootfs the directory to run (never written by a sandbox)
 * @param image  the image's run defaults ({@link ImageConfig#EMPTY} for a microVM environment)
 * @param backend {@code container} or {@code vm}
 */
public record RunTarget(String name, String digest, Path rootfs, ImageConfig image, String backend) {
}
