/**
 * Safe unpacking of an image from the store into a root filesystem directory.
 *
 * <ul>
 *   <li>{@link dev.davit.oci.unpack.Unpacker} — resolves the platform, applies the layers in order into a private
 *       temp directory, verifies each layer's diff_id, and renames the result to the target;</li>
 *   <li>{@link dev.davit.oci.unpack.UnpackOptions} — limits (bytes, entries) and privileges (root or rootless);</li>
 *   <li>{@link dev.davit.oci.unpack.UnpackResult} — counts, layers with diff_ids, skipped entries, notes.</li>
 * </ul>
 *
 * <p>Internally: {@code Compression} (media type and magic bytes), {@code LayerStream} (hash, byte budget, header
 * cap), {@code LayerApplier} (tar entries, whiteouts, links, special files), {@code RootFs} (every path operation,
 * never following a link), {@code Attrs} (owner, mode, times, xattrs), {@code TargetDir} (all or nothing).
 */
package dev.davit.oci.unpack;
