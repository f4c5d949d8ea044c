package dev.davit.oci.internal;

/**
 * The public entry points' null checks, all worded alike: {@code DavitClient.artifacts().pull: dir is null; give the
 * directory to write the files into}.
 */
public final class Args {
    private Args() {
    }

    /**
     * {@code value}, unless it is null.
     *
     * @param value     an argument
     * @param method    the method it was given to, as a caller writes it, e.g. {@code DavitClient.pull}
     * @param parameter the parameter's name, as its Javadoc calls it
     * @param fix       what to give instead, e.g. {@code give an image reference such as alpine:3.20}
     * @return {@code value}
     * @throws NullPointerException naming the method, the parameter and the fix, when {@code value} is null
     */
    public static <T> T given(T value, String method, String parameter, String fix) {
        if (value == null) {
            throw new NullPointerException(method + ": " + parameter + " is null; " + fix);
        }
        return value;
    }

    /**
     * {@code reference}, unless it is null: {@link #given} for an image reference.
     *
     * @param reference an image reference
     * @param method    the method it was given to
     * @return {@code reference}
     * @throws NullPointerException when it is null
     */
    public static String reference(String reference, String method) {
        return given(reference, method, "reference", "give an image reference, e.g. alpine:3.20");
    }

    /**
     * Parses a size: a number of bytes with an optional unit, case-insensitive. {@code kB}, {@code MB}, {@code GB},
     * {@code TB} are decimal; {@code KiB}, {@code MiB}, {@code GiB}, {@code TiB} and the bare letters {@code K},
     * {@code M}, {@code G}, {@code T} are binary. Examples: {@code 500MB}, {@code 4GiB}, {@code 10G}, {@code 1048576}.
     *
     * @param text the size
     * @param what what it is for, as the error names it (an option, an argument)
     * @return the bytes, more than 0
     * @throws dev.davit.oci.DavitException USAGE for anything else, zero, or more than {@code Long.MAX_VALUE}
     */
    public static long bytes(String text, String what) {
        String t = text == null ? "" : text.trim();
        int i = 0;
        while (i < t.length() && Character.isDigit(t.charAt(i))) {
            i++;
        }
        String unit = t.substring(i).trim().toLowerCase(java.util.Locale.ROOT);
        long factor = switch (unit) {
            case "", "b" -> 1L;
            case "kb" -> 1000L;
            case "mb" -> 1000L * 1000;
            case "gb" -> 1000L * 1000 * 1000;
            case "tb" -> 1000L * 1000 * 1000 * 1000;
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "t", "tib" -> 1L << 40;
            default -> -1L;
        };
        try {
            if (i == 0 || factor < 0) {
                throw new NumberFormatException();
            }
            long n = Math.multiplyExact(Long.parseLong(t.substring(0, i)), factor);
            if (n <= 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "invalid size '"
                    + Text.shorten(text, 40) + "' for " + what + ": give a positive number of bytes with an optional"
                    + " unit, e.g. 500MB, 4GiB or 10G");
        }
    }
}
