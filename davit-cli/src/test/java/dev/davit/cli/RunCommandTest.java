package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** {@code davit run} with an image built from a busybox rootfs and pulled from a real registry; {@code davit doctor}. */
class RunCommandTest extends BusyboxRegistryTest {
    private List<String> dirs(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void pullsUnpacksOnceAndRunsWithTheCommandsExitCode() throws IOException {
        Cli cli = new Cli(home);
        Cli.Result r = cli.run("run", image, "--", "sh", "-c", "echo out $GREETING; echo err >&2; exit 3");
        assertThat(r.rc()).as(r.toString()).isEqualTo(3);
        assertThat(r.stdout()).as(r.toString()).isEqualTo("out hello\n");
        // an image reference is never looked up in the built-in catalog, but the notice stays as it was
        assertThat(r.stderr()).contains("==> catalog (built-in)", "==> pulling", "==> unpacking",
                "==> running in a container sandbox", "err\n", "==> exit 3");
        List<String> cached = dirs(home.resolve("rootfs"));
        assertThat(cached).hasSize(1).allMatch(n -> n.startsWith("sha256-"));
        assertThat(dirs(home.resolve("sandboxes"))).isEmpty();

        Cli.Result again = cli.run("run", image);
        assertThat(again.rc()).as(again.toString()).isZero();
        assertThat(again.stdout()).isEqualTo("default in /srv\n");
        assertThat(again.stderr()).doesNotContain("==> pulling", "==> unpacking");
        assertThat(dirs(home.resolve("rootfs"))).isEqualTo(cached);

        Cli.Result missing = cli.run("run", image, "--", "nope");
        assertThat(missing.rc()).as(missing.toString()).isEqualTo(127);
    }

    @Test
    void jsonIsOneDocumentWithTheOutputsAndTimings() {
        Cli cli = new Cli(home);
        Cli.Result r = cli.run("--json", "run", image, "--env", "X=1", "--workdir", "/tmp", "--", "sh", "-c",
                "echo $X $PWD; echo e >&2; exit 5");
        assertThat(r.rc()).as(r.toString()).isEqualTo(5);
        assertThat(r.stderr()).isEmpty();
        JsonNode doc = r.json();
        List<String> keys = new ArrayList<>();
        doc.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactly("environment", "digest", "limits", "backend", "runtime", "sandbox_id",
                "exit_code", "timed_out", "truncated", "oom_killed", "disk_full", "output_limited", "timings_ms", "network_denied", "stdout",
                "stdout_bytes", "stderr", "stderr_bytes");
        assertThat(doc.get("output_limited").asBoolean()).isFalse();
        assertThat(doc.get("limits").toString()).isEqualTo("{\"memory_mib\":1024,\"cpus\":1.0,\"pids\":1024,\"disk_mib\":10240,\"enforced_by\":\"cgroup\",\"disk_enforced_by\":\"filesystem\"}");
        assertThat(doc.get("oom_killed").asBoolean()).isFalse();
        assertThat(doc.get("environment").asText()).isEqualTo(image);
        assertThat(doc.get("digest").asText()).startsWith("sha256:");
        assertThat(doc.get("backend").asText()).isEqualTo("container");
        assertThat(doc.get("runtime").asText()).isEqualTo("bwrap");
        assertThat(doc.get("exit_code").asInt()).isEqualTo(5);
        assertThat(doc.get("stdout").asText()).isEqualTo("1 /tmp\n");
        assertThat(doc.get("stderr").asText()).isEqualTo("e\n");
        assertThat(doc.get("stdout_bytes").asLong()).isEqualTo(7);
        assertThat(doc.get("timed_out").asBoolean()).isFalse();
        assertThat(doc.at("/timings_ms/exec").isNumber()).isTrue();
    }

    @Test
    void sandboxCreateExecLsRmWithJson() throws IOException {
        Cli cli = new Cli(home);
        Cli.Result c = cli.run("--json", "sandbox", "create", image, "--ttl", "3600", "--env", "X=1");
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        assertThat(id).matches("sbx-[0-9a-f]{12}");
        assertThat(c.json().get("status").asText()).isEqualTo("running");
        assertThat(c.json().get("environment").asText()).isEqualTo(image);
        assertThat(c.json().get("ttl_seconds").asDouble()).isEqualTo(3600.0);
        try {
            Cli.Result w = cli.run("--json", "sandbox", "exec", id, "--env", "Y=2", "--", "sh", "-c",
                    "echo $GREETING $X $Y $PWD > /tmp/f; echo e >&2; exit 4");
            assertThat(w.rc()).as(w.toString()).isEqualTo(4);
            assertThat(w.json().get("exit_code").asInt()).isEqualTo(4);
            assertThat(w.json().get("stderr").asText()).isEqualTo("e\n");
            Cli.Result r = cli.run("sandbox", "exec", id, "--", "cat", "/tmp/f");
            assertThat(r.rc()).as(r.toString()).isZero();
            assertThat(r.stdout()).isEqualTo("hello 1 2 /srv\n");
            Cli.Result t = cli.run("--json", "sandbox", "exec", id, "--timeout", "0.5", "--", "sleep", "30");
            assertThat(t.rc()).as(t.toString()).isEqualTo(124);
            assertThat(t.json().get("timed_out").asBoolean()).isTrue();

            Cli.Result ls = cli.run("--json", "sandbox", "ls");
            assertThat(ls.rc()).as(ls.toString()).isZero();
            assertThat(ls.json().get("sandboxes")).hasSize(1);
            assertThat(ls.json().at("/sandboxes/0/id").asText()).isEqualTo(id);
            assertThat(ls.json().at("/sandboxes/0/status").asText()).isEqualTo("running");
            Cli.Result human = cli.run("sandbox", "ls");
            assertThat(human.stdout()).contains(id, "running");

            Cli.Result stop = cli.run("--json", "sandbox", "stop", id);
            assertThat(stop.json().get("status").asText()).as(stop.toString()).isEqualTo("stopped");
            Cli.Result st = cli.run("sandbox", "status", id);
            assertThat(st.stdout()).isEqualTo(id + " stopped\n");
            Cli.Result notRunning = cli.run("sandbox", "exec", id, "--", "true");
            assertThat(notRunning.rc()).as(notRunning.toString()).isEqualTo(2);
            Cli.Result start = cli.run("--json", "sandbox", "start", id);
            assertThat(start.json().get("status").asText()).as(start.toString()).isEqualTo("running");
            assertThat(cli.run("sandbox", "exec", id, "--", "cat", "/tmp/f").stdout()).isEqualTo("hello 1 2 /srv\n");
        } finally {
            Cli.Result rm = cli.run("--json", "sandbox", "rm", id);
            assertThat(rm.rc()).as(rm.toString()).isZero();
            assertThat(rm.json().get("removed").asBoolean()).isTrue();
        }
        assertThat(cli.run("--json", "sandbox", "ls").json().get("sandboxes")).isEmpty();
        assertThat(dirs(home.resolve("sandboxes"))).isEmpty();
        assertThat(cli.run("sandbox", "status", id).rc()).isEqualTo(3);
        Cli.Result reap = cli.run("--json", "sandbox", "reap");
        assertThat(reap.json().get("removed")).isEmpty();
    }

    /**
     * {@code workspace exec --detach} returns at once with the exec's id; {@code workspace wait} (from another davit:
     * a new Cli) waits for it and exits with its code, or 124 when its --timeout ends the wait first;
     * {@code workspace kill} stops one (killed_by: cancel); {@code workspace execs} lists them;
     * {@code workspace output} pages its one stream.
     */
    @Test
    void detachedExecsAreStartedWaitedForKilledListedAndRead() {
        Cli cli = new Cli(home);
        Cli.Result c = cli.run("--json", "workspace", "create", image, "--name", "det");
        assertThat(c.rc()).as(c.toString()).isZero();
        try {
            Cli.Result d = cli.run("--json", "workspace", "exec", "--detach", "det", "--", "sh", "-c",
                    "echo out; echo err >&2; sleep 1; exit 7");
            assertThat(d.rc()).as(d.toString()).isZero();
            String execId = d.json().get("exec_id").asText();
            assertThat(execId).matches("e-[0-9a-f]{12}");
            assertThat(d.json().get("state").asText()).isEqualTo("running");
            Cli.Result w = new Cli(home).run("--json", "workspace", "wait", "det", execId);
            assertThat(w.rc()).as(w.toString()).isEqualTo(7);
            assertThat(w.json().get("state").asText()).isEqualTo("exited");
            assertThat(w.json().get("exit_code").asInt()).isEqualTo(7);
            Cli.Result o = cli.run("--json", "workspace", "output", "det", execId);
            assertThat(o.rc()).as(o.toString()).isZero();
            assertThat(o.json().get("stream").asText()).isEqualTo("output");
            assertThat(o.json().get("content").asText()).isEqualTo("out\nerr\n");

            String slow = cli.run("workspace", "exec", "-d", "det", "--", "sleep", "300").stdout().strip();
            assertThat(slow).matches("e-[0-9a-f]{12}");
            Cli.Result waited = cli.run("workspace", "wait", "det", slow, "--timeout", "0.3");
            assertThat(waited.rc()).as(waited.toString()).isEqualTo(124);
            assertThat(waited.stdout()).isEqualTo(slow + " running\n");
            Cli.Result k = cli.run("--json", "workspace", "kill", "det", slow);
            assertThat(k.rc()).as(k.toString()).isZero();
            assertThat(k.json().get("killed_by").asText()).isEqualTo("cancel");
            Cli.Result ls = cli.run("--json", "workspace", "execs", "det");
            assertThat(ls.json().get("execs").findValuesAsText("exec_id")).containsExactly(execId, slow);
            Cli.Result bad = cli.run("workspace", "exec", "--detach", "--stdin", "det", "--", "true");
            assertThat(bad.rc()).isEqualTo(2);
            assertThat(bad.stderr()).contains("--stdin does not go with --detach");
        } finally {
            cli.run("workspace", "rm", "det");
        }
    }

    @Test
    void workspaceForkCopiesTheWholeWorkspace() throws IOException {
        Cli cli = new Cli(home);
        assertThat(cli.run("workspace", "create", image, "--name", "orig").rc()).isZero();
        try {
            assertThat(cli.run("workspace", "exec", "orig", "--", "sh", "-c",
                    "echo conf > /etc/x.conf; echo ws > /workspace/f").rc()).isZero();
            assertThat(cli.run("workspace", "snapshot", "create", "orig", "s1").rc()).isZero();
            Cli.Result f = cli.run("--json", "workspace", "fork", "orig", "--name", "f1", "--name", "f2");
            assertThat(f.rc()).as(f.toString()).isZero();
            assertThat(f.json().get("forked_from").asText()).matches("ws-[0-9a-f]{12}");
            assertThat(f.json().get("workspaces").findValuesAsText("name")).containsExactly("f1", "f2");
            assertThat(f.json().get("workspaces").findValuesAsText("status")).containsExactly("running", "running");
            Cli.Result x = cli.run("workspace", "exec", "f2", "--", "cat", "/etc/x.conf", "/workspace/f");
            assertThat(x.stdout()).isEqualTo("conf\nws\n");
            assertThat(cli.run("--json", "workspace", "snapshot", "ls", "f1").json().findValuesAsText("name"))
                    .containsExactly("s1");
            Cli.Result human = cli.run("workspace", "fork", "f1");
            assertThat(human.rc()).as(human.toString()).isZero();
            assertThat(human.stdout()).matches("ws-[0-9a-f]{12} running\n");
            cli.run("workspace", "rm", human.stdout().split(" ")[0]);
            // paused: status says so, an exec is refused naming the way back; resumed, it runs
            Cli.Result p = cli.run("--json", "workspace", "pause", "orig");
            if (dev.davit.sandbox.jail.Jail.active()) { // the freezer of its cgroup, made as root
                assertThat(p.rc()).as(p.toString()).isZero();
                assertThat(p.json().get("paused").asBoolean()).isTrue();
                assertThat(p.json().get("status").asText()).isEqualTo("paused");
                assertThat(cli.run("workspace", "status", "orig").stdout()).endsWith(" paused\n");
                // one word at every door: the list too
                Cli.Result listed = cli.run("--json", "workspace", "ls");
                for (var o : listed.json().get("workspaces")) {
                    if ("orig".equals(o.path("name").asText())) {
                        assertThat(o.get("status").asText()).isEqualTo("paused");
                        assertThat(o.get("paused").asBoolean()).isTrue();
                    }
                }
                assertThat(cli.run("workspace", "ls").stdout()).containsPattern("ws-[0-9a-f]{12} +paused ");
                Cli.Result refused = cli.run("workspace", "exec", "orig", "--", "true");
                assertThat(refused.rc()).isEqualTo(8);
                assertThat(refused.stderr().strip()).isEqualTo("davit: error: workspace orig is paused; resume it"
                        + " first ('davit workspace resume orig')");
                assertThat(cli.run("workspace", "resume", "orig").stdout()).endsWith(" running\n");
                assertThat(cli.run("workspace", "exec", "orig", "--", "true").rc()).isZero();
                // its mark removed by hand, its cgroup still frozen: still paused, and a stop thaws it
                assertThat(cli.run("workspace", "pause", "orig").rc()).isZero();
                try (var marks = Files.find(home.resolve("sandboxes"), 2, (file, attrs) -> file.getFileName().toString()
                        .equals("paused"))) {
                    for (Path m : marks.toList()) {
                        Files.delete(m);
                    }
                }
                assertThat(cli.run("workspace", "status", "orig").stdout()).endsWith(" paused\n");
                Cli.Result stopped = cli.run("workspace", "stop", "orig");
                assertThat(stopped.rc()).as(stopped.toString()).isZero();
                assertThat(cli.run("workspace", "start", "orig").rc()).isZero();
                assertThat(cli.run("workspace", "exec", "orig", "--", "true").rc()).isZero();
            }
            Cli.Result bad = cli.run("workspace", "fork", "orig", "--count", "3", "--name", "only");
            assertThat(bad.rc()).isEqualTo(2);
            assertThat(bad.stderr()).isEqualTo("davit: error: give one name per fork: 1 names for 3 forks (--name,"
                    + " --count)\n");
        } finally {
            for (String w : List.of("f1", "f2", "orig")) {
                cli.run("workspace", "rm", w);
            }
        }
    }

    @Test
    void workspaceCreateExecFilesDiffRmWithJson() throws IOException {
        Cli cli = new Cli(home);
        Path seed = home.resolve("ws-seed");
        Files.createDirectories(seed);
        Files.writeString(seed.resolve("a.txt"), "alpha\n");
        Cli.Result c = cli.run("--json", "workspace", "create", image, "--seed", seed.toString(), "--name", "proj",
                "--env", "MODE=ci", "-e", "GONE=soon");
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        assertThat(id).matches("ws-[0-9a-f]{12}");
        assertThat(c.json().get("status").asText()).isEqualTo("running");
        assertThat(c.json().at("/baseline/files").asInt()).isEqualTo(1);
        assertThat(c.json().get("env").toString()).isEqualTo("{\"GONE\":\"soon\",\"MODE\":\"ci\"}");
        try {
            Cli.Result e = cli.run("workspace", "exec", "proj", "--", "sh", "-c", "pwd; cat a.txt; echo $MODE $GONE");
            assertThat(e.rc()).as(e.toString()).isZero();
            assertThat(e.stdout()).isEqualTo("/workspace\nalpha\nci soon\n");
            Cli.Result up = cli.run("--json", "workspace", "update", "proj", "--env", "MODE=test", "--unset-env",
                    "GONE");
            assertThat(up.rc()).as(up.toString()).isZero();
            assertThat(up.json().get("env").toString()).isEqualTo("{\"MODE\":\"test\"}");
            assertThat(cli.run("workspace", "exec", "proj", "--", "sh", "-c", "echo $MODE ${GONE:-none}").stdout())
                    .isEqualTo("test none\n");
            Cli.Result badEnv = cli.run("workspace", "update", "proj", "--env", "NOEQUALS");
            assertThat(badEnv.rc()).isEqualTo(2);
            assertThat(badEnv.stderr()).isEqualTo("davit: error: --env needs K=V, got 'NOEQUALS'\n");
            Path from = home.resolve("b.txt");
            Files.writeString(from, "beta\n");
            Cli.Result w = cli.run("--json", "workspace", "file", "write", id, "b.txt", "--from", from.toString());
            assertThat(w.rc()).as(w.toString()).isZero();
            assertThat(w.json().get("bytes").asInt()).isEqualTo(5);
            assertThat(cli.run("workspace", "file", "read", id, "b.txt").stdout()).isEqualTo("beta\n");
            Cli.Result ed = cli.run("workspace", "file", "edit", id, "b.txt", "--old", "eta", "--new", "ETA");
            assertThat(ed.rc()).as(ed.toString()).isZero();
            assertThat(ed.stdout()).isEqualTo("replaced 1 occurrence in /workspace/b.txt (first at line 1)\n");
            Cli.Result none = cli.run("workspace", "file", "edit", id, "b.txt", "--old", "eta", "--new", "x");
            assertThat(none.rc()).isEqualTo(8);
            assertThat(none.stderr()).startsWith("davit: error: the text to replace (--old) is not in b.txt (0"
                    + " occurrences)");
            cli.run("workspace", "file", "edit", id, "b.txt", "--old", "bETA", "--new", "beta");
            assertThat(cli.run("workspace", "file", "read", id, "b.txt").stdout()).isEqualTo("beta\n");
            Cli.Result r = cli.run("--json", "workspace", "file", "read", id, "b.txt");
            assertThat(r.json().get("content_base64").asText()).isEqualTo("YmV0YQo=");
            Cli.Result ls = cli.run("--json", "workspace", "file", "ls", id);
            assertThat(ls.json().get("files")).hasSize(2);
            Cli.Result out = cli.run("workspace", "file", "write", id, "../x", "--from", from.toString());
            assertThat(out.rc()).as(out.toString()).isEqualTo(2);
            assertThat(out.stderr().strip()).doesNotContain("\n").contains("leads out of /workspace");
            Cli.Result d = cli.run("--json", "workspace", "diff", id);
            assertThat(d.json().at("/changes/0/path").asText()).isEqualTo("b.txt");
            assertThat(d.json().at("/changes/0/kind").asText()).isEqualTo("added");
            assertThat(d.json().get("patch").asText()).contains("+beta");
            assertThat(cli.run("--json", "workspace", "ls").json().at("/workspaces/0/id").asText()).isEqualTo(id);
            assertThat(cli.run("workspace", "stop", id).stdout()).isEqualTo(id + " stopped\n");
            assertThat(cli.run("workspace", "status", id).stdout()).isEqualTo(id + " stopped\n");
            assertThat(cli.run("workspace", "start", id).stdout()).isEqualTo(id + " running\n");
            // snapshot, change, diff against it, reset to it; the execs are in the logs
            assertThat(cli.run("--json", "workspace", "snapshot", "create", id, "s1").json().get("files").asLong())
                    .isEqualTo(2);
            Cli.Result dup = cli.run("workspace", "snapshot", "create", id, "s1");
            assertThat(dup.rc()).isEqualTo(2);
            assertThat(dup.stderr().strip()).doesNotContain("\n").contains("already has a snapshot s1");
            cli.run("workspace", "exec", id, "--", "sh", "-c", "echo gamma > b.txt; exit 5");
            assertThat(cli.run("workspace", "diff", id, "--snapshot", "s1").stdout()).startsWith("C b.txt\n");
            assertThat(cli.run("workspace", "reset", id, "--snapshot", "s1").stdout())
                    .isEqualTo(id + " reset to snapshot s1 (running)\n");
            assertThat(cli.run("workspace", "file", "read", id, "b.txt").stdout()).isEqualTo("beta\n");
            assertThat(cli.run("workspace", "reset", id, "--snapshot", "nope").rc()).isEqualTo(3);
            assertThat(cli.run("--json", "workspace", "snapshot", "ls", id).json().at("/snapshots/0/name").asText())
                    .isEqualTo("s1");
            Cli.Result logs = cli.run("--json", "workspace", "logs", id);
            assertThat(logs.json().size()).isEqualTo(3);
            assertThat(logs.json().at("/2/exit_code").asInt()).isEqualTo(5);
            assertThat(logs.json().at("/0/stdout/head").asText()).isEqualTo("/workspace\nalpha\nci soon\n");
            // the JSON is the history as recorded, field for field
            List<String> recorded = Files.readAllLines(home.resolve("workspaces").resolve(id).resolve("logs.jsonl"));
            assertThat(recorded).hasSize(3);
            for (int i = 0; i < recorded.size(); i++) {
                assertThat(logs.json().get(i).toString()).isEqualTo(dev.davit.oci.internal.Json.read(recorded.get(i)
                        .getBytes(StandardCharsets.UTF_8)).toString());
            }
            assertThat(cli.run("workspace", "snapshot", "rm", id, "s1").stdout()).isEqualTo("s1\n");
        } finally {
            Cli.Result rm = cli.run("--json", "workspace", "rm", id);
            assertThat(rm.rc()).as(rm.toString()).isZero();
        }
        assertThat(cli.run("workspace", "status", id).rc()).isEqualTo(3);
        assertThat(dirs(home.resolve("workspaces"))).containsExactly(".lock"); // the lock of the set of names
    }

    /** Runs the CLI in a JVM of its own (a davit restart between every two calls), {@code stdin} fed to it. */
    private static Cli.Result freshDavit(Path home, String stdin, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile(home, "stderr", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        pb.environment().put("DAVIT_HOME", home.toString());
        pb.environment().put("DAVIT_PROGRESS", "lines");
        Process p = pb.start();
        try (var in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        byte[] out = p.getInputStream().readAllBytes();
        try {
            int rc = p.waitFor();
            Cli.Result r = new Cli.Result(rc, out, Files.readString(err));
            Files.delete(err);
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    @Test
    void workspaceOutlivesEveryDavitProcessPushPatchExportReap() throws IOException {
        Path seed = Files.createDirectories(home.resolve("seed2"));
        Files.writeString(seed.resolve("a.txt"), "alpha\n");
        Cli.Result c = freshDavit(home, "", "--json", "workspace", "create", image, "--seed", seed.toString(),
                "--name", "restart");
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        try {
            Cli.Result e = freshDavit(home, "", "workspace", "exec", "restart", "--", "sh", "-c",
                    "echo hi > made.txt; cat a.txt");
            assertThat(e.stdout()).as(e.toString()).isEqualTo("alpha\n");
            Cli.Result w = freshDavit(home, "note\n", "--json", "workspace", "file", "write", id, "notes/deep/n.txt");
            assertThat(w.json().get("bytes").asInt()).as(w.toString()).isEqualTo(5);
            Path host = home.resolve("c.txt");
            Files.writeString(host, "gamma\n");
            Cli.Result push = freshDavit(home, "", "--json", "workspace", "push", id, host.toString());
            assertThat(push.json().get("path").asText()).as(push.toString()).isEqualTo("c.txt");
            assertThat(push.json().get("bytes").asInt()).isEqualTo(6);

            Cli.Result d = freshDavit(home, "", "--json", "workspace", "diff", id);
            List<String> paths = new ArrayList<>();
            d.json().get("changes").forEach(ch -> paths.add(ch.get("path").asText()));
            assertThat(paths).as(d.toString()).containsExactly("c.txt", "made.txt", "notes", "notes/deep",
                    "notes/deep/n.txt");
            String patch = d.json().get("patch").asText();

            Path out = home.resolve("exported");
            Cli.Result x = freshDavit(home, "", "--json", "workspace", "export", id, out.toString());
            assertThat(x.rc()).as(x.toString()).isZero();
            assertThat(x.json().get("dest").asText()).isEqualTo(out.toString());
            assertThat(Files.readString(out.resolve("notes/deep/n.txt"))).isEqualTo("note\n");
            assertThat(Files.readString(out.resolve("a.txt"))).isEqualTo("alpha\n");
            Cli.Result again = freshDavit(home, "", "workspace", "export", id, out.toString());
            assertThat(again.rc()).isEqualTo(2);
            assertThat(again.stderr().strip()).doesNotContain("\n").contains("not an empty directory");

            assertThat(freshDavit(home, "", "workspace", "reset", id).rc()).isZero();
            Cli.Result p = freshDavit(home, patch, "--json", "workspace", "patch", id, "-");
            assertThat(p.rc()).as(p.toString()).isZero();
            assertThat(p.json().get("changes")).hasSize(3);
            assertThat(freshDavit(home, "", "workspace", "file", "read", id, "made.txt").stdout()).isEqualTo("hi\n");
            Cli.Result bad = freshDavit(home, patch, "workspace", "patch", id, "-");
            assertThat(bad.rc()).isEqualTo(8); // state: the patch is well formed, the tree no longer fits it
            assertThat(bad.stderr().strip()).doesNotContain("\n").contains("already exists", "nothing was changed");

            Cli.Result reap = freshDavit(home, "", "--json", "workspace", "reap");
            assertThat(reap.json().get("removed")).as(reap.toString()).isEmpty();
            assertThat(freshDavit(home, "", "--json", "sandbox", "reap").json().get("removed")).isEmpty();
            assertThat(freshDavit(home, "", "workspace", "status", id).stdout()).isEqualTo(id + " running\n");
        } finally {
            Cli.Result rm = freshDavit(home, "", "workspace", "rm", id);
            assertThat(rm.rc()).as(rm.toString()).isZero();
        }
        assertThat(dirs(home.resolve("workspaces"))).containsExactly(".lock"); // the lock of the set of names
    }

    @Test
    void anImageBuiltFromAPlainDirectoryRunsOnEveryRuntime() throws IOException {
        Tools.assumeAvailable("crun", "runc");
        // no /proc, /dev, /sys, /tmp or /etc: only busybox, as a FROM scratch image
        Path src = home.resolve("scratch-src");
        Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), src.resolve("bin/busybox"));
        for (String a : List.of("sh", "cat", "head", "ls", "sleep")) {
            Files.createSymbolicLink(src.resolve("bin").resolve(a), Path.of("busybox"));
        }
        String scratch = registry.hostPort() + "/sandbox/scratch:1";
        Cli builder = new Cli(home.resolve("builder"));
        Cli.Result b = builder.run("build", src.toString(), scratch);
        assertThat(b.rc()).as(b.toString()).isZero();
        assertThat(builder.run("push", scratch).rc()).isZero();

        Cli cli = new Cli(home.resolve("runner"));
        String check = "head -1 /proc/self/status; test -c /dev/null && echo x > /tmp/x && cat /tmp/x";
        for (String rt : List.of("bwrap", "crun", "runc")) {
            Cli.Result r = cli.run("--json", "run", "--runtime", rt, scratch, "--", "sh", "-c", check);
            assertThat(r.rc()).as(rt + ": " + r).isZero();
            assertThat(r.json().get("stdout").asText()).as(rt).isEqualTo("Name:\thead\nx\n");
        }
        Cli.Result c = cli.run("--json", "sandbox", "create", scratch);
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        try {
            Cli.Result e = cli.run("--json", "sandbox", "exec", id, "--", "sh", "-c", check);
            assertThat(e.json().get("stdout").asText()).as(e.toString()).isEqualTo("Name:\thead\nx\n");
        } finally {
            assertThat(cli.run("sandbox", "rm", id).rc()).isZero();
        }
        // the shared root filesystem still has none of them
        List<String> rootfs = dirs(home.resolve("runner/rootfs"));
        assertThat(rootfs).hasSize(1);
        assertThat(dirs(home.resolve("runner/rootfs").resolve(rootfs.get(0)))).containsExactly("bin");
    }

    @Test
    void envBuildBusyboxStoresPushesAndRuns() {
        Cli cli = new Cli(home).env("SOURCE_DATE_EPOCH", "1767225600");
        String target = registry.hostPort() + "/envs/busybox:7";
        Cli.Result b = cli.run("--json", "env", "build", "busybox", "--version", "7", "--push", target);
        assertThat(b.rc()).as(b.toString()).isZero();
        JsonNode doc = b.json();
        assertThat(doc.get("profile").asText()).isEqualTo("busybox");
        assertThat(doc.at("/image/reference").asText()).isEqualTo("localhost/davit/busybox:7");
        String digest = doc.at("/image/digest").asText();
        assertThat(doc.at("/push/target").asText()).isEqualTo(target);
        assertThat(doc.at("/push/digest").asText()).isEqualTo(digest);
        // another home pulls what was pushed and runs it
        Cli other = new Cli(home.resolve("other"));
        Cli.Result r = other.run("--json", "run", target, "--", "sh", "-c", "cat /etc/davit/environment.json");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.json().get("digest").asText()).isEqualTo(digest);
        assertThat(r.json().get("stdout").asText()).contains("\"profile\":\"busybox\"", "\"version\":\"7\"");
        // the same epoch builds the same digest again
        Cli.Result again = new Cli(home.resolve("third")).env("SOURCE_DATE_EPOCH", "1767225600")
                .run("--json", "env", "build", "busybox", "--version", "7");
        assertThat(again.json().at("/image/digest").asText()).as(again.toString()).isEqualTo(digest);
        assertThat(b.stderr()).doesNotContain("==>"); // --json: one document, no phase lines
        // human mode: each phase as it begins, and how long it took
        Cli.Result human = new Cli(home.resolve("fourth")).run("env", "build", "busybox", "--no-vm");
        assertThat(human.rc()).as(human.toString()).isZero();
        assertThat(human.stderr()).contains("davit: ==> busybox root filesystem from the host's static busybox\n",
                "davit: ==> storing the container image localhost/davit/busybox:dev\n")
                .containsPattern("davit:     done \\((\\d+ms|\\d+\\.\\ds)\\)\n");
        Cli.Result bad = cli.run("env", "build", "nosuch");
        assertThat(bad.rc()).isEqualTo(2);
        assertThat(bad.stderr()).contains("unknown profile 'nosuch'; give one of base, git, build, busybox, or an"
                + " environment of 'davit environment list' built from one (e.g. debian:12-build)");
        // a catalog name is taken as the profile it is built from (a bad --tag stops it before the long build)
        Cli.Result named = cli.run("env", "build", "debian:12-build", "--tag", "Not A Reference");
        assertThat(named.rc()).isEqualTo(2);
        assertThat(named.stderr()).contains("davit: ==> debian:12-build is built from profile build")
                .doesNotContain("unknown profile");
    }

    @Test
    void stdinIsPassedWithDashI() {
        java.io.InputStream saved = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("piped\n".getBytes(StandardCharsets.UTF_8)));
            Cli.Result r = new Cli(home).run("--json", "run", image, "-i", "--", "sh", "-c", "read x; echo got $x");
            assertThat(r.rc()).as(r.toString()).isZero();
            assertThat(r.json().get("stdout").asText()).isEqualTo("got piped\n");
        } finally {
            System.setIn(saved);
        }
        Cli.Result none = new Cli(home).run("run", image, "--", "sh", "-c", "cat; echo eof");
        assertThat(none.stdout()).isEqualTo("eof\n");
    }

