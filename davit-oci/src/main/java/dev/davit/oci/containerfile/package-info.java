/**
 * Containerfiles (Dockerfiles) as davit reads them: {@link dev.davit.oci.containerfile.Containerfile#parse} gives the
 * parser directives and the {@link dev.davit.oci.containerfile.Instruction}s, their arguments kept as written;
 * {@link dev.davit.oci.containerfile.Words} splits and expands them as a build does, with its ARG and ENV values.
 */
package dev.davit.oci.containerfile;
