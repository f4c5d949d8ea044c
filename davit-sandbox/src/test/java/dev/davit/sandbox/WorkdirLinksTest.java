package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.sandbox.jail.Rootless;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * As an attacker would: the sandbox makes the working directory of the next command a link to {@code /}
 * ({@code /workspace} itself, {@code /workspace/up} for {@code --cwd up}, an image's {@code WorkingDir}), then a
 * workspace exec, a sandbox exec, a service and a shell start there. Each must land in the sandbox's {@code /}
 * (a link is followed inside the sandbox, as a command there would), never the host's: a file that exists only on
 * the host is never read, the host's {@code /usr} is never listed; a service's readiness file is looked for there too. On davit-exec (the default), on the nsenter and
 * bubblewrap way without it (as root), and rootless on both ways, the plain {@code nsenter} one included.
 */
class WorkdirLinksTest {
    private static final String SECRET = "host-only-secret-7f3a";
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void linksToRootStayInTheSandboxWithDavitExec() throws Exception {
        assertInside(asRoot(false));
    }

    @Test
    void linksToRootStayInTheSandboxWithoutDavitExec() throws Exception {
        assertInside(asRoot(true));
    }

    @Test
    void linksToRootStayInTheSandboxRootless() throws Exception {
        assertInside(asUser(false));
    }

    @Test
    void linksToRootStayInTheSandboxRootlessWithoutDavitExec() throws Exception {
        // a jar built without gcc, rootless: a plain nsenter (opted in with --allow-weaker-sandbox)
        assertInside(asUser(true));
    }

    @Test
    void oneShotRunsFollowAnImagesLinkedWorkdirInside() throws Exception {
        // bubblewrap's --chdir and the OCI runtimes' process.cwd are resolved after the switch to the sandbox's root
        Tools.assumeAvailable("bwrap");
        Path rootfs = rootfs(tmp.resolve("rootfs"));
        String secret = secret(tmp.resolve("host-only"));
        ImageConfig image = new ImageConfig(null, null, null, "/w", null);
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.under(tmp.resolve("home")));
        for (String runtime : List.of("bwrap", "crun", "runc")) {
            if (Tools.which(runtime).isEmpty()) {
                continue;
            }
            String o = text(sandboxes.run(RunSpec.builder(rootfs).runtime(runtime).image(image)
                    .command("sh", "-c", "pwd; ls; cat " + secret + "; echo END-$((1+1))").build()));
            assertThat(o).as(runtime).contains("END-2").containsPattern("(^|\\s)w(\\s|$)").doesNotContain(SECRET)
                    .doesNotContain("usr");
        }
    }

    /** What every way must show: each probe ran in the sandbox's / and a missing directory is one usage error. */
    private static void assertInside(Map<String, String> out) {
        assertThat(out.get("error")).as(out.toString()).isNull();
        for (String where : List.of("cwd-up", "workspace-link", "service", "shell", "image-workdir")) {
            String o = out.get(where);
            // the sandbox's / has the link w, the host's has none (and no /usr)
            assertThat(o).as(where + " in " + out).isNotNull().contains("END-2").containsPattern("(^|\\s)w(\\s|$)");
            assertThat(o).as(where).doesNotContain(SECRET).doesNotContain("usr").contains("cat: ");
        }
        assertThat(out.get("ready-file")).isEqualTo("not ready");
        assertThat(out.get("missing")).isEqualTo("USAGE: the working directory /workspace/nope does not exist in"
                + " the sandbox");
    }

    private Map<String, String> asRoot(boolean withoutHelper) throws Exception {
        Tools.assumeAvailable("bwrap");
        Assumptions.assumeTrue(dev.davit.sandbox.jail.Jail.AS_ROOT, "as root (CI runs as root)");
        Path rootfs = rootfs(tmp.resolve("rootfs"));
        String secret = secret(tmp.resolve("host-only"));
        if (withoutHelper) {
            System.setProperty("davit.jail.noExecHelper", "true");
        }
        try {
            return probe(tmp.resolve("home"), rootfs, secret);
        } finally {
            System.clearProperty("davit.jail.noExecHelper");
        }
    }

    private static Map<String, String> asUser(boolean withoutHelper) throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox");
        Assumptions.assumeTrue(dev.davit.sandbox.jail.Jail.AS_ROOT, "making the unprivileged user needs root"
                + " (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-workdir-links-")) {
            Path rootfs = rootfs(u.dir().resolve("rootfs"));
            Tools.run("chown", "-R", u.ids()[0] + ":" + u.ids()[1], rootfs.toString());
            // readable by the user: only the sandbox stands between it and the command
            String secret = secret(u.dir().resolve("host-only"));
            String out = u.java(List.of(Rootless.OPT_OUT_ENV + "=1"), 3, Child.class.getName(),
                    u.home().toString(), rootfs.toString(), secret, Boolean.toString(withoutHelper));
            Map<String, String> found = new LinkedHashMap<>();
            String where = null;
            for (String line : out.split("\n")) {
                if (line.startsWith("== ")) {
                    where = line.substring(3);
                    found.put(where, "");
                } else if (where != null) {
                    found.merge(where, line + "\n", String::concat);
                }
            }
            found.replaceAll((k, v) -> v.strip());
            if (!found.containsKey("cwd-up")) {
                found.put("error", out);
            }
            return found;
        }
    }

    /** The probes as the unprivileged user: {@code args}: home, rootfs, the secret's path, without davit-exec. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            if (Boolean.parseBoolean(args[3])) {
                System.setProperty("davit.jail.noExecHelper", "true");
            }
            try {
                for (Map.Entry<String, String> e : probe(Path.of(args[0]), Path.of(args[1]), args[2]).entrySet()) {
                    System.out.println("== " + e.getKey());
                    System.out.println(e.getValue());
                }
            } catch (DavitException e) {
                System.out.println("== error");
                System.out.println(e.kind() + ": " + e.getMessage());
            }
        }
    }

    /** A busybox rootfs with rm and ln, and {@code /w -> /}. */
    private static Path rootfs(Path dir) throws IOException {
        Path rootfs = BusyboxRootfs.createFor(dir);
        for (String applet : List.of("rm", "ln")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        Files.createSymbolicLink(rootfs.resolve("w"), Path.of("/"));
        return rootfs;
    }

    /** A file only the host has, under {@code dir}; its path relative to the host's /. */
    private static String secret(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.setAttribute(dir, "unix:mode", 0755);
        Path f = dir.resolve("marker");
        Files.writeString(f, SECRET + "\n");
        Files.setAttribute(f, "unix:mode", 0644);
        return f.toAbsolutePath().toString().substring(1);
    }

    /** What each way showed ({@code ls}, a read of the host's file), by where it ran. */
    static Map<String, String> probe(Path home, Path rootfs, String secret) throws Exception {
        // relative: from the host's / it would name the host's file
        String script = "ls; cat " + secret + "; echo END-$((1+1))";
        Map<String, String> out = new LinkedHashMap<>();
        Workspaces workspaces = Workspaces.under(home);
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").build());
        try {
            must(workspaces.execs().run(w.id(), ExecRequest.builder("ln", "-s", "/", "up").timeout(LIMIT).build()));
            out.put("cwd-up", text(workspaces.execs().run(w.id(), ExecRequest.builder(ServiceChecks.sh(script))
                    .workdir("up").timeout(LIMIT).build())));
            try { // the readiness file is looked for inside too: up/SECRET is not the host's file
                workspaces.services(w.id()).start("ready", ServiceChecks.sh("exec sleep 100"), Map.of(),
                        ServiceChecks.ready("file", "up/" + secret), Duration.ofSeconds(1));
                out.put("ready-file", "ready");
            } catch (DavitException e) {
                out.put("ready-file", e.getMessage().contains("was not ready") ? "not ready" : e.getMessage());
            }
            try {
                workspaces.execs().run(w.id(), ExecRequest.builder("true").workdir("nope").timeout(LIMIT).build());
                out.put("missing", "ran");
            } catch (DavitException e) {
                out.put("missing", e.kind() + ": " + e.getMessage());
            }
            must(workspaces.execs().run(w.id(),
                    ExecRequest.builder(ServiceChecks.sh("cd / && rm -rf /workspace && ln -s / /workspace"))
                    .workdir("/").timeout(LIMIT).build()));
            out.put("workspace-link", text(workspaces.execs().run(w.id(), ExecRequest.builder(ServiceChecks.sh(script))
                    .timeout(LIMIT).build())));

            Services services = workspaces.services(w.id());
            services.start("probe", ServiceChecks.sh(script), Map.of(), null, null);
            long deadline = System.nanoTime() + LIMIT.toNanos();
            while (services.get("probe").state().equals("running") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            out.put("service", new String(services.logs("probe", 0), StandardCharsets.UTF_8));

            Shells shells = workspaces.shells(w.id());
            Shells.Shell sh = shells.open(ServiceChecks.sh(script), Map.of());
            out.put("shell", ShellReads.readUntil(shells, sh.id(), "END-2", LIMIT));
        } finally {
            workspaces.rm(w.id());
        }

        Sandboxes sandboxes = new Sandboxes(SandboxOptions.under(home));
        ImageConfig image = new ImageConfig(null, null, null, "/w", null);
        Sandbox s = sandboxes.create(CreateSpec.builder(rootfs).image(image).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build());
        try {
            sandboxes.start(s.id());
            out.put("image-workdir", text(sandboxes.exec(s.id(), ServiceChecks.sh(script), Map.of(), null, LIMIT)));
        } finally {
            sandboxes.rm(s.id());
        }
        return out;
    }

    private static void must(ExecResult r) {
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
    }

    private static String text(ExecResult r) {
        return r.stdoutText() + r.stderrText() + "rc=" + r.exitCode();
    }
}
