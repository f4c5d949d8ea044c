package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;
import dev.davit.sandbox.target.RunTargets;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.containerfile.Containerfile;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code RUN --mount} built by a user without root ({@value Unprivileged#USER}): the sandbox's mounts go through
 * davit's rootless keeper and its exec (no jail), where davit's own user is the sandbox's root. A cache is kept between
 * two builds, a secret is read, a writable bind of the context is writable and its writes dropped, a tmpfs is a tmpfs.
 */
class ContainerfileMountRootlessTest {
    @Test
    void anUnprivilegedUserBuildsWithEveryMountType() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox", "setpriv", "useradd", "usermod");
        Assumptions.assumeTrue(EnvBuilder.uid() == 0, "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session s = Unprivileged.Session.open("davit-mount-rootless-")) {
            Path ctx = Files.createDirectories(s.home().resolve("ctx/data"));
            Files.writeString(ctx.resolve("a.txt"), "from the context\n");
            Files.writeString(s.home().resolve("token"), "rootless-secret-77");
            BusyboxBase.make(s.home().resolve("base"), List.of("sh", "echo", "cat", "sleep", "true", "wc", "touch",
                    "stat", "ls", "mkdir"), List.of("proc", "dev", "tmp", "etc", "run"));
            Tools.run("chown", "-R", s.ids()[0] + ":" + s.ids()[1], s.home().toString());
            List<String> cmd = Unprivileged.javaAs(s.ids(), s.home(), s.classpath(), List.of(),
                    Child.class.getName(), s.home().toString());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(s.dir().resolve("child.log")
                    .toFile()).start();
            assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
            String log = Files.readString(s.dir().resolve("child.log"));
            assertThat(p.exitValue()).as(log).isZero();
            assertThat(log).contains("first: 1\n", "second: 2\n", "secret: 18\n", "bound: from the context\n",
                    "bind writable: yes\n", "tmpfs: tmpfs\n", "cache owner: 7:8 750\n").doesNotContain("rootless-secret-77");
            assertThat(ctx.resolve("new")).doesNotExist();
        }
    }

    /** The build as the unprivileged user: args[0] its home (base/, ctx/, token in it). */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path home = Path.of(args[0]);
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
                c.build(home.resolve("base"), "localhost/test/rl-base:1", BuildOptions.defaults(), ProgressListener.NONE);
                Sandboxes sandboxes = new Sandboxes(SandboxOptions.under(home));
                String file = "FROM localhost/test/rl-base:1\n"
                        + "RUN --mount=type=cache,target=/c sh -c 'n=$(cat /c/n 2>/dev/null || echo 0);"
                        + " echo $((n + 1)) > /c/n; cat /c/n > /count'\n"
                        + "RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /secret-len\n"
                        + "RUN --mount=type=bind,source=data,target=/d,rw sh -c 'cat /d/a.txt > /bound;"
                        + " touch /d/new && echo yes > /writable || echo no > /writable'\n"
                        + "RUN --mount=type=tmpfs,target=/t stat -f -c %T /t > /fs\n"
                        + "RUN mkdir -m 1777 /out\nUSER 7:8\n"
                        + "RUN --mount=type=cache,target=/o,id=owned,uid=7,gid=8,mode=0750 sh -c 'touch /o/w &&"
                        + " stat -c \"%u:%g %a\" /o > /out/owner'\n";
                var options = ContainerfileBuilder.Options.defaults().withNoCache(true).withSecrets(Map.of("tok",
                        new ContainerfileBuilder.Secret(home.resolve("token"), null)));
                for (String round : List.of("first", "second")) {
                    new ContainerfileBuilder(c, sandboxes, home, null).build(Containerfile.parse(file,
                            "Containerfile"), home.resolve("ctx"), "localhost/test/rl-mounted:1", options);
                    System.out.println(round + ": " + cat(c, sandboxes, home, "/count"));
                }
                System.out.println("secret: " + cat(c, sandboxes, home, "/secret-len"));
                System.out.println("bound: " + cat(c, sandboxes, home, "/bound"));
                System.out.println("bind writable: " + cat(c, sandboxes, home, "/writable"));
                System.out.println("tmpfs: " + cat(c, sandboxes, home, "/fs"));
                System.out.println("cache owner: " + cat(c, sandboxes, home, "/out/owner"));
            } catch (RuntimeException e) {
                System.out.println("failed: " + e.getMessage());
                e.printStackTrace(System.out);
                System.exit(1);
            }
        }

        private static String cat(DavitClient c, Sandboxes sandboxes, Path home, String path) {
            RunTarget t = RunTargets.ofImage(c, home, "localhost/test/rl-mounted:1", null, null);
            ExecResult r = sandboxes.run(RunSpec.builder(t.rootfs()).image(t.image()).command("cat", path)
                    .limits(dev.davit.sandbox.Limits.NONE).build());
            return r.stdoutText().strip();
        }
    }
}
