/**
 * The sandbox API: what a caller gives and gets back ({@link dev.davit.sandbox.RunSpec}, {@link
 * dev.davit.sandbox.CreateSpec}, {@link dev.davit.sandbox.ExecResult}, {@link dev.davit.sandbox.Limits}, {@link
 * dev.davit.sandbox.Network}, ...), exported to all. Under it, and davit's own (exported only to the sandbox modules
 * that use them): the host's probes ({@code host}), the file-system layer that opens no path through a link ({@code
 * fs}), the ELF reader ({@code elf}) and the JSON forms of the API's values ({@code internal}).
 *
 * <p>The file-system layer's system calls use the FFM API: on the module path, run with {@code
 * --enable-native-access} naming this module (see docs/reference/LIBRARY.md).
 */
module dev.davit.sandbox.api {
    requires transitive dev.davit.oci;
    requires transitive dev.davit.env;
    requires com.fasterxml.jackson.databind;

    exports dev.davit.sandbox;
    exports dev.davit.sandbox.host to dev.davit.sandbox.jail, dev.davit.sandbox.core, dev.davit.sandbox.container,
            dev.davit.sandbox.vm, dev.davit.sandbox.workspace, dev.davit.sandbox.build, dev.davit.k8s;
    exports dev.davit.sandbox.fs to dev.davit.sandbox.jail, dev.davit.sandbox.network, dev.davit.sandbox.core,
            dev.davit.sandbox.container, dev.davit.sandbox.vm, dev.davit.sandbox.workspace, dev.davit.sandbox.build;
    exports dev.davit.sandbox.elf to dev.davit.sandbox.container, dev.davit.sandbox.vm;
    exports dev.davit.sandbox.target to dev.davit.sandbox.workspace, dev.davit.sandbox.build, dev.davit.sandbox,
            dev.davit.k8s;
    exports dev.davit.sandbox.internal to dev.davit.sandbox.core, dev.davit.sandbox.container,
            dev.davit.sandbox.vm, dev.davit.sandbox.workspace, dev.davit.k8s;
}
