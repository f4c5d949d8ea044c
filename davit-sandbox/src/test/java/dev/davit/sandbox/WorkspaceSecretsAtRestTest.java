package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Secrets;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.Workspaces;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A workspace's secret values never leave through a result (file reads, listings, diffs, patches, disk reads of a
 * stopped workspace, errors) and never rest on disk outside {@code secrets/values.json}: service and shell logs,
 * their records and the exec history are written redacted (issue 33, item 7). The sandbox copies the values into
 * /workspace itself, as a hostile command would.
 */
class WorkspaceSecretsAtRestTest extends BwrapWorkspaces {
    private static final String TOKEN = "tok-3f9a1c77e0b2";
    private static final String KEY = "-----BEGIN KEY-----\nQUJDREVGR0hJSktMTU5PUA==\n-----END KEY-----\n";
    /** Every form of the values a reader could use: raw, base64 (both alphabets), the key's lines with CRLF. */
    private static final List<String> FORMS = List.of(TOKEN, b64(TOKEN), b64(TOKEN).replace('+', '-')
            .replace('/', '_'), "QUJDREVGR0hJSktMTU5PUA==", KEY.strip().replace("\n", "\r\n"), b64(KEY.strip()));

    @Override
    List<String> applets() {
        return List.of("base64", "printf", "mkdir");
    }

    Workspace w;

    private static String b64(String s) {
        return Base64.getEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @BeforeEach
    void createWorkspace() throws IOException {
        Path seed = tmp.resolve("seed");
        Files.createDirectories(seed);
        Files.writeString(seed.resolve("README"), "hello\n");
        Map<String, byte[]> values = new LinkedHashMap<>();
        values.put("TOKEN", TOKEN.getBytes(StandardCharsets.UTF_8));
        values.put("KEY", KEY.getBytes(StandardCharsets.UTF_8));
        w = workspaces.create(new CreateSpec(rootfs, Map.of(), null, null, null, Duration.ofHours(1)), "w", seed,
                Secrets.of(values));
    }

    private static void assertNoValue(String where, Object result) {
        String text = result instanceof byte[] b ? new String(b, StandardCharsets.ISO_8859_1) : String.valueOf(result);
        for (String f : FORMS) {
            assertFalse(text.contains(f), where + " holds a value (" + f + "): " + text);
        }
    }

    /** Runs {@code script} with T and K set from the secrets; its output kept in the state (pages). */
    private Workspaces.Executed exec(String script) {
        Workspaces.Executed e = workspaces.exec(w.id(), ExecRequest.builder("sh", "-c", script)
                .secretEnv("T", "TOKEN").secretEnv("K", "KEY").timeout(Duration.ofSeconds(30)).build(), 16);
        assertEquals(0, e.result().exitCode(), e.result().stderrText());
        return e;
    }

    @Test
    void noResultHoldsAValueAndNoFileOfTheHomeButValuesJson() throws Exception {
        String filler = "a".repeat(100);
        Workspaces.Executed e = exec("printf '%s\\n' \"$T\" >leak.txt; printf %s \"$T\" | base64 >b64.txt;"
                + " printf '%s' \"$K\" >key.pem; touch \"n-$T\"; mkdir -p \"d-$T\"; printf '%s\\n' x >\"d-$T/f\";"
                + " printf '" + filler + "%s' \"$T\" >big.txt; printf 'out %s\\n' \"$T\"; printf '%s' \"$K\" >&2");
        List<Object> results = new ArrayList<>();

        // the exec's output, read back in small pages: a value is never split into revealing pieces
        for (String stream : List.of("stdout", "stderr")) {
            long off = 0;
            StringBuilder all = new StringBuilder();
            while (true) {
                ExecOutput.Page p = workspaces.output(w.id(), e.execId(), stream, off, 5);
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
        Workspaces.FileContent leak = workspaces.readFile(w.id(), "leak.txt", 0);
        assertEquals("[REDACTED:TOKEN]\n", new String(leak.bytes(), StandardCharsets.UTF_8));
        assertTrue(leak.redacted());
        assertEquals(TOKEN.length() + 1, leak.size());
        Workspaces.FileContent plain = workspaces.readFile(w.id(), "README", 0);
        assertFalse(plain.redacted());
        assertEquals("hello\n", new String(plain.bytes(), StandardCharsets.UTF_8));
        for (String f : List.of("leak.txt", "b64.txt", "key.pem", "big.txt")) {
            Workspaces.FileContent c = workspaces.readFile(w.id(), f, 0);
            assertTrue(c.redacted(), f);
            results.add(c.bytes());
        }
        // a read cut inside the value (max bytes): its start is masked, not shown
        Workspaces.FileContent cut = workspaces.readFile(w.id(), "big.txt", filler.length() + 9);
        assertTrue(cut.truncated() && cut.redacted());
        assertEquals(filler + "[REDACTED:TOKEN]", new String(cut.bytes(), StandardCharsets.UTF_8));
        // names in listings, and errors that quote a name
        List<Workspaces.FileInfo> files = workspaces.listFiles(w.id(), "", true);
        results.add(files);
        assertTrue(files.stream().anyMatch(f -> f.path().equals("n-[REDACTED:TOKEN]")), files.toString());
        DavitException err = assertThrows(DavitException.class, () -> workspaces.readFile(w.id(), "d-" + TOKEN, 0));
        results.add(err.getMessage());
        err = assertThrows(DavitException.class, () -> workspaces.listFiles(w.id(), "nope-" + TOKEN, false));
        results.add(err.getMessage());

        // the diff: paths and patch redacted, said so, and marked so that its hunks do not apply
        WorkspaceDiff d = workspaces.diff(w.id());
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
        results.add(workspaces.logs(w.id()));
        assertEquals(List.of(), holders(home)); // while they run (a closed shell's directory goes)
        services.stop("svc");
        shells.close(s.id());

        // a stopped workspace, read from its disk
        workspaces.stop(w.id());
        Workspaces.FileContent disk = workspaces.diskRead(w.id(), "leak.txt", 0);
        assertTrue(disk.redacted());
        results.add(disk.bytes());
        results.add(workspaces.diskList(w.id(), "", true));

        for (int i = 0; i < results.size(); i++) {
            assertNoValue("result " + i, results.get(i));
        }
        assertEquals(List.of(), holders(home));

        // davit's redacted diff does not apply back: refused whole, nothing written
        workspaces.start(w.id());
        workspaces.reset(w.id(), null);
        err = assertThrows(DavitException.class, () -> workspaces.patch(w.id(), d.patch()
                .getBytes(StandardCharsets.UTF_8)));
        assertEquals(DavitException.Kind.USAGE, err.kind());
        assertTrue(err.getMessage().contains("redacted"), err.getMessage());
        assertThrows(DavitException.class, () -> workspaces.readFile(w.id(), "leak.txt", 0));
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
                if (f.equals(values) || rel.matches("sandboxes/[^/]+/(upper|merged)/.*")
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
