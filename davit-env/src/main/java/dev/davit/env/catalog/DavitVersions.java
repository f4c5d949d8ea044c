package dev.davit.env.catalog;

import dev.davit.oci.DavitException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks an environment's davit version range (e.g. {@code >=0.1.0 <1.0.0}: every constraint must hold) against
 * a davit version. Pre-release suffixes ({@code 0.1.0-SNAPSHOT}) compare as their release.
 */
public final class DavitVersions {
    private static final Pattern CONSTRAINT = Pattern.compile("(>=|<=|>|<|=)?\\s*(\\d+(?:\\.\\d+){0,2})(?:-[0-9A-Za-z.]+)?");

    private DavitVersions() {
    }

    /**
     * {@return whether {@code version} is inside {@code range}; a null or blank range accepts every version}
     *
     * @param range space-separated constraints such as {@code >=0.1.0 <1.0.0} ({@code =} when no operator is given)
     * @param version a davit version such as {@code 0.1.0} or {@code 0.1.0-SNAPSHOT}
     * @throws DavitException of kind VERIFICATION for a malformed range, USAGE for a malformed version
     */
    public static boolean accepts(String range, String version) {
        if (range == null || range.isBlank()) {
            return true;
        }
        int[] v = numbers(version);
        Matcher m = CONSTRAINT.matcher(range);
        int pos = 0;
        boolean any = false;
        while (m.find()) {
            if (!range.substring(pos, m.start()).isBlank()) {
                throw invalid(range);
            }
            pos = m.end();
            any = true;
            int c = compare(v, numbers(m.group(2)));
            String op = m.group(1) == null ? "=" : m.group(1);
            boolean ok = switch (op) {
                case ">=" -> c >= 0;
                case "<=" -> c <= 0;
                case ">" -> c > 0;
                case "<" -> c < 0;
                default -> c == 0;
            };
            if (!ok) {
                return false;
            }
        }
        if (!any || !range.substring(pos).isBlank()) {
            throw invalid(range);
        }
        return true;
    }

    private static int[] numbers(String version) {
        String core = version.split("-", 2)[0];
        List<Integer> parts = new ArrayList<>();
        for (String p : core.split("\\.")) {
            try {
                parts.add(Integer.parseInt(p));
            } catch (NumberFormatException e) {
                throw new DavitException(DavitException.Kind.USAGE, "invalid version '" + version + "'");
            }
        }
        while (parts.size() < 3) {
            parts.add(0);
        }
        return parts.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int compare(int[] a, int[] b) {
        for (int i = 0; i < Math.max(a.length, b.length); i++) {
            int x = i < a.length ? a[i] : 0;
            int y = i < b.length ? b[i] : 0;
            if (x != y) {
                return Integer.compare(x, y);
            }
        }
        return 0;
    }

    private static DavitException invalid(String range) {
        return new DavitException(DavitException.Kind.VERIFICATION, "invalid davit version range '" + range + "'");
    }
}
