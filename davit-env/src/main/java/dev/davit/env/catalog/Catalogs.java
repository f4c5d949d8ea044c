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

    /** The catalog shipped in davit's jar. */
    public static Catalog builtIn() {
        return CatalogParser.parse(builtInBytes(), BUILT_IN_NAME);
    }

    /** The built-in catalog's bytes, as shipped. */
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
     * @throws DavitException of kind NOT_FOUND: {@code unknown environment 'x'; expected one of: a, b}
     */
    public static Environment require(Catalog catalog, String name) {
        return catalog.find(name).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, "unknown environment '"
                + SourceReferences.shorten(name == null ? "" : name) + "'; expected one of: "
                + (catalog.names().isEmpty() ? "(the catalog is empty)" : String.join(", ", catalog.names()))));
    }
}
