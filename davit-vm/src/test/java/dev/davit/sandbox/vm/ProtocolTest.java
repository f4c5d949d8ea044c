package dev.davit.sandbox.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The agent protocol's framing, without a VM. */
class ProtocolTest {
    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aRunRequestIsOneLineOfFields() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/bin");
        env.put("EMPTY", "");
        String line = Protocol.run("r1", 1500, "/work dir", env, List.of("sh", "-c", "echo 'a b'\nexit 3", ""));
        assertThat(line).endsWith("\n").doesNotContain("\r");
        assertThat(line.indexOf('\n')).isEqualTo(line.length() - 1);
        String[] f = line.strip().split(" ");
        assertThat(f).hasSize(6);
        assertThat(List.of(f).subList(0, 5)).containsExactly("run", "r1", "1500", "2", "4");
        assertThat(new String(Base64.getDecoder().decode(f[5]), StandardCharsets.UTF_8)).isEqualTo(
                "'/work dir' 'PATH=/bin' 'EMPTY=' 'sh' '-c' 'echo '\\''a b'\\''\nexit 3' ''");
    }

    @Test
    void aSpawnRequestCarriesItsDirectoryTerminalAndWords() {
        String line = Protocol.spawn("s1", "/.davit/procs/k", "/dev/hvc0", "/workspace", Map.of("A", "1"),
                List.of("sh", "-i"));
        String[] f = line.strip().split(" ");
        assertThat(f).hasSize(7);
        assertThat(f[0]).isEqualTo("spawn");
        assertThat(f[1]).isEqualTo("s1");
        assertThat(new String(Base64.getDecoder().decode(f[2]), StandardCharsets.UTF_8)).isEqualTo("/.davit/procs/k");
        assertThat(new String(Base64.getDecoder().decode(f[3]), StandardCharsets.UTF_8)).isEqualTo("/dev/hvc0");
        assertThat(List.of(f).subList(4, 6)).containsExactly("1", "2");
        assertThat(new String(Base64.getDecoder().decode(f[6]), StandardCharsets.UTF_8)).isEqualTo(
                "'/workspace' 'A=1' 'sh' '-i'");
        assertThat(Protocol.spawn("s2", "/d", null, "/", Map.of(), List.of("true")).split(" ")[3]).isEqualTo("-");
        assertThat(Protocol.parse("started s1 42")).isEqualTo(new Protocol.Started("s1", 42));
        assertThatThrownBy(() -> Protocol.parse("started s1 -1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Protocol.parse("started s1")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void quotingIsPosixSingleQuotes() {
        assertThat(Protocol.quote("")).isEqualTo("''");
        assertThat(Protocol.quote("it's")).isEqualTo("'it'\\''s'");
        assertThat(Protocol.quote("$HOME `x` \\ *")).isEqualTo("'$HOME `x` \\ *'");
    }

    @Test
    void requestsRefuseWhatCannotBeSent() {
        assertThatThrownBy(() -> Protocol.run("r1", 0, "/", Map.of(), List.of("a\0b")))
                .isInstanceOf(DavitException.class).hasMessageContaining("NUL");
        assertThatThrownBy(() -> Protocol.run("r 1", 0, "/", Map.of(), List.of("true")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Protocol.run("r1", 0, "/", Map.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(Protocol.ping("abc")).isEqualTo("ping abc\n");
        assertThat(Protocol.sync("abc")).isEqualTo("sync abc\n");
    }

    @Test
    void answersCarryBinaryOutput() {
        byte[] out = new byte[256];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) i;
        }
        String line = "exit r1 3 0 " + Protocol.field(out) + " -";
        Protocol.Exit e = (Protocol.Exit) Protocol.parse(line);
        assertThat(e.id()).isEqualTo("r1");
        assertThat(e.code()).isEqualTo(3);
        assertThat(e.timedOut()).isFalse();
        assertThat(e.stdout()).isEqualTo(out);
        assertThat(e.stderr()).isEmpty();
        Protocol.Exit t = (Protocol.Exit) Protocol.parse("exit r2 124 1 - " + b64("x\n"));
        assertThat(t.timedOut()).isTrue();
        assertThat(t.stderr()).isEqualTo("x\n".getBytes(StandardCharsets.UTF_8));
        assertThat(Protocol.parse("pong r3")).isEqualTo(new Protocol.Pong("r3"));
        assertThat(Protocol.parse("synced r4")).isEqualTo(new Protocol.Synced("r4"));
        assertThat(Protocol.parse("error r5 workdir " + b64("no /x")))
                .isEqualTo(new Protocol.Failure("r5", "workdir", "no /x"));
        assertThat(Protocol.parse("ran r6 3 0 5000000000 0")).isEqualTo(new Protocol.Ran("r6", 3, false,
                5_000_000_000L, 0));
        assertThat(Protocol.parse("ran r7 124 1 0 12")).isEqualTo(new Protocol.Ran("r7", 124, true, 0, 12));
    }

    @Test
    void errorMessagesFromTheGuestArePrintableOneLineAndShort() {
        Protocol.Failure f = (Protocol.Failure) Protocol.parse("error r1 failed "
                + b64("line one\nline two \u001b[31mred\u001b[0m \u202Eevil" + "x".repeat(5000)));
        assertThat(f.message()).startsWith("line one line two ?[31mred?[0m ?evil").hasSizeLessThanOrEqualTo(
                Protocol.MAX_MESSAGE + 3);
        dev.davit.oci.ErrorAssert.assertOneLine(f.message());
        for (String bad : List.of("error r1 Failed -", "error r1 fa-iled -", "error r1 " + "a".repeat(17) + " -",
                "error r1  -")) {
            assertThatThrownBy(() -> Protocol.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void malformedAnswersAreRejected() {
        for (String bad : List.of("", "pong", "pong r1 extra", "exit r1 3 0 -", "exit r1 x 0 - -", "exit r1 300 0 - -",
                "exit r1 3 2 - -", "exit r1 3 0 !!! -", "exit r1 3 0 QUJD\n -", "exit r1 3 0  -", "hello r1",
                "pong r/1", "ran r1 3 0 1", "ran r1 3 0 -1 0", "ran r1 3 0 1 1234567890123456", "ran r1 256 0 0 0",
                "ran r1 3 0 0x1 0", "ran r1 3 0 0 0 0", "pong " + "a".repeat(33))) {
            assertThatThrownBy(() -> Protocol.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void dataFieldsRoundTrip() {
        for (String s : List.of("", "a", "ab", "abc", "line\nbreak", "ünïcödé", " spaces  ")) {
            assertThat(new String(Protocol.unfield(Protocol.field(s)), StandardCharsets.UTF_8)).isEqualTo(s);
            assertThat(Protocol.field(s)).doesNotContain(" ", "\n");
        }
        assertThat(Protocol.field("")).isEqualTo("-");
        assertThat(Protocol.newId()).matches("[0-9a-f]{12}");
    }
    @Test
    void fileVerbsCarryPathsAsDataFieldsAndDataAnswersAnnounceTheirLength() {
        assertThat(Protocol.put("p1", "/workspace.new", 10240)).isEqualTo("put p1 " + b64("/workspace.new")
                + " 10240\n");
        assertThat(Protocol.read("r1", "/workspace/a b\tc", 0)).isEqualTo("read r1 " + b64("/workspace/a b\tc")
                + " 0\n");
        assertThat(Protocol.rm("m1", List.of("/a", "/b c")).strip().split(" ")).containsExactly("rm", "m1",
                b64("/a"), b64("/b c"));
        assertThat(Protocol.swap("s1", "/w", "/w.new", "/w.old").strip().split(" ")).hasSize(5);
        assertThatThrownBy(() -> Protocol.get("g1", "relative")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Protocol.mv("g1", "/a", "/b\nc")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Protocol.parse("data d1 5000000000 10")).isEqualTo(new Protocol.Data("d1", 5_000_000_000L, 10));
        assertThat(Protocol.parse("done d1")).isEqualTo(new Protocol.Done("d1"));
        for (String bad : List.of("data d1 -1 2", "data d1 1", "data d1 1 x", "done d1 extra")) {
            assertThatThrownBy(() -> Protocol.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
