package dev.davit.oci.containerfile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Containerfile syntax as Docker documents it: directives, comments, continuations, both command forms,
 * here-documents, ENV/LABEL/ARG pairs, flags; and what davit refuses, one line naming the line.
 */
class ContainerfileTest {
    private static Containerfile parse(String text) {
        return Containerfile.parse(text, "Containerfile");
    }

    @Test
    void everyInstructionIsReadWithItsLineAndForm() {
        Containerfile f = parse("""
                # syntax=docker/dockerfile:1
                ARG BASE=debian:12
                # a comment
                FROM --platform=linux/amd64 $BASE AS Build
                ENV A=1 B="two words" \\
                    C=3
                ENV LEGACY some value
                LABEL "org.example.x"="y z" k=v
                ARG VERSION NAME=davit
                WORKDIR /src
                COPY --from=build --chown=1000:1000 --chmod=0755 a b /dest/
                ADD ["x y.tar", "/opt/"]
                RUN apt-get update && \\
                  # comment inside a continuation
                
                  apt-get install -y git
                RUN ["sh", "-c", "echo hi"]
                USER app:app
                EXPOSE 8080/tcp 53/udp
                VOLUME ["/data", "/logs"]
                VOLUME /cache
                STOPSIGNAL SIGTERM
                SHELL ["/bin/bash", "-eu", "-c"]
                ENTRYPOINT ["/bin/app"]
                CMD --help
                """);
        assertThat(f.directives()).containsEntry("syntax", "docker/dockerfile:1");
        assertThat(f.escape()).isEqualTo('\\');
        List<Instruction> in = f.instructions();
        assertThat(in).extracting(Instruction::keyword).containsExactly("ARG", "FROM", "ENV", "ENV", "LABEL", "ARG",
                "WORKDIR", "COPY", "ADD", "RUN", "RUN", "USER", "EXPOSE", "VOLUME", "VOLUME", "STOPSIGNAL", "SHELL",
                "ENTRYPOINT", "CMD");
        assertThat(in).extracting(Instruction::line).startsWith(2, 4, 5, 7, 8, 9, 10, 11, 12, 13, 17);
        assertThat(in.get(1)).isEqualTo(new Instruction.From(4, "$BASE", "build", "linux/amd64"));
        Instruction.Pairs env = (Instruction.Pairs) in.get(2);
        assertThat(env.pairs()).extracting(Map.Entry::getKey).containsExactly("A", "B", "C");
        assertThat(Words.one(env.pairs().get(1).getValue(), '\\', n -> null)).isEqualTo("two words");
        assertThat(((Instruction.Pairs) in.get(3)).pairs().get(0)).isEqualTo(Map.entry("LEGACY", "some value"));
        assertThat(((Instruction.Pairs) in.get(4)).pairs()).extracting(Map.Entry::getKey)
                .containsExactly("org.example.x", "k");
        Instruction.Arg arg = (Instruction.Arg) in.get(5);
        assertThat(arg.args().get(0).getKey()).isEqualTo("VERSION");
        assertThat(arg.args().get(0).getValue()).isNull();
        assertThat(arg.args().get(1)).isEqualTo(Map.entry("NAME", "davit"));
        Instruction.Copy copy = (Instruction.Copy) in.get(7);
        assertThat(copy).isEqualTo(new Instruction.Copy(11, false, List.of("a", "b"), "/dest/", "build", "1000:1000",
                "0755", List.of(), null));
        Instruction.Copy add = (Instruction.Copy) in.get(8);
        assertThat(add.add()).isTrue();
        assertThat(add.sources()).containsExactly("x y.tar");
        assertThat(add.checksum()).isNull();
        Instruction.Copy fetched = (Instruction.Copy) parse("FROM scratch\nADD --checksum=sha256:" + "ab".repeat(32)
                + " https://example.com/x.tgz /opt/\n").instructions().get(1);
        assertThat(fetched.checksum()).isEqualTo("sha256:" + "ab".repeat(32));
        Instruction.Run run = (Instruction.Run) in.get(9);
        assertThat(run.command().exec()).isFalse();
        assertThat(run.command().shell()).isEqualTo("apt-get update &&   apt-get install -y git");
        assertThat(((Instruction.Run) in.get(10)).command()).isEqualTo(new Instruction.Command(true,
                List.of("sh", "-c", "echo hi")));
        assertThat(((Instruction.Values) in.get(12)).values()).containsExactly("8080/tcp", "53/udp");
        assertThat(((Instruction.Values) in.get(13)).json()).isTrue();
        assertThat(((Instruction.Shell) in.get(16)).shell()).containsExactly("/bin/bash", "-eu", "-c");
        assertThat(((Instruction.Exec) in.get(18)).command()).isEqualTo(new Instruction.Command(false,
                List.of("--help")));
    }

