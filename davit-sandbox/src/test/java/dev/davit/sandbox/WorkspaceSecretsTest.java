package dev.davit.sandbox;

import dev.davit.sandbox.host.CgroupProbe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Secrets;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Workspace secrets over real bwrap sandboxes: kept 0600 on the host and on a tmpfs in the sandbox, never in the
 * workspace's state, layer, diff, snapshot or export, never on a host process's command line, mapped to variables on
 * request, and redacted from exec output, the history, service logs, shell reads and errors; what the sandbox copies
 * into /workspace itself is redacted from every result and rests nowhere in the home but in its own tree (issue 33,
 * item 7).
 */
class WorkspaceSecretsTest extends BwrapWorkspaces {
    private static final String TOKEN = "tok-3f9a1c77e0b2";
    private static final String KEY = "-----BEGIN KEY-----\nQUJDREVGR0hJSktMTU5PUA==\n-----END KEY-----\n";
    /** Every form of the values a reader could use: raw, base64 (both alphabets), the key's lines with CRLF. */
    private static final List<String> FORMS = List.of(TOKEN, b64(TOKEN), b64(TOKEN).replace('+', '-')
            .replace('/', '_'), "QUJDREVGR0hJSktMTU5PUA==", KEY.strip().replace("\n", "\r\n"), b64(KEY.strip()));

