package dev.davit.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/** Human formatting of sizes, rates and times (decimal units: 1 MB = 1,000,000 bytes). */
final class Units {
    private static final String[] UNITS = {"kB", "MB", "GB", "TB", "PB"};

    private Units() {
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
        return String.format(Locale.ROOT, "%.1f %s", v, UNITS[u]);
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
            return String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
        }
        long s = ms / 1000;
        return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
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
