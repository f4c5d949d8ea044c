package dev.davit.env.install;

import dev.davit.env.Environment;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.testkit.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class ConcurrentInstallTest {
    @TempDir
    static Path shared;
    static EnvFixtures fx;

    @TempDir
    Path home;

    @BeforeAll
    static void up() {
        fx = new EnvFixtures(shared);
    }

    @AfterAll
    static void down() {
        if (fx != null) {
            fx.close();
        }
    }

    @Test
    void threadsInstallingTheSameEnvironmentAllSucceedWithOneInstall() throws Exception {
        Environment e = fx.vmEnv();
        int n = 6;
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<Future<Installer.InstallResult>> results = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    // each thread its own client, like separate commands sharing $DAVIT_HOME
                    try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
                        start.await();
                        return new Installer(home, c).install(EnvFixtures.catalog(e), e);
                    }
                }));
            }
            List<Installer.Origin> origins = new ArrayList<>();
            for (Future<Installer.InstallResult> f : results) {
                origins.add(f.get(120, TimeUnit.SECONDS).origin());
            }
            assertThat(origins).containsOnlyOnce(Installer.Origin.OCI);
            assertThat(origins).filteredOn(o -> o == Installer.Origin.EXISTING).hasSize(n - 1);
        } finally {
            pool.shutdownNow();
        }
        assertOneValidInstall(e);
    }

    @Test
    void processesInstallingTheSameEnvironmentAllSucceedWithOneInstall() throws Exception {
        Environment e = EnvFixtures.container("proc:env", "1",
                new Environment.Source(null, fx.image.reference(), null, null));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> procs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            procs.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    InstallMain.class.getName(), home.toString(), "container", e.name(), fx.image.reference())
                    .redirectErrorStream(true).start());
        }
        List<String> outputs = new ArrayList<>();
        for (Process p : procs) {
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            outputs.add(out.strip().lines().reduce((a, b) -> b).orElse(""));
        }
        assertThat(outputs).containsOnlyOnce("origin=OCI");
        assertThat(outputs).filteredOn("origin=EXISTING"::equals).hasSize(2);
        assertOneValidInstall(e);
        assertThat(home.resolve("environments/linux_amd64/proc_env-1/rootfs").resolve(Fixtures.HELLO_PATH))
                .exists();
    }

    private void assertOneValidInstall(Environment e) throws Exception {
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            Installer installer = new Installer(home, c);
            assertThat(installer.status(e).installed()).isTrue();
            Path dir = installer.installDir(e);
            try (var s = Files.list(dir.getParent())) {
                assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
                        .containsExactly("." + dir.getFileName() + ".lock", dir.getFileName().toString());
            }
        }
    }
}
