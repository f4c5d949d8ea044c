package dev.davit.oci.containerfile;

import dev.davit.oci.internal.Text;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a {@code RUN --mount=...} value as BuildKit's Dockerfile frontend does: comma-separated {@code key=value}
 * fields (a field in double quotes may hold a comma), {@code type} {@code bind} when not given, an option's other
 * spellings taken as one. An option davit does not know, a type it does not build ({@code ssh}) or a value of the
 * wrong form is an error naming it.
 */
final class RunMounts {
    /** The options each type takes (after {@link #SPELLINGS}). */
    private static final Map<String, Set<String>> OPTIONS = Map.of(
            "bind", Set.of("target", "source", "from", "readwrite", "readonly"),
            "cache", Set.of("target", "id", "sharing", "mode", "uid", "gid", "readonly", "readwrite"),
            "tmpfs", Set.of("target", "size"),
            "secret", Set.of("target", "id", "required", "mode", "uid", "gid", "env"));
    /** BuildKit's other spellings of an option. */
    private static final Map<String, String> SPELLINGS = Map.of("dst", "target", "destination", "target",
            "src", "source", "ro", "readonly", "rw", "readwrite");
    private static final Set<String> FLAGS = Set.of("readonly", "readwrite", "required");

    private RunMounts() {
    }

    static Instruction.RunMount parse(String file, int line, String value) {
        Map<String, String> options = new LinkedHashMap<>();
        String type = null;
        for (String field : fields(file, line, value)) {
            int eq = field.indexOf('=');
            String key = (eq < 0 ? field : field.substring(0, eq)).strip().toLowerCase(java.util.Locale.ROOT);
            String v = eq < 0 ? null : field.substring(eq + 1);
            key = SPELLINGS.getOrDefault(key, key);
            if (key.isEmpty()) {
                continue;
            }
            if (key.equals("type")) {
                type = v == null ? "" : v.toLowerCase(java.util.Locale.ROOT);
                continue;
            }
            if (v == null) {
                if (!FLAGS.contains(key)) {
                    throw Containerfile.error(file, line, "RUN --mount option '" + Text.shorten(key, 30) + "' takes"
                            + " a value (" + key + "=...)");
                }
                v = "true";
            }
            if (FLAGS.contains(key) && !v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
                throw Containerfile.error(file, line, "RUN --mount option " + key + " is true or false, not '"
                        + Text.shorten(v, 30) + "'");
            }
            if (options.put(key, v) != null) {
                throw Containerfile.error(file, line, "RUN --mount gives " + key + " twice; give it once");
            }
        }
        type = type == null ? "bind" : type;
        if (type.equals("ssh")) {
            throw Containerfile.error(file, line, "RUN --mount=type=ssh is not supported by davit: a step reaches no"
                    + " agent socket of the host; give the key as a secret (--mount=type=secret) or remove it");
        }
        Set<String> allowed = OPTIONS.get(type);
        if (allowed == null) {
            throw Containerfile.error(file, line, "RUN --mount type '" + Text.shorten(type, 20) + "' is not known;"
                    + " davit builds bind, cache, tmpfs and secret");
        }
        for (String key : options.keySet()) {
            if (!allowed.contains(key)) {
                throw Containerfile.error(file, line, "RUN --mount=type=" + type + " option '" + Text.shorten(key, 30)
                        + "' is not supported by davit (it takes " + String.join(", ", allowed.stream().sorted()
                        .toList()) + "); remove it");
            }
        }
        if (!type.equals("secret") && !options.containsKey("target")) {
            throw Containerfile.error(file, line, "RUN --mount=type=" + type + " needs a target, e.g."
                    + " --mount=type=" + type + ",target=/root/.cache");
        }
        if (type.equals("secret") && !options.containsKey("id") && !options.containsKey("target")
                && !options.containsKey("env")) {
            throw Containerfile.error(file, line, "RUN --mount=type=secret needs an id, e.g."
                    + " --mount=type=secret,id=npmrc,target=/root/.npmrc");
        }
        if (options.getOrDefault("from", "").contains("$")) {
            throw Containerfile.error(file, line, "RUN --mount from= takes a stage's name or an image as written, not"
                    + " a variable");
        }
        String sharing = options.get("sharing");
        if (sharing != null && !Set.of("shared", "private", "locked").contains(sharing)) {
            throw Containerfile.error(file, line, "RUN --mount sharing is shared, private or locked, not '"
                    + Text.shorten(sharing, 20) + "'");
        }
        return new Instruction.RunMount(type, options, value);
    }

    /** The comma-separated fields of {@code value}, double quotes taken off (a quoted comma is the field's). */
    private static List<String> fields(String file, int line, String value) {
        List<String> out = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        boolean quoted = false;
        for (int k = 0; k < value.length(); k++) {
            char c = value.charAt(k);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                out.add(b.toString());
                b.setLength(0);
            } else {
                b.append(c);
            }
        }
        if (quoted) {
            throw Containerfile.error(file, line, "RUN --mount has an unclosed double quote");
        }
        out.add(b.toString());
        return out;
    }
}
