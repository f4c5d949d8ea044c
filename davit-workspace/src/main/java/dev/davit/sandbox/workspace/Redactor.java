package dev.davit.sandbox.workspace;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Replaces a workspace's secret values with {@code [REDACTED:NAME]} in what davit shows of its processes: exec
 * output, the exec history, service logs, shell reads, error messages. Immutable; built once per workspace from
 * its secrets ({@link #of}).
 *
 * <p>Each secret is looked for as its exact bytes (a trailing line end left out, as {@code $(cat file)} would), with
 * {@code \r\n} for each {@code \n} (as a terminal shows a value of several lines) and, for values of
 * {@value #MIN_ENCODED} bytes or more, as its base64 in the standard and the URL alphabet (without padding). The
 * search is one Aho-Corasick automaton over all of them, run over a stream: a value split over two writes (or two
 * reads) is found all the same. Where matches overlap, the union of their bytes is replaced, with one marker per
 * secret not contained in another's match. A stream holds back only the bytes that may still start a value: at most
 * the longest pattern's length less one.
 */
final class Redactor {
    /** No secrets: every method passes its input through. */
    public static final Redactor NONE = of(Map.of());
    /** The shortest value whose base64 forms are redacted too (shorter ones would match everyday text). */
    static final int MIN_ENCODED = 6;
    /**
     * A stream that ends (or a log that was cut) in the first bytes of a value: that part is masked when it holds
     * this many bytes or more (fewer reveal next to nothing, and masking them would garble ordinary output).
     */
    static final int MIN_PARTIAL = 4;

    private final List<String> names = new ArrayList<>(); // per secret
    private final List<byte[]> patterns = new ArrayList<>();
    private final List<Integer> patternSecret = new ArrayList<>(); // per pattern: its secret's index
    private final byte[][] markers; // per secret
    // the trie: state 0 is the root; children as first-child / next-sibling lists (most states have one child)
    private int[] firstChild = new int[64];
    private int[] sibling = new int[64];
    private byte[] label = new byte[64];
    private int[] depth = new int[64];
    private int[] fail;
    private int[] output; // the longest pattern that ends at the state (its own or through its fail chain), or -1
    private int[] some; // a secret whose pattern passes through the state (for a value cut short)
    private final int[] rootNext = new int[256];
    private int states = 1;
    private final int maxLength;

    private Redactor(Map<String, byte[]> secrets) {
        some = new int[64];
        Arrays.fill(firstChild, -1);
        Arrays.fill(sibling, -1);
        int max = 0;
        for (Map.Entry<String, byte[]> e : secrets.entrySet()) {
            int secret = names.size();
            names.add(e.getKey());
            for (byte[] p : forms(e.getValue())) {
                patternSecret.add(secret);
                patterns.add(p);
                insert(p, secret);
                max = Math.max(max, p.length);
            }
        }
        maxLength = max;
        markers = new byte[names.size()][];
        for (int i = 0; i < markers.length; i++) {
            markers[i] = marker(names.get(i)).getBytes(StandardCharsets.UTF_8);
        }
        build();
    }

    /**
     * A redactor of {@code secrets} (name to value; an empty value is ignored).
     *
     * @param secrets secret name (shown in its marker) to value; a null or empty value is left out
     * @return the redactor; one that passes everything through when no value is left
     */
    public static Redactor of(Map<String, byte[]> secrets) {
        Map<String, byte[]> nonEmpty = new LinkedHashMap<>();
        secrets.forEach((n, v) -> {
            if (v != null && v.length > 0) {
                nonEmpty.put(n, v);
            }
        });
        return new Redactor(nonEmpty);
    }

    /**
     * What replaces secret {@code name}'s value.
     *
     * @param name the secret's name
     * @return {@code [REDACTED:NAME]}
     */
    public static String marker(String name) {
        return "[REDACTED:" + name + "]";
    }

    /**
     * Whether there is nothing to redact.
     *
     * @return true when no secret value is looked for: every method passes its input through
     */
    public boolean isEmpty() {
        return patterns.isEmpty();
    }

    /**
     * The longest byte sequence looked for (0: none).
     *
     * @return the length in bytes of the longest form of a value (its bytes or its base64); a stream holds back at
     *         most one byte less
     */
    public int maxLength() {
        return maxLength;
    }

    /** The byte sequences that stand for {@code value}. */
    static List<byte[]> forms(byte[] value) {
        List<byte[]> out = new ArrayList<>();
        int n = value.length;
        while (n > 0 && (value[n - 1] == '\n' || value[n - 1] == '\r')) {
            n--;
        }
        byte[] bare = n == 0 ? value : Arrays.copyOf(value, n);
        add(out, bare);
        String text = new String(bare, StandardCharsets.ISO_8859_1);
        if (text.contains("\n")) {
            add(out, text.replace("\r\n", "\n").replace("\n", "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        for (byte[] v : List.of(bare, value)) {
            if (v.length >= MIN_ENCODED) {
                add(out, Base64.getEncoder().withoutPadding().encode(v));
                add(out, Base64.getUrlEncoder().withoutPadding().encode(v));
            }
        }
        return out;
    }

    private static void add(List<byte[]> out, byte[] p) {
        if (p.length > 0 && out.stream().noneMatch(q -> Arrays.equals(q, p))) {
            out.add(p);
        }
    }

    private void insert(byte[] p, int secret) {
        int s = 0;
        for (byte b : p) {
            int c = child(s, b);
            if (c < 0) {
                c = newState(s, b);
            }
            s = c;
            if (some[s] < 0) {
                some[s] = secret;
            }
        }
    }

    private int newState(int parent, byte b) {
        if (states == firstChild.length) {
            int n = states * 2;
            firstChild = Arrays.copyOf(firstChild, n);
            sibling = Arrays.copyOf(sibling, n);
            label = Arrays.copyOf(label, n);
            depth = Arrays.copyOf(depth, n);
            some = Arrays.copyOf(some, n);
            Arrays.fill(firstChild, states, n, -1);
            Arrays.fill(sibling, states, n, -1);
        }
        int s = states++;
        label[s] = b;
        depth[s] = depth[parent] + 1;
        some[s] = -1;
        sibling[s] = firstChild[parent];
        firstChild[parent] = s;
        return s;
    }

    private int child(int s, byte b) {
        for (int c = firstChild[s]; c >= 0; c = sibling[c]) {
            if (label[c] == b) {
                return c;
            }
        }
        return -1;
    }

    /** Fail links and outputs, breadth first. */
    private void build() {
        fail = new int[states];
        output = new int[states];
        Arrays.fill(output, -1);
        int[] terminal = new int[states];
        Arrays.fill(terminal, -1);
        for (int p = 0; p < patterns.size(); p++) {
            int s = 0;
            for (byte b : patterns.get(p)) {
                s = child(s, b);
            }
            if (terminal[s] < 0) {
                terminal[s] = p;
            }
        }
        Arrays.fill(rootNext, 0);
        int[] queue = new int[states];
        int head = 0;
        int tail = 0;
        for (int c = firstChild[0]; c >= 0; c = sibling[c]) {
            fail[c] = 0;
            rootNext[label[c] & 0xff] = c;
            queue[tail++] = c;
        }
        while (head < tail) {
            int s = queue[head++];
            output[s] = terminal[s] >= 0 ? terminal[s] : output[fail[s]];
            for (int c = firstChild[s]; c >= 0; c = sibling[c]) {
                fail[c] = next(fail[s], label[c]);
                queue[tail++] = c;
            }
        }
    }

    private int next(int s, byte b) {
        while (true) {
            if (s == 0) {
                return rootNext[b & 0xff];
            }
            int c = child(s, b);
            if (c >= 0) {
                return c;
            }
            s = fail[s];
        }
    }

    /**
     * How far back from the current byte a match may still start: the state's depth, or its fail state's when no
     * longer pattern goes on from it.
     */
    private int open(int s) {
        return firstChild[s] >= 0 ? depth[s] : depth[fail[s]];
    }

    /**
     * {@code out}, with every secret value written to it redacted ({@link Stream}).
     *
     * @param out where the redacted bytes go; null: nowhere (they are dropped)
     * @return a new stream; call {@link Stream#finish} (or close it) at the end, or the bytes held back are lost
     */
    public Stream stream(OutputStream out) {
        return new Stream(out);
    }

    /**
     * {@code b} redacted as a whole (a value cut short at its end masked, see {@link #MIN_PARTIAL}).
     *
     * @param b the bytes to redact (not changed)
     * @return the redacted bytes; {@code b} itself when this redactor {@link #isEmpty}
     */
    public byte[] redact(byte[] b) {
        if (isEmpty()) {
            return b;
        }
        Run r = new Run();
        r.feed(b, 0, b.length);
        r.finish();
        return r.out.toByteArray();
    }

    /**
     * {@code s} (as UTF-8) redacted as a whole; {@code s} itself when nothing matched.
     *
     * @param s the text to redact; null allowed
     * @return the redacted text (null for null)
     */
    public String redact(String s) {
        if (s == null || isEmpty()) {
            return s;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] r = redact(b);
        return r == b || Arrays.equals(r, b) ? s : new String(r, StandardCharsets.UTF_8);
    }

    /**
     * Each of {@code strings} redacted ({@link #redact(String)}), e.g. a command's arguments.
     *
     * @param strings the texts to redact
     * @return an unmodifiable list of the redacted texts; {@code strings} itself when this redactor {@link #isEmpty}
     */
    public List<String> redact(List<String> strings) {
        return isEmpty() ? strings : strings.stream().map(this::redact).toList();
    }

    /**
     * {@code b} redacted where bytes before it were cut off (a log's older part dropped, a tail that starts at a
     * line): a start of {@code b} that is the end of a value (at least {@link #MIN_PARTIAL} bytes) is masked too.
     * With {@code lineStart} the cut was at a line's start, so only values that hold a line end can have been cut.
     *
     * @param b         the bytes that were kept after the cut
     * @param lineStart whether the cut was at the start of a line
     * @return the redacted bytes, starting with a marker when the start of {@code b} was masked; {@code b} itself
     *         when this redactor {@link #isEmpty}
     */
    public byte[] redactAfterCut(byte[] b, boolean lineStart) {
        if (isEmpty()) {
            return b;
        }
        int best = 0;
        int secret = -1;
        for (int p = 0; p < patterns.size(); p++) {
            byte[] pat = patterns.get(p);
            if (lineStart && indexOf(pat, (byte) '\n') < 0) {
                continue;
            }
            int k = suffixPrefix(pat, b);
            if (k > best) {
                best = k;
                secret = patternSecret.get(p);
            }
        }
        if (best < MIN_PARTIAL) {
            return redact(b);
        }
        byte[] rest = redact(Arrays.copyOfRange(b, best, b.length));
        byte[] m = markers[secret];
        byte[] out = Arrays.copyOf(m, m.length + rest.length);
        System.arraycopy(rest, 0, out, m.length, rest.length);
        return out;
    }

    /**
     * Bytes {@code [from, to)} of {@code window} redacted in the context of the whole window: every byte of the page
     * that belongs to a value found anywhere in the window is masked, however few of the value's bytes the page
     * holds (a run of masked bytes becomes one marker per secret in it). For a page of a file read at a caller's
     * offset and length: given a window of {@link #maxLength} - 1 bytes more on each side, no value that overlaps the
     * page is cut by the window, so no page shows any piece of one, and pages put together show none either (with
     * {@link #redactAfterCut} and {@link #redact(byte[])}, a page of fewer than {@link #MIN_PARTIAL} bytes inside a
     * value showed them).
     *
     * @param window    the page with what the file holds around it
     * @param from      where the page starts in {@code window}
     * @param to        where it ends
     * @param cutAtEnd  whether the window ends before the file does (a value that starts at its end is masked too)
     * @return the page, redacted; a copy of it when nothing matched
     */
    public byte[] redactPage(byte[] window, int from, int to, boolean cutAtEnd) {
        if (isEmpty()) {
            return Arrays.copyOfRange(window, from, to);
        }
        // the masked runs of the page, in order; a match that touches or overlaps the last runs joins them (matches
        // are found in the order of their ends)
        java.util.ArrayDeque<Masked> runs = new java.util.ArrayDeque<>();
        int s = 0;
        for (int i = 0; i < window.length; i++) {
            s = next(s, window[i]);
            int p = output[s]; // the longest value ending here; a shorter one ending here is inside it
            if (p >= 0) {
                mask(runs, from, to, i + 1 - patterns.get(p).length, i + 1, patternSecret.get(p));
            }
        }
        if (cutAtEnd && depth[s] > 0 && some[s] >= 0) {
            mask(runs, from, to, window.length - depth[s], window.length, some[s]);
        }
        Buf out = new Buf();
        int at = from;
        for (Masked run : runs) {
            out.write(window, at, run.start - at);
            for (int secret : run.secrets()) {
                out.write(markers[secret], 0, markers[secret].length);
            }
            at = run.end;
        }
        out.write(window, at, to - at);
        return out.toByteArray();
    }

    /**
     * Adds the match {@code [start, end)} of {@code secret}, where it falls in page {@code [from, to)}, to
     * {@code runs}, joining the runs it touches.
     */
    private static void mask(java.util.ArrayDeque<Masked> runs, int from, int to, int start, int end, int secret) {
        int a = Math.max(start, from);
        int b = Math.min(end, to);
        if (a >= b) {
            return;
        }
        Masked run = new Masked(a, b);
        run.matches.add(new int[] {start, end, secret});
        while (!runs.isEmpty() && runs.peekLast().end >= run.start) {
            Masked last = runs.pollLast();
            last.start = Math.min(last.start, run.start);
            last.end = Math.max(last.end, run.end);
            last.matches.addAll(run.matches);
            run = last;
        }
        runs.addLast(run);
    }

    /** A run of masked bytes of a page and the matches in it ({start, end, secret}). */
    private static final class Masked {
        int start;
        int end;
        final List<int[]> matches = new ArrayList<>();

        Masked(int start, int end) {
            this.start = start;
            this.end = end;
        }

        /** One secret per marker, in the order their matches start; none for a value inside a longer match. */
        Set<Integer> secrets() {
            matches.sort((x, y) -> x[0] != y[0] ? Integer.compare(x[0], y[0]) : Integer.compare(y[1], x[1]));
            Set<Integer> shown = new LinkedHashSet<>();
            int coverStart = Integer.MIN_VALUE;
            int coverEnd = Integer.MIN_VALUE;
            for (int[] m : matches) {
                boolean inside = coverEnd > m[1] || coverEnd == m[1] && coverStart < m[0];
                if (!inside) {
                    shown.add(m[2]);
                }
                if (m[1] > coverEnd) {
                    coverStart = m[0];
                    coverEnd = m[1];
                }
            }
            return shown;
        }
    }

    /** The longest proper suffix of {@code pat} that {@code b} starts with (KMP of b's start over pat). */
    private static int suffixPrefix(byte[] pat, byte[] b) {
        int m = Math.min(b.length, pat.length - 1);
        if (m <= 0) {
            return 0;
        }
        int[] f = new int[m];
        for (int i = 1, k = 0; i < m; i++) {
            while (k > 0 && b[i] != b[k]) {
                k = f[k - 1];
            }
            if (b[i] == b[k]) {
                k++;
            }
            f[i] = k;
        }
        int k = 0;
        for (int i = 1; i < pat.length; i++) { // from 1: a proper suffix
            while (k > 0 && (k == m || pat[i] != b[k])) {
                k = f[k - 1];
            }
            if (pat[i] == b[k]) {
                k++;
            }
        }
        return k;
    }

    private static int indexOf(byte[] a, byte b) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /**
     * What {@link #redactPart} made of the first {@code consumed} bytes of its input: the rest may start a value
     * and was left for the next call.
     *
     * @param bytes    the redacted form of the decided part, to pass on
     * @param consumed how many bytes of the input it stands for (0 to the input's length); give the input from
     *                 there again, with what follows, in the next call
     */
    public record Part(byte[] bytes, int consumed) {
    }

    /**
     * The redacted form of the part of {@code b} that is decided: all of it when {@code last} (nothing follows; a
     * value cut short at the end is masked), else up to where a value may still start (or a value that may still go
     * on begins), so that the caller can give the rest again, with what follows, in its next call. For reads of a
     * growing output in pieces (a shell's).
     *
     * @param b    the undecided rest of the last call's input followed by the new bytes
     * @param last whether nothing follows {@code b}
     * @return what was decided, redacted, and how many input bytes it took
     */
    public Part redactPart(byte[] b, boolean last) {
        if (isEmpty()) {
            return new Part(b, b.length);
        }
        Run r = new Run();
        r.feed(b, 0, b.length);
        if (last) {
            r.finish();
            return new Part(r.out.toByteArray(), b.length);
        }
        int consumed = r.decided();
        if (r.redactUntil > consumed && (r.regionIn > 0 || b.length < 1 << 20)) {
            // a value that may still go on began at regionIn: leave it (and its marker) for the next call
            return new Part(Arrays.copyOf(r.out.buf, r.regionOut), (int) r.regionIn);
        }
        consumed = (int) Math.max(consumed, r.redactUntil);
        return new Part(r.out.toByteArray(), consumed);
    }

    /** A byte buffer that can be cut back. */
    private static final class Buf {
        byte[] buf = new byte[256];
        int len;

        void write(byte[] b, int off, int n) {
            if (len + n > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
            }
            System.arraycopy(b, off, buf, len, n);
            len += n;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, len);
        }
    }

    /**
     * One pass over a stream: the automaton's state, the matches not yet decided (those that start where a longer
     * one might still start too), the current redacted region and the bytes held back.
     */
    private final class Run {
        final Buf out = new Buf();
        int state;
        long pos; // bytes fed
        long cursor; // the first byte neither written nor swallowed
        long redactUntil; // the end of the current redacted region
        long regionIn; // where it starts
        int regionOut; // how much output came before its first marker
        final Set<Integer> regionSecrets = new HashSet<>();
        // {start, end, secret}, by start, the longest first
        final PriorityQueue<long[]> pending = new PriorityQueue<>((a, b) -> a[0] != b[0]
                ? Long.compare(a[0], b[0]) : Long.compare(b[1], a[1]));
        byte[] held = new byte[0]; // bytes [cursor, pos) of earlier feeds
        byte[] data; // held, then the current feed's bytes
        long base; // the absolute position of data[0]

        /** Where the decided part ends: no match can start before it any more. */
        int decided() {
            return (int) (pos - open(state));
        }

        void feed(byte[] b, int off, int n) {
            data = held.length == 0 && off == 0 && n == b.length ? b : concat(held, b, off, n);
            base = pos - held.length;
            int from = held.length;
            for (int i = 0; i < n; i++) {
                state = next(state, data[from + i]);
                pos++;
                int p = output[state];
                if (p >= 0) {
                    pending.add(new long[] {pos - patterns.get(p).length, pos, patternSecret.get(p)});
                }
                if (!pending.isEmpty()) {
                    long safe = pos - open(state);
                    while (!pending.isEmpty() && pending.peek()[0] < safe) {
                        take(pending.poll());
                    }
                }
            }
            plainTo(pos - open(state));
            held = Arrays.copyOfRange(data, (int) (cursor - base), data.length);
        }

        /** Decides every pending match and masks a value cut short at the end. */
        void finish() {
            if (depth[state] >= MIN_PARTIAL && some[state] >= 0) {
                pending.add(new long[] {pos - depth[state], pos, some[state]}); // a value cut short
            }
            while (!pending.isEmpty()) {
                take(pending.poll());
            }
            plainTo(pos);
            held = new byte[0];
        }

        private void take(long[] m) {
            int secret = (int) m[2];
            if (m[0] < redactUntil) {
                if (m[1] > redactUntil) {
                    redactUntil = m[1];
                    if (regionSecrets.add(secret)) {
                        out.write(markers[secret], 0, markers[secret].length);
                    }
                }
                cursor = Math.max(cursor, redactUntil);
                return;
            }
            plainTo(m[0]);
            regionIn = m[0];
            regionOut = out.len;
            regionSecrets.clear();
            regionSecrets.add(secret);
            out.write(markers[secret], 0, markers[secret].length);
            redactUntil = m[1];
            cursor = m[1];
        }

        /** Writes the plain bytes from the cursor (past the redacted region) up to {@code to}. */
        private void plainTo(long to) {
            long from = Math.max(cursor, redactUntil);
            if (to > from) {
                out.write(data, (int) (from - base), (int) (to - from));
                cursor = to;
            } else {
                cursor = from;
            }
        }

        private static byte[] concat(byte[] a, byte[] b, int off, int n) {
            byte[] c = Arrays.copyOf(a, a.length + n);
            System.arraycopy(b, off, c, a.length, n);
            return c;
        }
    }

    /**
     * An output stream that writes what it is given, redacted, to the stream below: each write passes on at once
     * all but the bytes that may start a value, which wait for the next write or {@link #finish}. Not thread-safe
     * (one per output stream); {@link #close} finishes and closes the stream below.
     */
    public final class Stream extends OutputStream {
        private final OutputStream below;
        private final Run run = new Run();
        private boolean finished;

        private Stream(OutputStream below) {
            this.below = below;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int n) throws IOException {
            if (n == 0) {
                return;
            }
            if (isEmpty()) {
                below.write(b, off, n);
                return;
            }
            run.feed(b, off, n);
            drain();
        }

        /**
         * Passes on what was held back (a value cut short at the end masked); later writes pass through. A second
         * call does nothing.
         *
         * @throws IOException when the stream below cannot take the bytes
         */
        public synchronized void finish() throws IOException {
            if (!finished && !isEmpty()) {
                run.finish();
                drain();
            }
            finished = true;
        }

        private void drain() throws IOException {
            if (run.out.len > 0 && below != null) {
                below.write(run.out.buf, 0, run.out.len);
            }
            run.out.len = 0;
            if (run.out.buf.length > 1 << 20) {
                run.out.buf = new byte[256];
            }
        }

        @Override
        public void flush() throws IOException {
            if (below != null) {
                below.flush();
            }
        }

        @Override
        public void close() throws IOException {
            finish();
            if (below != null) {
                below.close();
            }
        }
    }
}
