package dev.davit.cli;

import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import java.io.Console;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Renders {@link ProgressEvent}s on stderr; {@link #close()} finishes the display. Thread-safe. */
interface ProgressRenderer extends ProgressListener, AutoCloseable {

    /** How progress is shown. */
    enum Mode { BARS, LINES, NONE }

    /** Renders nothing. */
    ProgressRenderer NONE = new ProgressRenderer() {
        @Override
        public void onEvent(ProgressEvent event) {
        }

        @Override
        public void close() {
        }
    };

    @Override
    void close();

    /**
     * {@code DAVIT_PROGRESS=bars|lines|none} when set; else bars on an interactive terminal (a console, TERM set
     * and not {@code dumb}), else lines.
     */
    static Mode mode(Map<String, String> env) {
        String forced = env.get("DAVIT_PROGRESS");
        if (forced != null && !forced.isBlank()) {
            switch (forced.trim().toLowerCase(Locale.ROOT)) {
                case "bars":
                    return Mode.BARS;
                case "lines":
                    return Mode.LINES;
                case "none":
                    return Mode.NONE;
                default:
                    break;
            }
        }
        return interactive(env) ? Mode.BARS : Mode.LINES;
    }

    static ProgressRenderer create(Mode mode, PrintWriter err, Map<String, String> env) {
        return switch (mode) {
            case BARS -> new BarProgress(err, columns(env), System::nanoTime);
            case LINES -> new LineProgress(err);
            case NONE -> NONE;
        };
    }

    private static boolean interactive(Map<String, String> env) {
        Console c = System.console();
        if (c == null) {
            return false;
        }
        try {
            // Java 22+: a Console may exist without a terminal
            Method isTerminal = Console.class.getMethod("isTerminal");
            if (!Boolean.TRUE.equals(isTerminal.invoke(c))) {
                return false;
            }
        } catch (NoSuchMethodException e) {
            // Java 21: a console means a terminal
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
        String term = env.get("TERM");
        return term != null && !term.isBlank() && !term.equals("dumb");
    }

    private static int columns(Map<String, String> env) {
        try {
            int c = Integer.parseInt(env.getOrDefault("COLUMNS", "80").trim());
            return c >= 40 && c <= 500 ? c : 80;
        } catch (NumberFormatException e) {
            return 80;
        }
    }

    /** The short line shown for a phase, e.g. {@code fetching 3 blobs (12.4 MB)}. */
    static String phaseLine(ProgressEvent.Phase p) {
        String detail = p.detail() == null ? "" : Text.shorten(p.detail(), 200);
        return switch (p.name()) {
            case "resolving" -> "resolving " + detail;
            case "fetching manifest" -> "fetching manifest";
            case "fetching blobs" -> blobsLine("fetching", detail);
            case "pushing blobs" -> blobsLine("pushing", detail);
            case "verifying" -> "verifying";
            case "done" -> "done";
            default -> Text.printable(p.name()) + (detail.isEmpty() ? "" : " " + detail);
        };
    }

    /** Blob count and total bytes from a {@code fetching blobs} phase detail ({@code "N blobs, X bytes"}), or null. */
    static long[] blobTotals(String detail) {
        Matcher m = Holder.BLOBS.matcher(detail == null ? "" : detail);
        if (!m.find()) {
            return null;
        }
        try {
            return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String blobsLine(String verb, String detail) {
        long[] t = blobTotals(detail);
        if (t == null) {
            return verb + " blobs" + (detail.isEmpty() ? "" : " (" + detail + ")");
        }
        return verb + " " + t[0] + (t[0] == 1 ? " blob" : " blobs") + " (" + Units.bytes(t[1]) + ")";
    }

    /** Holds constants an interface cannot declare privately. */
    final class Holder {
        static final Pattern BLOBS = Pattern.compile("(\\d+) blobs?, (\\d+) bytes");

        private Holder() {
        }
    }
}
