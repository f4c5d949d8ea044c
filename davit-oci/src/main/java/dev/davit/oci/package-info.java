/**
 * davit's errors: {@link dev.davit.oci.DavitException}, the one exception type every operation reports, with a
 * {@link dev.davit.oci.DavitException.Kind} that the CLI maps to its exit code, and its message as data
 * ({@link dev.davit.oci.Message}, {@link dev.davit.oci.Fix}, {@link dev.davit.oci.Input}, {@link dev.davit.oci.Action},
 * {@link dev.davit.oci.Subject}) that each door words in its own terms. The rest of the module (davit's OCI client,
 * {@code dev.davit.oci.client.DavitClient}, and the parts it is made of) is davit's own, exported only to its modules;
 * a program's way to images is the facade's {@code dev.davit.Images}.
 */
package dev.davit.oci;
