/**
 * Content digests: {@link dev.davit.oci.digest.Digest} ({@code sha256:...} or {@code sha512:...}) parses, computes
 * and compares them; {@link dev.davit.oci.digest.Hashed} is the digest and size of a whole stream, and
 * {@link dev.davit.oci.digest.VerifyingInputStream} checks content against an expected digest and size as it is
 * read. SHA-256 is computed by the platform's libcrypto where it can be (Java 22+ with native access), else
 * by the JDK.
 */
package dev.davit.oci.digest;
