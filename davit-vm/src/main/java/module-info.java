/**
 * The microVM backend: a sandbox in a QEMU microVM, reached through davit-agent, and its images. The core finds its
 * {@code Driver} as a service; the images, busybox and detached processes are exported to the builds and to the
 * Kubernetes backend alone.
 */
module dev.davit.sandbox.vm {
    requires dev.davit.sandbox.core;
    requires dev.davit.sandbox.jail;
    requires com.fasterxml.jackson.databind;
    requires org.apache.commons.compress;
    requires com.github.luben.zstd_jni;
    requires jdk.net;

    exports dev.davit.sandbox.vm to dev.davit.sandbox.build, dev.davit.k8s;

    provides dev.davit.sandbox.backend.Driver with dev.davit.sandbox.vm.VmDriver;
}
