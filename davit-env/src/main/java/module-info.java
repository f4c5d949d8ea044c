/**
 * Named, versioned environments: the catalog ({@code debian:12}, ...), resolving a name to an image or microVM
 * artifact, and installing it. The API is {@link dev.davit.env.Catalog} and {@link dev.davit.env.Environment} with
 * {@code dev.davit.env.catalog}; installation, name resolution and freshness checks are davit's own.
 */
module dev.davit.env {
    requires transitive dev.davit.oci;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires com.fasterxml.jackson.databind;
    requires java.net.http;
    requires org.apache.commons.compress;

    exports dev.davit.env;
    exports dev.davit.env.catalog to dev.davit.sandbox.api, dev.davit.sandbox;

    exports dev.davit.env.install to dev.davit.sandbox.api, dev.davit.sandbox.workspace, dev.davit.sandbox.build;

    uses dev.davit.env.install.Installer.LocalBuilders;
}
