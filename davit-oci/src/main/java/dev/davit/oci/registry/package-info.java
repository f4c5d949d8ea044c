/**
 * The OCI distribution API over HTTP: {@link dev.davit.oci.registry.RegistryClient} pulls (manifests, resumable
 * blob downloads, tag lists, the {@code /v2/} ping) and {@link dev.davit.oci.registry.Uploads} pushes (existence
 * checks, cross-repository mounts, monolithic and chunked uploads, manifest PUT). Both send through a
 * {@link dev.davit.oci.registry.Transport} that adds auth (an {@link dev.davit.oci.registry.Authenticator}, usually
 * a {@link dev.davit.oci.registry.RegistryAuthenticator}), retries with backoff and redirects, configured by an
 * immutable {@link dev.davit.oci.registry.RegistryOptions}. Failures are {@link dev.davit.oci.DavitException}s:
 * NOT_FOUND for 404, AUTH for 401 and 403, NETWORK for an unreachable registry or another status, VERIFICATION
 * for content that does not match its digest.
 */
package dev.davit.oci.registry;
