/**
 * Copying image and artifact graphs between places: {@link dev.davit.oci.copy.Copier} walks a graph from a
 * {@link dev.davit.oci.copy.ContentSource} (a registry repository through {@link dev.davit.oci.copy.RegistrySource},
 * or an OCI layout) into the store, picking platforms with a {@link dev.davit.oci.copy.PlatformSelector} and
 * verifying every blob; {@link dev.davit.oci.copy.Pusher} sends a graph from a
 * {@link dev.davit.oci.copy.GraphSource} to a registry. Both report {@link dev.davit.oci.copy.ProgressEvent}s to a
 * {@link dev.davit.oci.copy.ProgressListener} and return a {@link dev.davit.oci.copy.PullResult} or
 * {@link dev.davit.oci.copy.PushResult}. Applications use {@link dev.davit.oci.client.DavitClient#pull} and
 * {@link dev.davit.oci.client.DavitClient#push}.
 */
package dev.davit.oci.copy;
