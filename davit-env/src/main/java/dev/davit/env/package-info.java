/**
 * Sandbox environments: a {@link dev.davit.env.Catalog} lists named, versioned
 * {@link dev.davit.env.Environment}s (a container image's rootfs, or a microVM's kernel and rootfs), each with the
 * {@link dev.davit.env.Environment.Source} it is installed from. The package {@code dev.davit.env.catalog} finds,
 * parses and caches catalogs.
 */
package dev.davit.env;
