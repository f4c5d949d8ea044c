package dev.davit.oci.bundle;

import dev.davit.oci.digest.Digest;

/**
 * The only paths an OCI image layout archive may hold: {@code oci-layout}, {@code index.json},
 * {@code blobs/<alg>/<hex>} (regular files) and the directories {@code .}, {@code blobs}, {@code blobs/<alg>}.
 * A single leading {@code ./} is accepted (what {@code tar -C dir .} writes). Anything else is refused; the
 * reason names absolute paths and {@code ..} separately since those are attacks, not accidents.
 */
final class LayoutPaths {
    private LayoutPaths() {
    }

    static final String OCI_LAYOUT = "oci-layout";
    static final String INDEX_JSON = "index.json";
    /** The {@code oci-layout} file davit writes. */
    static final byte[] LAYOUT_BYTES = "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(
            java.nio.charset.StandardCharsets.UTF_8);

    /** What a path is in the layout. */
    enum Kind { LAYOUT, INDEX, DIRECTORY, BLOB }

    /** A classified path; {@code digest} is set for blobs. */
    record Entry(Kind kind, String path, Digest digest) {
    }

    /** Why a path was refused (a message fragment, e.g. {@code "has an absolute path"}). */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String why) {
            super(why, null, false, false);
        }
    }

    /** Classifies a tar entry name; {@code directory} tells whether the entry is a directory. */
    static Entry classify(String name, boolean directory) throws Refused {
        if (name == null || name.isEmpty()) {
            throw new Refused("has an empty name");
        }
        if (name.startsWith("/")) {
            throw new Refused("has an absolute path");
        }
        for (String part : name.split("/", -1)) {
            if (part.equals("..")) {
                throw new Refused("leaves the layout ('..')");
            }
        }
        String p = name.startsWith("./") ? name.substring(2) : name;
        if (directory) {
            while (p.endsWith("/")) {
                p = p.substring(0, p.length() - 1);
            }
        }
        if (p.isEmpty() || p.equals(".")) {
            if (!directory) {
                throw new Refused("is not part of an OCI image layout");
            }
            return new Entry(Kind.DIRECTORY, "", null);
        }
        if (p.contains("//") || p.contains("\\") || p.startsWith("./") || p.contains("/./") || p.endsWith("/.")) {
            throw new Refused("is not a normalised path");
        }
        switch (p) {
            case OCI_LAYOUT:
                return new Entry(Kind.LAYOUT, p, null);
            case INDEX_JSON:
                return new Entry(Kind.INDEX, p, null);
            case "blobs":
                return new Entry(Kind.DIRECTORY, p, null);
            default:
                break;
        }
        String[] parts = p.split("/", -1);
        if (parts.length == 2 && parts[0].equals("blobs") && Digest.Algorithm.of(parts[1]) != null) {
            return new Entry(Kind.DIRECTORY, p, null);
        }
        if (parts.length == 3 && parts[0].equals("blobs") && Digest.Algorithm.of(parts[1]) != null) {
            String text = parts[1] + ":" + parts[2];
            if (Digest.isValid(text)) {
                return new Entry(Kind.BLOB, p, Digest.parse(text));
            }
            throw new Refused("is not named by a valid " + parts[1] + " digest");
        }
        if (parts.length >= 2 && parts[0].equals("blobs") && Digest.Algorithm.of(parts[1]) == null) {
            throw new Refused("uses an unsupported digest algorithm (davit reads sha256 and sha512)");
        }
        throw new Refused("is not part of an OCI image layout (oci-layout, index.json, blobs/<alg>/<hex>)");
    }

    /** The archive path of a blob. */
    static String blobPath(Digest d) {
        return "blobs/" + d.algorithm().id() + "/" + d.hex();
    }
}
