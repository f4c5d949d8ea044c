package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The probe as an unprivileged user (davit-rootless), on bwrap: in a one-shot run, in a long-lived sandbox's exec,
 * service and shell, and in a workspace's exec, sandbox root is that user (a non-zero host uid), with no_new_privs,
 * davit's seccomp filter and no more than the default capabilities (none for a non-root image User).
 */
class JailRootlessTest {
    /**
     * Runs the probe the way {@code args[2]} names (run, sandbox, workspace) with home {@code args[0]} over rootfs
     * {@code args[1]}, as the image User {@code args[3]} (- for none); prints each probe's output after a line
     * {@code == WHERE}, or the error.
     */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path home = Path.of(args[0]);
            Path rootfs = Path.of(args[1]);
            ImageConfig image = args[3].equals("-") ? ImageConfig.EMPTY : new ImageConfig(null, null, null, null,
                    args[3]);
            Sandboxes s = new Sandboxes(SandboxOptions.under(home));
            try {
                switch (args[2]) {
                    case "run" -> {
                        ExecResult r = s.run(RunSpec.builder(rootfs).image(image).limits(Limits.NONE)
                                .command("/bin/probe").build());
                        if (r.exitCode() != 0) {
                            System.out.println("error exit " + r.exitCode() + ": " + r.stderrText().replace('\n', '|'));
                        }
                        print("run", r.stdoutText());
                    }
                    case "sandbox" -> longLived(s, rootfs, image, home);
                    case "run-nat" -> print("run-nat", s.run(RunSpec.builder(rootfs).image(image).limits(Limits.NONE)
                            .network(dev.davit.sandbox.Network.NAT).command("/bin/sh", "-c",
                                    "echo uid-$(id -u); cat /proc/net/dev").build()).stdoutText());
                    case "run-sigign", "run-sigign-crun", "run-sigign-runc" -> {
                        // davit started where HUP and INT are ignored (nohup, a shell's background job; QUIT is the
                        // JVM's own)
                        for (String sig : List.of("HUP", "INT")) {
                            sun.misc.Signal.handle(new sun.misc.Signal(sig), sun.misc.SignalHandler.SIG_IGN);
                        }
                        RunSpec.Builder b = RunSpec.builder(rootfs).image(image).limits(Limits.NONE)
                                .command("/bin/sh", "-c",
                                "while read k v; do [ \"$k\" = SigIgn: ] && echo \"$v\"; done </proc/self/status");
                        if (!args[2].equals("run-sigign")) {
                            b.runtime(args[2].substring("run-sigign-".length()));
                        }
                        print(args[2], s.run(b.build()).stdoutText());
                    }
                    case "run-files", "run-files-crun", "run-files-runc" -> {
                        RunSpec.Builder b = RunSpec.builder(rootfs).image(image).limits(Limits.NONE)
                                .command("/bin/sh", "-c",
                                ": >/work/mine && echo home-writable; (: >/etc/x) 2>/dev/null || echo etc-not-writable;"
                                        + " echo uid-$(id -u)-$(id -g); sleep 4");
                        if (!args[2].equals("run-files")) {
                            b.runtime(args[2].substring("run-files-".length()));
                        }
                        ExecResult r = s.run(b.build());
                        if (r.exitCode() != 0) {
                            System.out.println("error exit " + r.exitCode() + ": " + r.stderrText().replace('\n', '|'));
                        }
                        print(args[2], r.stdoutText());
                    }
                    case "sandbox-host-network" -> { // the keeper's network namespace is the host's: left alone
                        Sandbox sb = s.create(CreateSpec.builder(rootfs).network(dev.davit.sandbox.Network.HOST)
                                .image(image).ttl(Duration.ofHours(1)).limits(Limits.NONE).build());
                        s.start(sb.id());
                        try {
                            print("exec-host-network", s.exec(sb.id(), List.of("/bin/probe"), Map.of(), null,
                                    Duration.ofSeconds(30)).stdoutText());
                        } finally {
                            s.rm(sb.id());
                        }
                    }
                    case "sandbox-without-helper" -> { // as a jar built without gcc
                        System.setProperty("davit.jail.noExecHelper", "true");
                        longLived(s, rootfs, image, home);
                    }
                    case "workspace" -> workspace(home, rootfs, image);
                    case "workspace-files" -> workspaceFiles(home, rootfs, image);
                    case "doctor" -> print("doctor", s.doctor().backends().stream().filter(b -> b.name().equals(
                            dev.davit.sandbox.Doctor.JAIL)).findFirst().map(SandboxJson::backend).orElseThrow().toString() + "\n");
                    default -> throw new IllegalArgumentException(args[2]);
                }
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }

