package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.client.ClientOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GlobalOptionsTest {

    private static Main parse(String... args) {
        Main main = new Main(System.out, Map.of("DAVIT_HOME", "/tmp/davit-home-from-env"));
        main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter())).parseArgs(args);
        return main;
    }

    @Test
    void onlyTheNamedCommandIsRegisteredAndEverythingOtherwise() {
        assertThat(Main.commandNamed(new String[] {"--json", "--store", "run", "-u", "images", "run", "x"}))
                .isEqualTo(RunCommand.class); // the values of --store and -u are not commands
        assertThat(Main.commandNamed(new String[] {"cp", "a", "b"})).isEqualTo(CopyCommand.class); // an alias
        assertThat(Main.commandNamed(new String[] {"--help"})).isNull();
        assertThat(Main.commandNamed(new String[] {"nosuch", "run"})).isNull();
        assertThat(Main.commandNamed(new String[] {"--", "run"})).isNull();
        PrintWriter sink = new PrintWriter(new StringWriter());
        Main main = new Main(System.out, Map.of());
        assertThat(main.commandLine(sink, sink, new String[] {"-q", "run", "x"}).getSubcommands().keySet())
                .containsExactly("run");
        assertThat(new Main(System.out, Map.of()).commandLine(sink, sink, new String[] {"--help"})
                .getSubcommands()).hasSize(Main.COMMANDS.size() + 5); // images/ls, remove/rm/rmi, environment/env, copy/cp
        assertThat(new Main(System.out, Map.of()).commandLine(sink, sink, new String[] {"-q"})
                .getSubcommands()).hasSize(Main.COMMANDS.size() + 5); // no command: the usage lists them all
    }

    @Test
    void aVersionLineNeedsNoCommand() {
        assertThat(Main.versionOnly(new String[] {"--version"})).isTrue();
        assertThat(Main.versionOnly(new String[] {"--json", "-V"})).isTrue();
        assertThat(Main.versionOnly(new String[] {"--store", "--version"})).isFalse(); // a value, not the flag
        assertThat(Main.versionOnly(new String[] {"--version", "--help"})).isFalse();
        assertThat(Main.versionOnly(new String[] {"--version", "pull"})).isFalse();
        assertThat(Main.versionOnly(new String[] {"--", "--version"})).isFalse();
        assertThat(Main.versionOnly(new String[] {"-q"})).isFalse();
        PrintWriter sink = new PrintWriter(new StringWriter());
        assertThat(new Main(System.out, Map.of()).commandLine(sink, sink, new String[] {"--version"})
                .getSubcommands()).isEmpty();
    }

    @Test
    void globalOptionsWorkBeforeTheSubcommand() {
        Main m = parse("--json", "--quiet", "--debug", "--store", "/tmp/s1", "--insecure-registry", "reg.local:5000",
                "images");
        assertThat(m.globals().json()).isTrue();
        assertThat(m.globals().quiet()).isTrue();
        assertThat(m.globals().debug()).isTrue();
        ClientOptions o = m.clientOptions();
        assertThat(o.store()).isEqualTo(Path.of("/tmp/s1"));
        assertThat(o.registry().insecureRegistries()).containsExactly("reg.local:5000");
    }

    /** --home, before or after the command, is the home of every command: DAVIT_HOME for it (and what it runs). */
    @Test
    void homeOverridesTheEnvironmentsAndStoreStillOverridesTheStore() {
        for (String[] args : List.of(new String[] {"--home", "/tmp/h1", "images"},
                new String[] {"images", "--home", "/tmp/h1"})) {
            Main m = parse(args);
            assertThat(m.env()).containsEntry("DAVIT_HOME", "/tmp/h1");
            assertThat(dev.davit.oci.client.DavitHome.resolve(m.env())).isEqualTo(Path.of("/tmp/h1"));
            assertThat(m.clientOptions().store()).isEqualTo(Path.of("/tmp/h1/store"));
        }
        assertThat(parse("images").env()).containsEntry("DAVIT_HOME", "/tmp/davit-home-from-env");
        assertThat(parse("--home", "/tmp/h2", "--store", "/tmp/s9", "images").clientOptions().store())
                .isEqualTo(Path.of("/tmp/s9"));
        assertThat(Main.commandNamed(new String[] {"--home", "run", "images"})).isEqualTo(ImagesCommand.class);
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        assertThat(Main.execute(new String[] {"--home", "", "images"}, new java.io.ByteArrayOutputStream(), err,
                Map.of())).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("davit: error: --home needs a directory, e.g. --home ~/.cache/davit\n");
    }

    @Test
    void globalOptionsWorkAfterTheSubcommand() {
        Main m = parse("images", "--json", "-q", "--store", "/tmp/s2", "--insecure-registry", "a.local",
                "--insecure-registry", "b.local:5000");
        assertThat(m.globals().json()).isTrue();
        assertThat(m.globals().quiet()).isTrue();
        ClientOptions o = m.clientOptions();
        assertThat(o.store()).isEqualTo(Path.of("/tmp/s2"));
        assertThat(o.registry().insecureRegistries()).containsExactlyInAnyOrder("a.local", "b.local:5000");
        assertThat(o.registry().isPlainHttp("a.local:443")).isTrue();
    }

    @Test
    void globalOptionsOnBothSidesAreKept() {
        Main m = parse("--json", "--insecure-registry", "a.local", "--store", "/tmp/s3", "pull", "--insecure-registry",
                "b.local", "--insecure-registry", "c.local", "--debug", "x");
        assertThat(m.globals().json()).isTrue();
        assertThat(m.globals().debug()).isTrue();
        assertThat(m.clientOptions().store()).isEqualTo(Path.of("/tmp/s3"));
        assertThat(m.clientOptions().registry().insecureRegistries())
                .containsExactlyInAnyOrder("a.local", "b.local", "c.local");
    }

    @Test
    void storeDefaultsToDavitHome() {
        Main m = parse("images");
        assertThat(m.clientOptions().store()).isEqualTo(Path.of("/tmp/davit-home-from-env", "store"));
        assertThat(m.globals().json()).isFalse();
    }
}
