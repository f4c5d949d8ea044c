package dev.davit.oci.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A throwaway gpg keyring with one ed25519 signing key and no passphrase, for the signature tests (gpg from Debian
 * as an independent signer). {@link #close} stops its agent.
 *
 * @param home        the keyring's directory (GNUPGHOME)
 * @param fingerprint the key's fingerprint
 */
public record GpgKeyring(Path home, String fingerprint) implements AutoCloseable {
    /**
     * Makes the keyring in {@code home} with a key for {@code name} (its email {@code name@davit.test}).
     *
     * @param home the directory to make
     * @param name the key's name
     * @return the keyring
     * @throws IOException when the directory cannot be made
     */
    public static GpgKeyring create(Path home, String name) throws IOException {
        Tools.assumeAvailable("gpg", "gpgconf");
        Files.createDirectories(home);
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
        Tools.run("gpg", "--homedir", home.toString(), "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                "--quick-gen-key", name + " <" + name + "@davit.test>", "ed25519", "sign", "never");
        String colons = Tools.run("gpg", "--homedir", home.toString(), "--list-keys", "--with-colons");
        return new GpgKeyring(home, colons.lines().filter(l -> l.startsWith("fpr:")).findFirst().orElseThrow()
                .split(":")[9]);
    }

    /**
     * Exports the key into {@code file}, as {@code gpg --export} (or {@code --export-secret-keys}) writes it.
     *
     * @param file   where
     * @param secret the secret key rather than the public one
     * @return {@code file}
     */
    public Path export(Path file, boolean secret) {
        Tools.run("gpg", "--homedir", home.toString(), "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                "--output", file.toString(), secret ? "--export-secret-keys" : "--export", fingerprint);
        return file;
    }

    /** Stops the keyring's gpg-agent. */
    @Override
    public void close() {
        try {
            Tools.run("gpgconf", "--homedir", home.toString(), "--kill", "gpg-agent");
        } catch (RuntimeException ignored) {
            // gone already
        }
    }
}
