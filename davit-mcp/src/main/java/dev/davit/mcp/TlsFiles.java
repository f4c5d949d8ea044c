package dev.davit.mcp;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The HTTP door's certificate and key ({@code --tls-cert}, {@code --tls-key}): PEM files as a Kubernetes TLS Secret
 * or cert-manager gives them (the chain, leaf first; the key in PKCS#1, SEC1 or PKCS#8, unencrypted). Read at start,
 * where a bad file is the operator's one-line error, and again whenever either file changes (a renewed Secret is a new
 * file behind the same path): new connections get the new certificate, a bad renewal is logged and the old one kept.
 */
final class TlsFiles {
    /** How often the files are looked at for a renewal. */
    static final long CHECK_SECONDS = 30;
    /** How long changed files must hold still before they are read. */
    static final long SETTLE_MILLIS = 500;
    private static final char[] NO_PASSWORD = new char[0];

    private final Path cert;
    private final Path key;
    /** The files' {@link #stamp} when {@link #server} read them. */
    private volatile String served;

    TlsFiles(Path cert, Path key) {
        this.cert = cert;
        this.key = key;
    }

    /** The key store of the files as they are now; a one-line usage error naming the file and the fix otherwise. */
    KeyStore read() {
        List<Certificate> chain = chain();
        PrivateKey privateKey = privateKey();
        boolean pair;
        try {
            pair = oneOf(privateKey, (X509Certificate) chain.getFirst());
        } catch (GeneralSecurityException e) {
            throw new DavitException(Kind.USAGE, "--tls-key " + key + " holds a " + privateKey.getAlgorithm()
                    + " key, which the door does not serve; give an RSA, EC or EdDSA key and its certificate");
        }
        if (!pair) {
            boolean later = false;
            for (Certificate c : chain.subList(1, chain.size())) {
                try {
                    later |= oneOf(privateKey, (X509Certificate) c);
                } catch (GeneralSecurityException | ClassCastException e) {
                    // not this one either
                }
            }
            throw new DavitException(Kind.USAGE, "the key in --tls-key " + key + " is not the key of the first"
                    + " certificate in --tls-cert " + cert + (later ? " but of a later one: put the server's own"
                    + " certificate (the leaf) first" : "; give the key the certificate was made for"));
        }
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("davit", privateKey, NO_PASSWORD, chain.toArray(new Certificate[0]));
            return ks;
        } catch (GeneralSecurityException | IOException e) {
            throw new DavitException(Kind.USAGE, "cannot keep the certificate of --tls-cert " + cert + " with its key ("
                    + e.getMessage() + "); give an RSA, EC or EdDSA key and its certificate");
        }
    }

    /**
     * Signs with the key and verifies with the certificate's public key: whether they are one pair.
     *
     * @throws GeneralSecurityException for a kind of key the door does not serve
     */
    private static boolean oneOf(PrivateKey privateKey, X509Certificate leaf) throws GeneralSecurityException {
        String alg = switch (privateKey.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "Ed448" -> privateKey.getAlgorithm();
            // the converter's name for both: the curve says which
            case "EdDSA" -> privateKey instanceof java.security.interfaces.EdECPrivateKey ed ? ed.getParams().getName()
                    : privateKey.getAlgorithm();
            default -> throw new GeneralSecurityException(privateKey.getAlgorithm());
        };
        byte[] probe = "davit tls key check".getBytes(StandardCharsets.US_ASCII);
        java.security.Signature sign = java.security.Signature.getInstance(alg);
        sign.initSign(privateKey);
        sign.update(probe);
        byte[] signature = sign.sign();
        try {
            java.security.Signature verify = java.security.Signature.getInstance(alg);
            verify.initVerify(leaf.getPublicKey());
            verify.update(probe);
            return verify.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // a certificate of another kind of key
        }
    }

    /** The PEM objects of {@code file}, in order (anything else in it is skipped, as Go's PEM decoder does). */
    private static List<Object> pem(Path file, String flag) {
        List<Object> objects = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1); PEMParser p = new PEMParser(r)) {
            for (int broken = 0; broken < 64; ) {
                Object o;
                try {
                    o = p.readObject();
                } catch (IOException | RuntimeException e) {
                    broken++; // a block of a kind the parser does not know, or a broken one: not ours
                    continue;
                }
                if (o == null) {
                    return objects;
                }
                objects.add(o);
            }
            return objects;
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + flag + " " + file + ": " + Text.reason(e));
        }
    }

    private List<Certificate> chain() {
        List<Certificate> chain = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        for (Object o : pem(cert, "--tls-cert")) {
            if (o instanceof X509CertificateHolder holder) {
                try {
                    chain.add(converter.getCertificate(holder));
                } catch (GeneralSecurityException e) {
                    // said below if none is left
                }
            }
        }
        if (chain.isEmpty()) {
            throw new DavitException(Kind.USAGE, "--tls-cert " + cert + " holds no PEM certificate; give the"
                    + " server's certificate chain, leaf first (a TLS Secret's tls.crt)");
        }
        return chain;
    }

    private PrivateKey privateKey() {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        for (Object o : pem(key, "--tls-key")) {
            try {
                if (o instanceof PEMKeyPair pair) {
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
            } catch (IOException | RuntimeException e) {
                // said below if none is left
            }
        }
        throw new DavitException(Kind.USAGE, "--tls-key " + key + " holds no unencrypted PEM private key; give the"
                + " certificate's key (a TLS Secret's tls.key: PKCS#1, SEC1 or PKCS#8)");
    }

    /** Jetty's TLS of the files as they are now (a one-line usage error if they are bad); {@link #watch} reloads it. */
    SslContextFactory.Server server() {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        served = stamp(); // before the read: a renewal during it is loaded at the first look
        ssl.setKeyStore(read());
        ssl.setKeyStorePassword("");
        ssl.setKeyManagerPassword("");
        ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        return ssl;
    }

    /** What the files are now: their paths' targets' sizes and times (a Secret's renewal swaps a link). */
    String stamp() {
        StringBuilder sb = new StringBuilder();
        for (Path p : List.of(cert, key)) {
            try {
                Path real = p.toRealPath();
                sb.append(real).append(' ').append(Files.size(real)).append(' ')
                        .append(Files.getLastModifiedTime(real).toMillis()).append(';');
            } catch (IOException e) {
                sb.append(p).append(" missing;");
            }
        }
        return sb.toString();
    }

    /**
     * Reloads {@code ssl} whenever the files change, looked at every {@link #CHECK_SECONDS} s on a daemon thread
     * until the process ends; {@code log} says what was reloaded or why a renewal was refused.
     */
    void watch(SslContextFactory.Server ssl, java.util.function.Consumer<String> log) {
        Thread.ofPlatform().daemon().name("davit-mcp-tls").start(() -> {
            String seen = served;
            while (true) {
                try {
                    TimeUnit.SECONDS.sleep(CHECK_SECONDS);
                } catch (InterruptedException e) {
                    return;
                }
                seen = reloadIfChanged(ssl, seen, log);
            }
        });
    }

    /** One look of {@link #watch}: reloads {@code ssl} if the files are no longer {@code seen}; their stamp now. */
    String reloadIfChanged(SslContextFactory.Server ssl, String seen, java.util.function.Consumer<String> log) {
        String now = stamp();
        if (!now.equals(seen)) {
            // files written in place rather than swapped in: read once they held still for a moment
            try {
                TimeUnit.MILLISECONDS.sleep(SETTLE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return seen;
            }
            if (!stamp().equals(now)) {
                return seen; // still changing: the next look
            }
            try {
                KeyStore ks = read();
                ssl.reload(f -> f.setKeyStore(ks));
                log.accept("the HTTP door's certificate was reloaded from " + cert);
            } catch (Exception e) {
                log.accept("the renewed certificate was refused, the old one kept: " + e.getMessage());
            }
        }
        return now;
    }
}
