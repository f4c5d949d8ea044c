package dev.davit.oci.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * OpenSSL standing in for sigstore's keyless signing, independent of davit: a Fulcio-like root and intermediate CA
 * (P-256) issuing a one-day code-signing certificate with Fulcio's OIDC issuer extensions (1.3.6.1.4.1.57264.1.1 raw,
 * 1.3.6.1.4.1.57264.1.8 UTF-8) and an email SAN; the certificate's key signs payloads ({@code openssl dgst -sign});
 * a Rekor key signs the canonical JSON of a {@code hashedrekord} entry (the SET), written here by hand. {@link #signed}
 * returns the annotations cosign puts on a keyless signature layer.
 */
public final class FulcioPki {
    /** The annotation holding the signature. */
    public static final String SIGNATURE = "dev.cosignproject.cosign/signature";
    /** The annotation holding the signing certificate. */
    public static final String CERTIFICATE = "dev.sigstore.cosign/certificate";
    /** The annotation holding the intermediates and root. */
    public static final String CHAIN = "dev.sigstore.cosign/chain";
    /** The annotation holding the Rekor bundle. */
    public static final String BUNDLE = "dev.sigstore.cosign/bundle";
    /** The log ID the bundles carry (any hex: it is signed, not checked). */
    public static final String LOG_ID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d";

    private static final AtomicInteger N = new AtomicInteger();
    private final Path dir;
    private final Path root;
    private final Path intermediate;
    private final Path leafKey;
    private final Path leaf;
    private final Path rekorKey;
    private final Path rekorPub;

    private FulcioPki(Path dir, String issuer, String email) {
        this.dir = dir;
        root = ca("root", null);
        intermediate = ca("intermediate", root);
        leafKey = key("leaf");
        leaf = certificate("leaf", leafKey, intermediate, List.of("subjectAltName=critical,email:" + email,
                "keyUsage=critical,digitalSignature", "extendedKeyUsage=codeSigning", rawIssuer(issuer),
                "1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:" + issuer), 1);
        rekorKey = key("rekor");
        rekorPub = publicKey(rekorKey);
    }

    /**
     * Makes the CAs, a signing certificate for {@code email} from {@code issuer}, and a Rekor key, in {@code dir}.
     *
     * @return the PKI
     */
    public static FulcioPki create(Path dir, String issuer, String email) {
        Tools.assumeAvailable("openssl");
        try {
            return new FulcioPki(Files.createDirectories(dir), issuer, email);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@return the extension line of Fulcio's older, raw OIDC issuer extension} */
    public static String rawIssuer(String issuer) {
        return "1.3.6.1.4.1.57264.1.1=DER:" + HexFormat.of().formatHex(issuer.getBytes(StandardCharsets.UTF_8));
    }

    /** {@return the root CA's certificate file} */
    public Path root() {
        return root;
    }

    /** {@return the intermediate CA's certificate file} */
    public Path intermediate() {
        return intermediate;
    }

    /** {@return the signing certificate's file} */
    public Path leaf() {
        return leaf;
    }

    /** {@return the signing certificate's private key file} */
    public Path leafKey() {
        return leafKey;
    }

    /** {@return the Rekor private key file} */
    public Path rekorKey() {
        return rekorKey;
    }

    /** {@return the Rekor public key file (PEM)} */
    public Path rekorPublic() {
        return rekorPub;
    }

    /** {@return the intermediates and the root, as cosign writes the chain annotation} */
    public String chain() {
        return read(intermediate) + read(root);
    }

    /** {@return a keyless signature's annotations for {@code payload}, logged now} */
    public Map<String, String> signed(byte[] payload) {
        return signed(payload, leafKey, leaf, rekorKey, System.currentTimeMillis() / 1000, payload);
    }

    /**
     * The annotations cosign attaches for a signature of {@code payload}: the signature by {@code key}, the
     * certificate (or public key) {@code cert}, the chain, and a Rekor bundle signed with {@code rekor} logging
     * {@code logged}'s SHA-256 at {@code time} (log index 7). The bundle's payload is written in another member order
     * and spacing than the canonical form its SET signs.
     */
    public Map<String, String> signed(byte[] payload, Path key, Path cert, Path rekor, long time, byte[] logged) {
        int n = N.incrementAndGet();
        Path payloadFile = write("payload-" + n, payload);
        Path sig = dir.resolve("sig-" + n);
        Tools.run("openssl", "dgst", "-sha256", "-sign", key.toString(), "-out", sig.toString(), payloadFile.toString());
        String sigB64 = Base64.getEncoder().encodeToString(Fixtures.readFile(sig));
        String certPem = read(cert);
        String body = "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{\"data\":{\"hash\":{\"algorithm\":"
                + "\"sha256\",\"value\":\"" + FileTree.digest(logged).substring("sha256:".length()) + "\"}},\"signature\":"
                + "{\"content\":\"" + sigB64 + "\",\"publicKey\":{\"content\":\""
                + Base64.getEncoder().encodeToString(certPem.getBytes(StandardCharsets.US_ASCII)) + "\"}}}}";
        String bodyB64 = Base64.getEncoder().encodeToString(body.getBytes(StandardCharsets.UTF_8));
        Path canonical = write("set-" + n, ("{\"body\":\"" + bodyB64 + "\",\"integratedTime\":" + time
                + ",\"logID\":\"" + LOG_ID + "\",\"logIndex\":7}").getBytes(StandardCharsets.UTF_8));
        Path set = dir.resolve("set-sig-" + n);
        Tools.run("openssl", "dgst", "-sha256", "-sign", rekor.toString(), "-out", set.toString(),
                canonical.toString());
        String bundle = "{\"SignedEntryTimestamp\": \"" + Base64.getEncoder().encodeToString(Fixtures.readFile(set))
                + "\", \"Payload\": {\"logIndex\": 7, \"body\": \"" + bodyB64 + "\", \"integratedTime\": " + time
                + ", \"logID\": \"" + LOG_ID + "\"}}";
        Map<String, String> a = new LinkedHashMap<>();
        a.put(SIGNATURE, sigB64);
        a.put(CERTIFICATE, certPem);
        a.put(CHAIN, chain());
        a.put(BUNDLE, bundle);
        return a;
    }

    /** {@return a new P-256 private key file} */
    public Path key(String name) {
        Path k = dir.resolve(name + ".key");
        Tools.run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                k.toString());
        return k;
    }

    /** {@return the PEM public key file of {@code key}} */
    public Path publicKey(Path key) {
        Path p = dir.resolve(key.getFileName() + ".pub");
        Tools.run("openssl", "pkey", "-in", key.toString(), "-pubout", "-out", p.toString());
        return p;
    }

    /** {@return a CA certificate: self-signed when {@code issuer} is null, else issued by it (its key beside it)} */
    public Path ca(String name, Path issuer) {
        return ca(name, issuer, 3650);
    }

    /** {@return {@link #ca(String, Path)} valid {@code days} from now} */
    public Path ca(String name, Path issuer, int days) {
        Path k = key(name);
        if (issuer == null) {
            Path c = dir.resolve(name + ".pem");
            Tools.run("openssl", "req", "-x509", "-new", "-key", k.toString(), "-subj", "/O=davit-test/CN=" + name,
                    "-days", String.valueOf(days), "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign", "-out", c.toString());
            return c;
        }
        return certificate(name, k, issuer, List.of("basicConstraints=critical,CA:TRUE,pathlen:0",
                "keyUsage=critical,keyCertSign,cRLSign", "extendedKeyUsage=codeSigning"), days);
    }

    /** {@return a certificate for {@code key} issued by {@code issuer}, valid {@code days} from now, with extensions} */
    public Path certificate(String name, Path key, Path issuer, List<String> extensions, int days) {
        Path csr = dir.resolve(name + ".csr");
        Tools.run("openssl", "req", "-new", "-key", key.toString(), "-subj", "/O=davit-test/CN=" + name, "-out",
                csr.toString());
        Path ext = write(name + ".ext", (String.join("\n", extensions) + "\n").getBytes(StandardCharsets.UTF_8));
        Path c = dir.resolve(name + ".pem");
        Path issuerKey = issuer.resolveSibling(issuer.getFileName().toString().replace(".pem", ".key"));
        Tools.run("openssl", "x509", "-req", "-in", csr.toString(), "-CA", issuer.toString(), "-CAkey",
                issuerKey.toString(), "-set_serial", String.valueOf(System.nanoTime()), "-days",
                String.valueOf(days), "-extfile", ext.toString(), "-out", c.toString());
        return c;
    }

    private Path write(String name, byte[] content) {
        Path p = dir.resolve(name);
        Fixtures.writeFile(p, content);
        return p;
    }

    private static String read(Path p) {
        return new String(Fixtures.readFile(p), StandardCharsets.US_ASCII);
    }
}
