package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code davit build --file}: a Containerfile over an image of a real registry, built with a build argument and its
 * context, then run; the flags that go with --file alone, and a Containerfile davit refuses, are exit 2 in one line.
 */
class BuildContainerfileCliTest extends BusyboxRegistryTest {
    @Test
    void aContainerfileIsBuiltAndRuns() throws Exception {
        Path ctx = Files.createDirectories(home.resolve("ctx"));
        Files.writeString(ctx.resolve("greeting.txt"), "from the context\n");
        Path file = ctx.resolve("Containerfile");
        Files.writeString(file, "# syntax=docker/dockerfile:1\nFROM " + image + "\nARG WHO=nobody\n"
                + "COPY greeting.txt /g.txt\nRUN echo \"built for $WHO\" >> /g.txt\nCMD [\"cat\", \"/g.txt\"]\n");
        Cli cli = new Cli(home);
        Cli.Result human = cli.run("build", "--file", file.toString(), ctx.toString(), "localhost/test/cf:0");
        assertThat(human.rc()).as(human.toString()).isZero();
        assertThat(human.stderr()).contains("'# syntax' directive is ignored", "STEP 1/5: FROM ", "STEP 4/5: RUN");
        assertThat(human.stdout()).startsWith("localhost/test/cf:0@sha256:").endsWith("(5 steps)\n");
        Cli.Result r = cli.run("--json", "build", "--file", file.toString(), "--build-arg", "WHO=ci", ctx.toString(),
                "localhost/test/cf:1");
        assertThat(r.rc()).as(r.toString()).isZero();
        JsonNode doc = r.json();
        assertThat(doc.get("reference").asText()).isEqualTo("localhost/test/cf:1");
        assertThat(doc.get("steps")).hasSize(5);
        Cli.Result ran = cli.run("run", "localhost/test/cf:1");
        assertThat(ran.rc()).as(ran.toString()).isZero();
        assertThat(ran.stdout()).isEqualTo("from the context\nbuilt for ci\n");

        String other = dev.davit.oci.manifest.Platform.host().architecture().equals("arm64") ? "linux/amd64"
                : "linux/arm64";
        Cli.Result foreign = cli.run("build", "--file", file.toString(), "--platform", other, ctx.toString(),
                "localhost/test/x:1");
        assertThat(foreign.rc()).isEqualTo(2);
        assertThat(foreign.stderr().strip()).startsWith("davit: error: --platform " + other + " is not this host's")
                .endsWith("drop --platform").doesNotContain("\n");
        Cli.Result stray = cli.run("build", "--build-arg", "A=1", ctx.toString(), "localhost/test/x:1");
        assertThat(stray.rc()).isEqualTo(2);
        assertThat(stray.stderr()).contains("go with --file");
        Files.writeString(file, "FROM " + image + "\nMAINTAINER someone\n");
        Cli.Result refused = cli.run("build", "--file", file.toString(), ctx.toString(), "localhost/test/x:1");
        assertThat(refused.rc()).isEqualTo(2);
        assertThat(refused.stderr().strip()).isEqualTo("davit: error: Containerfile:2: MAINTAINER is not supported by"
                + " davit; remove it (use LABEL maintainer=...)");
        // an ADD of a URL with no network: the fix in the CLI's words, and nothing is asked of anyone
        Files.writeString(file, "FROM " + image + "\nADD http://127.0.0.1:9/x.txt /x.txt\n");
        Cli.Result fetch = cli.run("build", "--file", file.toString(), ctx.toString(), "localhost/test/x:1");
        assertThat(fetch.rc()).isEqualTo(2);
        assertThat(fetch.stderr().strip().lines().toList().getLast()).isEqualTo("davit: error: Containerfile:2: ADD http://127.0.0.1:9/x.txt is"
                + " fetched through the build's network, and the build has none: allow its host (--allow-host) or"
                + " give it --network, or put the file in the build context and COPY it");
    }

