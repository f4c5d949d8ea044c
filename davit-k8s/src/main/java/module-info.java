/**
 * The k8s backend: davit's sandboxes (one-shot runs and long-lived sandboxes, and so workspaces) as pods of a
 * Kubernetes cluster, reached with fabric8's client over the JDK's HTTP client. Found by the core through
 * {@link dev.davit.k8s.K8sDriver} (a {@code dev.davit.sandbox.backend.Driver}, whose package davit-sandbox-core
 * exports to the backends and the modules above them, never to programs); nothing imports this module. docs/reference/KUBERNETES.md says how to use it.
 */
module dev.davit.k8s {
    requires dev.davit.sandbox;
    requires dev.davit.sandbox.vm;
    requires org.apache.commons.compress;
    requires kubernetes.client.api;
    requires kubernetes.model.core;
    requires kubernetes.model.common;
    requires kubernetes.model.networking;

    provides dev.davit.sandbox.backend.Driver with dev.davit.k8s.K8sDriver;
}
