package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Usage errors: exit 2, one {@code davit: error:} line, no stack trace; the error document with --json. */
class UsageTest {
    @TempDir
    Path home;

    private Cli cli() {
        return new Cli(home);
    }

    static void assertOneErrorLine(Cli.Result r, String contains) {
        assertThat(r.stderr().lines().toList()).as(r.toString()).hasSize(1);
        assertThat(r.stderr()).startsWith("davit: error: ").contains(contains);
        assertThat(r.stderr()).doesNotContain("\tat ", "Exception");
    }

    /**
     * A subcommand's help shows its own options and says once where the global ones are; only {@code davit --help}
     * lists those (as git's and crane's help do).
     */
    @Test
    void aCommandsHelpListsItsOwnOptionsAndPointsToTheGlobalOnes() {
        for (String[] line : List.of(new String[] {"workspace", "exec", "--help"}, new String[] {"run", "--help"},
                new String[] {"workspace", "file", "edit", "-h"}, new String[] {"pull", "--help"})) {
            Cli.Result r = cli().run(line);
            assertThat(r.rc()).as(String.join(" ", line)).isZero();
            assertThat(r.stdout()).as(String.join(" ", line)).contains("[OPTIONS]").doesNotContain("--signature-policy")
                    .doesNotContain("--password-stdin").doesNotContain("--store=DIR")
                    .contains("Global options (--json, --quiet, --debug, --home, --store, registry login and\ntrust):"
                            + " 'davit --help'.");
        }
        Cli.Result root = cli().run("--help");
        assertThat(root.stdout()).contains("--signature-policy").contains("--password-stdin").contains("--store=DIR");
    }

    @Test
    void badReferenceIsAUsageError() {
        Cli.Result r = cli().run("pull", "Not A Ref");
        assertThat(r.rc()).isEqualTo(2);
        assertOneErrorLine(r, "invalid reference");
        assertThat(r.stdout()).isEmpty();
    }

    @Test
    void badReferenceInOtherCommands() {
        for (String cmd : new String[] {"inspect", "digest", "rm"}) {
            Cli.Result r = cli().run(cmd, "repo//with-empty-component");
            assertThat(r.rc()).as(cmd + ": " + r).isEqualTo(2);
            assertOneErrorLine(r, "invalid reference");
        }
    }

    @Test
    void unknownOption() {
        Cli.Result r = cli().run("pull", "--frobnicate", "alpine");
        assertThat(r.rc()).isEqualTo(2);
        assertOneErrorLine(r, "Unknown option: '--frobnicate'");
        assertThat(r.stderr()).contains("davit pull --help");
        assertThat(r.stdout()).isEmpty();
    }

    @Test
    void unknownCommandSuggestsOne() {
        Cli.Result r = cli().run("imgaes");
        assertThat(r.rc()).isEqualTo(2);
        assertOneErrorLine(r, "unknown command 'imgaes'");
        assertThat(r.stderr()).contains("did you mean images");
    }

    @Test
    void missingParameter() {
        Cli.Result r = cli().run("pull");
        assertThat(r.rc()).isEqualTo(2);
        assertOneErrorLine(r, "REF");
    }

    @Test
    void conflictingPlatformOptions() {
        Cli.Result r = cli().run("pull", "--platform", "linux/arm64", "--all-platforms", "alpine");
        assertThat(r.rc()).isEqualTo(2);
        assertOneErrorLine(r, "cannot be combined");
    }

    @Test
    void badPlatform() {
        Cli.Result r = cli().run("pull", "--platform", "linux//arm", "alpine");
        assertThat(r.rc()).isEqualTo(2);
        assertOneErrorLine(r, "invalid platform");
    }

