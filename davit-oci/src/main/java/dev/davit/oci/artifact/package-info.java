/**
 * Artifacts: arbitrary files (a kernel, a rootfs image, a JSON catalog) stored ORAS-style as the layers of an OCI
 * manifest with an {@code artifactType}. {@link dev.davit.oci.artifact.Artifacts} creates such a manifest from
 * {@link dev.davit.oci.artifact.Artifacts.FileSpec}s and extracts its files again;
 * {@link dev.davit.oci.artifact.ArtifactFiles} defines how a file is stored zstd-compressed and turns a stored
 * layer back into a verified file. Applications use {@link dev.davit.oci.client.ArtifactClient#push} and
 * {@link dev.davit.oci.client.ArtifactClient#pull}.
 */
package dev.davit.oci.artifact;
