package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Found by an attacker's review (issue 53): rootless, without davit-exec (a jar built without gcc), an exec runs
 * host programs (nsenter, and prlimit or sh when there are limits) and hands the sandbox's variables on through
 * their environment (ContainerLifecycle.enter, the nsenter branch). A sandbox (its image's Env, a model's env_vars,
 * a restored snapshot's carried variables) sets LD_PRELOAD to a relative path that, from the host program's working
 * directory (the sandbox's state directory), is the sandbox's own /tmp file. The file is inert text: were the host's
 * dynamic loader to open it, it would say so ("invalid ELF header" or "file too short") on the exec's stderr. It must
 * not: such variables never reach a host program. The sandbox's busybox is static: no loader runs inside. Reached
 * only with the opt-in DAVIT_ALLOW_WEAKER_SANDBOX=1 (confined_execs missing).
 */
class WeakerExecEnvTest {
    /** Runs as the unprivileged user: a long-lived sandbox whose variables carry LD_PRELOAD. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            System.setProperty("davit.jail.noExecHelper", "true"); // as a jar built without gcc
            Path home = Path.of(args[0]);
            Path rootfs = Path.of(args[1]);
            Sandboxes s = new Sandboxes(SandboxOptions.under(home));
            // what a restored snapshot's carried variables (or an image's Env, or a model's env_vars) give
            Sandbox sb = s.create(CreateSpec.builder(rootfs).env(Map.of("LD_PRELOAD", "tmp/r53-not-elf.so"))
                    .ttl(Duration.ofHours(1)).limits(Limits.NONE).build());
            s.start(sb.id());
            try {
                ExecResult w = s.exec(sb.id(), List.of("/bin/sh", "-c",
                        "echo 'inert text, not an ELF object' > /tmp/r53-not-elf.so; echo written"), Map.of(), "/",
                        Duration.ofSeconds(30));
                System.out.println("== first stdout " + w.stdoutText().strip());
                System.out.println("== first stderr " + w.stderrText().replace('\n', '|'));
                // cwd /tmp inside: there tmp/r53-not-elf.so is /tmp/tmp/..., which does not exist
                ExecResult r = s.exec(sb.id(), List.of("/bin/sh", "-c", "echo ran"), Map.of(), "/tmp",
                        Duration.ofSeconds(30));
                System.out.println("== second stdout " + r.stdoutText().strip());
                System.out.println("== second stderr " + r.stderrText().replace('\n', '|'));
            } finally {
                s.rm(sb.id());
            }
        }
    }

    @Test
    void aSandboxVariableNeverReachesTheHostLoaderRootlessWithoutTheHelper() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox", "nsenter");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-weak-env-")) {
            Path rootfs = BusyboxRootfs.createFor(u.dir().resolve("rootfs"));
            Tools.run("chown", "-R", u.ids()[0] + ":" + u.ids()[1], rootfs.toString());
            String out = u.java(List.of("DAVIT_ALLOW_WEAKER_SANDBOX=1"), 2, Child.class.getName(), u.home().toString(),
                    rootfs.toString());
            assertThat(out).contains("== second stdout ran");
            assertThat(out).as("the host's loader never saw the sandbox's file").doesNotContain("cannot be preloaded")
                    .doesNotContainPattern("(invalid ELF header|file too short)");
        }
    }
}