    @Test
    void rawAndJsonConflict() {
        Cli.Result r = cli().run("--json", "inspect", "--raw", "alpine");
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.json().at("/error/kind").asText()).isEqualTo("usage");
    }

    @Test
    void usageErrorWithJsonPrintsTheErrorDocument() {
        Cli.Result r = cli().run("--json", "pull", "--frobnicate", "alpine");
        assertThat(r.rc()).isEqualTo(2);
        JsonNode e = r.json().get("error");
        assertThat(r.json().size()).isEqualTo(1);
        assertThat(e.get("kind").asText()).isEqualTo("usage");
        assertThat(e.get("exit_code").asInt()).isEqualTo(2);
        assertThat(e.get("message").asText()).contains("--frobnicate");
        assertOneErrorLine(r, "--frobnicate");
    }

    @Test
    void jsonAfterTheSubcommandAlsoCountsForUsageErrors() {
        Cli.Result r = cli().run("pull", "Bad Ref", "--json");
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.json().at("/error/kind").asText()).isEqualTo("usage");
    }

    @Test
    void noCommandPrintsUsageAndExits2() {
        Cli.Result r = cli().run();
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.stderr()).contains("Commands:").contains("davit: error: no command given");
        assertThat(r.stdout()).isEmpty();
    }

    @Test
    void helpAndVersion() {
        Cli.Result help = cli().run("--help");
        assertThat(help.rc()).isZero();
        assertThat(help.stdout()).contains("pull", "inspect", "digest", "tags", "images", "rm", "gc", "fsck",
                "login", "logout", "Exit codes");
        for (dev.davit.oci.DavitException.Kind k : dev.davit.oci.DavitException.Kind.values()) {
            // every kind's exit code and its word, as docs/reference/cli/OUTPUT.md's table has them
            assertThat(help.stdout().replaceAll("\\s+", " ")).as(k.name()).contains(k.exitCode() + " "
                    + (k == dev.davit.oci.DavitException.Kind.INTERNAL ? "internal"
                    : k.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')));
        }
        Cli.Result sub = cli().run("pull", "--help");
        assertThat(sub.rc()).isZero();
        assertThat(sub.stdout()).contains("--platform", "--all-platforms", "--json", "--store");
        Cli.Result version = cli().run("--version");
        assertThat(version.rc()).isZero();
        assertThat(version.stdout()).startsWith("davit ");
    }

    @Test
    void helpAndVersionWithJson() {
        Cli.Result v = cli().run("--json", "--version");
        assertThat(v.rc()).isZero();
        assertThat(v.json().get("version").asText()).isNotBlank();
        Cli.Result h = cli().run("gc", "--help", "--json");
        assertThat(h.rc()).isZero();
        assertThat(h.json().get("usage").asText()).contains("davit gc");
    }

    @Test
    void loginNeedsAUsernameAndPasswordStdinNeedsAUsername() {
        Cli.Result r = cli().run("login", "ghcr.io");
        assertThat(r.rc()).isEqualTo(2);
        assertOneErrorLine(r, "davit login needs a username");
        Cli.Result p = cli().run("--password-stdin", "login", "ghcr.io");
        assertThat(p.rc()).isEqualTo(2);
        assertOneErrorLine(p, "--password-stdin needs --username");
        Cli.Result j = cli().run("--json", "login", "ghcr.io");
        assertThat(j.json().at("/error/kind").asText()).isEqualTo("usage");
        assertThat(j.json().at("/error/exit_code").asInt()).isEqualTo(2);
    }

    @Test
    void groupCommandsAloneNameTheirSubcommands() {
        Cli.Result a = cli().run("artifact");
        assertThat(a.rc()).isEqualTo(2);
        assertOneErrorLine(a, "give a subcommand: push, pull or attach");
        Cli.Result e = cli().run("env");
        assertThat(e.rc()).isEqualTo(2);
        assertOneErrorLine(e, "give a subcommand: list, inspect, pull, prune, resolve or build");
        Cli.Result s = cli().run("sandbox");
        assertOneErrorLine(s, "give a subcommand: create, start, exec, stop, pause, resume, remove, status, ls, reap or"
                + " network");
    }

    @Test
    void malformedKeyValuesAndSecondsAreUsageErrors() {
        Cli.Result env = cli().run("run", "alpine", "-e", "NOEQUALS", "--", "true");
        assertThat(env.rc()).isEqualTo(2);
        assertOneErrorLine(env, "--env needs K=V, got 'NOEQUALS'");
        Cli.Result t = cli().run("run", "alpine", "--timeout", "-1", "--", "true");
        assertThat(t.rc()).isEqualTo(2);
        assertOneErrorLine(t, "--timeout must be a positive number of seconds");
        Cli.Result ann = cli().run("artifact", "push", "example.com/a:1", "f", "--artifact-type", "a/b",
                "--annotation", "bad");
        assertThat(ann.rc()).isEqualTo(2);
        assertOneErrorLine(ann, "--annotation takes KEY=VALUE, got 'bad'");
    }
}
