package dev.davit.oci.bundle;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Optional facts about a bundle, stored as annotations of the bundle's own {@code index.json} (so any OCI tool
 * keeps them and ignores them):
 *
 * <table>
 *   <caption>annotation keys</caption>
 *   <tr><td>{@value #NAME}</td><td>a name for the bundle, e.g. {@code base-env}</td></tr>
 *   <tr><td>{@value #KIND}</td><td>what it holds, free text, e.g. {@code environment}, {@code release}</td></tr>
 *   <tr><td>{@value #PARENT}</td><td>the bundle this one was derived from (its name or digest)</td></tr>
 *   <tr><td>{@value #CREATED}</td><td>when it was made, an ISO-8601 UTC instant</td></tr>
 *   <tr><td>{@value #RECIPE}</td><td>how it was made (e.g. a build recipe document), free text up to 64 KiB</td></tr>
 * </table>
 *
 * All fields are optional (null when absent). Values read from a bundle are untrusted text: show them through
 * {@link Text#printable}.
 *
 * @param name a name for the bundle, or null
 * @param kind what it holds, or null
 * @param parent the bundle it was derived from, or null
 * @param created when it was made, or null
 * @param recipe how it was made, or null
 */
public record BundleMetadata(String name, String kind, String parent, Instant created, String recipe) {
    /** The annotation key of {@link #name()}. */
    public static final String NAME = "dev.davit.bundle.name";
    /** The annotation key of {@link #kind()}. */
    public static final String KIND = "dev.davit.bundle.kind";
    /** The annotation key of {@link #parent()}. */
    public static final String PARENT = "dev.davit.bundle.parent";
    /** The annotation key of {@link #created()}. */
    public static final String CREATED = "dev.davit.bundle.created";
    /** The annotation key of {@link #recipe()}. */
    public static final String RECIPE = "dev.davit.bundle.recipe";

    /** The longest name, kind or parent accepted on export. */
    public static final int MAX_SHORT = 256;
    /** The longest recipe accepted on export. */
    public static final int MAX_RECIPE = 64 * 1024;

    /** No metadata. */
    public static final BundleMetadata NONE = new BundleMetadata(null, null, null, null, null);

    /** {@return whether every field is absent} */
    public boolean isEmpty() {
        return name == null && kind == null && parent == null && created == null && recipe == null;
    }

    /**
     * {@return this metadata with another name}
     *
     * @param n the name, or null for none
     */
    public BundleMetadata withName(String n) {
        return new BundleMetadata(n, kind, parent, created, recipe);
    }

    /**
     * {@return this metadata with another kind}
     *
     * @param k the kind, or null for none
     */
    public BundleMetadata withKind(String k) {
        return new BundleMetadata(name, k, parent, created, recipe);
    }

    /**
     * {@return this metadata with another parent}
     *
     * @param p the parent bundle's name or digest, or null for none
     */
    public BundleMetadata withParent(String p) {
        return new BundleMetadata(name, kind, p, created, recipe);
    }

    /**
     * {@return this metadata with another creation time}
     *
     * @param c the time, or null for none
     */
    public BundleMetadata withCreated(Instant c) {
        return new BundleMetadata(name, kind, parent, c, recipe);
    }

    /**
     * {@return this metadata with another recipe}
     *
     * @param r the recipe, or null for none
     */
    public BundleMetadata withRecipe(String r) {
        return new BundleMetadata(name, kind, parent, created, r);
    }

    /**
     * Checks values before they are written: name, kind and parent one printable line of at most
     * {@value #MAX_SHORT} characters, the recipe at most {@value #MAX_RECIPE} characters.
     *
     * @return this metadata
     * @throws DavitException of kind USAGE
     */
    public BundleMetadata validate() {
        checkShort("name", name);
        checkShort("kind", kind);
        checkShort("parent", parent);
        if (recipe != null && recipe.length() > MAX_RECIPE) {
            throw new DavitException(DavitException.Kind.USAGE, "the bundle recipe is " + recipe.length()
                    + " characters, over the " + MAX_RECIPE + "-character limit; store a shorter recipe or a reference"
                    + " to it");
        }
        return this;
    }

    private static void checkShort(String what, String v) {
        if (v == null) {
            return;
        }
        if (v.isBlank() || v.length() > MAX_SHORT || !Text.printable(v).equals(v)) {
            throw new DavitException(DavitException.Kind.USAGE, "invalid bundle " + what + " '"
                    + Text.shorten(v, 60) + "': give one printable line of 1-" + MAX_SHORT + " characters");
        }
    }

    /** {@return the annotations for {@code index.json}, keys in a fixed order} Absent fields are left out. */
    public Map<String, String> toAnnotations() {
        Map<String, String> a = new LinkedHashMap<>();
        put(a, NAME, name);
        put(a, KIND, kind);
        put(a, PARENT, parent);
        put(a, CREATED, created == null ? null : created.toString());
        put(a, RECIPE, recipe);
        return a;
    }

    private static void put(Map<String, String> a, String k, String v) {
        if (v != null) {
            a.put(k, v);
        }
    }

    /**
     * Reads the metadata from a bundle's {@code index.json} annotations; an unparsable time reads as null.
     *
     * @param a the annotations; other keys are ignored
     * @return the metadata, {@link #NONE}-like when no key is present
     */
    public static BundleMetadata fromAnnotations(Map<String, String> a) {
        Instant created = null;
        String c = a.get(CREATED);
        if (c != null) {
            try {
                created = Instant.parse(c);
            } catch (DateTimeParseException e) {
                created = null;
            }
        }
        return new BundleMetadata(a.get(NAME), a.get(KIND), a.get(PARENT), created, a.get(RECIPE));
    }

    /**
     * Parses a creation time: {@code now}, an ISO-8601 instant ({@code 2024-05-01T10:00:00Z}) or seconds since the
     * epoch (as in {@code SOURCE_DATE_EPOCH}).
     *
     * @param text the time as a user writes it
     * @return the instant; {@code now} is cut to whole seconds
     * @throws DavitException of kind USAGE
     */
    public static Instant parseTime(String text) {
        String t = text == null ? "" : text.trim();
        if (t.equals("now")) {
            return Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        }
        try {
            if (!t.isEmpty() && t.chars().allMatch(ch -> ch >= '0' && ch <= '9') && t.length() <= 12) {
                return Instant.ofEpochSecond(Long.parseLong(t));
            }
            return Instant.parse(t);
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new DavitException(DavitException.Kind.USAGE, "invalid time '" + Text.shorten(text, 40)
                    + "': give now, an ISO-8601 instant such as 2024-05-01T10:00:00Z, or seconds since 1970");
        }
    }
}
