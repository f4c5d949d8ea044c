package dev.davit.env.install;

import dev.davit.env.Environment;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;

import java.nio.file.Path;

/** A child process for {@link ConcurrentInstallTest}: {@code HOME KIND NAME REFERENCE}; prints the origin. */
public final class InstallMain {
    private InstallMain() {
    }

    public static void main(String[] args) {
        Path home = Path.of(args[0]);
        Environment.Source src = new Environment.Source(null, args[3], null, null);
        Environment e = args[1].equals("container") ? EnvFixtures.container(args[2], "1", src)
                : EnvFixtures.microvm(args[2], "1", src);
        try (DavitClient client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            Installer.InstallResult r = new Installer(home, client).install(EnvFixtures.catalog(e), e);
            System.out.println("origin=" + r.origin());
        }
    }
}
