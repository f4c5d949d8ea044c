package dev.davit.oci.internal;

/**
 * The public entry points' null checks, all worded alike: {@code DavitClient.artifactPull: dir is null; give the
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
}
