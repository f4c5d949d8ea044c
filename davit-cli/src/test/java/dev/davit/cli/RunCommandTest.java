package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code davit run} with an image built from a busybox rootfs and pulled from a real registry; {@code davit doctor}. */
class RunCommandTest {
    static TestRegistry registry;
    static String image;

    @TempDir
    static Path shared;

    @TempDir
    Path home;

    @BeforeAll
    static void up() throws IOException {
        Tools.assumeAvailable("bwrap", "busybox", Tools.REGISTRY);
        registry = TestRegistry.start();
        image = BusyboxImage.push(shared, registry);
    }

    @AfterAll
    static void down() {
        if (registry != null) {
            registry.close();
        }
    }

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
        assertThat(r.stderr()).contains("==> pulling", "==> unpacking", "==> running in a container sandbox", "err\n",
                "==> exit 3");
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
                "exit_code", "stdout", "stderr", "timed_out", "truncated", "oom_killed", "output_limited", "timings_ms");
        assertThat(doc.get("output_limited").asBoolean()).isFalse();
        assertThat(doc.get("limits").toString()).isEqualTo("{\"memory_mib\":1024,\"cpus\":1.0,\"pids\":1024}");
        assertThat(doc.get("oom_killed").asBoolean()).isFalse();
        assertThat(doc.get("environment").asText()).isEqualTo(image);
        assertThat(doc.get("digest").asText()).startsWith("sha256:");
        assertThat(doc.get("backend").asText()).isEqualTo("container");
        assertThat(doc.get("runtime").asText()).isEqualTo("bwrap");
        assertThat(doc.get("exit_code").asInt()).isEqualTo(5);
        assertThat(doc.get("stdout").asText()).isEqualTo("1 /tmp\n");
        assertThat(doc.get("stderr").asText()).isEqualTo("e\n");
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

    @Test
    void workspaceCreateExecFilesDiffRmWithJson() throws IOException {
        Cli cli = new Cli(home);
        Path seed = home.resolve("ws-seed");
        Files.createDirectories(seed);
        Files.writeString(seed.resolve("a.txt"), "alpha\n");
        Cli.Result c = cli.run("--json", "workspace", "create", image, "--seed", seed.toString(), "--name", "proj");
        assertThat(c.rc()).as(c.toString()).isZero();
        String id = c.json().get("id").asText();
        assertThat(id).matches("ws-[0-9a-f]{12}");
        assertThat(c.json().get("status").asText()).isEqualTo("running");
        assertThat(c.json().at("/baseline/files").asInt()).isEqualTo(1);
        try {
            Cli.Result e = cli.run("workspace", "exec", "proj", "--", "sh", "-c", "pwd; cat a.txt");
            assertThat(e.rc()).as(e.toString()).isZero();
            assertThat(e.stdout()).isEqualTo("/workspace\nalpha\n");
            Path from = home.resolve("b.txt");
            Files.writeString(from, "beta\n");
            Cli.Result w = cli.run("--json", "workspace", "file", "write", id, "b.txt", "--from", from.toString());
            assertThat(w.rc()).as(w.toString()).isZero();
            assertThat(w.json().get("bytes").asInt()).isEqualTo(5);
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
            assertThat(logs.json().size()).isEqualTo(2);
            assertThat(logs.json().at("/1/exit_code").asInt()).isEqualTo(5);
            assertThat(logs.json().at("/0/stdout/head").asText()).isEqualTo("/workspace\nalpha\n");
            assertThat(cli.run("workspace", "snapshot", "rm", id, "s1").stdout()).isEqualTo("s1\n");
        } finally {
            Cli.Result rm = cli.run("--json", "workspace", "rm", id);
            assertThat(rm.rc()).as(rm.toString()).isZero();
        }
        assertThat(cli.run("workspace", "status", id).rc()).isEqualTo(3);
        assertThat(dirs(home.resolve("workspaces"))).isEmpty();
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
        assertThat(bad.stderr()).contains("unknown profile 'nosuch'; available: base, git, build, busybox");
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
        String flood = "yes & cat /dev/zero >&2 & wait";
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
        assertThat(r.json().get("limits").toString()).isEqualTo("{\"memory_mib\":32,\"cpus\":0.5,\"pids\":64}");
        Cli.Result human = cli.run("run", image, "--memory", "32", "--timeout", "60", "--", "sh", "-c", hog);
        assertThat(human.rc()).isEqualTo(137);
        assertThat(human.stderr()).contains("memory limit of 32 MiB", "--memory");
        Cli.Result free = cli.run("--json", "run", image, "--no-limits", "--", "true");
        assertThat(free.rc()).as(free.toString()).isZero();
        assertThat(free.json().get("limits").toString()).isEqualTo("{\"memory_mib\":0,\"cpus\":0.0,\"pids\":0}");

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
        // CI runs as root with mmdebstrap installed
        assertThat(doc.at("/env_build/available").asBoolean()).as(doc.toString()).isTrue();
        assertThat(doc.at("/env_build/detail").asText()).isEqualTo("Debian profiles build with mmdebstrap as root");

        Cli.Result human = new Cli(home).run("doctor");
        assertThat(human.stdout()).contains("container", "available", "vm", "QEMU", "env build");
    }
}
