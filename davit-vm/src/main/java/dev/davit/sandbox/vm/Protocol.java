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
 * guest: ran ID CODE TIMED_OUT OUTSIZE ERRSIZE      (TIMED_OUT 0 or 1; CODE 124 when the agent killed it; then
 *                                                  OUTSIZE raw bytes of stdout and ERRSIZE of stderr)
 * guest: exit ID CODE TIMED_OUT STDOUT STDERR       (an agent of an older davit: the output as data fields)
 * guest: error ID CODE MESSAGE                      (CODE: workdir or request; nothing ran)
 * host:  put ID DIR SIZE                            (then SIZE raw bytes: a tar, extracted into DIR)
 * guest: done ID
 * host:  get ID DIR
 * guest: data ID SIZE SIZE                          (then SIZE raw bytes: a tar of DIR's content)
 * host:  read ID PATH MAX                           (MAX 0: all)
 * guest: data ID TOTAL SIZE                         (then the first SIZE of the file's TOTAL bytes, raw)
 * host:  rm ID PATH...
 * guest: done ID
 * host:  mv ID FROM TO
 * guest: done ID
 * host:  swap ID DIR NEW OLD                        (NEW becomes DIR by two renames, synced; OLD removed)
 * guest: done ID
 * host:  spawn ID DIR TTY NENV NARGV WORDS           (detached; TTY - or a /dev/hvcN console; WORDS as for run)
 * guest: started ID PID                             (PID 0: not seen within 5 s)
 * guest: error ID CODE MESSAGE                      (CODE: request, path, missing, notfile, isdir, failed)
 * </pre>
 *
 * WORDS is a data field holding 1 + NENV + NARGV POSIX shell single-quoted words separated by spaces (a quote
 * inside a word is written {@code '\''}): the working directory, the environment as {@code K=V} entries, then the
 * argv. The agent, a shell script, takes them apart with one decoding and one {@code eval}, after checking that the
 * text holds nothing but quoted strings, {@code \'} and spaces; a field per word would cost it a process per word.
 *
 * The file verbs ({@code put}, {@code get}, {@code read}, {@code rm}, {@code mv}) take absolute guest paths as data
 * fields, without {@code .} or {@code ..} components, and refuse ({@code path}) one that has a symbolic link as a
 * component (as its last one too, except for {@code rm} and {@code mv}, which act on the link itself), so a link left
 * by a command cannot lead them elsewhere. Bulk bytes travel raw on the same port, announced by their length: the
 * host's after a {@code put} line (read whole by the agent even when it refuses the request), the agent's after a
 * {@code data} or {@code ran} answer (the client reads them, or skips them when the answer is not for its
 * request). Extracting ignores the tar's owners (the files belong to root); {@code mv} makes missing parents of TO
 * (mode 0755) and replaces an existing TO (a file or link atomically; a directory, removed first, only by a
 * directory). {@code swap} flushes the disk before and after its renames, and first moves OLD back when only OLD is
 * there (a crash between the renames of an earlier swap), so a crash leaves DIR old or new.
 *
 * <p>Everything the guest sends is untrusted: root in the guest can replace the agent. The host bounds every line
 * ({@link AgentClient#MAX_LINE}), sizes no allocation by an announced length beyond what it asked for, extracts a
 * tar from the guest with the rules for untrusted tars as it arrives, keeps only printable text of an error message,
 * and gives every call a deadline ({@link AgentClient}, {@link AgentFiles}).
 *
 * {@code spawn} starts the command detached, in a session and process group of its own, below a holder (in a
 * session of its own too) that records it in guest directory DIR (made afresh): {@code pid}, {@code boot} (the boot
 * id), {@code output} (stdout and stderr, without a terminal) and, when it ends, {@code exit} (its exit code). With a
 * terminal, the console is the command's stdin, stdout, stderr and controlling terminal. The host then reaches it
 * with {@code run} of the agent's helpers ({@code sh /.davit/agent proc status|signal|stop|consoles|killall}) and
 * reads its files with {@code read}.
 *
 * Ids are chosen by the host (letters and digits); an answer carries the id of its request, so an answer to a request
 * of an earlier, abandoned connection is recognised and skipped.
 */
public final class Protocol {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9]{1,32}");
    private static final Pattern NUMBER = Pattern.compile("[0-9]{1,10}");
    private static final Pattern LENGTH = Pattern.compile("[0-9]{1,15}");
    private static final Pattern CODE = Pattern.compile("[a-z]{1,16}");
    /** How much of an error message of the agent is kept (printable characters only). */
    static final int MAX_MESSAGE = 300;

    private Protocol() {
    }

    /** An answer of the guest agent. */
    public sealed interface Answer permits Pong, Synced, Exit, Ran, Failure, Done, Data, Started {
        String id();
    }

    /** A file verb succeeded. */
    public record Done(String id) implements Answer {
    }

    /** {@code size} raw bytes follow this answer (of {@code total}: a read may be bounded). */
    public record Data(String id, long total, long size) implements Answer {
    }

    /** A spawned command runs: its guest pid (0: it was not seen starting). */
    public record Started(String id, long pid) implements Answer {
    }

    record Pong(String id) implements Answer {
    }

    record Synced(String id) implements Answer {
    }

    /**
     * The command ran: its exit code (124 when the agent's timeout killed it); {@code stdoutSize} raw bytes of its
     * stdout follow this answer, then {@code stderrSize} of its stderr.
     */
    record Ran(String id, int code, boolean timedOut, long stdoutSize, long stderrSize) implements Answer {
    }

    /** The command ran: its exit code and its output, from an agent of an older davit (see {@link Ran}). */
    record Exit(String id, int code, boolean timedOut, byte[] stdout, byte[] stderr) implements Answer {
    }

    /**
     * The request was refused: {@code code} is lower-case letters ({@code workdir}, {@code request}, {@code path},
     * ...), {@code message} printable text of at most {@value #MAX_MESSAGE} characters (the agent's, shortened).
     */
    public record Failure(String id, String code, String message) implements Answer {
    }

    static String ping(String id) {
        return "ping " + checkId(id) + "\n";
    }

    public static String sync(String id) {
        return "sync " + checkId(id) + "\n";
    }

    /** A {@code put} request: {@code size} raw bytes of a tar follow it. */
    public static String put(String id, String dir, long size) {
        return "put " + checkId(id) + " " + path(dir) + " " + size + "\n";
    }

    public static String get(String id, String dir) {
        return "get " + checkId(id) + " " + path(dir) + "\n";
    }

    /** A {@code read} of at most {@code max} bytes (0: all). */
    public static String read(String id, String file, long max) {
        return "read " + checkId(id) + " " + path(file) + " " + max + "\n";
    }

    public static String rm(String id, List<String> paths) {
        StringBuilder b = new StringBuilder("rm ").append(checkId(id));
        paths.forEach(p -> b.append(' ').append(path(p)));
        return b.append('\n').toString();
    }

    public static String mv(String id, String from, String to) {
        return "mv " + checkId(id) + " " + path(from) + " " + path(to) + "\n";
    }

    public static String swap(String id, String dir, String fresh, String old) {
        return "swap " + checkId(id) + " " + path(dir) + " " + path(fresh) + " " + path(old) + "\n";
    }

    /** An absolute guest path as a data field; the agent checks the rest. */
    private static String path(String p) {
        if (!p.startsWith("/") || p.indexOf('\0') >= 0 || p.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("not an absolute path without NUL or newline: " + p);
        }
        return field(p);
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

    /** A {@code spawn} request (see {@link #run} for the words); {@code tty} null: no terminal. */
    public static String spawn(String id, String dir, String tty, String workdir, Map<String, String> env,
                               List<String> argv) {
        String run = run(id, 0, workdir, env, argv); // run ID 0 NENV NARGV WORDS
        return "spawn " + id + " " + path(dir) + " " + (tty == null ? "-" : path(tty))
                + run.substring(run.indexOf(' ', 4 + id.length() + 1));
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
            case "ran":
                expect(f, 6, line);
                if (!LENGTH.matcher(f[4]).matches() || !LENGTH.matcher(f[5]).matches()) {
                    throw new IllegalArgumentException("malformed answer: " + abbreviate(line));
                }
                return new Ran(id, exitCode(f, line), f[3].equals("1"), Long.parseLong(f[4]), Long.parseLong(f[5]));
            case "exit":
                expect(f, 6, line);
                return new Exit(id, exitCode(f, line), f[3].equals("1"), unfield(f[4]), unfield(f[5]));
            case "started":
                expect(f, 3, line);
                if (!NUMBER.matcher(f[2]).matches()) {
                    throw new IllegalArgumentException("malformed answer: " + abbreviate(line));
                }
                return new Started(id, Long.parseLong(f[2]));
            case "done":
                expect(f, 2, line);
                return new Done(id);
            case "data":
                expect(f, 4, line);
                if (!LENGTH.matcher(f[2]).matches() || !LENGTH.matcher(f[3]).matches()) {
                    throw new IllegalArgumentException("malformed answer: " + abbreviate(line));
                }
                return new Data(id, Long.parseLong(f[2]), Long.parseLong(f[3]));
            case "error":
                expect(f, 4, line);
                if (!CODE.matcher(f[2]).matches()) {
                    throw new IllegalArgumentException("malformed answer: " + abbreviate(line));
                }
                return new Failure(id, f[2], dev.davit.oci.internal.Text.shorten(new String(unfield(f[3]),
                        StandardCharsets.UTF_8).strip().replace('\n', ' '), MAX_MESSAGE));
            default:
                throw new IllegalArgumentException("unknown answer: " + abbreviate(line));
        }
    }

    /** The exit code and timed-out flag of an {@code exit} or {@code ran} answer (fields 2 and 3), checked. */
    private static int exitCode(String[] f, String line) {
        if (!NUMBER.matcher(f[2]).matches() || !(f[3].equals("0") || f[3].equals("1"))) {
            throw new IllegalArgumentException("malformed answer: " + abbreviate(line));
        }
        long code = Long.parseLong(f[2]);
        if (code > 255) {
            throw new IllegalArgumentException("exit code out of range: " + code);
        }
        return (int) code;
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
        return dev.davit.oci.internal.RandomHex.of(6);
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
        return dev.davit.oci.internal.Text.shorten(s, 80);
    }
}
