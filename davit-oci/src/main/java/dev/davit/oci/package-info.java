/**
 * davit's OCI library: the root package holds {@link dev.davit.oci.DavitException}, the one exception type every
 * operation reports, with a {@link dev.davit.oci.DavitException.Kind} that the CLI maps to its exit code. Start
 * with {@link dev.davit.oci.client.DavitClient}; the subpackages hold the parts it is made of (references, digests,
 * manifests, the registry protocol, copying, building, bundles, unpacking, artifacts and authentication).
 */
package dev.davit.oci;