    /** --secret gives a RUN --mount=type=secret its value from a file; a bad or unset one is exit 2 in one line. */
    @Test
    void aSecretFromAFileIsReadByTheRunAndBadOnesAreOneLine() throws Exception {
        Path ctx = Files.createDirectories(home.resolve("ctx-secret"));
        Path token = Files.writeString(home.resolve("token"), "tok-Value-42");
        Path file = ctx.resolve("Containerfile");
        Files.writeString(file, "FROM " + image + "\nRUN --mount=type=secret,id=tok,required wc -c"
                + " < /run/secrets/tok > /n\nCMD [\"cat\", \"/n\"]\n");
        Cli cli = new Cli(home);
        Cli.Result built = cli.run("build", "--file", file.toString(), "--secret", "id=tok,src=" + token,
                ctx.toString(), "localhost/test/secret:1");
        assertThat(built.rc()).as(built.toString()).isZero();
        assertThat(built.toString()).doesNotContain("tok-Value-42");
        assertThat(cli.run("run", "localhost/test/secret:1").stdout().strip()).isEqualTo("12");
        for (var c : java.util.List.of(
                java.util.List.of("id=tok,src=" + home.resolve("missing"), "cannot read the file"),
                java.util.List.of("id=tok,env=DAVIT_TEST_UNSET_VARIABLE", "DAVIT_TEST_UNSET_VARIABLE, which is not"
                        + " set"),
                java.util.List.of("src=" + token, "--secret takes id=ID"))) {
            Cli.Result bad = cli.run("build", "--file", file.toString(), "--secret", c.get(0), ctx.toString(),
                    "localhost/test/secret:2");
            assertThat(bad.rc()).as(bad.toString()).isEqualTo(2);
            assertThat(bad.stderr().strip()).startsWith("davit: error: ").contains(c.get(1)).doesNotContain("\n");
        }
        // a step the cache has needs no secret (as BuildKit: only a step that runs reads it); one that runs does
        assertThat(cli.run("build", "--file", file.toString(), ctx.toString(), "localhost/test/secret:3").rc())
                .isZero();
        Cli.Result missing = cli.run("build", "--file", file.toString(), "--no-cache", ctx.toString(),
                "localhost/test/secret:3");
        assertThat(missing.rc()).as(missing.toString()).isEqualTo(2);
        assertThat(missing.stderr().strip().lines().toList().getLast()).contains("needs the build secret tok");
    }

    /**
     * A local catalog's environment built from a Containerfile (source.build containerfile:PATH, relative to the
     * catalog): the first 'davit run' of it builds and installs it, the next one only runs; 'env build' builds it
     * again at its catalog version, its RUN steps from the build cache; a catalog read from elsewhere may not name one.
     */
    @Test
    void aCatalogEnvironmentIsBuiltFromItsContainerfileOnFirstRun() throws Exception {
        Path proj = Files.createDirectories(home.resolve("catalogs/proj"));
        Files.writeString(proj.resolve("tool.sh"), "#!/bin/sh\necho the project tool\n");
        Files.writeString(proj.resolve("Containerfile"), "FROM " + image + "\nCOPY tool.sh /usr/local/bin/tool\n"
                + "RUN chmod 0755 /usr/local/bin/tool && echo ran > /ran\n");
        Path catalog = home.resolve("catalogs/catalog.json");
        Files.writeString(catalog, """
                {"schemaVersion":1,"version":"t","environments":[
                 {"name":"proj:dev","version":"2","kind":"container","description":"the project's toolchain",
                  "platform":"linux/amd64",
                  "source":{"build":"containerfile:proj/Containerfile"}}]}
                """);
        Cli cli = new Cli(home);
        Cli.Result first = cli.run("run", "proj:dev", "--catalog", catalog.toString(), "--", "sh", "-c",
                "/usr/local/bin/tool; cat /ran");
        assertThat(first.rc()).as(first.toString()).isZero();
        assertThat(first.stdout()).as(first.toString()).isEqualTo("the project tool\nran\n");
        assertThat(first.stderr()).contains("STEP 3/3: RUN chmod");
        Cli.Result again = cli.run("run", "proj:dev", "--catalog", catalog.toString(), "--", "cat", "/ran");
        assertThat(again.rc()).as(again.toString()).isZero();
        assertThat(again.stderr()).doesNotContain("STEP ");

        Cli.Result built = cli.run("--json", "env", "build", "proj:dev", "--catalog", catalog.toString());
        assertThat(built.rc()).as(built.toString()).isZero();
        assertThat(built.json().get("image").get("reference").asText()).isEqualTo("localhost/davit/cf-proj-dev:2");
        assertThat(built.json().get("containerfile").asText()).isEqualTo(proj.resolve("Containerfile")
                .toAbsolutePath().normalize().toString());
        Cli.Result human = cli.run("env", "build", "proj:dev", "--catalog", catalog.toString());
        assertThat(human.rc()).as(human.toString()).isZero();
        assertThat(human.stderr()).contains("--> CACHED");
        assertThat(human.stdout()).startsWith("built proj:dev 2 from " + proj.resolve("Containerfile").toAbsolutePath()
                .normalize() + ": localhost/davit/cf-proj-dev:2 sha256:");
    }
}