    @Test
    void hereDocumentsFollowTheirInstruction() {
        Containerfile f = parse("FROM scratch\n"
                + "RUN <<EOF\necho one\necho $HOME\nEOF\n"
                + "COPY <<-\"A\" <<B /etc/\n\tliteral $X\n\tA\nsecond\nB\n"
                + "CMD [\"true\"]\n");
        Instruction.Run run = (Instruction.Run) f.instructions().get(1);
        assertThat(run.heredocs()).containsExactly(new Instruction.Heredoc("EOF", "echo one\necho $HOME\n", true));
        Instruction.Copy copy = (Instruction.Copy) f.instructions().get(2);
        assertThat(copy.heredocs()).containsExactly(new Instruction.Heredoc("A", "literal $X\n", false),
                new Instruction.Heredoc("B", "second\n", true));
        assertThat(copy.sources()).containsExactly("<<-\"A\"", "<<B");
        assertThat(copy.dest()).isEqualTo("/etc/");
        assertThat(f.instructions().get(3).line()).isEqualTo(11);
    }

    @Test
    void theEscapeDirectiveChangesTheContinuationCharacter() {
        Containerfile f = parse("# escape=`\nFROM scratch\nRUN echo a `\n  b\\c\n");
        assertThat(f.escape()).isEqualTo('`');
        assertThat(((Instruction.Run) f.instructions().get(1)).command().shell()).isEqualTo("echo a   b\\c");
        // a directive after the first instruction is a comment
        assertThat(parse("FROM scratch\n# escape=`\nRUN a \\\n b\n").instructions()).hasSize(2);
    }

    /** HEALTHCHECK's forms and options as Docker's config holds them; ONBUILD's trigger as written, checked. */
    @Test
    void healthcheckAndOnbuildAreParsed() {
        List<Instruction> list = Containerfile.parse("""
                FROM x
                HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1.5s --retries=3 \\
                    CMD curl -f http://localhost/ || exit 1
                HEALTHCHECK CMD ["/bin/check", "--quick"]
                HEALTHCHECK NONE
                ONBUILD COPY . /app/
                """, "Containerfile").instructions();
        Instruction.Healthcheck h = (Instruction.Healthcheck) list.get(1);
        assertThat(h.test()).containsExactly("CMD-SHELL", "curl -f http://localhost/ || exit 1");
        assertThat(h.interval()).isEqualTo(java.time.Duration.ofSeconds(90));
        assertThat(h.timeout()).isEqualTo(java.time.Duration.ofMillis(500));
        assertThat(h.startPeriod()).isEqualTo(java.time.Duration.ofSeconds(2));
        assertThat(h.startInterval()).isEqualTo(java.time.Duration.ofMillis(1500));
        assertThat(h.retries()).isEqualTo(3);
        assertThat(((Instruction.Healthcheck) list.get(2)).test()).containsExactly("CMD", "/bin/check", "--quick");
        assertThat(((Instruction.Healthcheck) list.get(3)).test()).containsExactly("NONE");
        assertThat(((Instruction.OnBuild) list.get(4)).trigger()).isEqualTo("COPY . /app/");
        for (List<String> c : List.of(
                List.of("HEALTHCHECK --interval=10 CMD true", "takes a duration of at least 1ms"),
                List.of("HEALTHCHECK --timeout=0s CMD true", "takes a duration of at least 1ms"),
                List.of("HEALTHCHECK --retries=x CMD true", "--retries takes a number"),
                List.of("HEALTHCHECK --bogus=1 CMD true", "HEALTHCHECK --bogus is not supported by davit"),
                List.of("HEALTHCHECK curl x", "HEALTHCHECK takes CMD and a command, or NONE"),
                List.of("HEALTHCHECK --retries=1 NONE", "HEALTHCHECK NONE takes no options"),
                List.of("ONBUILD ONBUILD RUN x", "ONBUILD ONBUILD is not allowed"),
                List.of("ONBUILD FROM x", "ONBUILD FROM is not allowed"),
                List.of("ONBUILD COPY onlyone", "COPY takes at least one source and a destination"))) {
            assertThatThrownBy(() -> Containerfile.parse("FROM x\n" + c.get(0) + "\n", "Containerfile"))
                    .as(c.get(0)).hasMessageStartingWith("Containerfile:2: ").hasMessageContaining(c.get(1));
        }
    }

    @Test
    void wordsExpandAsABuildDoes() {
        Map<String, String> vars = Map.of("A", "1", "EMPTY", "", "P", "/opt");
        java.util.function.Function<String, String> v = vars::get;
        assertThat(Words.split("$A ${A}x ${UNSET:-d} ${EMPTY:-e} ${EMPTY-e} ${A:+s} ${UNSET+s} '$A' \"$A b\" \\$A",
                '\\', v)).containsExactly("1", "1x", "d", "e", "", "s", "", "$A", "1 b", "$A");
        assertThat(Words.one("${P}/bin", '\\', v)).isEqualTo("/opt/bin");
        assertThat(Words.split("a\\ b c", '\\', v)).containsExactly("a b", "c");
        assertThat(Words.one("\"quoted \\\"in\\\" $A\"", '\\', v)).isEqualTo("quoted \"in\" 1");
        assertThat(Words.one("$ alone, $5", '\\', v)).isEqualTo("$ alone, $5");
        // an unquoted here-document of COPY: variables only, quotes and escapes as written
        assertThat(Words.expandVariables("echo \"$A\" '${P}' \\$A ${UNSET:-d}\n", '\\', v)).isEqualTo(
                "echo \"1\" '${P}' \\$A d\n");
        assertThat(Words.expandVariables("$A isn't $A\n", '\\', v)).isEqualTo("1 isn't $A\n");
        assertThatThrownBy(() -> Words.one("${A%x}", '\\', v)).hasMessageContaining("unsupported modifier");
        assertThatThrownBy(() -> Words.one("'open", '\\', v)).hasMessageContaining("unterminated");
        assertThatThrownBy(() -> Words.one("${A", '\\', v)).hasMessageContaining("missing '}'");
    }

