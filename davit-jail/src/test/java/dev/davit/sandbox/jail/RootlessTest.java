package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.SandboxOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link Rootless} finds missing on hosts made of files: sysctls that disable unprivileged user namespaces,
 * users without subordinate ranges, no newuidmap. (The refusal itself is tested as an unprivileged user in
 * {@link JailRootlessTest}.)
 */
class RootlessTest {
    @TempDir
    Path tmp;

    private Map<String, Rootless.Guarantee> check(Map<String, String> sysctls, String subuid, String subgid,
                                                  String path) throws IOException {
        Path sys = tmp.resolve("sys");
        for (Map.Entry<String, String> e : sysctls.entrySet()) {
            Files.createDirectories(sys.resolve(e.getKey()).getParent());
            Files.writeString(sys.resolve(e.getKey()), e.getValue() + "\n");
        }
        Files.createDirectories(sys);
        Path u = Files.writeString(tmp.resolve("subuid"), subuid);
        Path g = Files.writeString(tmp.resolve("subgid"), subgid);
        SandboxOptions o = SandboxOptions.under(tmp.resolve("home")).withSearchPath(path);
        return Rootless.check(o, sys, u, g, "alice").stream().collect(Collectors.toMap(Rootless.Guarantee::name,
                x -> x));
    }

    private Path bin(String... tools) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String t : tools) {
            Path f = Files.writeString(bin.resolve(t), "#!/bin/sh\n");
            f.toFile().setExecutable(true);
        }
        return bin;
    }

    @Test
    void eachSysctlThatDisablesUserNamespacesIsNamedWithItsFix() throws IOException {
        assertThat(check(Map.of("user/max_user_namespaces", "1000", "kernel/unprivileged_userns_clone", "1"), "", "",
                "/nonexistent").get(Rootless.USER_NAMESPACES).holds()).isTrue();
        for (String[] c : List.of(new String[] {"user/max_user_namespaces", "0", "sysctl -w user.max_user_namespaces=15000"},
                new String[] {"kernel/unprivileged_userns_clone", "0", "sysctl -w kernel.unprivileged_userns_clone=1"},
                new String[] {"kernel/apparmor_restrict_unprivileged_userns", "1",
                    "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"})) {
            Files.createDirectories(tmp);
            dev.davit.oci.internal.Fs.deleteTree(tmp.resolve("sys"));
            Rootless.Guarantee g = check(Map.of(c[0], c[1]), "", "", "/nonexistent").get(Rootless.USER_NAMESPACES);
            assertThat(g.holds()).as(c[0]).isFalse();
            assertThat(g.missing()).contains(c[0].replace('/', '.') + "=" + c[1]).endsWith("as root run: " + c[2]);
        }
    }

    @Test
    void separateUsersNamesWhatTheHostLacks() throws IOException {
        Rootless.Guarantee none = check(Map.of(), "bob:100000:65536\n", "", "/nonexistent")
                .get(Rootless.SEPARATE_USERS);
        assertThat(none.holds()).isFalse();
        assertThat(none.missing()).contains("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice")
                .contains("apt-get install uidmap").doesNotContain("\n");
        Path bin = bin("newuidmap", "newgidmap", "setpriv");
        Rootless.Guarantee old = check(Map.of(), "alice:100000:65536\n", "alice:100000:65536\n", bin.toString())
                .get(Rootless.SEPARATE_USERS);
        assertThat(old.holds()).isFalse();
        assertThat(old.missing()).doesNotContain("usermod").doesNotContain("apt-get install uidmap")
                .contains("util-linux unshare 2.38 or later");
        // an unshare that maps subordinate ids (--map-users): it holds (for one-shot runs)
        Files.writeString(bin.resolve("unshare"), "#!/bin/sh\necho ' --map-users=<outeruid>,<inneruid>,<count>'\n")
                .toFile().setExecutable(true);
        Rootless.Guarantee ready = check(Map.of(), "alice:100000:65536\n", "alice:100000:65536\n", bin.toString())
                .get(Rootless.SEPARATE_USERS);
        assertThat(ready.holds()).as(ready.missing()).isTrue();
        assertThat(ready.what()).contains("long-lived sandboxes and workspaces");
        // a range too small for a sandbox's 65536 ids is no range
        assertThat(check(Map.of(), "alice:100000:1000\n", "alice:100000:65536\n", bin.toString())
                .get(Rootless.SEPARATE_USERS).missing()).contains("usermod");
    }

    @Test
    void optingOutComesFromTheEnvironmentOrTheOptions() {
        SandboxOptions o = SandboxOptions.under(tmp);
        assertThat(o.allowWeakerSandbox()).isEqualTo("1".equals(System.getenv(Rootless.OPT_OUT_ENV)));
        assertThat(o.withAllowWeakerSandbox(true).allowWeakerSandbox()).isTrue();
        assertThat(o.withAllowWeakerSandbox(true).withSearchPath("/x").allowWeakerSandbox()).isTrue();
    }
}
