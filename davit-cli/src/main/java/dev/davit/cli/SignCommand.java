package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.client.SignatureClient;
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
    @Parameters(paramLabel = "REF", arity = "0..1", description = "The image to sign, by tag: the identity the"
            + " signature claims.")
    String reference;

    @Option(names = "--generate-key", paramLabel = "PREFIX", description = "Make a sigstore key pair instead:"
            + " PREFIX.key (encrypted with --passphrase-file's passphrase, 0600) and PREFIX.pub, as cosign"
            + " generate-key-pair makes them.")
    Path generate;

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
        if (generate != null) {
            return generate(out);
        }
        if (reference == null) {
            throw new DavitException(Kind.USAGE, "give the image to sign, e.g. davit sign --key cosign.key"
                    + " registry.example.com/app:1");
        }
        if ((key == null) == (signBy == null && keyring == null)) {
            throw new DavitException(Kind.USAGE, "give --key FILE (a sigstore key) or --sign-by FINGERPRINT with"
                    + " --gpg-keyring FILE (a GPG key), one of them");
        }
        SignatureClient.SignResult r;
        if (key != null) {
            char[] pass = passphrase(true);
            java.security.PrivateKey k = SigstoreKeys.decryptPrivate(read(key, "--key"), pass, key.toString());
            try (ProgressRenderer progress = out.progress()) {
                r = client().signatures().signSigstore(reference, k, progress);
            }
        } else {
            if (keyring == null) {
                throw new DavitException(Kind.USAGE, "--sign-by needs --gpg-keyring FILE, the secret keyring (gpg"
                        + " --export-secret-keys FINGERPRINT > FILE)");
            }
            r = client().signatures().signGpg(reference, read(keyring, "--gpg-keyring"), signBy, passphrase(false));
        }
        ObjectNode doc = Json.object();
        doc.put("reference", r.reference().toString());
        doc.put("digest", r.digest().toString());
        doc.put("kind", r.kind());
        doc.put("signature", r.where());
        SignatureClient.SignResult done = r;
        out.result(doc, w -> w.println("signed " + done.reference() + "@" + done.digest() + " (" + done.kind()
                + "): " + done.where()));
        return 0;
    }

    private int generate(Output out) {
        if (reference != null || key != null || signBy != null || keyring != null) {
            throw new DavitException(Kind.USAGE, "--generate-key makes a key pair and signs nothing; give it alone"
                    + " (with --passphrase-file)");
        }
        if (passphraseFile == null && System.console() == null) {
            throw new DavitException(Kind.USAGE, "--generate-key needs --passphrase-file FILE (no terminal to ask"
                    + " on)");
        }
        char[] pass = passphrase(true);
        Path priv = Path.of(generate + ".key");
        Path pub = Path.of(generate + ".pub");
        java.security.KeyPair pair = SigstoreKeys.generate();
        try {
            if (Files.exists(priv, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    || Files.exists(pub, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new DavitException(Kind.USAGE, priv + " or " + pub + " exists already; give another"
                        + " --generate-key PREFIX");
            }
            Files.writeString(Files.createFile(priv, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"))),
                    SigstoreKeys.encryptPrivate(pair.getPrivate(), pass));
            Files.writeString(pub, SigstoreKeys.publicPem(pair.getPublic()), java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot write the key pair " + priv + ", " + pub + ": "
                    + e.getMessage());
        }
        ObjectNode doc = Json.object();
        doc.put("private_key", priv.toAbsolutePath().toString());
        doc.put("public_key", pub.toAbsolutePath().toString());
        out.result(doc, w -> w.println("private key: " + priv + " (sign with davit sign --key " + priv + ")\n"
                + "public key:  " + pub + " (a policy's sigstoreSigned keyPath, a catalog's signedBy)"));
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
