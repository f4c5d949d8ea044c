package dev.davit.cli;

import dev.davit.oci.DavitException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/** Human formatting of sizes, rates and times (decimal units: 1 MB = 1,000,000 bytes), and size parsing. */
final class Units {
    private static final String[] UNITS = {"kB", "MB", "GB", "TB", "PB"};

    private Units() {
    }

    /**
     * Parses a size: a number of bytes with an optional unit, case-insensitive. {@code kB}, {@code MB}, {@code GB},
     * {@code TB} are decimal (as davit prints sizes); {@code KiB}, {@code MiB}, {@code GiB}, {@code TiB} and the
     * bare letters {@code K}, {@code M}, {@code G}, {@code T} are binary. Examples: {@code 500MB}, {@code 4GiB},
     * {@code 10G}, {@code 1048576}.
     *
     * @throws DavitException USAGE for anything else, zero, or more than {@code Long.MAX_VALUE}
     */
    static long parseBytes(String text, String option) {
        return dev.davit.oci.internal.Args.bytes(text, option);
    }

    static String bytes(long n) {
        if (n < 1000) {
            return n + " B";
        }
        double v = n;
        int u = -1;
        while (v >= 999.95 && u < UNITS.length - 1) {
            v /= 1000;
            u++;
        }
        return oneDecimal(v) + " " + UNITS[u];
    }

    /**
     * {@code v} with one decimal as {@code String.format(Locale.ROOT, "%.1f", v)} gives it (half-up on the shortest
     * decimal form of the double), without java.util.Formatter, whose locale set-up costs a fresh JVM ~5 ms, nor
     * BigDecimal, whose initialisation on JDK 25 computes 5^65536 (~7 ms at the end of every pull).
     */
    static String oneDecimal(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            throw new NumberFormatException("not a finite number: " + v);
        }
        String s = Double.toString(Math.abs(v));   // "123.45" or "1.2345E10" / "1.2E-5"
        int e = s.indexOf('E');
        String mantissa = e < 0 ? s : s.substring(0, e);
        int dot = mantissa.indexOf('.');
        StringBuilder digits = new StringBuilder(mantissa.length() + 8).append(mantissa, 0, dot)
                .append(mantissa, dot + 1, mantissa.length());
        int point = dot + (e < 0 ? 0 : Integer.parseInt(s.substring(e + 1)));   // digits before the decimal point
        if (point < 1) {
            digits.insert(0, "0".repeat(1 - point));
            point = 1;
        }
        while (digits.length() < point + 2) {
            digits.append('0');
        }
        // keep the digits up to the first decimal; half-up on the next one
        char[] kept = digits.substring(0, point + 1).toCharArray();
        String carry = "";
        if (digits.charAt(point + 1) >= '5') {
            int i = kept.length - 1;
            while (i >= 0 && kept[i] == '9') {
                kept[i--] = '0';
            }
            if (i < 0) {
                carry = "1";
            } else {
                kept[i]++;
            }
        }
        String whole = carry + new String(kept, 0, kept.length - 1);
        int lead = 0;
        while (lead < whole.length() - 1 && whole.charAt(lead) == '0') {
            lead++;
        }
        String out = whole.substring(lead) + "." + kept[kept.length - 1];
        return Double.doubleToRawLongBits(v) < 0 ? "-" + out : out;   // as Formatter: "-0.0" for -0.04 and -0.0
    }

    /** Bytes per second as text, or empty when too little time has passed to say. */
    static String rate(long bytes, long nanos) {
        if (nanos < 200_000_000L || bytes <= 0) {
            return "";
        }
        return bytes((long) (bytes * 1e9 / nanos)) + "/s";
    }

    static String duration(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + "ms";
        }
        if (ms < 60_000) {
            return oneDecimal(ms / 1000.0) + "s";
        }
        long s = ms / 1000;
        return s / 60 + "m" + (s % 60 < 10 ? "0" : "") + s % 60 + "s";
    }

    /** "just now", "5 minutes ago", "3 days ago". */
    static String ago(Instant then, Instant now) {
        if (then == null) {
            return "-";
        }
        long s = Duration.between(then, now).getSeconds();
        if (s < 60) {
            return "just now";
        }
        long[] steps = {60, 3600, 86400, 7 * 86400L, 30 * 86400L, 365 * 86400L};
        String[] names = {"minute", "hour", "day", "week", "month", "year"};
        int i = steps.length - 1;
        while (i > 0 && s < steps[i]) {
            i--;
        }
        long n = s / steps[i];
        return n + " " + names[i] + (n == 1 ? "" : "s") + " ago";
    }
}
