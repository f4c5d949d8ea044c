package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code davit workspace} names, labels, {@code update} and {@code --publish} through the CLI, over a busybox image
 * pulled from a real registry; separate davit processes creating one name at once.
 */
class WorkspaceNamesCliTest extends BusyboxRegistryTest {
    Cli cli;

    @AfterEach
    void rmAll() {
        if (cli == null) {
            return;
        }
        for (JsonNode w : cli.run("--json", "workspace", "ls").json().get("workspaces")) {
            cli.run("workspace", "rm", w.get("id").asText());
        }
    }

    private Cli cli() {
        cli = new Cli(home);
        Cli.Result warm = cli.run("run", image, "--", "true"); // pulled and unpacked once, before any race
        assertThat(warm.rc()).as(warm.toString()).isZero();
        return cli;
    }

    private static JsonNode ok(Cli.Result r) {
        assertThat(r.rc()).as(r.toString()).isZero();
        return r.json();
    }

    /** A refusal: exit code 2 and an error of one line, the last on stderr (after any progress notices). */
    private static String refused(Cli.Result r) {
        assertThat(r.rc()).as(r.toString()).isEqualTo(2);
        List<String> lines = r.stderr().strip().lines().toList();
        assertThat(lines.stream().filter(l -> l.contains("error:"))).as(r.toString()).hasSize(1);
        assertThat(lines.getLast()).startsWith("davit: error: ");
        return lines.getLast();
    }

    private List<String> entries(String dir) throws IOException {
        Path d = home.resolve(dir);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    @Test
    void ofDavitProcessesCreatingOneNameAtOnceExactlyOneWins() throws Exception {
        Cli c = cli();
        List<CompletableFuture<Cli.Result>> runs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            runs.add(CompletableFuture.supplyAsync(() -> c.runInJvm("--json", "workspace", "create", image,
                    "--name", "dup")));
        }
        List<Cli.Result> results = runs.stream().map(CompletableFuture::join).toList();
        List<Cli.Result> won = results.stream().filter(r -> r.rc() == 0).toList();
        assertThat(won).as(results.toString()).hasSize(1);
        String id = won.get(0).json().get("id").asText();
        for (Cli.Result r : results) {
            if (r.rc() != 0) {
                assertThat(refused(r)).contains("the name dup is taken by workspace ws-", "give another name");
            }
        }
        assertThat(entries("workspaces")).containsExactly(id);
        assertThat(entries("sandboxes").stream().filter(n -> n.startsWith("sbx-"))).hasSize(1);
        assertThat(ok(c.run("--json", "workspace", "status", "dup")).get("id").asText()).isEqualTo(id);
    }

    @Test
    void labelsListFilterUpdateAndRmByName() throws IOException {
        Cli c = cli();
        String a = ok(c.run("--json", "workspace", "create", image, "--name", "a", "--label", "task=42",
                "--label", "team=core")).get("id").asText();
        JsonNode b = ok(c.run("--json", "workspace", "create", image, "--label", "task=43"));
        assertThat(b.get("name").isNull()).isTrue();
        assertThat(b.get("labels").get("task").asText()).isEqualTo("43");
        assertThat(b.get("ports")).isEmpty();

        JsonNode only42 = ok(c.run("--json", "workspace", "ls", "--label", "task=42")).get("workspaces");
        assertThat(only42).hasSize(1);
        assertThat(only42.get(0).get("id").asText()).isEqualTo(a);
        assertThat(only42.get(0).get("labels").get("team").asText()).isEqualTo("core");
        assertThat(ok(c.run("--json", "workspace", "ls", "--label", "task")).get("workspaces")).hasSize(2);
        assertThat(ok(c.run("--json", "workspace", "ls", "--label", "task=42", "--label", "team=other"))
                .get("workspaces")).isEmpty();
        assertThat(c.run("workspace", "ls").stdout()).contains("LABELS", "task=42,team=core");

        // a taken or bad name, a bad label: refused before anything is pulled or made
        assertThat(refused(c.run("workspace", "create", image, "--name", "a"))).contains("the name a is taken by"
                + " workspace " + a);
        assertThat(refused(c.run("workspace", "create", "nosuch.invalid/x:1", "--name", "ws-x")))
                .contains("bad workspace name 'ws-x'");
        assertThat(refused(c.run("workspace", "create", "nosuch.invalid/x:1", "--label", "k=a b")))
                .contains("bad value 'a b' of label k");
        assertThat(refused(c.run("workspace", "ls", "--label", "=x"))).contains("bad label key");

        JsonNode u = ok(c.run("--json", "workspace", "update", "a", "--name", "renamed", "--label", "team=infra",
                "--remove-label", "task", "--ttl", "120"));
        assertThat(u.get("id").asText()).isEqualTo(a);
        assertThat(u.get("name").asText()).isEqualTo("renamed");
        assertThat(u.get("ttl_seconds").asDouble()).isEqualTo(120.0);
        assertThat(u.get("status").asText()).isEqualTo("running");
        assertThat(u.get("labels").toString()).isEqualTo("{\"team\":\"infra\"}");
        assertThat(ok(c.run("--json", "workspace", "status", "renamed")).get("labels").get("team").asText())
                .isEqualTo("infra");
        assertThat(c.run("workspace", "status", "a").rc()).isEqualTo(3);
        String bId = b.get("id").asText();
        assertThat(refused(c.run("workspace", "update", bId, "--name", "renamed"))).contains("is taken by");
        assertThat(refused(c.run("workspace", "update", bId, "--name", "x", "--no-name")))
                .contains("--name or --no-name");
        assertThat(ok(c.run("--json", "workspace", "update", "renamed", "--no-ttl")).get("ttl_seconds").isNull())
                .isTrue();

        ok(c.run("--json", "workspace", "update", bId, "--name", "b"));
        assertThat(ok(c.run("--json", "workspace", "rm", "b")).get("id").asText()).isEqualTo(bId);
        assertThat(entries("workspaces")).containsExactly(a);
    }

