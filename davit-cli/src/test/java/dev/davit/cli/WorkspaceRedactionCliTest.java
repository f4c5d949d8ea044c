package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The CLI's doors for issue 33, items 7 and 8: {@code workspace file read} and {@code workspace diff} (human and
 * {@code --json}) show a secret value the sandbox copied into /workspace only as {@code [REDACTED:NAME]} and say
 * so; the human diff and file listing print no raw escape sequence or carriage return of a name or text the sandbox
 * chose.
 */
class WorkspaceRedactionCliTest extends BusyboxRegistryTest {
    private static JsonNode ok(Cli.Result r) {
        assertThat(r.rc()).as(r.toString()).isZero();
        return r.json();
    }

    private static String human(Cli.Result r) {
        assertThat(r.rc()).as(r.toString()).isZero();
        return r.stdout();
    }

    @Test
    void secretsAreRedactedAndNamesEscaped() {
        Cli cli = new Cli(home);
        String value = "tok-" + UUID.randomUUID();
        String id = ok(cli.run("--json", "workspace", "create", image, "--secret", "TOKEN=" + value)).get("id")
                .asText();
        try {
            Cli.Result exec = cli.run("workspace", "exec", id, "--secret-env", "T=TOKEN", "--", "sh", "-c",
                    "echo \"$T\" >leak.txt; echo hi >\"$(echo -ne 'esc\\0033[31mred\\rcr')\";"
                            + " echo -ne 'line\\0033]0;title\\0007\\r\\n' >text.txt");
            assertThat(exec.rc()).as(exec.toString()).isZero();

            JsonNode read = ok(cli.run("--json", "workspace", "file", "read", id, "leak.txt"));
            assertThat(read.get("redacted").asBoolean()).isTrue();
            assertThat(read.get("size").asLong()).isEqualTo(value.length() + 1);
            assertThat(new String(Base64.getDecoder().decode(read.get("content_base64").asText()),
                    StandardCharsets.UTF_8)).isEqualTo("[REDACTED:TOKEN]\n");
            Cli.Result raw = cli.run("workspace", "file", "read", id, "leak.txt");
            assertThat(human(raw)).isEqualTo("[REDACTED:TOKEN]\n");
            assertThat(raw.stderr()).contains("[REDACTED:NAME]");
            assertThat(ok(cli.run("--json", "workspace", "file", "read", id, "text.txt")).get("redacted")
                    .asBoolean()).isFalse();

            Cli.Result json = cli.run("--json", "workspace", "diff", id);
            assertThat(ok(json).get("redacted").asBoolean()).isTrue();
            Cli.Result diff = cli.run("workspace", "diff", id);
            String text = human(diff);
            for (Cli.Result r : new Cli.Result[] {json, diff, raw}) {
                assertThat(r.toString()).doesNotContain(value);
            }
            assertThat(text).doesNotContain("\033").doesNotContain("\r").doesNotContain("\007")
                    .contains("A esc\\033[31mred\\rcr\n").contains("+line\\033]0;title\\007\\r\n");
            assertThat(diff.stderr()).contains("do not apply");
            String ls = human(cli.run("workspace", "file", "ls", id));
            assertThat(ls).doesNotContain("\033").doesNotContain("\r").contains("esc\\033[31mred\\rcr");
        } finally {
            cli.run("workspace", "rm", id);
        }
    }
}
