/**
 * Building images from a directory: {@link dev.davit.oci.build.LayerBuilder} makes one reproducible layer
 * (sorted entries, fixed times and owners, symlinks and hardlinks kept, gzip/zstd/none), and
 * {@link dev.davit.oci.build.ImageBuilder} puts it on top of an optional base image from the store with a new
 * config and OCI manifest, and names the result in the store. Settings are the immutable
 * {@link dev.davit.oci.build.BuildOptions}; the outcome is a {@link dev.davit.oci.build.BuildResult}. Applications
 * use {@link dev.davit.oci.client.DavitClient#build}.
 */
package dev.davit.oci.build;
