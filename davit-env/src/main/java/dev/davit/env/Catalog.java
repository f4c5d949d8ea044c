package dev.davit.env;

import java.util.List;
import java.util.Optional;

/**
 * A list of environments with a version.
 *
 * @param version      the catalog's version, recorded in every install manifest
 * @param environments its environments, names unique
 */
public record Catalog(String version, List<Environment> environments) {
    /**
     * Copies the list.
     *
     * @param version the catalog's version
     * @param environments its environments; not null
     */
    public Catalog {
        environments = List.copyOf(environments);
    }

    /**
     * {@return the environment named {@code name}, if any}
     *
     * @param name the name as users type it, e.g. {@code debian:12}; matched exactly
     */
    public Optional<Environment> find(String name) {
        return environments.stream().filter(e -> e.name().equals(name)).findFirst();
    }

    /** {@return the names, in catalog order (for error messages: "expected one of: ...")} */
    public List<String> names() {
        return environments.stream().map(Environment::name).toList();
    }
}