    /** RUN --mount as BuildKit reads it: repeated, its other spellings as one, type bind when not given. */
    @Test
    void runMountsAreReadAsBuildKitReadsThem() {
        Instruction.Run r = (Instruction.Run) parse("FROM scratch\nRUN --mount=type=cache,dst=/root/.cache,ro"
                + " --network=none --mount=src=go.mod,target=/src/go.mod --mount=type=secret,id=tok,env=TOK make\n")
                .instructions().get(1);
        assertThat(r.network()).isEqualTo("none");
        assertThat(r.mounts()).extracting(Instruction.RunMount::type).containsExactly("cache", "bind", "secret");
        assertThat(r.mounts().get(0).options()).containsExactly(Map.entry("target", "/root/.cache"),
                Map.entry("readonly", "true"));
        assertThat(r.mounts().get(1).options()).containsExactly(Map.entry("source", "go.mod"),
                Map.entry("target", "/src/go.mod"));
        assertThat(r.mounts().get(2).text()).isEqualTo("type=secret,id=tok,env=TOK");
        assertThat(r.command().shell()).isEqualTo("make");
    }

    @Test
    void whatDavitDoesNotBuildIsOneLineNamingTheLine() {
        for (var c : List.of(
                List.of("FROM scratch\nMAINTAINER me\n", "Containerfile:2: MAINTAINER is not supported"),
                List.of("FROM scratch\nCOPY --exclude= a b\n", "COPY --exclude takes a pattern"),
                List.of("FROM scratch\nCOPY --parents=maybe a b\n", "COPY --parents takes no value"),
                List.of("FROM scratch\nADD --parents a b\n", "ADD --parents is not supported"),
                List.of("FROM scratch\nRUN --mount=from=$B,target=/x make\n", "not a variable"),
                List.of("FROM scratch\nRUN --mount=type=ssh make\n", "Containerfile:2: RUN --mount=type=ssh is not"
                        + " supported"),
                List.of("FROM scratch\nRUN --mount=type=nfs,target=/x make\n", "type 'nfs' is not known"),
                List.of("FROM scratch\nRUN --mount=type=cache,target=/x,bogus=1 make\n", "option 'bogus' is not"
                        + " supported"),
                List.of("FROM scratch\nRUN --mount=type=tmpfs,size=1m make\n", "needs a target"),
                List.of("FROM scratch\nRUN --mount=type=cache,target=/x,sharing=odd make\n", "sharing is shared,"
                        + " private or locked"),
                List.of("FROM scratch\nRUN --mount=type=secret make\n", "needs an id"),
                List.of("FROM scratch\nRUN --mount=type=bind,target=/x,ro=maybe make\n", "is true or false"),
                List.of("FROM scratch\nRUN --mount=\"type=bind,target=/x make\n", "unclosed double quote"),
                List.of("FROM scratch\nRUN --network=host make\n", "RUN with the network 'host' is not supported"),
                List.of("FROM scratch\nFETCH x\n", "Containerfile:2: unknown instruction FETCH"),
                List.of("RUN true\n", "Containerfile:1: the first instruction (after ARGs) must be FROM"),
                List.of("# only a comment\n", "no instructions"),
                List.of("FROM scratch\nRUN <<EOF\nnever ends\n", "Containerfile:2: the here-document <<EOF"),
                List.of("FROM scratch\nSHELL /bin/sh\n", "SHELL takes a JSON array"),
                List.of("FROM a b\n", "FROM takes an image"),
                List.of("FROM a AS 9x\n", "is not a stage name"),
                List.of("FROM scratch\nENV 1A=x\n", "is not a variable name"),
                List.of("FROM scratch\nCOPY onlyone\n", "COPY takes at least one source"),
                List.of("FROM scratch\nADD --from=x a b\n", "ADD --from is not supported"),
                List.of("FROM scratch\nADD --checksum=md5:ab http://x/a b\n", "ADD --checksum takes sha256:"),
                List.of("FROM scratch\nCOPY --checksum=sha256:" + "0".repeat(64) + " a b\n", "COPY --checksum"),
                List.of("# escape=x\nFROM scratch\n", "the escape directive takes"),
                List.of("# escape=\\\n# escape=`\nFROM scratch\n", "given twice"))) {
            assertThatThrownBy(() -> parse(c.get(0))).as(c.get(0)).isInstanceOf(DavitException.class)
                    .hasMessageContaining(c.get(1)).satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"))
                    .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
        }
    }
}
