package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The syntax of workspace names and labels. A name is how a user or a model finds a workspace again: unique among
 * the workspaces of a davit home (see {@link Workspaces#create}), never mistaken for an id. Labels are free
 * key-value pairs to group and filter workspaces ({@code workspace ls --label K=V}).
 */
public final class WorkspaceLabels {
    /** At most this many labels per workspace. */
    public static final int MAX_LABELS = 32;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,62}");
    private static final Pattern VALUE = Pattern.compile("[A-Za-z0-9._:/@+-]{0,128}");

    private WorkspaceLabels() {
    }

    /**
     * Refuses a name that is not 1 to 64 letters, digits, '.', '_', '-' (the first a letter or digit) or looks like
     * an id.
     *
     * @param name a workspace name as a user gives it
     * @throws DavitException {@link Kind#USAGE} when {@code name} is null, malformed or starts with {@code ws-}
     */
    public static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches() || name.startsWith("ws-")) {
            throw new DavitException(Kind.USAGE, "bad workspace name '" + shown(name) + "'; use up to 64 letters,"
                    + " digits, '.', '_' or '-', starting with a letter or digit and not with 'ws-' (an id's prefix)");
        }
    }

    /**
     * {@code labels} checked (keys: up to 63 letters, digits, '.', '_', '/', '-', the first a letter or digit;
     * values: up to 128 letters, digits and '.', '_', ':', '/', '@', '+', '-', possibly empty; at most
     * {@value #MAX_LABELS}), sorted by key.
     *
     * @param labels label key to value; null: none
     * @return a new mutable map of the labels sorted by key (empty for null)
     * @throws DavitException {@link Kind#USAGE} when a key or value is malformed (a null value included) or there are
     *                        too many
     */
    public static Map<String, String> check(Map<String, String> labels) {
        Map<String, String> out = new TreeMap<>();
        if (labels == null) {
            return out;
        }
        labels.forEach((k, v) -> {
            checkKey(k);
            if (v == null || !VALUE.matcher(v).matches()) {
                throw new DavitException(Kind.USAGE, "bad value '" + shown(v) + "' of label " + k + "; use up to"
                        + " 128 letters, digits, '.', '_', ':', '/', '@', '+' or '-'");
            }
            out.put(k, v);
        });
        if (out.size() > MAX_LABELS) {
            throw new DavitException(Kind.USAGE, out.size() + " labels are too many; a workspace has at most "
                    + MAX_LABELS);
        }
        return out;
    }

    /**
     * Refuses a label key that {@link #check} would.
     *
     * @param key a label key, e.g. one to remove or filter by
     * @throws DavitException {@link Kind#USAGE} when {@code key} is null or malformed
     */
    public static void checkKey(String key) {
        if (key == null || !KEY.matcher(key).matches()) {
            throw new DavitException(Kind.USAGE, "bad label key '" + shown(key) + "'; use up to 63 letters, digits,"
                    + " '.', '_', '/' or '-', starting with a letter or digit");
        }
    }

    /**
     * Whether {@code labels} hold every entry of {@code filter}; a null value in the filter asks only for the key.
     *
     * @param labels a workspace's labels
     * @param filter the labels asked for, key to value (null: any value of that key); empty matches every workspace
     * @return true when every key of {@code filter} is in {@code labels} with the value asked for
     */
    public static boolean matches(Map<String, String> labels, Map<String, String> filter) {
        for (Map.Entry<String, String> f : filter.entrySet()) {
            String v = labels.get(f.getKey());
            if (v == null || (f.getValue() != null && !f.getValue().equals(v))) {
                return false;
            }
        }
        return true;
    }

    private static String shown(String s) {
        return dev.davit.oci.internal.Text.shorten(s, 70);
    }
}
