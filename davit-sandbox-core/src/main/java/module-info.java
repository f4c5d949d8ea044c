/**
 * The sandbox core: {@link dev.davit.sandbox.engine.Sandboxes}, the engine that runs, creates and manages sandboxes
 * (exported to all), over the backends' interface ({@code backend}: {@code Driver}, {@code Backend}) and the
 * machinery they share (cgroups, egress, users, lifecycle), exported only to the backends and the modules above them.
 * A backend is a module of its own that provides a {@code Driver}; this module imports none.
 */
module dev.davit.sandbox.core {
    requires transitive dev.davit.sandbox.api;
    requires dev.davit.sandbox.jail;
    requires dev.davit.sandbox.network;

    exports dev.davit.sandbox.engine;
    exports dev.davit.sandbox.agent to dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.k8s;
    exports dev.davit.sandbox.backend to dev.davit.sandbox.container, dev.davit.sandbox.vm,
            dev.davit.sandbox.workspace, dev.davit.sandbox.build, dev.davit.k8s;

    uses dev.davit.sandbox.backend.Driver;
}