    @Test
    void aTimeoutExits124() {
        Cli cli = new Cli(home);
        Cli.Result r = cli.run("--json", "run", image, "--timeout", "0.5", "--", "sleep", "30");
        assertThat(r.rc()).as(r.toString()).isEqualTo(124);
        assertThat(r.json().get("timed_out").asBoolean()).isTrue();
        assertThat(r.json().get("exit_code").asInt()).isEqualTo(124);
    }

    @Test
    void maxOutputStopsAFloodWithJsonAndOneWarningLine() throws IOException {
        Cli cli = new Cli(home);
        // stdout first: head cannot finish before davit has read its start (a pipe holds 64 KiB), so the limit,
        // passed later by both floods, never leaves stdout empty however the two are scheduled
        String flood = "yes | head -c 100000; yes & cat /dev/zero >&2 & wait";
        Cli.Result r = cli.run("--json", "run", image, "--max-output", "1000000", "--timeout", "60", "--", "sh", "-c",
                flood);
        assertThat(r.rc()).as(r.toString()).isEqualTo(137);
        JsonNode doc = r.json();
        assertThat(doc.get("output_limited").asBoolean()).isTrue();
        assertThat(doc.get("truncated").asBoolean()).isTrue();
        assertThat(doc.get("timed_out").asBoolean()).isFalse();
        assertThat(doc.get("exit_code").asInt()).isEqualTo(137);
        assertThat(doc.get("stdout").asText()).startsWith("y\n");
        // the streamed copy: davit's own stdout holds at most the limit (the rest of stderr is davit's lines)
        Cli.Result human = cli.run("run", image, "--max-output", "1M", "--timeout", "60", "--", "sh", "-c", flood);
        assertThat(human.rc()).as(human.toString().substring(0, 200)).isEqualTo(137);
        assertThat(human.stdout().length() + human.stderr().length()).isLessThan((1 << 20) + 2000);
        assertThat(human.stderr().lines().filter(l -> l.contains("--max-output")).toList()).singleElement()
                .asString().contains("--max-output 1M", "exit 137", "raise it");
        Cli.Result small = cli.run("--json", "run", image, "--max-output", "10", "--", "echo", "hi");
        assertThat(small.rc()).as(small.toString()).isZero();
        assertThat(small.json().get("output_limited").asBoolean()).isFalse();
        assertThat(cli.run("run", image, "--max-output", "lots", "--", "true").rc()).isEqualTo(2);

        Cli.Result c = cli.run("--json", "sandbox", "create", image);
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        try {
            Cli.Result e = cli.run("--json", "sandbox", "exec", id, "--max-output", "1000000", "--timeout", "60", "--",
                    "sh", "-c", flood);
            assertThat(e.rc()).as(e.toString()).isEqualTo(137);
            assertThat(e.json().get("output_limited").asBoolean()).isTrue();
            assertThat(e.json().get("stdout").asText().length() + e.json().get("stderr").asText().length())
                    .isEqualTo(1_000_000);
            assertThat(cli.run("sandbox", "exec", id, "--", "true").rc()).isZero(); // the sandbox still runs
        } finally {
            assertThat(cli.run("sandbox", "rm", id).rc()).isZero();
        }
        assertThat(dirs(home.resolve("sandboxes"))).isEmpty();
    }

