package dev.davit.oci.unpack;

import java.util.ArrayList;
import java.util.List;

/**
 * A tar entry name reduced to its components below the root: leading {@code /} are stripped (as GNU tar and umoci
 * do), empty and {@code .} components dropped. Names with a {@code ..} component or a NUL byte are refused even
 * when they would stay inside the root.
 *
 * @param components the path components, none empty, {@code .} or {@code ..}; empty for the root itself
 * @param absolute   whether the name started with {@code /}
 */
record EntryPath(List<String> components, boolean absolute) {
    static final EntryPath ROOT = new EntryPath(List.of(), false);

    /** Parses a tar entry name or hard-link target. */
    static EntryPath parse(String name) throws Refused {
        if (name.isEmpty()) {
            throw new Refused("the name is empty");
        }
        if (name.indexOf('\0') >= 0) {
            throw new Refused("the name contains a NUL byte");
        }
        List<String> parts = new ArrayList<>();
        int start = 0;
        int n = name.length();
        while (start <= n) {
            int slash = name.indexOf('/', start);
            int end = slash < 0 ? n : slash;
            String c = name.substring(start, end);
            if (c.equals("..")) {
                throw new Refused("the name has a '..' component");
            }
            if (!c.isEmpty() && !c.equals(".")) {
                parts.add(c);
            }
            if (slash < 0) {
                break;
            }
            start = slash + 1;
        }
        return new EntryPath(List.copyOf(parts), name.charAt(0) == '/');
    }

    boolean isRoot() {
        return components.isEmpty();
    }

    /** The last component; not for the root. */
    String name() {
        return components.get(components.size() - 1);
    }

    /** The parent (the root for a top-level name); not for the root. */
    EntryPath parent() {
        return new EntryPath(components.subList(0, components.size() - 1), absolute);
    }

    /** The path of a child of this one. */
    EntryPath child(String name) {
        List<String> c = new ArrayList<>(components.size() + 1);
        c.addAll(components);
        c.add(name);
        return new EntryPath(List.copyOf(c), absolute);
    }

    /** The components joined with {@code /} ({@code ""} for the root). */
    String rel() {
        return String.join("/", components);
    }

    @Override
    public String toString() {
        return isRoot() ? "." : rel();
    }
}
