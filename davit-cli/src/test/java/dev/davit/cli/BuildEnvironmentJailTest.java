package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model's ordinary work in the jail (issue 19): the {@code debian:12-build} environment, built from Debian's
 * mirror on first use, compiles and runs a C program, runs git and Python, and serves with {@code python3 -m
 * http.server} to the host through {@code --publish}, under the seccomp filter and the default capabilities.
 */
class BuildEnvironmentJailTest {
    @TempDir
    Path home;

    @Test
    void compilersGitPythonAndAServerWorkInTheJail() throws Exception {
        Tools.assumeAvailable("mmdebstrap", "bwrap", "slirp4netns");
        Cli cli = new Cli(home).env("DAVIT_REPO_REGISTRY_BASE", BuiltInEnvironmentTest.NO_REGISTRY)
                .env("SOURCE_DATE_EPOCH", "1767225600");
        Cli.Result r = cli.run("--json", "run", "debian:12-build", "--", "sh", "-c",
                "printf '#include <stdio.h>\\nint main(void) { puts(\"compiled\"); return 0; }\\n' > /tmp/a.c"
                        + " && cc -O2 -o /tmp/a /tmp/a.c && /tmp/a"
                        + " && cd /tmp && git init -q r && cd r"
                        + " && git -c user.email=a@b.c -c user.name=a commit -q --allow-empty -m one"
                        + " && git log --oneline | wc -l && python3 -c 'print(6 * 7)' && id -u"
                        + " && grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.json().get("stdout").asText()).as(r.toString())
                .isEqualTo("compiled\n1\n42\n0\nNoNewPrivs:\t1\nSeccomp:\t2\n");

        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        JsonNode created = cli.run("--json", "sandbox", "create", "debian:12-build", "--network", "--publish",
                port + ":8000").json();
        String id = created.get("id").asText();
        try {
            Cli.Result served = cli.run("sandbox", "exec", id, "--", "sh", "-c",
                    "mkdir -p /srv/www && echo served > /srv/www/index.html && cd /srv/www"
                            + " && (python3 -m http.server 8000 > /dev/null 2>&1 &)");
            assertThat(served.rc()).as(served.toString()).isZero();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            String body = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (body == null && System.nanoTime() < deadline) {
                try {
                    HttpResponse<String> resp = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/index.html")).timeout(Duration.ofSeconds(5))
                            .build(), HttpResponse.BodyHandlers.ofString());
                    body = resp.statusCode() == 200 ? resp.body() : null;
                } catch (IOException e) {
                    Thread.sleep(200); // not listening yet
                }
            }
            assertThat(body).isEqualTo("served\n");
        } finally {
            cli.run("sandbox", "rm", id);
        }
    }
}