        private static void longLived(Sandboxes s, Path rootfs, ImageConfig image, Path home) throws Exception {
            Sandbox sb = s.create(CreateSpec.builder(rootfs).image(image).ttl(Duration.ofHours(1)).limits(Limits.NONE)
                    .build());
            s.start(sb.id());
            try {
                print("exec", s.exec(sb.id(), List.of("/bin/probe"), Map.of(), null, Duration.ofSeconds(30))
                        .stdoutText());
                // a file the User writes in its /tmp (the state directory's tmp/), as the host sees its owner
                s.exec(sb.id(), List.of("/bin/sh", "-c", "busybox mkdir /tmp/d && : >/tmp/d/f"
                        + " && busybox chmod 700 /tmp/d"), Map.of(), null, Duration.ofSeconds(30));
                print("tmp-owner", Files.getAttribute(home.resolve("sandboxes").resolve(sb.id()).resolve("tmp/d"),
                        "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS) + "\n");
                for (String kind : List.of("service", "shell")) {
                    Path d = home.resolve(kind);
                    Machinery.of(s).spawn(sb.id(), List.of("/bin/probe"), Map.of(), null, d, kind.equals("shell"));
                    long deadline = System.nanoTime() + 20_000_000_000L;
                    while (!Files.exists(d.resolve(Spawned.EXIT)) && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                    print(kind, Files.readString(d.resolve(Spawned.OUTPUT)).replace("\r", ""));
                }
            } finally {
                s.rm(sb.id());
            }
        }

        private static void workspace(Path home, Path rootfs, ImageConfig image) {
            Workspaces ws = Workspaces.under(home);
            Workspace w = ws.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).image(image)
                    .ttl(Duration.ofHours(1)).limits(Limits.NONE).build())
                    .name("probe").build());
            try {
                print("workspace", ws.execs().run(w.id(), ExecRequest.builder("/bin/probe")
                        .timeout(Duration.ofSeconds(30)).build()).stdoutText());
            } finally {
                ws.rm(w.id());
            }
        }

