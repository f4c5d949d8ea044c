/**
 * OCI and Docker manifests: {@link dev.davit.oci.manifest.ManifestParser} strictly parses untrusted bytes into an
 * {@link dev.davit.oci.manifest.ImageManifest} or an {@link dev.davit.oci.manifest.ImageIndex} (both
 * {@link dev.davit.oci.manifest.Manifest}s, which keep their exact bytes), made of
 * {@link dev.davit.oci.manifest.Descriptor}s; {@link dev.davit.oci.manifest.Platform} names and matches platforms,
 * and {@link dev.davit.oci.manifest.MediaTypes} lists the media types davit knows.
 */
package dev.davit.oci.manifest;
