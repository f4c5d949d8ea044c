/**
 * davit's own OCI client (exported only to davit's modules; a program's way to images is {@code dev.davit.Images}):
 * {@link dev.davit.oci.client.DavitClient} pulls, pushes, copies, builds, unpacks,
 * inspects, exports and imports images and artifacts, and logs in to registries, over a local OCI layout store.
 * It is made from an immutable {@link dev.davit.oci.client.ClientOptions} (store directory, transport settings,
 * credential lookup); {@link dev.davit.oci.client.DavitHome} says where the store is by default. Every failure is a
 * {@link dev.davit.oci.DavitException} whose {@link dev.davit.oci.DavitException.Kind} tells its category.
 */
package dev.davit.oci.client;