    private static String b64(String s) {
        return Base64.getEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    List<String> applets() {
        return List.of("test", "stat", "grep", "base64", "printf", "tail", "wc", "mv", "rm", "mkdir");
    }

    Workspace w;

    @BeforeEach
    void createWorkspace() throws IOException {
        Path seed = tmp.resolve("seed");
        Files.createDirectories(seed);
        Files.writeString(seed.resolve("README"), "hello\n");
        Map<String, byte[]> values = new LinkedHashMap<>();
        values.put("TOKEN", TOKEN.getBytes(StandardCharsets.UTF_8));
        values.put("KEY", KEY.getBytes(StandardCharsets.UTF_8));
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").seed(seed).secrets(Secrets.of(values)).build());
    }

    private ExecResult exec(Map<String, String> secretEnv, String script, ByteArrayOutputStream tee) {
        return workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script).secretEnv(secretEnv)
                .timeout(Duration.ofSeconds(20)).tees(tee, tee).build());
    }

    private static void assertNoValue(String where, String text) {
        assertFalse(text.contains(TOKEN), where + " holds the token: " + text);
        assertFalse(text.contains("QUJDREVGR0hJSktMTU5PUA=="), where + " holds the key: " + text);
        assertFalse(text.contains(Base64.getEncoder().withoutPadding().encodeToString(
                TOKEN.getBytes(StandardCharsets.UTF_8))), where + " holds the token's base64: " + text);
    }

    @Test
    void execOutputTheHistoryAndErrorsAreRedacted() {
        ByteArrayOutputStream tee = new ByteArrayOutputStream();
        ExecResult r = exec(Map.of("T", "TOKEN", "K", "KEY"), "echo \"out $T\"; echo \"err $T\" >&2;"
                + " printf %s \"$T\" | base64; printf '%s' \"$K\"; cat /run/secrets/TOKEN", tee);
        assertEquals(0, r.exitCode(), r.stderrText());
        // base64's padding is left: it tells nothing
        assertTrue(r.stdoutText().startsWith("out [REDACTED:TOKEN]\n[REDACTED:TOKEN]==\n[REDACTED:KEY]"),
                r.stdoutText());
        assertTrue(r.stdoutText().endsWith("[REDACTED:TOKEN]"), r.stdoutText());
        assertEquals("err [REDACTED:TOKEN]\n", r.stderrText());
        assertNoValue("the tee", tee.toString(StandardCharsets.UTF_8));

        // a value written in two pieces, apart in time (two reads of the pipe)
        tee.reset();
        r = exec(Map.of("T", "TOKEN"), "printf %s \"$T\" | head -c 7; sleep 0.3; printf %s \"$T\" | tail -c +8;"
                + " echo", tee);
        assertEquals("[REDACTED:TOKEN]\n", r.stdoutText(), r.stderrText());
        assertEquals("[REDACTED:TOKEN]\n", tee.toString(StandardCharsets.UTF_8));

        // the exact value reaches the variable (no line end added or lost) and the file holds it all
        r = exec(Map.of("T", "TOKEN", "K", "KEY"), "test \"$(cat /run/secrets/KEY; echo .)\" = \"$K.\" && echo same"
                + " && printf %s \"$T\" | wc -c", null);
        assertEquals("same\n" + TOKEN.length() + "\n", r.stdoutText().replace(" ", ""), r.stderrText());

        // a failing command whose name is the value: its message and the history
        ExecResult failed = null;
        try {
            failed = workspaces.execs().run(w.id(), ExecRequest.builder(TOKEN, "--flag").timeout(Duration.ofSeconds(20))
                    .build());
        } catch (DavitException e) {
            assertNoValue("the error", e.getMessage());
        }
        if (failed != null) {
            assertTrue(failed.exitCode() != 0);
            assertNoValue("the failure's stderr", failed.stderrText());
        }
        String history = workspaces.execs().logs(w.id()).toString();
        assertNoValue("the history", history);
        assertTrue(history.contains("[REDACTED:TOKEN]"), history);

        // bad uses
        DavitException e = assertThrows(DavitException.class, () -> exec(Map.of("T", "NOPE"), "true", null));
        assertEquals(DavitException.Kind.USAGE, e.kind());
        assertTrue(e.getMessage().contains("TOKEN, KEY"), e.getMessage());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> exec(Map.of("1X", "TOKEN"), "true", null)).kind());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> workspaces.execs().run(w.id(), ExecRequest.builder("true").env("T", "x").secretEnv("T", "TOKEN")
                        .build())).kind());
    }

    @Test
    void theValuesAreOnATmpfsOnlyAndInNoStateLayerDiffSnapshotOrExport() throws Exception {
        ExecResult r = exec(Map.of(), "stat -c '%a %u' /run/secrets /run/secrets/TOKEN; id -u;"
                + " grep ' /run/secrets ' /proc/mounts", null);
        String[] lines = r.stdoutText().split("\n");
        String uid = lines[2];
        assertEquals("700 " + uid, lines[0], r.stdoutText());
        assertEquals("600 " + uid, lines[1], r.stdoutText());
        assertTrue(lines[3].contains(" tmpfs "), r.stdoutText());

        // on the host: 0600 in a 0700 directory, and only there
        Path state = home.resolve("workspaces").resolve(w.id());
        Path values = state.resolve("secrets").resolve("values.json");
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(values.getParent())));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(values)));
        String json = Files.readString(state.resolve("workspace.json"));
        assertNoValue("workspace.json", json);
        assertEquals(List.of("TOKEN", "KEY"), Json.read(json.getBytes(StandardCharsets.UTF_8)).path("secrets")
                .findValuesAsText("name"));

        // the sandbox writes them into /workspace: there they are its own files, but davit's own copies are not
        // anywhere else: a snapshot, the diff and an export of a workspace that never held them
        workspaces.files().write(w.id(), "notes.txt", new java.io.ByteArrayInputStream("n\n".getBytes()));
        workspaces.snapshot(w.id(), "s1");
        assertNoValue("the diff", workspaces.files().diff(w.id()).toString());
        Path export = tmp.resolve("export");
        workspaces.files().export(w.id(), export, null);
        workspaces.stop(w.id());
        workspaces.start(w.id());
        List<Path> holding = new ArrayList<>();
        for (Path top : List.of(home, export)) {
            try (Stream<Path> all = Files.walk(top)) {
                for (Path f : all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                    if (f.equals(values)) {
                        continue;
                    }
                    String t = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                    if (t.contains(TOKEN) || t.contains("QUJDREVGR0hJSktMTU5PUA==")
                            || t.contains(Base64.getEncoder().encodeToString(TOKEN.getBytes()))) {
                        holding.add(f);
                    }
                }
            }
        }
        assertEquals(List.of(), holding);

        // after the stop and start (a fresh tmpfs), and after a reset, the files are there again
        r = exec(Map.of("T", "TOKEN"), "cat /run/secrets/TOKEN; echo; echo \"$T\"", null);
        assertEquals("[REDACTED:TOKEN]\n[REDACTED:TOKEN]\n", r.stdoutText(), r.stderrText());
        workspaces.reset(w.id(), null);
        r = exec(Map.of(), "stat -c %a /run/secrets/KEY", null);
        assertEquals("600\n", r.stdoutText(), r.stderrText());
    }

    @Test
    void noHostProcessHasAValueOnItsCommandLineOrInItsEnvironment() throws Exception {
        AtomicReference<ExecResult> result = new AtomicReference<>();
        Thread t = new Thread(() -> result.set(exec(Map.of("T", "TOKEN", "K", "KEY"),
                "sleep 2; echo \"$T\"", null)));
        t.start();
        byte[] value = TOKEN.getBytes(StandardCharsets.UTF_8);
        Path ownPidNs = Files.readSymbolicLink(Path.of("/proc/self/ns/pid"));
        boolean sawIt = false;
        List<String> leaks = new ArrayList<>();
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (t.isAlive() && System.nanoTime() < deadline) {
            try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
                for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                    try {
                        byte[] cmdline = Files.readAllBytes(p.resolve("cmdline"));
                        String c = new String(cmdline, StandardCharsets.ISO_8859_1);
                        // the command itself, running (its agent's fork, or the host's chain without an agent)
                        sawIt |= c.contains("sleep 2; echo");
                        if (c.contains(TOKEN)) {
                            leaks.add(p + " cmdline " + c.replace('\0', ' '));
                        }
                        // a host process (outside the sandbox's pid namespace) never has it in its environment
                        if (Files.readSymbolicLink(p.resolve("ns/pid")).equals(ownPidNs)
                                && new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.ISO_8859_1)
                                .contains(new String(value, StandardCharsets.ISO_8859_1))) {
                            leaks.add(p + " environ " + c.replace('\0', ' '));
                        }
                    } catch (IOException gone) {
                        // ended meanwhile
                    }
                }
            }
        }
        t.join();
        assertTrue(sawIt, "the exec was not seen running");
        assertEquals(List.of(), leaks);
        assertEquals("[REDACTED:TOKEN]\n", result.get().stdoutText());
    }

    @Test
    void serviceLogsAndErrorsAreRedacted() {
        Services services = workspaces.services(w.id());
        services.start("svc", List.of("sh", "-c", "echo \"svc $T\"; printf %s \"$T\" | head -c 5; sleep 0.3;"
                + " printf '%s\\n' \"$T\" | tail -c +6; exec sleep 100"), Map.of(), Map.of("T", "TOKEN"), null, null);
        long deadline = System.nanoTime() + 20_000_000_000L;
        String log = "";
        // (until the second half is there: the first half alone shows as the marker too, a value cut short)
        while (System.nanoTime() < deadline && !log.endsWith("\n[REDACTED:TOKEN]\n")) {
            log = new String(services.logs("svc", 0), StandardCharsets.UTF_8);
        }
        assertEquals("svc [REDACTED:TOKEN]\n[REDACTED:TOKEN]\n", log);
        assertNoValue("the last line", new String(services.logs("svc", 1), StandardCharsets.UTF_8));
        assertNoValue("the service list", services.list().toString());

        DavitException e = assertThrows(DavitException.class, () -> services.start("bad", List.of("sh", "-c",
                "echo \"failing with $T\"; exit 3"), Map.of(), Map.of("T", "TOKEN"),
                new Services.Readiness("file", "never"), Duration.ofSeconds(10)));
        assertNoValue("the error", e.getMessage());
        assertTrue(e.getMessage().contains("failing with [REDACTED:TOKEN]"), e.getMessage());
        services.stop("svc");
    }

    /**
     * The log filter (a JVM on the host) starts with the runtime's own java and nothing of the holder's environment:
     * a service's JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS (which would run an agent of the sandbox's on the host where
     * the holder has the sandbox's environment) never reaches it, nor any secret; it runs in the sandbox's cgroups
     * (issue 33 review, H1, M5 and M6).
     */
    @Test
    void theLogFilterGetsNoneOfTheServicesEnvironment() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(CgroupProbe.probe().available(), "cgroups davit can create");
        Workspace limited = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(512, 1, 1024, 0))
                .ttl(Duration.ofHours(1)).build()).name("limited")
                .secrets(Secrets.of(Map.of("TOKEN", TOKEN.getBytes(StandardCharsets.UTF_8)))).build());
        Services services = workspaces.services(limited.id());
        services.start("svc", List.of("sh", "-c", "echo \"svc $T\"; exec sleep 100"), Map.of("JAVA_TOOL_OPTIONS",
                "-Dx=1", "JDK_JAVA_OPTIONS", "-Dy=2"), Map.of("T", "TOKEN"), null, null);
        long deadline = System.nanoTime() + 20_000_000_000L;
        String log = "";
        while (System.nanoTime() < deadline && !log.endsWith("\n")) {
            log = new String(services.logs("svc", 0), StandardCharsets.UTF_8);
        }
        assertEquals("svc [REDACTED:TOKEN]\n", log);
        List<String> filters = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    List<String> argv = List.of(new String(Files.readAllBytes(p.resolve("cmdline")),
                            StandardCharsets.UTF_8).split("\0"));
                    if (argv.contains("dev.davit.sandbox.workspace.RedactPipe") && argv.stream().anyMatch(a ->
                            a.startsWith(home.toString()))) {
                        assertEquals(Path.of(System.getProperty("java.home"), "bin", "java").toString(), argv.get(0));
                        assertTrue(argv.contains("-XX:+DisableAttachMechanism"), argv.toString());
                        filters.add(new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.UTF_8)
                                .replace('\0', ' ').strip());
                        // in the sandbox's own cgroups, as the service is: its limits and the totals count it
                        String cgroups = Files.readString(Path.of("/proc", Long.toString(services.get("svc").pid()),
                                "cgroup"));
                        assertTrue(cgroups.contains("/" + limited.sandboxId() + "\n"), cgroups);
                        assertEquals(cgroups, Files.readString(p.resolve("cgroup")));
                    }
                } catch (java.nio.file.NoSuchFileException gone) {
                    // ended meanwhile
                }
            }
        }
        assertEquals(List.of("PATH=/usr/bin:/bin LANG=C.UTF-8"), filters);
        services.stop("svc");
    }

    @Test
    void shellReadsAreRedactedWhatIsTypedToo() {
        Shells shells = workspaces.shells(w.id());
        Shells.Shell s = shells.open(null, Map.of(), Map.of("T", "TOKEN"));
        shells.write(s.id(), "echo \"got $T\"\n".getBytes(StandardCharsets.UTF_8));
        String out = ShellReads.readUntil(shells, s.id(), "got [REDACTED:TOKEN]", Duration.ofSeconds(20));
        // typed one character at a time: the terminal echoes each in its own write
        for (char c : ("echo " + TOKEN + "-typed\n").toCharArray()) {
            shells.write(s.id(), new byte[] {(byte) c});
        }
        out += ShellReads.readUntil(shells, s.id(), "[REDACTED:TOKEN]-typed\r\n", Duration.ofSeconds(20));
        shells.write(s.id(), "cat /run/secrets/KEY; echo done-$((1+1))\n".getBytes(StandardCharsets.UTF_8));
        out += ShellReads.readUntil(shells, s.id(), "done-2", Duration.ofSeconds(20));
        assertNoValue("the shell's output", out);
        assertTrue(out.contains("[REDACTED:KEY]"), out);
        shells.close(s.id());
    }

    @Test
    void badSecretsAreRefused() {
        CreateSpec spec = CreateSpec.builder(rootfs).ttl(Duration.ofHours(1)).limits(Limits.NONE).build();
        for (Map<String, byte[]> bad : List.of(Map.of("1A", new byte[] {1}), Map.of("A-B", new byte[] {1}),
                Map.of("E", new byte[0]), Map.of("SHORT", "1234567".getBytes(StandardCharsets.UTF_8)),
                Map.of("BIG", new byte[Secrets.MAX_VALUE + 1]))) {
            DavitException e = assertThrows(DavitException.class,
                    () -> workspaces.create(WorkspaceSpec.builder(spec).secrets(Secrets.of(bad)).build()));
            assertEquals(DavitException.Kind.USAGE, e.kind());
            assertTrue(e.getMessage().contains("Secrets.of"), e.getMessage()); // the library's method, no CLI flag
        }
        // a workspace without secrets has none to map
        Workspace plain = workspaces.create(WorkspaceSpec.builder(spec).build());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> workspaces.execs().run(plain.id(), ExecRequest.builder("true").secretEnv("T", "TOKEN").build()))
                        .kind());
    }

    private static void assertNoForm(String where, Object result) {
        String text = result instanceof byte[] b ? new String(b, StandardCharsets.ISO_8859_1) : String.valueOf(result);
        for (String f : FORMS) {
            assertFalse(text.contains(f), where + " holds a value (" + f + "): " + text);
        }
    }

    /** Runs {@code script} with T and K set from the secrets; its output kept in the state (pages). */
    private WorkspaceExecs.Executed exec(String script) {
        WorkspaceExecs.Executed e = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .secretEnv("T", "TOKEN").secretEnv("K", "KEY").timeout(Duration.ofSeconds(30)).build(), 16);
        assertEquals(0, e.result().exitCode(), e.result().stderrText());
        return e;
    }

    @Test
    void noResultHoldsAValueAndNoFileOfTheHomeButValuesJson() throws Exception {
        String filler = "a".repeat(100);
        WorkspaceExecs.Executed e = exec("printf '%s\\n' \"$T\" >leak.txt; printf %s \"$T\" | base64 >b64.txt;"
                + " printf '%s' \"$K\" >key.pem; touch \"n-$T\"; mkdir -p \"d-$T\"; printf '%s\\n' x >\"d-$T/f\";"
                + " printf '" + filler + "%s' \"$T\" >big.txt; printf 'out %s\\n' \"$T\"; printf '%s' \"$K\" >&2");
        List<Object> results = new ArrayList<>();

        // the exec's output, read back in small pages: a value is never split into revealing pieces
        for (String stream : List.of("stdout", "stderr")) {
            long off = 0;
            StringBuilder all = new StringBuilder();
            while (true) {
                ExecOutput.Page p = workspaces.execs().output(w.id(), e.execId(), stream, off, 5);
                if (p.bytes().length == 0) {
                    break;
                }
                all.append(new String(p.bytes(), StandardCharsets.ISO_8859_1));
                off += p.bytes().length;
            }
            assertTrue(all.toString().contains("[REDACTED:"), all.toString());
            results.add(all); // the pages together: no value, not even across a page's end
        }

        // file reads: redacted, said so, the size the file's
        WorkspaceFiles.FileContent leak = workspaces.files().read(w.id(), "leak.txt", 0);
        assertEquals("[REDACTED:TOKEN]\n", new String(leak.bytes(), StandardCharsets.UTF_8));
        assertTrue(leak.redacted());
        assertEquals(TOKEN.length() + 1, leak.size());
        WorkspaceFiles.FileContent plain = workspaces.files().read(w.id(), "README", 0);
        assertFalse(plain.redacted());
        assertEquals("hello\n", new String(plain.bytes(), StandardCharsets.UTF_8));
        for (String f : List.of("leak.txt", "b64.txt", "key.pem", "big.txt")) {
            WorkspaceFiles.FileContent c = workspaces.files().read(w.id(), f, 0);
            assertTrue(c.redacted(), f);
            results.add(c.bytes());
        }
        // a read cut inside the value (max bytes): its start is masked, not shown
        WorkspaceFiles.FileContent cut = workspaces.files().read(w.id(), "big.txt", filler.length() + 9);
        assertTrue(cut.truncated() && cut.redacted());
        assertEquals(filler + "[REDACTED:TOKEN]", new String(cut.bytes(), StandardCharsets.UTF_8));
        // a page from an offset inside the value: the value's end is masked, not shown
        WorkspaceFiles.FileContent page = workspaces.files().read(w.id(), "big.txt", filler.length() + 3, 0);
        assertTrue(page.redacted(), new String(page.bytes(), StandardCharsets.UTF_8));
        assertTrue(new String(page.bytes(), StandardCharsets.UTF_8).startsWith("[REDACTED:TOKEN]"));
        results.add(page.bytes());
        // pages of a few bytes each (the caller picks offsets and lengths): put together, no byte of the value
        for (int size : new int[] {1, 3, 7}) {
            StringBuilder all = new StringBuilder();
            long off = 0;
            while (true) {
                WorkspaceFiles.FileContent c = workspaces.files().read(w.id(), "big.txt", off, size);
                all.append(new String(c.bytes(), StandardCharsets.UTF_8));
                off = c.end();
                if (!c.truncated()) {
                    break;
                }
            }
            assertEquals(filler, all.toString().replace("[REDACTED:TOKEN]", ""), "pages of " + size);
            results.add(all.toString());
        }
        // a page as long as a long can say: the rest, redacted the same
        WorkspaceFiles.FileContent rest = workspaces.files().read(w.id(), "big.txt", 50, Long.MAX_VALUE);
        assertEquals(filler.substring(50) + "[REDACTED:TOKEN]", new String(rest.bytes(), StandardCharsets.UTF_8));
        assertFalse(rest.truncated());
        // names in listings, and errors that quote a name
        List<WorkspaceFiles.FileInfo> files = workspaces.files().list(w.id(), "", true);
        results.add(files);
        assertTrue(files.stream().anyMatch(f -> f.path().equals("n-[REDACTED:TOKEN]")), files.toString());
        DavitException err = assertThrows(DavitException.class, () -> workspaces.files().read(w.id(), "d-" + TOKEN, 0));
        results.add(err.getMessage());
        err = assertThrows(DavitException.class, () -> workspaces.files().list(w.id(), "nope-" + TOKEN, false));
        results.add(err.getMessage());

        // the diff: paths and patch redacted, said so, and marked so that its hunks do not apply
        WorkspaceDiff d = workspaces.files().diff(w.id());
        results.add(d);
        assertTrue(d.redacted());
        assertTrue(d.patch().contains("+[REDACTED:TOKEN]\n"), d.patch());
        assertTrue(d.patch().contains(WorkspaceDiff.REDACTED_LINE), d.patch());
        assertTrue(d.changes().stream().anyMatch(c -> c.path().equals("n-[REDACTED:TOKEN]")), d.changes().toString());

        // a service and a shell whose commands hold a value (given by the caller) and print the values
        Services services = workspaces.services(w.id());
        results.add(services.start("svc", List.of("sh", "-c", "echo lit-" + TOKEN + "; echo \"env-$T\";"
                + " cat /run/secrets/KEY; echo ready >svc-ready; exec sleep 100"), Map.of(), Map.of("T", "TOKEN"),
                new Services.Readiness("file", "svc-ready"), Duration.ofSeconds(30)));
        String log = "";
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline && !log.contains("-----END")) {
            log = new String(services.logs("svc", 0), StandardCharsets.UTF_8);
        }
        assertTrue(log.contains("lit-[REDACTED:TOKEN]\nenv-[REDACTED:TOKEN]\n[REDACTED:KEY]"), log);
        results.add(log);
        results.add(services.list());
        Shells shells = workspaces.shells(w.id());
        Shells.Shell s = shells.open(List.of("sh", "-c", "echo open-" + TOKEN + "; exec sh"), Map.of(),
                Map.of("T", "TOKEN"));
        shells.write(s.id(), "echo \"got $T\"; cat /run/secrets/KEY; echo done-$((1+1))\n"
                .getBytes(StandardCharsets.UTF_8));
        String out = ShellReads.readUntil(shells, s.id(), "done-2", Duration.ofSeconds(20));
        assertTrue(out.contains("got [REDACTED:TOKEN]"), out);
        results.add(out);
        results.add(shells.list());
        results.add(workspaces.execs().logs(w.id()));
        assertEquals(List.of(), holders(home)); // while they run (a closed shell's directory goes)
        services.stop("svc");
        shells.close(s.id());

        // a stopped workspace, read from its disk
        workspaces.stop(w.id());
        WorkspaceFiles.FileContent disk = workspaces.files().diskRead(w.id(), "leak.txt", 0);
        assertTrue(disk.redacted());
        results.add(disk.bytes());
        results.add(workspaces.files().diskList(w.id(), "", true));

        for (int i = 0; i < results.size(); i++) {
            assertNoForm("result " + i, results.get(i));
        }
        assertEquals(List.of(), holders(home));

        // davit's redacted diff does not apply back: refused whole, nothing written
        workspaces.start(w.id());
        workspaces.reset(w.id(), null);
        err = assertThrows(DavitException.class, () -> workspaces.files().patch(w.id(), d.patch()
                .getBytes(StandardCharsets.UTF_8)));
        assertEquals(DavitException.Kind.USAGE, err.kind());
        assertTrue(err.getMessage().contains("redacted"), err.getMessage());
        assertThrows(DavitException.class, () -> workspaces.files().read(w.id(), "leak.txt", 0));
    }

    /**
     * The files under {@code home} that hold a value in any form, but the values' own file and the workspace's
     * tree (its layer and baseline: the sandbox's own files, where it wrote them).
     */
    private List<Path> holders(Path home) throws IOException {
        List<Path> holding = new ArrayList<>();
        Path values = home.resolve("workspaces").resolve(w.id()).resolve("secrets").resolve("values.json");
        try (Stream<Path> all = Files.walk(home)) {
            for (Path f : all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                String rel = home.relativize(f).toString();
                if (f.equals(values) || rel.matches("sandboxes/[^/]+/(disk/)?(upper|merged)/.*")
                        || rel.matches("sandboxes/[^/]+/disk\\.img") // the sandbox's disk: its layer
                        || rel.matches("workspaces/[^/]+/(baseline|snapshots)/.*")) {
                    continue;
                }
                String t = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                if (FORMS.stream().anyMatch(t::contains)) {
                    holding.add(f);
                }
            }
        }
        return holding;
    }
}
