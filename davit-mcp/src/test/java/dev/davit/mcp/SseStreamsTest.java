package dev.davit.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The HTTP door's resumable SSE streams: what a stream's connection gets, what a resumed one gets, and the bounds a
 * client cannot push past (streams, characters held, time kept), on a clock the test moves.
 */
class SseStreamsTest {
    private final AtomicLong now = new AtomicLong();
    private final SseStreams streams = new SseStreams(now::get);

    private static PrintWriter nowhere() {
        return new PrintWriter(Writer.nullWriter());
    }

    /** Writes {@code text} as the SDK's servlet does, to a stream. */
    private static void sdkWrites(SseStreams.Stream s, String text) {
        PrintWriter w = new PrintWriter(new SseStreams.Events(s));
        w.write(text);
        w.flush();
    }

    @Test
    void aStreamIsPrimedNumberedAndResumedAfterTheLastEventSeen() {
        StringWriter first = new StringWriter();
        SseStreams.Stream s = streams.open("sess", new PrintWriter(first), true, true);
        sdkWrites(s, "id: x\nevent: message\ndata: {\"a\":1}\n\n");
        sdkWrites(s, "id: x\nevent: message\ndata: {\"b\":2}\n\nid: x\nevent: mes");
        sdkWrites(s, "sage\ndata: {\"c\":3}\n\n");
        String id = first.toString().substring(4, first.toString().indexOf('\n'));
        String stream = id.substring(0, id.length() - 2);
        assertThat(first.toString()).isEqualTo("id: " + stream + "-0\nretry: 1000\ndata:\n\n"
                + "id: " + stream + "-1\nevent: message\ndata: {\"a\":1}\n\n"
                + "id: " + stream + "-2\nevent: message\ndata: {\"b\":2}\n\n"
                + "id: " + stream + "-3\nevent: message\ndata: {\"c\":3}\n\n");
        long[] seq = new long[1];
        assertThat(streams.find("other", stream + "-1", seq)).isNull();
        assertThat(streams.find("sess", stream + "-9", seq)).isNull();
        assertThat(streams.find("sess", "nosuch-1", seq)).isNull();
        assertThat(streams.find("sess", stream + "-1", seq)).isSameAs(s);
        StringWriter resumed = new StringWriter();
        s.resume(seq[0], new PrintWriter(resumed), null);
        sdkWrites(s, "data: {\"d\":4}\n\n");
        assertThat(resumed.toString()).isEqualTo("id: " + stream + "-2\nevent: message\ndata: {\"b\":2}\n\n"
                + "id: " + stream + "-3\nevent: message\ndata: {\"c\":3}\n\n"
                + "id: " + stream + "-4\nevent: message\ndata: {\"d\":4}\n\n");
        assertThat(first.toString()).doesNotContain("\"d\"");
        StringWriter unprimed = new StringWriter();
        streams.open("sess", new PrintWriter(unprimed), false, false);
        assertThat(unprimed.toString()).isEmpty();
    }

    @Test
    void aStreamEndedLongerAgoThanKeptIsDropped() {
        SseStreams.Stream s = streams.open("sess", nowhere(), true, false);
        sdkWrites(s, "data: {\"a\":1}\n\n");
        s.end();
        String id = idOf(s, streams);
        now.addAndGet(SseStreams.KEEP_MILLIS);
        long[] seq = new long[1];
        assertThat(streams.find("sess", id + "-1", seq)).isSameAs(s);
        now.incrementAndGet();
        assertThat(streams.find("sess", id + "-1", seq)).isNull();
        assertThat(streams.heldChars()).isZero();
        assertThat(streams.heldStreams()).isZero();
    }

    @Test
    void noClientHoldsMoreThanTheBoundsHowEverManyStreamsOrEventsItMakes() {
        String event = "data: {\"x\":\"" + "y".repeat(1 << 20) + "\"}\n\n"; // about 1 MiB
        for (int i = 0; i < 3 * SseStreams.MAX_STREAMS; i++) { // streams that never end (GET streams)
            SseStreams.Stream s = streams.open("sess" + i, nowhere(), true, true);
            if (i % 8 == 0) {
                sdkWrites(s, event);
            }
            assertThat(streams.heldStreams()).isLessThanOrEqualTo(SseStreams.MAX_STREAMS);
            assertThat(streams.heldChars()).isLessThanOrEqualTo(SseStreams.MAX_CHARS);
        }
        SseStreams.Stream one = streams.open("one", nowhere(), true, true);
        for (int i = 0; i < 64; i++) { // one stream of 64 MiB
            sdkWrites(one, event);
            assertThat(streams.heldChars()).isLessThanOrEqualTo(SseStreams.MAX_CHARS);
        }
        assertThat(one.dropped()).isTrue(); // past the bound: it went on to its connection, but cannot be resumed
        streams.drop("one");
        assertThat(streams.heldStreams()).isLessThanOrEqualTo(SseStreams.MAX_STREAMS);
    }

    /** The stream part of {@code s}'s event ids (the only stream of its session). */
    private static String idOf(SseStreams.Stream s, SseStreams streams) {
        for (long n = 1; n < 1000; n++) {
            String id = Long.toString(n, 36);
            if (streams.find("sess", id + "-0", new long[1]) == s) {
                return id;
            }
        }
        throw new AssertionError("no id");
    }
}
