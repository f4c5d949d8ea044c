package dev.davit.sandbox.container;

import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.backend.Users;
import dev.davit.sandbox.backend.Backend;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.backend.Driver;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.backend.LongLived;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.jail.Rootless;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** The {@code container} backend: bubblewrap, crun and runc over the sandbox's own overlay of a shared rootfs. */
public final class ContainerDriver implements Driver {
    @Override
    public String name() {
        return RunSpec.CONTAINER;
    }

    @Override
    public List<Backend> runtimes(SandboxOptions options) {
        return List.of(new BwrapBackend(options), new OciRuntimeBackend(options, OciRuntimeBackend.CRUN),
                new OciRuntimeBackend(options, OciRuntimeBackend.RUNC));
    }

    @Override
    public LongLived longLived(SandboxOptions options, Consumer<Sandbox> save) {
        return new ContainerLifecycle(options, save);
    }

    @Override
    public List<Doctor.Backend> doctor(SandboxOptions options) {
        return new ContainerDoctor(options).check();
    }

    /**
     * A root runc's container of the run in {@code runDir} ({@code runDir/runtime/ID}): {@code runc delete --force}
     * removes what runc made for it, its cgroups in every hierarchy included.
     */
    @Override
    public void reapOrphan(SandboxOptions options, Path runDir) {
        Path runc = options.which(OciRuntimeBackend.RUNC);
        String id = runDir.getFileName().toString();
        if (runc == null || !Jail.AS_ROOT || !Files.isDirectory(runDir.resolve("runtime").resolve(id))) {
            return;
        }
        ProcessBuilder pb = new ProcessBuilder(runc.toString(), "--root", runDir.resolve("runtime").toString(),
                "delete", "--force", id).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        try {
            Process p = pb.start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            // best effort: the state directory goes anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Without root, refuses a container sandbox that would lack a guarantee of the jail it needs ({@link Rootless}:
     * user namespaces; for a {@code longLived} one, confined execs; for an image User that is not root, separate
     * users), unless the options allow a weaker sandbox. As root, nothing is refused.
     */
    static void refuseWeaker(SandboxOptions options, boolean longLived, Path rootfs, ImageConfig image) {
        if (!Jail.active()) {
            Rootless.require(options, longLived, () -> BwrapBackend.nonRoot(Users.resolve(
                    Host.realRootfs(rootfs), image.user())) != null);
        }
    }
}
