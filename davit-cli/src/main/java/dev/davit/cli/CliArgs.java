package dev.davit.cli;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Text;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Parsing of option values shared by several commands. */
final class CliArgs {
    private CliArgs() {
    }

    /**
     * {@code K=V} items into a map, in order (a later key wins).
     *
     * @param expectation the start of the error message, e.g. {@code --env needs K=V}
     */
    static Map<String, String> keyValues(List<String> items, String expectation) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String kv : items) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new DavitException(Kind.USAGE, expectation + ", got '" + Text.shorten(kv, 60) + "'");
            }
            out.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return out;
    }

    /** A positive number of seconds (decimals allowed) as a duration of at least 1 ms; null stays null. */
    static Duration seconds(Double s, String option) {
        if (s == null) {
            return null;
        }
        if (!(s > 0) || s > 1e9) {
            throw new DavitException(Kind.USAGE, option + " must be a positive number of seconds");
        }
        return Duration.ofMillis(Math.max(1, Math.round(s * 1000)));
    }
}
