package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The line protocol between davit and the guest agent (resource {@code vm/agent.sh}) over the virtio-serial port
 * {@code davit.agent}. Every message is one line of printable ASCII ending in {@code \n}: space-separated fields,
 * a verb, a request id, then numbers or <em>data fields</em>. A data field is the standard base64 of the bytes (no
 * line breaks), or {@code -} for no bytes, so any binary content (output, arguments with newlines) fits in a line.
 *
 * <pre>
 * host:  ping ID
 * guest: pong ID
 * host:  sync ID                                    (flush the guest's disks, before a stop)
 * guest: synced ID
 * host:  run ID TIMEOUT_MS NENV NARGV WORDS          (TIMEOUT_MS 0: none)
 * guest: exit ID CODE TIMED_OUT STDOUT STDERR       (TIMED_OUT 0 or 1; CODE 124 when the agent killed it)
 * guest: error ID CODE MESSAGE                      (CODE: workdir or request; nothing ran)
 * </pre>
 *
 * WORDS is a data field holding 1 + NENV + NARGV POSIX shell single-quoted words separated by spaces (a quote
 * inside a word is written {@code '\''}): the working directory, the environment as {@code K=V} entries, then the
 * argv. The agent, a shell script, takes them apart with one decoding and one {@code eval}, after checking that the
 * text holds nothing but quoted strings, {@code \'} and spaces; a field per word would cost it a process per word.
 *
 * Ids are chosen by the host (letters and digits); an answer carries the id of its request, so an answer to a request
 * of an earlier, abandoned connection is recognised and skipped.
 */
public final class Protocol {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9]{1,32}");
    private static final Pattern NUMBER = Pattern.compile("[0-9]{1,10}");

    private Protocol() {
    }

    /** An answer of the guest agent. */
    sealed interface Answer permits Pong, Synced, Exit, Failure {
        String id();
    }

    record Pong(String id) implements Answer {
    }

    record Synced(String id) implements Answer {
    }

    /** The command ran: its exit code (124 when the agent's timeout killed it) and its output. */
    record Exit(String id, int code, boolean timedOut, byte[] stdout, byte[] stderr) implements Answer {
    }

    /** The request was refused before anything ran: {@code workdir} (it does not exist) or {@code request}. */
    record Failure(String id, String code, String message) implements Answer {
    }

    static String ping(String id) {
        return "ping " + checkId(id) + "\n";
    }

    static String sync(String id) {
        return "sync " + checkId(id) + "\n";
    }

    /** A {@code run} request; NUL bytes cannot be passed to a program, so they are refused. */
    public static String run(String id, long timeoutMs, String workdir, Map<String, String> env, List<String> argv) {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("empty argv");
        }
        if (timeoutMs < 0 || timeoutMs > 9_999_999_999L) {
            throw new IllegalArgumentException("timeout out of range: " + timeoutMs);
        }
        StringBuilder words = new StringBuilder(quote(noNul(workdir, "the working directory")));
        env.forEach((k, v) -> words.append(' ').append(quote(noNul(k, "an environment variable") + "="
                + noNul(v, "an environment variable"))));
        for (String a : argv) {
            words.append(' ').append(quote(noNul(a, "an argument")));
        }
        return "run " + checkId(id) + " " + timeoutMs + " " + env.size() + " " + argv.size() + " "
                + field(words.toString()) + "\n";
    }

    /** {@code s} as one POSIX shell single-quoted word. */
    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** Parses one line of the agent (without its {@code \n}); throws IllegalArgumentException when malformed. */
    static Answer parse(String line) {
        String[] f = line.split(" ", -1);
        if (f.length < 2 || !ID.matcher(f[1]).matches()) {
            throw new IllegalArgumentException("malformed answer: " + abbreviate(line));
        }
        String id = f[1];
        switch (f[0]) {
            case "pong":
                expect(f, 2, line);
                return new Pong(id);
            case "synced":
                expect(f, 2, line);
                return new Synced(id);
            case "exit":
                expect(f, 6, line);
                if (!NUMBER.matcher(f[2]).matches() || !(f[3].equals("0") || f[3].equals("1"))) {
                    throw new IllegalArgumentException("malformed answer: " + abbreviate(line));
                }
                long code = Long.parseLong(f[2]);
                if (code > 255) {
                    throw new IllegalArgumentException("exit code out of range: " + code);
                }
                return new Exit(id, (int) code, f[3].equals("1"), unfield(f[4]), unfield(f[5]));
            case "error":
                expect(f, 4, line);
                return new Failure(id, f[2], new String(unfield(f[3]), StandardCharsets.UTF_8));
            default:
                throw new IllegalArgumentException("unknown answer: " + abbreviate(line));
        }
    }

    /** One data field: base64 of the bytes, or {@code -} for none. */
    static String field(byte[] bytes) {
        return bytes.length == 0 ? "-" : Base64.getEncoder().encodeToString(bytes);
    }

    static String field(String s) {
        return field(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The bytes of a data field; throws IllegalArgumentException when it is not one. */
    static byte[] unfield(String f) {
        if (f.equals("-")) {
            return new byte[0];
        }
        if (f.isEmpty()) {
            throw new IllegalArgumentException("empty data field");
        }
        return Base64.getDecoder().decode(f); // strict: no line breaks, valid padding
    }

    /** A fresh request id. */
    public static String newId() {
        byte[] b = new byte[6];
        new java.security.SecureRandom().nextBytes(b);
        return java.util.HexFormat.of().formatHex(b);
    }

    private static String checkId(String id) {
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("invalid request id: " + id);
        }
        return id;
    }

    private static String noNul(String s, String what) {
        if (s.indexOf('\0') >= 0) {
            throw new DavitException(Kind.USAGE, what + " contains a NUL byte, which a program cannot receive");
        }
        return s;
    }

    private static void expect(String[] f, int n, String line) {
        if (f.length != n) {
            throw new IllegalArgumentException("malformed answer: " + abbreviate(line));
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
