package dev.davit.env.catalog;

import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.io.InputStream;

/** The built-in catalog and look-ups by name. */
public final class Catalogs {
    /** Class-path location of the built-in catalog. */
    public static final String BUILT_IN_RESOURCE = "/dev/davit/env/catalog.json";
    /** How the built-in catalog is named in messages and {@link CatalogResolver.Resolved#location()}. */
    public static final String BUILT_IN_NAME = "built-in catalog";

    private Catalogs() {
    }

    /**
     * {@return the catalog shipped in davit's jar, parsed anew each call}
     *
     * @throws DavitException of kind INTERNAL when it is missing from the jar or unreadable
     */
    public static Catalog builtIn() {
        return CatalogParser.parse(builtInBytes(), BUILT_IN_NAME);
    }

    /**
     * {@return the built-in catalog's bytes, as shipped}
     *
     * @throws DavitException of kind INTERNAL when it is missing from the jar or unreadable
     */
    public static byte[] builtInBytes() {
        try (InputStream in = Catalogs.class.getResourceAsStream(BUILT_IN_RESOURCE)) {
            if (in == null) {
                throw new DavitException(Kind.INTERNAL, "the built-in catalog " + BUILT_IN_RESOURCE
                        + " is missing from the jar; reinstall davit");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot read the built-in catalog: " + e.getMessage());
        }
    }

    /**
     * The environment named {@code name}.
     *
     * @param catalog the catalog to look in
     * @param name the environment's name, e.g. {@code debian:12}
     * @return the environment
     * @throws DavitException of kind NOT_FOUND: {@code unknown environment 'x'; expected one of: a, b}
     */
    public static Environment require(Catalog catalog, String name) {
        return catalog.find(name).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, "unknown environment '"
                + SourceReferences.shorten(name == null ? "" : name) + "'; expected one of: "
                + (catalog.names().isEmpty() ? "(the catalog is empty)" : String.join(", ", catalog.names()))));
    }
}
