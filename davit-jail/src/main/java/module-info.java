/**
 * The jail: the namespaces, seccomp filter, mounts, capabilities and limits every backend confines its processes
 * with, and davit-exec, the static helper that execs into a jailed sandbox. davit's own: exported only to the
 * sandbox modules that confine processes.
 *
 * <p>The mounts use the FFM API: on the module path, run with {@code --enable-native-access} naming this module.
 */
module dev.davit.sandbox.jail {
    requires transitive dev.davit.sandbox.api;
    requires com.fasterxml.jackson.databind;

    exports dev.davit.sandbox.jail to dev.davit.sandbox.core, dev.davit.sandbox.container, dev.davit.sandbox.vm,
            dev.davit.sandbox.workspace, dev.davit.sandbox.build;
}
