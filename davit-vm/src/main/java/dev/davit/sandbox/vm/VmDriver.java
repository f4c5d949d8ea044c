package dev.davit.sandbox.vm;

import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.backend.Backend;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.backend.Driver;
import dev.davit.sandbox.backend.LongLived;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import java.util.List;
import java.util.function.Consumer;

/** The {@code vm} backend: a QEMU microVM per sandbox, with davit-agent over virtio-serial. */
public final class VmDriver implements Driver {
    @Override
    public String name() {
        return RunSpec.VM;
    }

    @Override
    public List<Backend> runtimes(SandboxOptions options) {
        return List.of(new QemuBackend(options));
    }

    @Override
    public LongLived longLived(SandboxOptions options, Consumer<Sandbox> save) {
        return new VmLifecycle(options, save);
    }

    @Override
    public List<Doctor.Backend> doctor(SandboxOptions options) {
        return List.of(new VmDoctor(options).vm());
    }
}
