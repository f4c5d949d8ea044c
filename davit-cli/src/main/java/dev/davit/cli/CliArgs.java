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

    /** The description of a deprecated option or command kept for one release: it names what to use. */
    static final String DEPRECATED = "Deprecated: use ";

    /**
     * The value of an option renamed from {@code old} to {@code now}: {@code value}, or the old option's
     * {@code oldValue}, with a one-line warning that {@code old} is deprecated (docs/DESIGN.md, "Vocabulary").
     *
     * @throws DavitException USAGE when both are given
     */
    static <T> T renamed(Output out, String old, T oldValue, String now, T value) {
        if (oldValue == null || Boolean.FALSE.equals(oldValue)) {
            return value;
        }
        if (value != null && !Boolean.FALSE.equals(value)) {
            throw new DavitException(Kind.USAGE, "give " + now + " only (" + old + " is its deprecated name)");
        }
        deprecated(out, old, now);
        return oldValue;
    }

    /** Warns that option or command {@code old} is deprecated and what to use instead. */
    static void deprecated(Output out, String old, String now) {
        out.warn(old + " is deprecated and goes in the next release: use " + now);
    }
}
