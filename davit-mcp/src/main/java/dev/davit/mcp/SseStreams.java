package dev.davit.mcp;

import jakarta.servlet.AsyncContext;
import java.io.PrintWriter;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The HTTP door's SSE streams, resumable: every event the server sends on a stream (a POST's answer, the GET stream)
 * gets an id {@code STREAM-N} and is kept, so a client whose connection dropped reconnects with {@code GET} and
 * {@code Last-Event-ID} and gets what it missed, then the rest of the stream as it comes (the answer of a
 * {@code tools/call} still running). The SDK 1.1 keeps no events ({@code replay} is empty), so this sits between its
 * servlet and the connection: the SDK writes to a stream that never fails, the stream writes on to the connection
 * while it lasts.
 *
 * <p>Bounded whatever a client does: at most {@link #MAX_CHARS} characters of event data and {@link #MAX_STREAMS}
 * streams are held in all (past either, the oldest streams are dropped, a stream still running included: it then
 * goes on to its connection but cannot be resumed), and a stream's events are dropped {@link #KEEP_MILLIS} after it
 * ended.
 */
final class SseStreams {
    /** The event data held in all, in characters (of JSON: mostly one byte each). */
    static final long MAX_CHARS = 32L << 20;
    /** The streams held in all. */
    static final int MAX_STREAMS = 256;
    /** How long an ended stream's events are kept: 5 minutes. */
    static final long KEEP_MILLIS = 5 * 60_000L;
    /** The reconnection delay a stream announces ({@code retry:}), in milliseconds. */
    static final int RETRY_MILLIS = 1000;

    private final LongSupplier clock;
    private final AtomicLong ids = new AtomicLong();
    private final LinkedHashMap<String, Stream> streams = new LinkedHashMap<>();
    private long bytes;

    SseStreams(LongSupplier clock) {
        this.clock = clock;
    }

    /**
     * A new stream of {@code session} writing to {@code connection}; with {@code prime}, its first event (an id and
     * empty data, with {@code retry:} when {@code retry}) is written at once, so that a client can resume it before
     * the first message.
     */
    Stream open(String session, PrintWriter connection, boolean prime, boolean retry) {
        Stream s = new Stream(Long.toString(ids.incrementAndGet(), 36), session, connection);
        synchronized (this) {
            sweep();
            streams.put(s.id, s);
            trim();
        }
        if (prime) {
            s.prime(retry);
        }
        return s;
    }

    /**
     * The stream of {@code session} that sent event {@code lastEventId}, or null when none is held (never sent, or
     * dropped: ended too long ago, or past the bounds); {@code seq} gets the event's number.
     */
    synchronized Stream find(String session, String lastEventId, long[] seq) {
        sweep();
        int dash = lastEventId.lastIndexOf('-');
        if (dash < 1) {
            return null;
        }
        Stream s = streams.get(lastEventId.substring(0, dash));
        if (s == null || !s.session.equals(session)) {
            return null;
        }
        try {
            seq[0] = Long.parseLong(lastEventId.substring(dash + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        return seq[0] >= 0 && seq[0] <= s.next ? s : null;
    }

    /** Drops the streams of {@code session} (it was deleted). */
    synchronized void drop(String session) {
        for (Iterator<Stream> it = streams.values().iterator(); it.hasNext(); ) {
            Stream s = it.next();
            if (s.session.equals(session)) {
                it.remove();
                forget(s);
            }
        }
    }

    /** How many characters of event data are held (for tests). */
    synchronized long heldChars() {
        return bytes;
    }

    /** How many streams are held (for tests). */
    synchronized int heldStreams() {
        return streams.size();
    }

    private void sweep() {
        long now = clock.getAsLong();
        for (Iterator<Stream> it = streams.values().iterator(); it.hasNext(); ) {
            Stream s = it.next();
            if (s.endedAt >= 0 && now - s.endedAt > KEEP_MILLIS) {
                it.remove();
                forget(s);
            }
        }
    }

    private void trim() {
        for (Iterator<Stream> it = streams.values().iterator();
             it.hasNext() && (bytes > MAX_CHARS || streams.size() > MAX_STREAMS); ) {
            Stream s = it.next();
            it.remove();
            forget(s);
        }
    }

    private void forget(Stream s) {
        synchronized (s) {
            bytes -= s.bytes;
            s.bytes = 0;
            s.events.clear();
            s.dropped = true;
            s.finish(); // a connection that resumed it ends: it can be resumed no more
        }
    }

    private synchronized void held(Stream s, long more) {
        if (s.dropped) {
            return;
        }
        bytes += more;
        trim();
    }

    /** One SSE stream: its events, and the connection it goes to (the first, or the one that resumed it). */
    final class Stream {
        private final String id;
        private final String session;
        private final List<String> events = new ArrayList<>(); // events[i] is the data of event i + 1
        private PrintWriter connection;
        private AsyncContext resumed;
        private long next;
        private long bytes;
        private long endedAt = -1;
        private boolean dropped;

        private Stream(String id, String session, PrintWriter connection) {
            this.id = id;
            this.session = session;
            this.connection = connection;
        }

        private synchronized void prime(boolean retry) {
            send(id + "-0", retry ? "retry: " + RETRY_MILLIS + "\n" : "", null);
        }

        /** Sends and keeps one message (JSON-RPC, one line) of the stream. */
        void message(String json) {
            long size;
            synchronized (this) {
                next++;
                size = dropped ? 0 : json.length();
                if (!dropped) {
                    events.add(json);
                    bytes += size;
                }
                send(id + "-" + next, "event: message\n", json);
            }
            held(this, size);
        }

        /** The stream has ended (its answer was sent): a connection that resumed it is closed. */
        synchronized void end() {
            endedAt = clock.getAsLong();
            finish();
        }

        /**
         * Sends the events after number {@code after} to {@code to} and makes it the stream's connection; a stream
         * already ended then ends {@code async} at once.
         */
        synchronized void resume(long after, PrintWriter to, AsyncContext async) {
            finish(); // an earlier resumed connection is done
            connection = to;
            resumed = async;
            long first = next - events.size() + 1; // dropped streams hold no events: nothing is replayed
            for (long n = Math.max(after + 1, first); n <= next && connection != null; n++) {
                send(id + "-" + n, "event: message\n", events.get((int) (n - first)));
            }
            if (endedAt >= 0) {
                finish();
            }
        }

        /** Whether the stream's events are no longer held. */
        synchronized boolean dropped() {
            return dropped;
        }

        private void finish() {
            if (resumed != null) {
                try {
                    resumed.complete();
                } catch (IllegalStateException gone) {
                    // the connection ended already
                }
                resumed = null;
                connection = null;
            }
        }

        private void send(String eventId, String fields, String data) {
            if (connection == null) {
                return;
            }
            connection.write("id: " + eventId + "\n" + fields + (data == null ? "data:\n\n" : "data: " + data
                    + "\n\n"));
            connection.flush();
            if (connection.checkError()) { // the client went away: the events wait for it to resume
                connection = null;
                resumed = null;
            }
        }
    }

    /**
     * What the SDK's servlet writes on an SSE stream ({@code id: …}, {@code event: message}, {@code data: JSON},
     * blank line): each event's data goes to {@code stream}, which numbers, keeps and sends it. Never fails.
     */
    static final class Events extends Writer {
        private final Stream stream;
        private final StringBuilder pending = new StringBuilder();

        Events(Stream stream) {
            this.stream = stream;
        }

        @Override
        public synchronized void write(char[] buf, int off, int len) {
            pending.append(buf, off, len);
            for (int end; (end = pending.indexOf("\n\n")) >= 0; ) {
                String event = pending.substring(0, end);
                pending.delete(0, end + 2);
                StringBuilder data = new StringBuilder();
                for (String line : event.split("\n")) {
                    if (line.startsWith("data:")) {
                        data.append(data.isEmpty() ? "" : "\n").append(line.substring(line.startsWith("data: ")
                                ? 6 : 5));
                    }
                }
                if (!data.isEmpty()) { // an Internal error's words are the SDK's exception's: replaced
                    stream.message(CancelTap.internal(data.toString()));
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

}