    @Test
    void aPublishedPortServesTheHostAtTheAddressTheJsonReports() throws Exception {
        Tools.assumeAvailable("slirp4netns");
        Cli c = cli();
        assertThat(refused(c.run("workspace", "create", image, "--publish", "18080:8080")))
                .contains("--publish needs --network");
        assertThat(refused(c.run("workspace", "create", image, "--network", "--publish", "8080")))
                .contains("invalid --publish '8080'");
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        JsonNode w = ok(c.run("--json", "workspace", "create", image, "--name", "web", "--network", "--publish",
                port + ":8080"));
        JsonNode p = w.get("ports").get(0);
        assertThat(p.get("address").asText()).isEqualTo("127.0.0.1:" + port);
        assertThat(p.get("container_port").asInt()).isEqualTo(8080);
        assertThat(ok(c.run("--json", "workspace", "ls")).at("/workspaces/0/ports/0/address").asText())
                .isEqualTo("127.0.0.1:" + port);
        assertThat(serve(c, "web", "served by web\n", port)).contains("served by web");
    }

    /**
     * What the host gets from {@code 127.0.0.1:port} for /index.html once workspace {@code ws} serves {@code page}
     * with busybox httpd on its port 8080.
     */
    private String serve(Cli c, String ws, String page, int port) throws IOException {
        Path f = Files.writeString(home.resolve("index.html"), page);
        ok(c.run("--json", "workspace", "file", "write", ws, "index.html", "--from", f.toString()));
        ok(c.run("--json", "workspace", "service", "start", ws, "httpd", "--ready-port", "8080", "--", "busybox",
                "httpd", "-f", "-p", "8080", "-h", "/workspace"));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aPublishedHostPortZeroIsAFreePortKeptAcrossRestarts() throws Exception {
        Tools.assumeAvailable("slirp4netns");
        Cli c = cli();
        JsonNode w = ok(c.run("--json", "workspace", "create", image, "--name", "web0", "--network", "--publish",
                "0:8080"));
        int port = w.at("/ports/0/host_port").asInt();
        assertThat(port).isGreaterThan(0);
        assertThat(w.at("/ports/0/address").asText()).isEqualTo("127.0.0.1:" + port);
        ok(c.run("--json", "workspace", "stop", "web0"));
        assertThat(ok(c.run("--json", "workspace", "start", "web0")).at("/ports/0/host_port").asInt())
                .isEqualTo(port);
        assertThat(serve(c, "web0", "served on a free port\n", port)).contains("served on a free port");
    }

    @Test
    void anOwnerIsRecordedAndReapByOwnerLeavesTheOthers() throws Exception {
        Cli c = cli();
        assertThat(ok(c.run("--json", "workspace", "create", image, "--name", "mine")).get("owner").isNull())
                .isTrue();
        JsonNode theirs = ok(c.run("--json", "workspace", "create", image, "--owner", "mcp", "--ttl", "0.5"));
        assertThat(theirs.get("owner").asText()).isEqualTo("mcp");
        JsonNode session = ok(c.run("--json", "workspace", "create", image, "--owner", "mcp:s1", "--ttl", "0.5"));
        JsonNode other = ok(c.run("--json", "workspace", "create", image, "--owner", "mcp2", "--ttl", "0.5"));
        ok(c.run("--json", "workspace", "update", "mine", "--ttl", "0.5"));
        assertThat(refused(c.run("workspace", "create", image, "--owner", "bad owner"))).isEqualTo("davit: error:"
                + " the owner must be 1 to 128 letters, digits, '.', '_', '-', ':', '@' or '/', not 'bad owner'"
                + " (--owner)");
        Thread.sleep(700);
        List<String> reaped = new ArrayList<>();
        ok(c.run("--json", "workspace", "reap", "--owner", "mcp")).get("removed")
                .forEach(r -> reaped.add(r.get("id").asText()));
        assertThat(reaped).containsExactlyInAnyOrder(theirs.get("id").asText(), session.get("id").asText());
        List<String> left = new ArrayList<>();
        ok(c.run("--json", "workspace", "ls")).get("workspaces").forEach(x -> left.add(x.get("id").asText()));
        assertThat(left).hasSize(2).contains(other.get("id").asText());
        assertThat(ok(c.run("--json", "workspace", "status", "mine")).get("owner").isNull()).isTrue();
    }
}
