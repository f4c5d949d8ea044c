/**
 * Image references: {@link dev.davit.oci.reference.Reference} parses and normalises names such as
 * {@code alpine:3.20} or {@code ghcr.io/o/r@sha256:...} into registry, repository, tag and digest, the way Docker
 * does ({@code docker.io/library/} for short Docker Hub names, tag {@code latest} by default).
 */
package dev.davit.oci.reference;
