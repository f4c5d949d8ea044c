package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.internal.Json;
import dev.davit.oci.policy.SigstoreKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code davit sign REF}: signs an image at its registry, as skopeo signs what it copies: with a sigstore key
 * ({@code --key}, attached beside the image as cosign attaches) or a GPG key ({@code --sign-by}, into the lookaside
 * store registries.d names).
 */
@Command(name = "sign", mixinStandardHelpOptions = true, description = "Sign image REF at its registry: with a"
        + " sigstore private key (--key; the signature is attached beside the image as cosign attaches it) or a GPG key"
        + " (--sign-by with --gpg-keyring; the signature goes into the lookaside store registries.d names).")
final class SignCommand extends DavitCommand {
    @Parameters(paramLabel = "REF", description = "The image to sign, by tag: the identity the signature claims.")
    String reference;

    @Option(names = "--key", paramLabel = "FILE", description = "A sigstore (cosign) encrypted private key file.")
    Path key;

    @Option(names = "--sign-by", paramLabel = "FINGERPRINT", description = "The GPG key to sign with, of"
            + " --gpg-keyring.")
    String signBy;

    @Option(names = "--gpg-keyring", paramLabel = "FILE", description = "The secret keyring with the --sign-by key"
            + " (gpg --export-secret-keys).")
    Path keyring;

    @Option(names = "--passphrase-file", paramLabel = "FILE", description = "The key's passphrase (default: none"
            + " for a GPG key; asked on a terminal for a sigstore key).")
    Path passphraseFile;

    @Override
    protected int run(Output out) {
        if ((key == null) == (signBy == null && keyring == null)) {
            throw new DavitException(Kind.USAGE, "give --key FILE (a sigstore key) or --sign-by FINGERPRINT with"
                    + " --gpg-keyring FILE (a GPG key), one of them");
        }
        DavitClient.SignResult r;
        if (key != null) {
            char[] pass = passphrase(true);
            java.security.PrivateKey k = SigstoreKeys.decryptPrivate(read(key, "--key"), pass, key.toString());
            try (ProgressRenderer progress = out.progress()) {
                r = client().signSigstore(reference, k, progress);
            }
        } else {
            if (keyring == null) {
                throw new DavitException(Kind.USAGE, "--sign-by needs --gpg-keyring FILE, the secret keyring (gpg"
                        + " --export-secret-keys FINGERPRINT > FILE)");
            }
            r = client().signGpg(reference, read(keyring, "--gpg-keyring"), signBy, passphrase(false));
        }
        ObjectNode doc = Json.object();
        doc.put("reference", r.reference().toString());
        doc.put("digest", r.digest().toString());
        doc.put("kind", r.kind());
        doc.put("signature", r.where());
        DavitClient.SignResult done = r;
        out.result(doc, w -> w.println("signed " + done.reference() + "@" + done.digest() + " (" + done.kind()
                + "): " + done.where()));
        return 0;
    }

    private char[] passphrase(boolean ask) {
        if (passphraseFile != null) {
            String s = new String(read(passphraseFile, "--passphrase-file"), StandardCharsets.UTF_8);
            return s.endsWith("\n") ? s.substring(0, s.length() - 1).toCharArray() : s.toCharArray();
        }
        if (ask && System.console() != null) {
            return System.console().readPassword("Passphrase for %s: ", key);
        }
        return new char[0];
    }

    private static byte[] read(Path f, String flag) {
        try {
            if (Files.size(f) > (4 << 20)) {
                throw new DavitException(Kind.USAGE, flag + " " + f + " is over 4 MiB");
            }
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + flag + " " + f + ": " + e.getMessage());
        }
    }
}