    @Test
    void aCommandPastItsMemoryLimitExits137WithOomKilled() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"),
                "unix:uid")) == 0, "limits need root here (no delegated cgroup v2)");
        Cli cli = new Cli(home);
        // the shell keeps all of /dev/urandom it reads: past 32 MiB the kernel kills it
        String hog = "x=$(cat /dev/urandom)";
        Cli.Result r = cli.run("--json", "run", image, "--memory", "32", "--cpus", "0.5", "--pids", "64",
                "--timeout", "60", "--", "sh", "-c", hog);
        assertThat(r.rc()).as(r.toString()).isEqualTo(137);
        assertThat(r.json().get("oom_killed").asBoolean()).isTrue();
        assertThat(r.json().get("limits").toString()).isEqualTo("{\"memory_mib\":32,\"cpus\":0.5,\"pids\":64,\"disk_mib\":10240,\"enforced_by\":\"cgroup\",\"disk_enforced_by\":\"filesystem\"}");
        Cli.Result human = cli.run("run", image, "--memory", "32", "--timeout", "60", "--", "sh", "-c", hog);
        assertThat(human.rc()).isEqualTo(137);
        assertThat(human.stderr()).contains("memory limit of 32 MiB", "--memory");
        Cli.Result free = cli.run("--json", "run", image, "--no-limits", "--", "true");
        assertThat(free.rc()).as(free.toString()).isZero();
        assertThat(free.json().get("limits").toString()).isEqualTo("{\"memory_mib\":0,\"cpus\":0.0,\"pids\":0,\"disk_mib\":0,\"enforced_by\":\"none\",\"disk_enforced_by\":\"none\"}");

        Cli.Result c = cli.run("--json", "sandbox", "create", image, "--memory", "32");
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        try {
            assertThat(c.json().at("/limits/memory_mib").asLong()).isEqualTo(32);
            Cli.Result e = cli.run("--json", "sandbox", "exec", id, "--timeout", "60", "--", "sh", "-c", hog);
            assertThat(e.rc()).as(e.toString()).isEqualTo(137);
            assertThat(e.json().get("oom_killed").asBoolean()).isTrue();
            Cli.Result ok = cli.run("--json", "sandbox", "exec", id, "--", "true");
            assertThat(ok.json().get("oom_killed").asBoolean()).as(ok.toString()).isFalse();
        } finally {
            assertThat(cli.run("sandbox", "rm", id).rc()).isZero();
        }
        assertThat(dirs(home.resolve("sandboxes"))).isEmpty();
    }

    @Test
    void aWritePastTheDiskLimitSaysDiskFull() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"),
                "unix:uid")) == 0, "a disk of the sandbox's own needs root");
        Cli cli = new Cli(home);
        Cli.Result r = cli.run("--json", "run", image, "--disk", "32", "--timeout", "60", "--", "sh", "-c",
                "cat /dev/zero > /big");
        assertThat(r.rc()).as(r.toString()).isEqualTo(1);
        assertThat(r.json().get("disk_full").asBoolean()).as(r.toString()).isTrue();
        assertThat(r.json().at("/limits/disk_mib").asLong()).isEqualTo(32);
        Cli.Result human = cli.run("run", image, "--disk", "32", "--timeout", "60", "--", "sh", "-c",
                "cat /dev/zero > /big");
        assertThat(human.stderr()).contains("disk limit of 32 MiB", "--disk");
        Cli.Result c = cli.run("--json", "sandbox", "create", image, "--disk", "32");
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        try {
            Cli.Result e = cli.run("--json", "sandbox", "exec", id, "--", "sh", "-c", "cat /dev/zero > /big");
            assertThat(e.json().get("disk_full").asBoolean()).as(e.toString()).isTrue();
        } finally {
            assertThat(cli.run("sandbox", "rm", id).rc()).isZero();
        }
        assertThat(dirs(home.resolve("sandboxes"))).isEmpty();
    }

    @Test
    void badDiskLimitsAreOneLineUsageErrors() {
        Cli cli = new Cli(home);
        for (List<String> bad : List.of(List.of("--disk", "8"), List.of("--disk", "lots"), List.of("--disk", "-1"),
                List.of("--no-limits", "--disk", "64"))) {
            List<String> args = new ArrayList<>(List.of("run", image));
            args.addAll(bad);
            args.addAll(List.of("--", "true"));
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertThat(r.rc()).as(r.toString()).isEqualTo(2);
            String last = r.stderr().strip().lines().reduce((a, b) -> b).orElse("");
            assertThat(last).as(r.toString()).contains("--disk");
            assertThat(r.stderr()).as(r.toString()).doesNotContain("Limits.").doesNotContain("\tat ");
        }
        assertThat(cli.run("workspace", "create", image, "--disk", "8").rc()).isEqualTo(2);
    }

    @Test
    void usageErrorsKeepDavitsCodes() {
        assertThat(new Cli(home).run("run", image, "--no-limits", "--memory", "64", "--", "true").rc()).isEqualTo(2);
        assertThat(new Cli(home).run("run", image, "--pids", "2", "--", "true").rc()).isEqualTo(2);
        assertThat(new Cli(home).run("run", image, "--cpus", "-1", "--", "true").rc()).isEqualTo(2);
        assertThat(new Cli(home).run("run", image, "--vcpus", "2", "--", "true").rc()).isEqualTo(2);
        Cli cli = new Cli(home);
        assertThat(cli.run("run", image, "--backend", "vm", "--", "true").rc()).isEqualTo(2);
        assertThat(cli.run("run", image, "--env", "NOEQUALS", "--", "true").rc()).isEqualTo(2);
        assertThat(cli.run("run", image, "--timeout", "0", "--", "true").rc()).isEqualTo(2);
        Cli.Result nf = cli.run("run", registry.hostPort() + "/sandbox/none:1", "--", "true");
        assertThat(nf.rc()).as(nf.toString()).isEqualTo(3);
    }

    @Test
    void aUsersCatalogIsReadBeforeAnImageReferenceIsRun() {
        Path missing = home.resolve("no-catalog.json");
        Cli.Result r = new Cli(home).run("run", "--catalog", missing.toString(), image, "--", "true");
        assertThat(r.rc()).as(r.toString()).isEqualTo(2);
        assertThat(r.stderr()).contains("catalog path " + missing + " does not exist").doesNotContain("==> pulling");
    }

    @Test
    void doctorJson() {
        Cli.Result r = new Cli(home).run("--json", "doctor");
        assertThat(r.rc()).as(r.toString()).isZero();
        JsonNode doc = r.json();
        assertThat(doc.at("/backends/0/name").asText()).isEqualTo("container");
        assertThat(doc.at("/backends/0/available").asBoolean()).isTrue();
        assertThat(doc.at("/backends/0/facts/bwrap_version").asText()).isNotBlank();
        JsonNode vm = null;
        for (JsonNode b : doc.path("backends")) {
            vm = b.path("name").asText().equals("vm") ? b : vm;
        }
        assertThat(vm).as(doc.toString()).isNotNull();
        assertThat(vm.path("available").asBoolean()).as(vm.toString()).isTrue(); // CI installs QEMU
        assertThat(vm.path("detail").asText()).startsWith("QEMU ");
        assertThat(vm.at("/facts/accel").asText()).isIn("kvm", "tcg");
        JsonNode limits = null;
        for (JsonNode b : doc.path("backends")) {
            limits = b.path("name").asText().equals("container/limits") ? b : limits;
        }
        assertThat(limits).as(doc.toString()).isNotNull(); // as root: every limit, the disk's by a filesystem of its own
        assertThat(limits.at("/facts/defaults").asText()).isEqualTo("1024 MiB, 1.0 CPU, 1024 processes, 10240 MiB of disk");
        assertThat(limits.at("/facts/disk").asText()).startsWith("a filesystem of the limit's size per sandbox");
        // CI runs as root with mmdebstrap installed
        assertThat(doc.at("/env_build/available").asBoolean()).as(doc.toString()).isTrue();
        assertThat(doc.at("/env_build/detail").asText()).isEqualTo("Debian profiles build with mmdebstrap as root");

        Cli.Result human = new Cli(home).run("doctor");
        assertThat(human.stdout()).contains("container", "available", "vm", "QEMU", "env build");
    }
    /** One davit command line in a JVM of its own (as a user's successive commands are). */
    /**
     * A SIGTERM'd {@code davit run} ends its run as a SIGINT'd one does: crun's and runc's container (which, unlike
     * bubblewrap's sandbox, does not die with its parent) and the run's state are gone without a reap.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"crun", "runc"})
    void aSigtermedRunEndsItsContainerAndState(String runtime) throws Exception {
        Tools.assumeAvailable(runtime);
        assertThat(new Cli(home).run("pull", image).rc()).isZero();
        ProcessBuilder pb = new ProcessBuilder(inJvm("run", "--runtime", runtime, image, "--", "sleep", "1000"))
                .redirectErrorStream(true).redirectOutput(home.resolve("run.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("DAVIT_HOME", home.toString());
        Process davit = pb.start();
        ProcessHandle sleeper = null;
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (sleeper == null && System.nanoTime() < deadline && davit.isAlive()) {
            // the container's busybox sleep (its command line reads as "sleep 1000")
            sleeper = davit.descendants().filter(h -> h.info().commandLine().orElse("").endsWith(" 1000"))
                    .findFirst().orElse(null);
            Thread.sleep(50);
        }
        assertThat(sleeper).as(Files.readString(home.resolve("run.log"))).isNotNull();
        List<ProcessHandle> tree = davit.descendants().toList();
        assertThat(dirs(home.resolve("sandboxes"))).hasSize(1);

        try {
            davit.destroy(); // SIGTERM
            assertThat(davit.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            long gone = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (tree.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < gone) {
                Thread.sleep(20); // reaped by init a moment after a loaded host killed them
            }
            assertThat(sleeper.isAlive()).as("the container outlived its SIGTERM'd davit").isFalse();
            assertThat(tree).noneMatch(ProcessHandle::isAlive);
            assertThat(dirs(home.resolve("sandboxes"))).isEmpty();
        } finally {
            tree.forEach(ProcessHandle::destroyForcibly); // nothing left behind should the test fail
        }
    }

    /**
     * A flood on both streams, `run --json` in a JVM with a 64 MiB heap: the excerpt of each stream (its first and
     * last 32 MiB, docs/reference/JSON.md) is kept in files and written out from them, never held in memory (issue 34: the
     * excerpts held in memory took 349 MB of RSS, and a 64 MiB heap failed with OutOfMemoryError).
     */
    @Test
    void aJsonFloodOnBothStreamsRunsInA64MiBHeap() throws Exception {
        assertThat(new Cli(home).run("pull", image).rc()).isZero();
        JsonNode doc = floodIn64MiB("run", image);
        for (String name : List.of("stdout", "stderr")) {
            assertThat(doc.has(name + "_base64")).isFalse();
        }
        try (Stream<Path> left = Files.list(home.resolve("sandboxes"))) {
            assertThat(left).isEmpty(); // the run's state and the unlinked spool files
        }
    }

    /**
     * A flood on both streams, {@code workspace exec --json} in a JVM with a 64 MiB heap: the excerpts (the first and
     * last 32 MiB of each stream) are kept in files as {@code run --json}'s are (issue 34: held in memory they took
     * 720 MB of RSS, and a 64 MiB heap failed with OutOfMemoryError); the same document, and the whole output still
     * readable with {@code workspace output}.
     */
    @Test
    void aWorkspaceExecJsonFloodOnBothStreamsRunsInA64MiBHeap() throws Exception {
        Cli cli = new Cli(home);
        Cli.Result created = cli.run("--json", "workspace", "create", image);
        assertThat(created.rc()).as(created.toString()).isZero();
        String id = created.json().get("id").asText();
        try {
            JsonNode doc = floodIn64MiB("workspace", "exec", id);
            Cli.Result page = cli.run("--json", "workspace", "output", id, doc.get("exec_id").asText(), "--stream",
                    "stderr", "--limit", "22");
            assertThat(page.rc()).as(page.toString()).isZero();
            assertThat(page.json().get("content").asText()).isEqualTo("0123456789\n0123456789\n");
            try (Stream<Path> left = Files.list(home.resolve("workspaces").resolve(id))) {
                assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".output-"));
            }
        } finally {
            cli.run("workspace", "rm", id);
        }
    }

    /**
     * {@code davit --json COMMAND... -- sh -c FLOOD} in a JVM with a 64 MiB heap, 100 MB on each stream: its document,
     * checked to have exited 0 with each stream's first and last 32 MiB around the line saying what was left out.
     */
    private JsonNode floodIn64MiB(String... command) throws Exception {
        List<String> cmd = inJvm("--json");
        cmd.addAll(List.of(command));
        cmd.addAll(List.of("--", "sh", "-c",
                "yes 0123456789 | head -c 100000000 & yes 0123456789 | head -c 100000000 >&2; wait"));
        cmd.add(1, "-Xmx64m");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(home.resolve("flood.json").toFile())
                .redirectError(home.resolve("flood.err").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("DAVIT_HOME", home.toString());
        Process flood = pb.start();
        // not a timing bound (it takes seconds): an exec whose heap ran out in the thread reading its stdout (before
        // issue 34) could hang for ever, its command no longer read
        if (!flood.waitFor(3, java.util.concurrent.TimeUnit.MINUTES)) {
            flood.descendants().forEach(ProcessHandle::destroyForcibly);
            flood.destroyForcibly();
            org.assertj.core.api.Assertions.fail("the flood hung: " + Files.readString(home.resolve("flood.err")));
        }
        assertThat(flood.exitValue()).as(Files.readString(home.resolve("flood.err"))).isZero();
        JsonNode doc = new com.fasterxml.jackson.databind.ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
                .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                        .maxStringLength(Integer.MAX_VALUE).build()).build())
                .readTree(home.resolve("flood.json").toFile());
        assertThat(doc.get("exit_code").asInt()).isZero();
        assertThat(doc.get("truncated").asBoolean()).isTrue();
        for (String name : List.of("stdout", "stderr")) {
            String line = "\n[... davit: " + (100_000_000 - (64 << 20)) + " bytes of " + name + " left out here ...]\n";
            String text = doc.get(name).asText();
            assertThat(doc.get(name + "_bytes").asLong()).isEqualTo(100_000_000);
            assertThat(text).hasSize((64 << 20) + line.length()).startsWith("0123456789\n0123456789\n")
                    .endsWith("0123456789\n0"); // 100,000,000 = 11 * 9,090,909 + 1
            assertThat(text.indexOf(line)).isEqualTo(32 << 20);
        }
        return doc;
    }

    /** The command line of davit with {@code args} in a JVM of its own. */
    private static List<String> inJvm(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private Cli.Result davit(String... args) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(inJvm(args));
        pb.environment().put("DAVIT_HOME", home.toString());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Path err = home.resolve("stderr.txt");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        int rc = p.waitFor();
        return new Cli.Result(rc, out, Files.readString(err));
    }

    @Test
    void workspaceServicesAndShellsOutliveTheDavitThatStartedThem() throws Exception {
        Cli cli = new Cli(home);
        Cli.Result c = cli.run("workspace", "create", image, "--name", "proj");
        assertThat(c.rc()).as(c.toString()).isZero();
        try {
            Cli.Result start = davit("workspace", "service", "start", "proj", "web", "--ready-file", "ready", "--",
                    "sh", "-c", "echo serving; echo warn >&2; echo x > ready; exec sleep 1000");
            assertThat(start.rc()).as(start.toString()).isZero();
            assertThat(start.stdout()).isEqualTo("web\n");
            Cli.Result ls = davit("--json", "workspace", "service", "ls", "proj");
            assertThat(ls.json().at("/services/0/state").asText()).as(ls.toString()).isEqualTo("running");
            assertThat(ls.json().at("/services/0/ready").asBoolean()).isTrue();
            assertThat(ls.json().at("/services/0/readiness/kind").asText()).isEqualTo("file");
            assertThat(davit("workspace", "service", "logs", "proj", "web").stdout()).isEqualTo("serving\nwarn\n");
            assertThat(cli.run("workspace", "service", "logs", "proj", "web", "--tail", "1").stdout())
                    .isEqualTo("warn\n");
            Cli.Result logs = davit("--json", "workspace", "service", "logs", "proj", "web", "--tail", "1");
            assertThat(logs.json().get("output").asText()).isEqualTo("warn\n");
            assertThat(logs.json().get("dropped_bytes").asLong()).isZero();
            assertThat(logs.json().get("line_cut").asBoolean()).isFalse();

            Cli.Result open = davit("--json", "workspace", "shell", "open", "proj");
            assertThat(open.rc()).as(open.toString()).isZero();
            String sh = open.json().get("id").asText();
            assertThat(davit("workspace", "shell", "write", "proj", sh, "read x; echo got-$x-$((1+2))\\n").rc())
                    .isZero();
            assertThat(davit("workspace", "shell", "write", "proj", sh, "hi\\n").rc()).isZero();
            StringBuilder seen = new StringBuilder();
            for (int i = 0; i < 20 && !seen.toString().contains("got-hi-3"); i++) {
                Cli.Result r = davit("--json", "workspace", "shell", "read", "proj", sh, "--wait-ms", "1000");
                assertThat(r.rc()).as(r.toString()).isZero();
                seen.append(r.json().get("output").asText());
            }
            assertThat(seen.toString()).contains("got-hi-3").doesNotContain("\u001b").doesNotContain("\r");
            assertThat(cli.run("--json", "workspace", "shell", "ls", "proj").json().at("/shells/0/state").asText())
                    .isEqualTo("running");
            // a program given after --, its bytes raw, its text with --until; bad read options name the fix
            Cli.Result prog = davit("--json", "workspace", "shell", "open", "proj", "--", "sh", "-c",
                    "printf 'a\\377\\033[1mb'; sleep 600");
            String p = prog.json().get("id").asText();
            Cli.Result raw = davit("--json", "workspace", "shell", "read", "proj", p, "--wait-ms", "30000", "--until",
                    "b", "--raw");
            assertThat(raw.json().get("output").isNull()).as(raw.toString()).isTrue();
            assertThat(java.util.Base64.getDecoder().decode(raw.json().get("output_base64").asText()))
                    .isEqualTo(new byte[] {'a', (byte) 0xff, 0x1b, '[', '1', 'm', 'b'});
            assertThat(raw.json().get("truncated").asBoolean()).isFalse();
            assertThat(davit("workspace", "shell", "close", "proj", p).rc()).isZero();
            for (String[] bad : new String[][] {{"--max-bytes", "0"}, {"--until", "("}, {"--wait-ms", "-1"}}) {
                Cli.Result r = cli.run("workspace", "shell", "read", "proj", sh, bad[0], bad[1]);
                assertThat(r.rc()).as(r.toString()).isEqualTo(2);
                assertThat(r.stderr().strip()).doesNotContain("\n").contains(bad[0]);
            }
            assertThat(cli.run("workspace", "shell", "open", "proj", "--cmd", "true", "--", "true").rc()).isEqualTo(2);

            Cli.Result stop = davit("workspace", "service", "stop", "proj", "web");
            assertThat(stop.stdout()).as(stop.toString()).isEqualTo("web stopped\n");
            Cli.Result close = davit("workspace", "shell", "close", "proj", sh);
            assertThat(close.stdout()).as(close.toString()).isEqualTo(sh + "\n");
            assertThat(cli.run("--json", "workspace", "shell", "ls", "proj").json().get("shells")).isEmpty();

            Cli.Result bad = cli.run("workspace", "service", "start", "proj", "bad", "--ready-file", "never", "--",
                    "sh", "-c", "echo boom; exit 4");
            assertThat(bad.rc()).as(bad.toString()).isEqualTo(9);
            assertThat(bad.stderr().strip()).doesNotContain("\n").contains("exited with code 4", "boom");
            Cli.Result two = cli.run("workspace", "service", "start", "proj", "x", "--ready-file", "f",
                    "--ready-port", "80", "--", "true");
            assertThat(two.rc()).as(two.toString()).isEqualTo(2);
            assertThat(cli.run("workspace", "shell", "read", "proj", "sh-00000000").rc()).isEqualTo(3);
        } finally {
            assertThat(cli.run("workspace", "rm", "proj").rc()).isZero();
        }
    }
}
