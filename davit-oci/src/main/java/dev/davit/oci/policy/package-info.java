/**
 * Signature verification policy: {@link dev.davit.oci.policy.SignaturePolicy} reads {@code containers-policy.json}
 * as podman and skopeo read it and says which requirements apply to an image.
 */
package dev.davit.oci.policy;
