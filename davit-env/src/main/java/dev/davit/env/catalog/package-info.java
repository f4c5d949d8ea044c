/**
 * Finding and reading catalogs: {@link dev.davit.env.catalog.CatalogResolver} picks the catalog that
 * {@link dev.davit.env.catalog.CatalogOptions} name (built in, a local file, or an {@code oci://} artifact fetched
 * and kept in a {@link dev.davit.env.catalog.CatalogCache}); {@link dev.davit.env.catalog.CatalogParser} validates
 * JSON or YAML catalogs; {@link dev.davit.env.catalog.Catalogs} holds the built-in one and look-ups by name;
 * {@link dev.davit.env.catalog.SourceReferences} maps {@code repo://} and {@code store://} sources to registry
 * references, and {@link dev.davit.env.catalog.DavitVersions} checks an environment's davit version range.
 */
package dev.davit.env.catalog;
