/**
 * Builds: an environment from a Containerfile or a catalog recipe, each RUN step in a sandbox. It exports nothing:
 * davit-env finds its local builder as a service ({@code Installer.LocalBuilders}).
 */
module dev.davit.sandbox.build {
    requires dev.davit.sandbox.core;
    requires dev.davit.sandbox.jail;
    requires dev.davit.sandbox.network;
    requires dev.davit.sandbox.vm;
    requires com.fasterxml.jackson.databind;
    requires org.apache.commons.compress;
    requires com.github.luben.zstd_jni;
    requires org.tukaani.xz;

    provides dev.davit.env.install.Installer.LocalBuilders with dev.davit.sandbox.build.LocalEnvBuilder.Provider;
}
