package dev.davit.sandbox.vm;

import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.VmTestEnvironment;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** davit doctor's vm backend report, with the real QEMU and (from the test cache) a real kernel for the KVM probe. */
class VmDoctorTest {
    @TempDir
    Path tmp;

    @Test
    void reportsQemuMicrovmAndTheAccelerator() throws Exception {
        VmTestEnvironment.get(); // the kernel cache the probe boots from
        Path home = tmp.resolve("home");
        Files.createDirectories(home.resolve("cache"));
        Path link = Files.createSymbolicLink(VmImages.defaultCacheDir(home), VmTestEnvironment.cacheDir());
        try {
            Doctor.Backend vm = new dev.davit.sandbox.engine.Sandboxes(SandboxOptions.under(home)).doctor().backends().stream()
                    .filter(b -> b.name().equals("vm")).findFirst().orElseThrow();
            System.out.println("doctor vm: " + vm);
            Map<String, String> f = vm.facts();
            assertThat(vm.available()).isTrue();
            assertThat(f.get("qemu_version")).matches("[0-9]+\\.[0-9]+.*");
            assertThat(f.get("microvm")).isEqualTo("available");
            assertThat(f.get("accel")).isIn("kvm", "tcg");
            if (System.getenv(Accel.ENV) == null) {
                if (f.get("accel").equals("kvm")) {
                    assertThat(f.get("kvm_probe")).isEqualTo("usable");
                    assertThat(vm.detail()).contains("with KVM");
                } else {
                    assertThat(vm.detail()).contains("with TCG");
                    if (f.get("kvm").equals("present, accessible")) {
                        // e.g. this project's CI: a nested PVM /dev/kvm that cannot run stock kernels
                        assertThat(f.get("kvm_probe")).startsWith("present but unusable: ");
                    }
                }
            }
            // the full probe's result is kept for later davit processes
            assertThat(home.resolve("sandboxes").resolve(Accel.CACHE_FILE)).exists();
        } finally {
            Files.delete(link);
        }
    }
}