        /**
         * A workspace's host-side file operations over what its User (a subordinate id) made, private modes
         * included: read, write, list, diff, snapshot, reset, export, push, as the user who cannot touch those files
         * itself.
         */
        private static void workspaceFiles(Path home, Path rootfs, ImageConfig image) throws Exception {
            Path seed = Files.createDirectories(home.resolve("seed"));
            Files.writeString(seed.resolve("hello.txt"), "hello\n");
            Workspaces ws = Workspaces.under(home);
            Workspace w = ws.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).image(image)
                    .ttl(Duration.ofHours(1)).limits(Limits.NONE).build())
                    .name("files").seed(seed).build());
            try {
                print("made", ws.execs().run(w.id(), ExecRequest.builder("/bin/sh", "-c",
                        "cd /workspace && echo mine >made"
                        + " && busybox mkdir -m 700 priv && echo secret >priv/s && busybox chmod 600 priv/s"
                        + " && echo changed >>hello.txt && id -u && busybox stat -c %u /workspace")
                        .timeout(Duration.ofSeconds(30)).build()).stdoutText());
                Path upper = home.resolve("sandboxes").resolve(ws.get(w.id()).sandboxId()).resolve("upper");
                print("host-owner", Files.getAttribute(upper.resolve("workspace/made"), "unix:uid",
                        java.nio.file.LinkOption.NOFOLLOW_LINKS) + "\n");
                print("read", new String(ws.files().read(w.id(), "priv/s", 0).bytes(), StandardCharsets.UTF_8));
                ws.files().write(w.id(), "priv/new", new java.io.ByteArrayInputStream("from-host\n".getBytes(
                        StandardCharsets.UTF_8)));
                print("written", ws.execs().run(w.id(), ExecRequest.builder("/bin/sh", "-c", "cat /workspace/priv/new;"
                        + " busybox stat -c %u /workspace/priv/new; echo more >>/workspace/priv/new && echo appended")
                        .timeout(Duration.ofSeconds(30)).build()).stdoutText());
                print("list", String.join("\n", ws.files().list(w.id(), "", true).stream().map(f -> f.path())
                        .sorted().toList()) + "\n");
                print("diff", String.join("\n", ws.files().diff(w.id()).changes().stream().map(c -> c.kind() + " "
                        + c.path()).sorted().toList()) + "\n");
                Path out = home.resolve("exported");
                ws.files().export(w.id(), out, "priv");
                print("exported", Files.readString(out.resolve("s")));
                ws.snapshot(w.id(), "one");
                ws.execs().run(w.id(), ExecRequest.builder("/bin/sh", "-c",
                        "rm -r /workspace/priv && echo later >/workspace/later").timeout(Duration.ofSeconds(30))
                        .build());
                ws.reset(w.id(), "one");
                print("after-snapshot-reset", ws.execs().run(w.id(), ExecRequest.builder("/bin/sh", "-c",
                        "cd /workspace && ls && cat priv/s && busybox stat -c %u priv/s")
                        .timeout(Duration.ofSeconds(30)).build()).stdoutText());
                ws.reset(w.id(), null);
                print("after-reset", ws.execs().run(w.id(), ExecRequest.builder("/bin/sh", "-c",
                        "cd /workspace && ls && cat hello.txt").timeout(Duration.ofSeconds(30)).build()).stdoutText());
            } finally {
                ws.rm(w.id());
            }
        }

        private static void print(String where, String probe) {
            System.out.println("== " + where);
            System.out.print(probe);
        }
    }

    @Test
    void bwrapWithoutRootIsConfinedToo() throws Exception {
        Map<String, String> out = asUser("root", List.of(), "run", "sandbox", "workspace", "sandbox-host-network");
        assertThat(out.get("error")).isNull();
        for (String where : List.of("run", "exec", "service", "shell", "workspace", "exec-host-network")) {
            assertConfined(where, out.get(where), true);
        }
    }

    @Test
    void aNonRootImageUserHasNoCapabilitiesInAnyWay() throws Exception {
        // rootless, a non-root image User is the user itself, as sandbox root is: refused without the opt-out
        Map<String, String> out = asUser("1000:1000", List.of(Rootless.OPT_OUT_ENV + "=1"), "run", "sandbox",
                "workspace");
        assertThat(out.get("error")).isNull();
        for (String where : List.of("run", "exec", "service", "shell", "workspace")) {
            Map<String, String> p = assertConfined(where, out.get(where), false);
            assertThat(p.get("uid")).as(where).isEqualTo("1000");
        }
    }

    /**
     * With the user's subordinate ids (davit-rootless has 65536 of them), a one-shot run's non-root image User is
     * host uid SUBUID+U-1 (seen from the host while it runs), not the user: it writes its own home, which the image
     * gives it (the owners a rootless unpack recorded), but not what sandbox root owns; nothing is left behind.
     */
    @Test
    void aRunsNonRootUserIsOneOfTheUsersSubordinateIds() throws Exception {
        Map<String, String> out = asUser("1000:1000", List.of(), "run");
        assertThat(out.get("error")).isNull();
        assertConfined("run", out.get("run"), false);
        long sub = subuid(Unprivileged.USER);
        // bubblewrap's run, and crun's and runc's (their runtime root of NS1, which it maps as it is)
        for (String way : List.of("run-files", "run-files-crun", "run-files-runc")) {
            java.util.concurrent.atomic.AtomicLong seen = new java.util.concurrent.atomic.AtomicLong(-1);
            Path[] victim = new Path[1];
            Map<String, String> files = asUser("1000:1000", List.of(), rootfs -> {
                // a record that does not match its tree (edited, or of another tree) never leads a chown out of it:
                // a link in the tree to a directory of the user's, an absolute path, a ".." path
                victim[0] = Files.createDirectories(rootfs.resolveSibling("victim"));
                Files.writeString(victim[0].resolve("x"), "the user's\n");
                Tools.run("chown", "-R", Files.getAttribute(rootfs, "unix:uid") + ":"
                        + Files.getAttribute(rootfs, "unix:gid"), victim[0].toString());
                Files.createSymbolicLink(rootfs.resolve("l"), victim[0]);
                Files.writeString(dev.davit.oci.unpack.Owners.fileOf(rootfs), "{\"version\":1,\"owners\":["
                        + "[\"work\",1000,1000],[\"l/x\",1000,1000],[\"" + victim[0].resolve("x") + "\",1000,1000],"
                        + "[\"work/../../victim/x\",1000,1000],[\"l\",1000,1000]]}");
            }, home -> {
                // the sandbox's sleep, as the host sees it
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (seen.get() < 0 && System.nanoTime() < deadline) {
                    seen.set(hostUidOfSleep());
                    Thread.sleep(50);
                }
            }, rootfs -> {
                assertThat(Files.getAttribute(victim[0].resolve("x"), "unix:uid")).as(way + ": the user's file")
                        .isEqualTo(Files.getAttribute(rootfs, "unix:uid"));
                assertThat(Files.getAttribute(victim[0], "unix:uid")).as(way).isEqualTo(Files.getAttribute(rootfs,
                        "unix:uid"));
            }, way);
            assertThat(files.get("error")).as(way).isNull();
            assertThat(files.get(way)).as(way).contains("home-writable", "etc-not-writable", "uid-1000-1000");
            assertThat(seen.get()).as(way + ": the host uid of the User's process").isEqualTo(sub + 1000 - 1);
        }

        // a long-lived sandbox's keeper, exec, service and shell: the same User, confined
        Map<String, String> kept = asUser("1000:1000", List.of(), "sandbox");
        assertThat(kept.get("error")).isNull();
        for (String where : List.of("exec", "service", "shell")) {
            assertThat(assertConfined(where, kept.get(where), false).get("uid")).as(where).isEqualTo("1000");
        }
        // what it wrote is a subordinate id's (and was removed with the sandbox: asUser checks)
        assertThat(kept.get("tmp-owner")).isEqualTo((sub + 1000 - 1) + "\n");
    }

    /**
     * With a NAT network the user namespace with the subordinate ids is the NAT step's (a setuid newuidmap does not
     * work from inside another user namespace). Needs /dev/net/tun open to everyone (Debian's default mode).
     */
    @Test
    void aRunsNonRootUserWithANatNetwork() throws Exception {
        Assumptions.assumeTrue(Files.getAttribute(Path.of("/dev/net/tun"), "unix:mode").equals(020666),
                "/dev/net/tun is not open to other users on this host");
        Map<String, String> out = asUser("1000:1000", List.of(), "run-nat");
        assertThat(out.get("error")).isNull();
        assertThat(out.get("run-nat")).contains("uid-1000", "tap0");
    }

    /**
     * A run's command gets every signal's default disposition, whatever davit ignores (started under nohup or in a
     * shell's background job): on bubblewrap, crun and runc, without root.
     */
    @Test
    void aRunsCommandDoesNotInheritIgnoredSignals() throws Exception {
        Map<String, String> out = asUser("root", List.of(), "run-sigign", "run-sigign-crun", "run-sigign-runc");
        assertThat(out.get("error")).isNull();
        for (String way : List.of("run-sigign", "run-sigign-crun", "run-sigign-runc")) {
            assertThat(out.get(way)).as(way).isNotNull();
            long ignored = Long.parseUnsignedLong(out.get(way).strip(), 16);
            assertThat(ignored & 0x3).as(way + ": HUP, INT ignored (SigIgn %x)", ignored).isZero();
        }
    }

    /** The first subordinate uid of {@code user}. */
    private static long subuid(String user) throws java.io.IOException {
        for (String l : Files.readAllLines(Path.of("/etc/subuid"))) {
            String[] f = l.split(":");
            if (f.length == 3 && f[0].equals(user)) {
                return Long.parseLong(f[1]);
            }
        }
        throw new AssertionError(user + " has no subordinate uids");
    }

    /** The real uid of the process {@code sleep 4} (the run's), as the host sees it; -1 while there is none. */
    private static long hostUidOfSleep() {
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(d -> d.getFileName().toString().matches("[0-9]+")).toList()) {
                try {
                    if (!Files.readString(proc.resolve("cmdline")).equals("sleep\0" + "4\0")) {
                        continue;
                    }
                    for (String l : Files.readAllLines(proc.resolve("status"))) {
                        if (l.startsWith("Uid:")) {
                            return Long.parseLong(l.split("\\s+")[1]);
                        }
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // gone
                }
            }
        } catch (java.io.IOException e) {
            return -1;
        }
        return -1;
    }

    @Test
    void aRootlessWorkspaceOfANonRootUserHasEveryFileOperation() throws Exception {
        // the User is subordinate id 100999, whose files the user cannot change: davit's broker (as root of the
        // user's namespace of those ids) does it for the workspace's host side
        // davit's PATH has an empty entry (the current directory): nothing is ever looked for in the sandbox's tree
        // (the image ships newuidmap and newgidmap, which would run on the host as the user)
        boolean[] ranFake = {false};
        Map<String, String> out = asUser("1000:1000", List.of("PATH=:/usr/local/bin:/usr/bin:/bin"), rootfs -> {
            for (String tool : List.of("newuidmap", "newgidmap")) {
                Path fake = rootfs.resolve(tool);
                Files.writeString(fake, "#!/bin/sh\necho ran >" + rootfs.resolve("ran-" + tool) + "\nexit 1\n");
                Files.setAttribute(fake, "unix:mode", 0755);
            }
        }, home -> { }, rootfs -> ranFake[0] |= Files.exists(rootfs.resolve("ran-newuidmap"))
                || Files.exists(rootfs.resolve("ran-newgidmap")), "workspace", "workspace-files");
        assertThat(ranFake[0]).as("a program of the sandbox's tree ran on the host").isFalse();
        assertThat(out.get("error")).isNull();
        assertConfined("workspace", out.get("workspace"), false);
        assertThat(out.get("made")).isEqualTo("1000\n1000\n");
        assertThat(out.get("host-owner")).isEqualTo((subuid(Unprivileged.USER) + 999) + "\n");
        assertThat(out.get("read")).isEqualTo("secret\n");
        assertThat(out.get("written")).isEqualTo("from-host\n1000\nappended\n");
        assertThat(out.get("list")).isEqualTo("hello.txt\nmade\npriv\npriv/new\npriv/s\n");
        assertThat(out.get("diff")).isEqualTo("added made\nadded priv\nadded priv/new\nadded priv/s\n"
                + "modified hello.txt\n");
        assertThat(out.get("exported")).isEqualTo("secret\n");
        assertThat(out.get("after-snapshot-reset")).isEqualTo("hello.txt\nmade\npriv\nsecret\n1000\n");
        assertThat(out.get("after-reset")).isEqualTo("hello.txt\nhello\n");
    }

    @Test
    void whatTheJailCannotGiveRootlessIsRefusedAndDoctorSaysWhy() throws Exception {
        // without davit-exec, execs could not be confined: a long-lived sandbox is refused, a one-shot run is not
        Map<String, String> noHelper = asUser("root", List.of(), "sandbox-without-helper", "run");
        assertThat(noHelper.get("error")).startsWith("error USAGE: refused: this rootless sandbox would lack a"
                + " guarantee of the jail (confined_execs: this davit was built without its helper davit-exec")
                .contains("SandboxOptions.withAllowWeakerSandbox(true)").doesNotContain("separate_users").hasLineCount(1);
        assertConfined("run", noHelper.get("run"), true);
        Map<String, String> doctor = asUser("root", List.of(), "doctor");
        com.fasterxml.jackson.databind.JsonNode d = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                doctor.get("doctor"));
        assertThat(d.get("available").asBoolean()).as(d.toString()).isTrue();
        assertThat(d.get("facts").get("user_namespaces").asText()).startsWith("holds: ");
        assertThat(d.get("facts").get("confined_execs").asText()).startsWith("holds: ");
        assertThat(d.get("facts").get("separate_users").asText()).startsWith("holds: ").contains("long-lived");
        assertThat(d.get("detail").asText()).doesNotContain("missing here");
    }

    /** The probe's outputs by where it ran, from a child JVM as the unprivileged user per way ("error": errors). */
    private static Map<String, String> asUser(String user, List<String> env, String... ways) throws Exception {
        return asUser(user, env, rootfs -> { }, home -> { }, ways);
    }

    /** Something done with a path while the test runs (may throw). */
    interface WithPath {
        void accept(Path p) throws Exception;
    }

    /**
     * {@link #asUser(String, List, String...)}, with {@code prepare} given the rootfs before, and {@code during}
     * given the user's home while each way runs (on the test's thread; the child runs on another).
     */
    private static Map<String, String> asUser(String user, List<String> env, WithPath prepare, WithPath during,
                                              String... ways) throws Exception {
        return asUser(user, env, prepare, during, rootfs -> { }, ways);
    }

    /** As above, with {@code after} given the rootfs after each way (before the session's files are removed). */
    private static Map<String, String> asUser(String user, List<String> env, WithPath prepare, WithPath during,
                                              WithPath after, String... ways) throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        Map<String, String> found = new LinkedHashMap<>();
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-jail-rootless-")) {
            Path rootfs = BusyboxRootfs.createFor(u.dir().resolve("rootfs"));
            SandboxProbe.install(rootfs);
            // the user's own, as a rootfs its davit unpacked would be (davit does not own a root-owned one: bwrap
            // could not make the mount point of /etc/resolv.conf in its /etc for --network=host)
            Tools.run("chown", "-R", u.ids()[0] + ":" + u.ids()[1], rootfs.toString());
            prepare.accept(rootfs);
            for (String way : ways) {
                java.util.concurrent.CompletableFuture<String> child = java.util.concurrent.CompletableFuture
                        .supplyAsync(() -> {
                            try {
                                return u.java(env, 2, Child.class.getName(), u.home().toString(), rootfs.toString(),
                                        way, user.equals("root") ? "-" : user);
                            } catch (Exception e) {
                                throw new java.util.concurrent.CompletionException(e);
                            }
                        });
                during.accept(u.home());
                String out = child.get();
                after.accept(rootfs);
                // what the sandboxes' users wrote is gone with them (their state directories)
                if (Files.isDirectory(u.home().resolve("sandboxes"))) {
                    try (var left = Files.list(u.home().resolve("sandboxes"))) {
                        assertThat(left.filter(p -> p.getFileName().toString().startsWith("sb-")).toList())
                                .as(way + ": state directories left").isEmpty();
                    }
                }
                String where = null;
                for (String line : out.split("\n")) {
                    if (line.startsWith("error ")) {
                        found.merge("error", line + "\n", String::concat);
                        where = null;
                    } else if (line.startsWith("== ")) {
                        where = line.substring(3);
                        found.put(where, "");
                    } else if (where != null) {
                        found.merge(where, line + "\n", String::concat);
                    }
                }
            }
        }
        return found;
    }

    /**
     * What every way must show rootless: sandbox root is root of a user namespace nested in one of the user's (its
     * map names the parent's ids, so the host uid does not show here; davit itself is not host root), no_new_privs,
     * the filter, the default capabilities at most (none for a non-root user), every dangerous call refused.
     */
    private static Map<String, String> assertConfined(String where, String out, boolean root) {
        assertThat(out).as(where + ": no output").isNotNull();
        assertThat(out).as(where).doesNotContain("error ");
        Map<String, String> p = SandboxProbe.parse(out);
        assertThat(p).as(where + ": " + out).containsKeys("uid_map", "CapEff", "NoNewPrivs", "Seccomp");
        assertThat(p.get("NoNewPrivs")).as(where).isEqualTo("1");
        assertThat(p.get("Seccomp")).as(where).isEqualTo("2");
        long eff = Long.parseUnsignedLong(p.get("CapEff"), 16);
        if (root) {
            assertThat(eff & ~SandboxProbe.DEFAULT_CAPS).as(where + " CapEff %x", eff).isZero();
        } else {
            assertThat(eff).as(where + " CapEff %x", eff).isZero();
        }
        assertThat(Long.parseUnsignedLong(p.get("CapBnd"), 16) & ~SandboxProbe.DEFAULT_CAPS).as(where + " CapBnd")
                .isZero();
        for (String call : SandboxProbe.EPERM) {
            assertThat(p.get(call)).as(where + ": " + call).isEqualTo("EPERM");
        }
        assertThat(p.get("clone3")).as(where).isEqualTo("ENOSYS");
        for (String w : List.of("core_pattern", "suid_dumpable")) {
            assertThat(p.get(w)).as(where + ": " + w).isIn("EACCES", "EROFS", "EPERM");
        }
        return p;
    }
}
